//! The delay half's rate: additive increase near a known link capacity,
//! multiplicative increase away from it, and a multiplicative decrease to
//! below what got through on overuse (libwebrtc's `AimdRateControl`, in
//! short). Time is passed in.

use std::time::{Duration, Instant};

use rtc::interceptor::Usage;

/// On overuse the rate drops to this share of what got through.
const DECREASE_FACTOR: f64 = 0.85;
/// Growth per second while the link's capacity is unknown. libwebrtc grows
/// 8 % a second and leaves the rest to probing, which this engine does not
/// do. Measured here (`tests/adapt.rs`), a 720p call capped at 300 kbps
/// took 15 s to get back to 1.2 Mbps at 12 %, 10–12.5 s at 18 %; 22 % leaves
/// room for a busy machine.
pub(super) const GROWTH_PER_SECOND: f64 = 1.22;
/// Additive increase near the known capacity (about one 1,200-byte packet
/// per 200 ms response time).
const NEAR_CAPACITY_BPS_PER_SECOND: f64 = 48_000.0;
/// The longest time one increase step may account for.
const MAX_STEP: Duration = Duration::from_secs(1);
/// Decreases are at least this far apart (one back-off per round trip).
const MIN_DECREASE_INTERVAL: Duration = Duration::from_millis(200);
/// The capacity estimate's smoothing, and its deviation's bounds.
const CAPACITY_ALPHA: f64 = 0.05;
const DEVIATION_MIN: f64 = 0.4;
const DEVIATION_MAX: f64 = 2.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Hold,
    Increase,
    Decrease,
}

/// Where overuse was last seen: a smoothed rate (kbps) and its deviation.
#[derive(Debug, Default)]
struct LinkCapacity {
    estimate_kbps: Option<f64>,
    deviation: f64,
}

impl LinkCapacity {
    fn on_overuse(&mut self, sample_kbps: f64) {
        let estimate = match self.estimate_kbps {
            None => {
                self.deviation = DEVIATION_MIN;
                sample_kbps
            }
            Some(e) => (1.0 - CAPACITY_ALPHA) * e + CAPACITY_ALPHA * sample_kbps,
        };
        let error = estimate - sample_kbps;
        self.deviation = ((1.0 - CAPACITY_ALPHA) * self.deviation
            + CAPACITY_ALPHA * error * error / estimate.max(1.0))
        .clamp(DEVIATION_MIN, DEVIATION_MAX);
        self.estimate_kbps = Some(estimate);
    }

    /// Three deviations above the estimate (kbps).
    fn upper_kbps(&self) -> Option<f64> {
        self.estimate_kbps
            .map(|e| e + 3.0 * (self.deviation * e).sqrt())
    }

    /// Three deviations below the estimate (kbps).
    fn lower_kbps(&self) -> Option<f64> {
        self.estimate_kbps
            .map(|e| e - 3.0 * (self.deviation * e).sqrt())
    }
}

/// See the module docs.
#[derive(Debug)]
pub(super) struct Aimd {
    target: f64,
    min: f64,
    max: f64,
    state: State,
    capacity: LinkCapacity,
    last_update: Option<Instant>,
    last_decrease: Option<Instant>,
}

impl Aimd {
    pub(super) fn new(initial: f64, min: f64, max: f64) -> Aimd {
        Aimd {
            target: initial.clamp(min, max),
            min,
            max,
            state: State::Hold,
            capacity: LinkCapacity::default(),
            last_update: None,
            last_decrease: None,
        }
    }

    pub(super) fn target(&self) -> f64 {
        self.target
    }

