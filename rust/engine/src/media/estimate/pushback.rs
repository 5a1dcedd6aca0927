//! Congestion-window pushback: while the link's queue holds far more than
//! the estimate allows, the media is told to send much less than the
//! estimate, so the queue drains (libwebrtc's congestion window pushback,
//! in short). Time is passed in.
//!
//! libwebrtc compares the bytes in flight with a window of the estimate
//! times the round trip plus 350 ms, and shrinks the encoder's rate by 10 %
//! at every update while they overflow it: within a second of a sudden
//! bottleneck Chromium encodes at a few tens of kbps until its queue has
//! drained. The estimator here is not told what is sent, only what the
//! feedback reported, so it reads the same thing from two delays:
//!
//! - **the feedback's lag**: how long ago the newest packet the feedback has
//!   reported on left, over its least in the last [`LAG_WINDOW`]. Packets
//!   sent since are in flight; the lag grows with the queue on the way
//!   out, with a queue on the way back, and when feedback stops.
//! - **the uplink queue**: the least one-way delay among the packets of the
//!   newest feedback, over the least one-way delay in the last
//!   [`BASE_WINDOW`] (sender and receiver clocks differ by a constant,
//!   which the least takes out). The least of a feedback's packets is the
//!   queue a small one (audio) found: a 1,200-byte packet alone takes 32 ms
//!   to cross a 300 kbps link, and would read as a queue.
//!
//! Pushback starts when both are long ([`LAG_HIGH`], [`QUEUE_HIGH`]): the
//! lag alone would also push back for a queue on the way back (another
//! sender's), the queue alone would wait for the feedback to report it. It
//! then halves the rate every [`HALVING`], and once either is short again
//! ([`LAG_LOW`], [`QUEUE_LOW`]) doubles it every [`DOUBLING`] back to the
//! estimate; in between it holds.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The feedback's lag, above its least, from which the queue is too long.
const LAG_HIGH: Duration = Duration::from_millis(150);
/// The lag, above its least, under which the queue counts as drained (the
/// SFU reports every 50 ms, so the lag moves by that much on its own).
const LAG_LOW: Duration = Duration::from_millis(80);
/// The uplink queue's delay from which it is too long (a busy receiver
/// stamps arrivals tens of ms late now and then), and under which it counts
/// as drained.
pub(super) const QUEUE_HIGH: Duration = Duration::from_millis(80);
pub(super) const QUEUE_LOW: Duration = Duration::from_millis(25);
/// While pushing back, the rate halves this often...
const HALVING: Duration = Duration::from_millis(100);
/// ...and once drained, doubles this often back up to the estimate.
const DOUBLING: Duration = Duration::from_millis(250);
/// The least share of the estimate pushback goes down to.
const MIN_RATIO: f64 = 0.05;
/// How long the least lag is remembered (libwebrtc's window takes the
/// least round trip of the last 32 feedbacks): a path that got slower for
/// good stops counting as a queue within seconds.
const LAG_WINDOW: Duration = Duration::from_secs(3);
/// How long the least one-way delay is remembered.
const BASE_WINDOW: Duration = Duration::from_secs(5);
/// The longest step one update accounts for.
const MAX_STEP: Duration = Duration::from_millis(200);

/// The least value over a sliding window of time (a monotonic queue).
#[derive(Debug)]
struct WindowedMin {
    window: Duration,
    values: VecDeque<(Instant, f64)>,
}

impl WindowedMin {
    fn new(window: Duration) -> WindowedMin {
        WindowedMin {
            window,
            values: VecDeque::new(),
        }
    }

    fn add(&mut self, at: Instant, value: f64) {
        while self.values.back().is_some_and(|&(_, v)| v >= value) {
            self.values.pop_back();
        }
        self.values.push_back((at, value));
        while self
            .values
            .front()
            .is_some_and(|&(t, _)| at.saturating_duration_since(t) > self.window)
        {
            self.values.pop_front();
        }
    }

    fn min(&self) -> Option<f64> {
        self.values.front().map(|&(_, v)| v)
    }
}

/// See the module docs.
#[derive(Debug)]
pub(super) struct Pushback {
    /// When the newest packet the feedback reported on left.
    newest_departure: Option<Instant>,
    /// Departures are measured from here (seconds), to set them against
    /// arrivals on the receiver's clock.
    origin: Option<Instant>,
    /// The feedback's lag when it arrived (seconds), and its least.
    base_lag: WindowedMin,
    /// One-way delay plus the clocks' offset (seconds), and its least.
    base_delay: WindowedMin,
    /// The queueing delay on the way out, as the newest feedback saw it.
    queue: Duration,
    /// The least one-way delay in the feedback being read.
    feedback_least: Option<f64>,
    ratio: f64,
    last_update: Option<Instant>,
}

