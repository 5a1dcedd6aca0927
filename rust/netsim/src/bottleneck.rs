//! A bandwidth-limited link with a bounded queue: what a slow uplink or a
//! congested Wi-Fi does to a call.
//!
//! Datagrams leave one after another at the link's rate. While the link is
//! busy they wait in a FIFO queue, so the queueing delay grows with the
//! backlog, as it does in front of a real bottleneck, and a sender that
//! watches delay (a congestion controller) can see it coming. A datagram that
//! would wait longer than the queue holds is dropped (tail drop), which is
//! what a full router buffer does.

use std::time::Duration;

use tokio::time::Instant;

/// Bytes an IPv4 and UDP header add to every datagram on the wire: a link's
/// rate is spent on them too.
pub const HEADER_BYTES: u64 = 28;

/// How long a bottleneck's queue may delay a datagram when
/// [`Impairment::queue_ms`](crate::Impairment::queue_ms) is 0.
pub const DEFAULT_QUEUE_MS: u32 = 300;

/// One direction of one client's link.
#[derive(Debug, Default)]
pub(crate) struct Bottleneck {
    /// When the link finishes sending everything admitted so far.
    busy_until: Option<Instant>,
}

impl Bottleneck {
    /// Admits a datagram of `len` bytes arriving at `now` on a link of
    /// `rate_bps` whose queue holds at most `max_queue` of waiting time.
    /// Returns when the datagram has left the link, or `None` if the queue
    /// is full and it is dropped.
    pub(crate) fn admit(
        &mut self,
        now: Instant,
        len: usize,
        rate_bps: u64,
        max_queue: Duration,
    ) -> Option<Instant> {
        let start = self.busy_until.map_or(now, |busy| busy.max(now));
        if start - now > max_queue {
            return None;
        }
        let bits = (len as u64 + HEADER_BYTES) * 8;
        let sending = Duration::from_nanos(bits.saturating_mul(1_000_000_000) / rate_bps.max(1));
        let done = start + sending;
        self.busy_until = Some(done);
        Some(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUEUE: Duration = Duration::from_millis(100);

    #[test]
    fn an_idle_link_only_adds_the_sending_time() {
        let mut link = Bottleneck::default();
        let now = Instant::now();
        // 972 + 28 bytes at 8 Mbps: 1 ms on the wire.
        let done = link.admit(now, 972, 8_000_000, QUEUE).unwrap();
        assert_eq!(done - now, Duration::from_millis(1));
        // Long after, the link is idle again.
        let later = now + Duration::from_secs(1);
        assert_eq!(
            link.admit(later, 972, 8_000_000, QUEUE).unwrap() - later,
            Duration::from_millis(1)
        );
    }

    #[test]
    fn a_burst_queues_then_the_tail_is_dropped() {
        let mut link = Bottleneck::default();
        let now = Instant::now();
        // 1000 bytes on the wire at 800 kbps: 10 ms each.
        let mut delays = vec![];
        let mut dropped = 0;
        for _ in 0..20 {
            match link.admit(now, 972, 800_000, QUEUE) {
                Some(done) => delays.push((done - now).as_millis()),
                None => dropped += 1,
            }
        }
        // The delay grows by one sending time per datagram ahead in the queue.
        assert_eq!(delays, (1..=11).map(|i| i * 10).collect::<Vec<_>>());
        // Once 100 ms are waiting, the rest of the burst is lost.
        assert_eq!(dropped, 9);
    }

    #[test]
    fn a_sender_within_the_rate_sees_no_queue() {
        let mut link = Bottleneck::default();
        let start = Instant::now();
        // 1000 bytes every 20 ms is 400 kbps, under the 800 kbps link.
        for i in 0..100u32 {
            let now = start + Duration::from_millis(20) * i;
            let done = link.admit(now, 972, 800_000, QUEUE).unwrap();
            assert_eq!(done - now, Duration::from_millis(10), "datagram {i}");
        }
    }

    #[test]
    fn a_sender_over_the_rate_builds_a_queue_until_it_overflows() {
        let mut link = Bottleneck::default();
        let start = Instant::now();
        // 1000 bytes every 5 ms is 1.6 Mbps into an 800 kbps link: the queue
        // grows by 5 ms per datagram and overflows after about 20.
        let mut last_delay = Duration::ZERO;
        let mut first_drop = None;
        for i in 0..100u32 {
            let now = start + Duration::from_millis(5) * i;
            match link.admit(now, 972, 800_000, QUEUE) {
                Some(done) => {
                    assert!(done - now >= last_delay, "the queue only grows");
                    last_delay = done - now;
                }
                None => {
                    first_drop.get_or_insert(i);
                }
            }
        }
        let first_drop = first_drop.expect("the queue overflows");
        assert!(
            (19..=22).contains(&first_drop),
            "first drop at {first_drop}"
        );
        assert!(last_delay <= QUEUE + Duration::from_millis(10));
    }
}
