//! Congestion-window pushback, after libwebrtc's
//! `CongestionWindowPushbackController`: when more data is in flight than
//! the estimate allows for one round trip plus a queue's worth, the
//! encoder's target is cut at once, before the delay detector has made up
//! its mind, so the queue the link has built drains instead of
//! overflowing. No clock: time is passed in.
//!
//! libwebrtc counts bytes in flight from its send history. The engine's
//! estimator only sees the feedback, so the video thread keeps its own
//! short history of what it sent, and what counts as in flight is
//! everything sent after the newest packet the feedback reported on
//! (arrived or lost: a lossy link with no queue pushes nothing back).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::adapt::AUDIO_RESERVE_KBPS;

/// The queue the window allows on top of the base feedback delay
/// (libwebrtc's default is 350 ms on its estimate; sized on the rate
/// actually sent, 200 ms is what lets a queue of 300 ms show).
const QUEUE_ALLOWANCE: Duration = Duration::from_millis(200);
/// The base feedback delay is the smallest seen over the last one to two
/// of these (a path change may lengthen it for good).
const BASE_WINDOW: Duration = Duration::from_secs(5);
/// libwebrtc updates its ratio every 25 ms or so; the engine updates once a
/// frame, and scales each step to this period.
const STEP: Duration = Duration::from_millis(25);
/// Sends older than this are forgotten: a connection that has heard
/// nothing for so long is cut to the floor anyway.
const HISTORY: Duration = Duration::from_secs(3);
/// The lowest share of the estimate the encoder is cut to.
const MIN_RATIO: f64 = 0.05;

/// The share of the estimate the encoder may use now (1.0 = all of it).
#[derive(Debug)]
pub(crate) struct Pushback {
    ratio: f64,
    sent: VecDeque<(Instant, usize)>,
    base: WindowedMin,
    last: Option<Instant>,
}

impl Default for Pushback {
    fn default() -> Self {
        Pushback {
            ratio: 1.0,
            sent: VecDeque::new(),
            base: WindowedMin::default(),
            last: None,
        }
    }
}

impl Pushback {
    /// `bytes` of video (headers included) went out at `now`.
    pub(crate) fn on_sent(&mut self, now: Instant, bytes: usize) {
        self.sent.push_back((now, bytes));
        while self
            .sent
            .front()
            .is_some_and(|&(at, _)| now.duration_since(at) > HISTORY)
        {
            self.sent.pop_front();
        }
    }

    /// The ratio to apply to the encoder's target now, given the departure
    /// time of the newest packet the feedback reported on and the rate the
    /// sender means to send at (bits per second: the lesser of the estimate
    /// and what the encoders are asked for, plus audio). The window is sized
    /// on that rate, not on an estimate that may be far above it: a link
    /// that slows under a sender well below its estimate must still be seen
    /// at once. Without feedback yet, nothing is pushed back.
    pub(crate) fn update(
        &mut self,
        now: Instant,
        newest_reported: Option<Instant>,
        send_rate_bps: Option<f64>,
    ) -> f64 {
        let (Some(reported), Some(rate)) = (newest_reported, send_rate_bps) else {
            return self.ratio;
        };
        while self.sent.front().is_some_and(|&(at, _)| at <= reported) {
            self.sent.pop_front();
        }
        let lag = now.saturating_duration_since(reported);
        let base = self.base.update(now, lag);
        let video: usize = self.sent.iter().map(|&(_, b)| b).sum();
        let audio = AUDIO_RESERVE_KBPS * 1000.0 / 8.0 * lag.as_secs_f64();
        let in_flight = video as f64 + audio;
        let window = rate / 8.0 * (base + QUEUE_ALLOWANCE).as_secs_f64();
        let fill = in_flight / window.max(1.0);
        let steps = self.last.map_or(1.0, |l| {
            now.saturating_duration_since(l).as_secs_f64() / STEP.as_secs_f64()
        });
        self.last = Some(now);
        self.ratio = if fill < 0.1 {
            // Next to nothing in flight: no queue left to drain.
            1.0
        } else {
            let per_step: f64 = if fill > 1.5 {
                0.9
            } else if fill > 1.0 {
                0.95
            } else {
                1.05
            };
            (self.ratio * per_step.powf(steps)).clamp(MIN_RATIO, 1.0)
        };
        self.ratio
    }
}