impl Default for Pushback {
    fn default() -> Pushback {
        Pushback {
            newest_departure: None,
            origin: None,
            base_lag: WindowedMin::new(LAG_WINDOW),
            base_delay: WindowedMin::new(BASE_WINDOW),
            queue: Duration::ZERO,
            feedback_least: None,
            ratio: 1.0,
            last_update: None,
        }
    }
}

impl Pushback {
    /// The share of the estimate to send at (1 unless pushing back).
    #[cfg(test)]
    fn ratio(&self) -> f64 {
        self.ratio
    }

    /// Whether the rate is pushed back.
    pub(super) fn active(&self) -> bool {
        self.ratio < 1.0
    }

    /// The queueing delay on the way out, as the newest feedback saw it.
    pub(super) fn queue(&self) -> Duration {
        self.queue
    }

    /// A packet the feedback that arrived at `now` reported on: when it
    /// left, and when it arrived on the receiver's clock (`None`: lost).
    pub(super) fn on_report(
        &mut self,
        now: Instant,
        departure: Instant,
        arrival: Option<Duration>,
    ) {
        if self.newest_departure.is_none_or(|d| departure > d) {
            self.newest_departure = Some(departure);
        }
        let Some(arrival) = arrival else {
            return;
        };
        let origin = *self.origin.get_or_insert(departure);
        let sent = if departure >= origin {
            departure.duration_since(origin).as_secs_f64()
        } else {
            -origin.duration_since(departure).as_secs_f64()
        };
        let delay = arrival.as_secs_f64() - sent;
        self.base_delay.add(now, delay);
        self.feedback_least = Some(self.feedback_least.map_or(delay, |l| l.min(delay)));
    }

    /// The end of one feedback's reports (received at `now`).
    pub(super) fn on_feedback(&mut self, now: Instant) {
        if let (Some(delay), Some(least)) = (self.feedback_least.take(), self.base_delay.min()) {
            self.queue = Duration::from_secs_f64((delay - least).max(0.0));
        }
        if let Some(lag) = self.lag(now) {
            self.base_lag.add(now, lag.as_secs_f64());
        }
    }

    fn lag(&self, now: Instant) -> Option<Duration> {
        self.newest_departure
            .map(|d| now.saturating_duration_since(d))
    }

    /// The feedback's lag over its least, now.
    fn excess_lag(&self, now: Instant) -> Option<Duration> {
        let lag = self.lag(now)?.as_secs_f64();
        let least = self.base_lag.min()?;
        Some(Duration::from_secs_f64((lag - least).max(0.0)))
    }

