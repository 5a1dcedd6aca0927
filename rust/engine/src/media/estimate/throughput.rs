//! What got through lately, by the receiver's clock: the bytes that arrived
//! over the last [`WINDOW`] of arrival time. A rate meter that counts
//! feedback as it comes in mixes the link's rate before a sudden
//! bottleneck with its rate after it for as long as its window, and the
//! feedback itself comes late and in bursts through a queue; arrival times
//! say what the bottleneck let through, and when. Time is passed in.

use std::collections::VecDeque;
use std::time::Duration;

/// The span of arrival time measured over.
const WINDOW: Duration = Duration::from_millis(500);

#[derive(Debug, Default)]
pub(super) struct ArrivalRate {
    /// Arrival and size of each packet within the window of the newest.
    packets: VecDeque<(Duration, usize)>,
    first: Option<Duration>,
    newest: Duration,
}

impl ArrivalRate {
    /// A packet of `size` bytes that arrived at `arrival` (receiver's clock).
    pub(super) fn add(&mut self, arrival: Duration, size: usize) {
        self.first.get_or_insert(arrival);
        self.newest = self.newest.max(arrival);
        self.packets.push_back((arrival, size));
        while self
            .packets
            .front()
            .is_some_and(|&(a, _)| a + WINDOW <= self.newest)
        {
            self.packets.pop_front();
        }
    }

    /// Bits per second over the last window, once a whole window has been seen.
    pub(super) fn bits_per_second(&self) -> Option<f64> {
        let first = self.first?;
        if self.newest.saturating_sub(first) < WINDOW {
            return None;
        }
        let bytes: usize = self
            .packets
            .iter()
            .filter(|&&(a, _)| a + WINDOW > self.newest)
            .map(|&(_, s)| s)
            .sum();
        Some(bytes as f64 * 8.0 / WINDOW.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn the_rate_is_what_arrived_in_the_last_half_second() {
        let mut r = ArrivalRate::default();
        // 1,000 bytes every 10 ms: 800 kbps, once half a second is known.
        for t in 0..50 {
            r.add(ms(t * 10), 1_000);
        }
        assert_eq!(r.bits_per_second(), None);
        r.add(ms(500), 1_000);
        assert_eq!(r.bits_per_second(), Some(800_000.0));
    }

    #[test]
    fn a_sudden_bottleneck_shows_within_half_a_second_of_arrivals() {
        let mut r = ArrivalRate::default();
        for t in 0..200 {
            r.add(ms(t * 10), 1_000); // 800 kbps for two seconds
        }
        // Then a packet every 40 ms (200 kbps), however late the feedback
        // that reports them comes: the rate follows arrival time.
        for t in 0..14 {
            r.add(ms(2_000 + t * 40), 1_000);
        }
        let rate = r.bits_per_second().unwrap();
        assert!((190_000.0..=210_000.0).contains(&rate), "{rate}");
    }

    #[test]
    fn packets_reported_out_of_order_count_once() {
        let mut r = ArrivalRate::default();
        for t in 0..60 {
            // Pairs swapped: 10, 0, 30, 20, ...
            let t = if t % 2 == 0 { t + 1 } else { t - 1 };
            r.add(ms(t * 10), 1_000);
        }
        assert_eq!(r.bits_per_second(), Some(800_000.0));
    }
}
