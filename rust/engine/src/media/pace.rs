//! Spreading a video frame's packets over time. A keyframe is many frames'
//! worth of packets; sent at once, it queues at the bottleneck, and the
//! delay-based estimator reads that queue as congestion. Packets leave at
//! [`PACING_FACTOR`] times the estimate (libwebrtc's factor), with up to
//! [`BURST`] of them at a time. Audio is not paced: it is small and must
//! never wait behind video.

use std::time::{Duration, Instant};

/// How much faster than the estimate paced packets may leave.
pub(crate) const PACING_FACTOR: f64 = 2.5;
/// How far ahead of its slot a packet may still go at once.
const BURST: Duration = Duration::from_millis(5);

/// A leaky bucket; time is passed in.
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    next: Option<Instant>,
}

impl Pacer {
    /// Book `bytes` at `rate_bps`: how long to wait from `now` before
    /// sending them.
    pub(crate) fn book(&mut self, now: Instant, bytes: usize, rate_bps: f64) -> Duration {
        let start = self.next.filter(|&n| n > now).unwrap_or(now);
        let wait = start.saturating_duration_since(now + BURST);
        let rate = rate_bps.max(1.0);
        self.next = Some(start + Duration::from_secs_f64(bytes as f64 * 8.0 / rate));
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_goes_at_once_and_the_rest_at_the_rate() {
        let t0 = Instant::now();
        let mut p = Pacer::default();
        // 1,000-byte packets at 1.6 Mbps: 5 ms each.
        let waits: Vec<Duration> = (0..4).map(|_| p.book(t0, 1000, 1_600_000.0)).collect();
        assert_eq!(
            waits,
            [0, 0, 5, 10].map(Duration::from_millis),
            "two packets fit the burst, then one per 5 ms"
        );
    }

    #[test]
    fn an_idle_pacer_starts_afresh() {
        let t0 = Instant::now();
        let mut p = Pacer::default();
        for _ in 0..10 {
            p.book(t0, 1000, 1_600_000.0);
        }
        // A second later the backlog is long gone.
        assert_eq!(
            p.book(t0 + Duration::from_secs(1), 1000, 1_600_000.0),
            Duration::ZERO
        );
    }
}