    /// One step: the detector's `usage` and what got through lately
    /// (`received`, bits per second, if measured). Increases stop at
    /// `increase_limit` (but never take the rate below where it is).
    pub(super) fn update(
        &mut self,
        now: Instant,
        usage: Usage,
        received: Option<f64>,
        increase_limit: f64,
    ) -> f64 {
        let elapsed = self
            .last_update
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t))
            .min(MAX_STEP);
        self.last_update = Some(now);
        self.state = match (usage, self.state) {
            (Usage::Over, _) => State::Decrease,
            (Usage::Under, _) => State::Hold,
            (Usage::Normal, State::Hold) => State::Increase,
            (Usage::Normal, s) => s,
        };
        match self.state {
            State::Hold => {}
            State::Increase => {
                if let (Some(r), Some(upper)) = (received, self.capacity.upper_kbps()) {
                    if r / 1000.0 > upper {
                        // More got through than the old capacity: it moved.
                        self.capacity = LinkCapacity::default();
                    }
                }
                let secs = elapsed.as_secs_f64();
                let raised = if self.capacity.estimate_kbps.is_some() {
                    self.target + NEAR_CAPACITY_BPS_PER_SECOND * secs
                } else {
                    self.target * GROWTH_PER_SECOND.powf(secs)
                };
                if raised > self.target {
                    self.target = raised.min(increase_limit.max(self.target));
                }
            }
            State::Decrease => {
                let due = self
                    .last_decrease
                    .is_none_or(|t| now.saturating_duration_since(t) >= MIN_DECREASE_INTERVAL);
                if let (Some(r), true) = (received, due) {
                    if self
                        .capacity
                        .lower_kbps()
                        .is_some_and(|lower| r / 1000.0 < lower)
                    {
                        // Far below the old capacity: that one is gone.
                        self.capacity = LinkCapacity::default();
                    }
                    self.capacity.on_overuse(r / 1000.0);
                    self.target = self.target.min(DECREASE_FACTOR * r);
                    self.last_decrease = Some(now);
                }
                self.state = State::Hold;
            }
        }
        self.target = self.target.clamp(self.min, self.max);
        self.target
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: Duration = Duration::from_millis(50);

    /// `n` steps of `usage` with `received` bps getting through.
    fn steps(a: &mut Aimd, at: &mut Instant, n: usize, usage: Usage, received: f64) -> f64 {
        for _ in 0..n {
            *at += STEP;
            a.update(*at, usage, Some(received), f64::MAX);
        }
        a.target()
    }

    #[test]
    fn overuse_backs_off_below_what_got_through() {
        let mut at = Instant::now();
        let mut a = Aimd::new(1_200_000.0, 60_000.0, 3e6);
        let t = steps(&mut a, &mut at, 1, Usage::Over, 300_000.0);
        assert_eq!(t, 255_000.0);
        // Not again within the interval, however long the overuse.
        assert_eq!(steps(&mut a, &mut at, 2, Usage::Over, 200_000.0), 255_000.0);
        assert!(steps(&mut a, &mut at, 4, Usage::Over, 200_000.0) <= 170_000.0);
    }

    #[test]
    fn near_the_capacity_growth_is_additive_and_beyond_it_multiplicative() {
        let mut at = Instant::now();
        let mut a = Aimd::new(300_000.0, 60_000.0, 5e6);
        steps(&mut a, &mut at, 1, Usage::Over, 300_000.0);
        let base = a.target();
        // Two seconds of quiet at the old capacity: about 2 × 48 kbps more.
        let t = steps(&mut a, &mut at, 40, Usage::Normal, 280_000.0);
        assert!((t - base - 96_000.0).abs() < 5_000.0, "{base} -> {t}");
        // More gets through than before: the capacity is forgotten and the
        // rate grows by GROWTH_PER_SECOND.
        let before = steps(&mut a, &mut at, 1, Usage::Normal, 400_000.0);
        let after = steps(&mut a, &mut at, 20, Usage::Normal, 400_000.0);
        let ratio = after / before;
        assert!((ratio - GROWTH_PER_SECOND).abs() < 0.01, "{ratio}");
    }

    #[test]
    fn a_capacity_far_above_what_gets_through_is_forgotten() {
        let mut at = Instant::now();
        let mut a = Aimd::new(1_200_000.0, 60_000.0, 5e6);
        steps(&mut a, &mut at, 1, Usage::Over, 1_000_000.0);
        // The link got much slower: the next overuse is far below.
        at += MIN_DECREASE_INTERVAL;
        steps(&mut a, &mut at, 1, Usage::Over, 250_000.0);
        assert!((a.capacity.estimate_kbps.unwrap() - 250.0).abs() < 1.0);
        // So once more than that gets through, growth is multiplicative.
        let before = steps(&mut a, &mut at, 1, Usage::Normal, 400_000.0);
        let after = steps(&mut a, &mut at, 20, Usage::Normal, 400_000.0);
        assert!(after / before > 1.1, "{before} -> {after}");
    }

    #[test]
    fn increases_stop_at_the_limit_but_never_lower_the_rate() {
        let mut at = Instant::now();
        let mut a = Aimd::new(500_000.0, 60_000.0, 5e6);
        for _ in 0..40 {
            at += STEP;
            a.update(at, Usage::Normal, Some(100_000.0), 520_000.0);
        }
        assert_eq!(a.target(), 520_000.0);
        at += STEP;
        a.update(at, Usage::Normal, Some(100_000.0), 200_000.0);
        assert_eq!(a.target(), 520_000.0);
    }

    #[test]
    fn underuse_holds() {
        let mut at = Instant::now();
        let mut a = Aimd::new(500_000.0, 60_000.0, 5e6);
        assert_eq!(
            steps(&mut a, &mut at, 20, Usage::Under, 500_000.0),
            500_000.0
        );
    }
}
