//! Spreading a video frame's packets over time. A keyframe is many frames'
//! worth of packets; sent at once, it queues at the bottleneck, and the
//! delay-based estimator reads that queue as congestion. Packets leave at
//! [`PACING_FACTOR`] times the estimate (libwebrtc's factor), with up to
//! [`BURST`] of them at a time, and no frame takes longer than
//! [`MAX_FRAME_TIME`]. Audio is not paced: it is small and must
//! never wait behind video.

use std::time::{Duration, Instant};

/// How much faster than the estimate paced packets may leave.
const PACING_FACTOR: f64 = 2.5;
/// The longest one frame may take to leave. The video thread waits while
/// its frame is paced, so a keyframe much larger than the estimate allows
/// (the picture was big when the link slowed) must not stall it for
/// seconds; what the link cannot take, its queue absorbs or drops.
const MAX_FRAME_TIME: Duration = Duration::from_millis(500);

/// The rate to pace a frame of `bytes` at, given the estimate (bits/s).
pub(crate) fn frame_pacing_rate(estimate_bps: f64, bytes: usize) -> f64 {
    let within_limit = bytes as f64 * 8.0 / MAX_FRAME_TIME.as_secs_f64();
    (estimate_bps * PACING_FACTOR).max(within_limit)
}
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
    fn no_frame_takes_longer_than_half_a_second() {
        assert_eq!(frame_pacing_rate(400_000.0, 10_000), 1_000_000.0);
        // A 100 kB keyframe at a 100 kbps estimate: 1.6 Mbps, not 8 s.
        assert_eq!(frame_pacing_rate(100_000.0, 100_000), 1_600_000.0);
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