/// The smallest duration seen over the last one to two [`BASE_WINDOW`]s.
#[derive(Debug, Default)]
struct WindowedMin {
    current: Option<(Instant, Duration)>,
    previous: Option<Duration>,
}

impl WindowedMin {
    fn update(&mut self, now: Instant, sample: Duration) -> Duration {
        match &mut self.current {
            Some((start, min)) if now.duration_since(*start) < BASE_WINDOW => {
                *min = (*min).min(sample);
            }
            slot => {
                self.previous = slot.map(|(_, m)| m);
                *slot = Some((now, sample));
            }
        }
        let current = self.current.map_or(sample, |(_, m)| m);
        self.previous.map_or(current, |p| p.min(current))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Send `kbps` of video in 66 ms frames for `secs`, feedback arriving
    /// every 50 ms and reporting what left `lag` earlier; the ratios seen.
    /// A start far enough from the clock's origin to subtract lags from.
    fn start() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    fn run(
        p: &mut Pushback,
        t0: Instant,
        secs: u64,
        kbps: f64,
        lag: Duration,
        est: f64,
    ) -> Vec<f64> {
        let mut ratios = vec![];
        let frame = (kbps * 1000.0 / 8.0 / 15.0) as usize;
        for i in 0..secs * 15 {
            let now = t0 + 66 * MS * i as u32;
            p.on_sent(now, frame);
            ratios.push(p.update(now, Some(now - lag), Some(est)));
        }
        ratios
    }

    #[test]
    fn a_path_at_its_estimate_pushes_nothing_back() {
        let t0 = start();
        let mut p = Pushback::default();
        let ratios = run(&mut p, t0, 10, 1_100.0, 60 * MS, 1_200_000.0);
        assert!(ratios.iter().all(|&r| r == 1.0), "{ratios:?}");
    }

    #[test]
    fn a_queue_building_behind_a_slower_link_cuts_the_target_within_half_a_second() {
        let t0 = start();
        let mut p = Pushback::default();
        run(&mut p, t0, 5, 1_100.0, 40 * MS, 1_200_000.0);
        // The link falls to 300 kbps: the sender still sends 1.1 Mbps and
        // the feedback falls behind by the queue's delay, 300 ms.
        let t1 = t0 + Duration::from_secs(5);
        let ratios = run(&mut p, t1, 2, 1_100.0, 340 * MS, 300_000.0);
        assert!(ratios[7] < 0.3, "{ratios:?}");
        // Drained: feedback is back to its base delay, and the ratio climbs.
        let t2 = t1 + Duration::from_secs(2);
        let ratios = run(&mut p, t2, 3, 200.0, 40 * MS, 300_000.0);
        assert!(ratios.windows(2).all(|w| w[1] >= w[0]), "{ratios:?}");
        assert_eq!(*ratios.last().unwrap(), 1.0);
    }

    #[test]
    fn a_link_that_hears_nothing_is_cut_to_the_floor_and_returns_with_feedback() {
        let t0 = start();
        let mut p = Pushback::default();
        run(&mut p, t0, 2, 1_100.0, 40 * MS, 1_200_000.0);
        let t1 = t0 + Duration::from_secs(2);
        let reported = t1 - 40 * MS;
        let mut r = 1.0;
        for i in 0..60 {
            let now = t1 + 66 * MS * i;
            p.on_sent(now, 9_000);
            r = p.update(now, Some(reported), Some(1_200_000.0));
        }
        assert_eq!(r, MIN_RATIO);
        let t2 = t1 + Duration::from_secs(4);
        let ratios = run(&mut p, t2, 4, 1_100.0, 40 * MS, 1_200_000.0);
        assert_eq!(*ratios.last().unwrap(), 1.0, "{ratios:?}");
    }

    #[test]
    fn no_feedback_yet_means_no_pushback() {
        let mut p = Pushback::default();
        let now = start();
        p.on_sent(now, 1_000_000);
        assert_eq!(p.update(now, None, Some(300_000.0)), 1.0);
    }
}