    /// Step the ratio to `now` (after feedback, and between feedbacks, so a
    /// lag that grows because feedback stopped still counts).
    pub(super) fn update(&mut self, now: Instant) -> f64 {
        let step = self
            .last_update
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t))
            .min(MAX_STEP);
        self.last_update = Some(now);
        let Some(excess) = self.excess_lag(now) else {
            return self.ratio;
        };
        let secs = step.as_secs_f64();
        if excess >= LAG_HIGH && self.queue >= QUEUE_HIGH {
            self.ratio *= 0.5f64.powf(secs / HALVING.as_secs_f64());
        } else if excess < LAG_LOW || self.queue < QUEUE_LOW {
            self.ratio *= 2f64.powf(secs / DOUBLING.as_secs_f64());
        }
        self.ratio = self.ratio.clamp(MIN_RATIO, 1.0);
        self.ratio
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    /// A link that delivers with `base` one-way delay plus `queue(t)`, and
    /// a feedback every 50 ms that reports what arrived by then (the
    /// feedback itself taking `back(t)` to come back). Packets leave every
    /// 10 ms. Returns the ratio after each 10 ms step, from `from` to `to`
    /// (ms after `t0`).
    struct Link {
        t0: Instant,
        pushback: Pushback,
        sent: Vec<(u64, u64)>, // (departure ms, arrival ms)
        reported: usize,
    }

    impl Link {
        fn new() -> Link {
            Link {
                t0: Instant::now(),
                pushback: Pushback::default(),
                sent: Vec::new(),
                reported: 0,
            }
        }

        fn run(
            &mut self,
            from: u64,
            to: u64,
            queue: impl Fn(u64) -> u64,
            back: impl Fn(u64) -> u64,
        ) -> Vec<f64> {
            let mut ratios = Vec::new();
            for t in (from..to).step_by(10) {
                self.sent.push((t, t + 20 + queue(t)));
                let now = self.t0 + ms(t);
                if t % 50 == 0 {
                    // The SFU's feedback, sent at `t`, arrives `back(t)` later;
                    // it is delivered here at once for simplicity when `back`
                    // is zero, else it reports only what had arrived `back`
                    // ms ago.
                    let cutoff = t.saturating_sub(back(t));
                    let new: Vec<(u64, u64)> = self.sent[self.reported..]
                        .iter()
                        .copied()
                        .take_while(|&(_, arrival)| arrival <= cutoff)
                        .collect();
                    if !new.is_empty() {
                        for &(d, a) in &new {
                            self.pushback.on_report(
                                now,
                                self.t0 + ms(d),
                                Some(Duration::from_millis(1_000 + a)),
                            );
                        }
                        self.reported += new.len();
                        self.pushback.on_feedback(now);
                    }
                }
                ratios.push(self.pushback.update(now));
            }
            ratios
        }
    }

    #[test]
    fn a_quiet_link_never_pushes_back() {
        let mut link = Link::new();
        // Some jitter in the queue and in the feedback's way back.
        let r = link.run(0, 10_000, |t| (t * 7) % 15, |t| (t * 13) % 30);
        assert!(
            r.iter().all(|&r| r == 1.0),
            "{:?}",
            r.iter().find(|&&r| r < 1.0)
        );
    }

    #[test]
    fn a_sudden_queue_pushes_back_hard_and_its_draining_lets_go() {
        let mut link = Link::new();
        link.run(0, 5_000, |_| 0, |_| 0);
        // A bottleneck: the queue grows by 3 ms a ms to 300 ms, and the
        // feedback comes back through a queue as long.
        let r = link.run(
            5_000,
            6_500,
            |t| (3 * (t - 5_000)).min(300),
            |t| (3 * (t - 5_000)).min(300),
        );
        let first = r.iter().position(|&r| r < 1.0).expect("pushed back") as u64 * 10;
        assert!(first <= 500, "pushback began {first} ms after the queue");
        assert_eq!(*r.last().unwrap(), MIN_RATIO, "down to the least share");
        // Drained: the feedback reports the queue's last 300 ms, and then
        // the rate doubles from 5 % back to the estimate in about a second.
        let r = link.run(6_500, 8_500, |_| 0, |_| 0);
        let back = r.iter().position(|&r| r == 1.0).expect("let go") as u64 * 10;
        assert!(back <= 1_800, "{back} ms");
        assert!(link.pushback.ratio() == 1.0 && !link.pushback.active());
    }

    #[test]
    fn a_queue_on_the_way_back_alone_does_not_push_back() {
        let mut link = Link::new();
        link.run(0, 5_000, |_| 0, |_| 0);
        // Another sender's queue delays the feedback by 300 ms; the way out is clear.
        let r = link.run(5_000, 8_000, |_| 0, |t| (3 * (t - 5_000)).min(300));
        assert!(r.iter().all(|&r| r == 1.0));
    }

    #[test]
    fn feedback_that_stops_while_the_uplink_queues_pushes_back() {
        let mut link = Link::new();
        link.run(0, 5_000, |_| 0, |_| 0);
        // A queue of 100 ms on the way out, reported...
        link.run(5_000, 5_300, |_| 100, |_| 0);
        let before = link.pushback.ratio();
        // ...then no feedback at all for half a second.
        let mut at = link.t0 + ms(5_300);
        for _ in 0..50 {
            at += ms(10);
            link.pushback.update(at);
        }
        assert!(
            link.pushback.ratio() < before * 0.2,
            "{}",
            link.pushback.ratio()
        );
    }

    #[test]
    fn a_lasting_change_of_path_is_learnt_within_the_window() {
        let mut link = Link::new();
        link.run(0, 5_000, |_| 0, |_| 0);
        // The path's delay grows for good by 200 ms each way: pushback at
        // first, then, once the old lags have left their window, the new
        // ones are the least and the rate doubles back up.
        link.run(5_000, 9_500, |_| 200, |_| 200);
        let r = link.run(9_500, 12_000, |_| 200, |_| 200);
        assert!(r.iter().all(|&r| r == 1.0), "{:?}", &r[..10]);
    }
}
