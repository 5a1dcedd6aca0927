//! Overuse, normal or underuse, from the delay trend: libwebrtc's detector
//! with its adaptive threshold. Time is passed in.

use std::time::{Duration, Instant};

use rtc::interceptor::Usage;

/// libwebrtc's adaptive threshold (ms): where it starts, its bounds, how
/// fast it follows the trend up and down, and how far above it a trend is
/// an outlier it does not follow at all.
const THRESHOLD_INITIAL_MS: f64 = 12.5;
const THRESHOLD_MIN_MS: f64 = 6.0;
const THRESHOLD_MAX_MS: f64 = 600.0;
const THRESHOLD_GAIN_UP: f64 = 0.0087;
const THRESHOLD_GAIN_DOWN: f64 = 0.039;
const THRESHOLD_OUTLIER_MS: f64 = 15.0;
/// How long the trend must stay over the threshold, and rising, to be overuse.
const OVERUSE_TIME: Duration = Duration::from_millis(10);

/// Overuse, normal or underuse, from the (scaled) delay trend: libwebrtc's
/// detector. `rtc`'s `OveruseDetector` takes its threshold's gains from the
/// GCC draft, whose trend is not scaled; with a scaled trend they let the
/// threshold climb after one congestion episode and take minutes to come
/// down, so the next queue went unseen.
#[derive(Debug)]
pub(super) struct Detector {
    threshold_ms: f64,
    last_update: Option<Instant>,
    over_since: Option<Instant>,
    over_count: u32,
    previous_trend: f64,
    usage: Usage,
}

impl Default for Detector {
    fn default() -> Detector {
        Detector {
            threshold_ms: THRESHOLD_INITIAL_MS,
            last_update: None,
            over_since: None,
            over_count: 0,
            previous_trend: 0.0,
            usage: Usage::Normal,
        }
    }
}

impl Detector {
    /// The usage now.
    pub(super) fn usage(&self) -> Usage {
        self.usage
    }

    /// A new (scaled) trend sample taken `at`.
    pub(super) fn update(&mut self, at: Instant, trend: f64) -> Usage {
        if trend > self.threshold_ms {
            let since = *self.over_since.get_or_insert(at);
            self.over_count += 1;
            if at.saturating_duration_since(since) >= OVERUSE_TIME
                && self.over_count > 1
                && trend >= self.previous_trend
            {
                self.over_since = None;
                self.over_count = 0;
                self.usage = Usage::Over;
            }
        } else if trend < -self.threshold_ms {
            self.over_since = None;
            self.over_count = 0;
            self.usage = Usage::Under;
        } else {
            self.over_since = None;
            self.over_count = 0;
            self.usage = Usage::Normal;
        }
        self.previous_trend = trend;
        self.adapt_threshold(at, trend);
        self.usage
    }

    fn adapt_threshold(&mut self, at: Instant, trend: f64) {
        let elapsed_ms = self.last_update.map_or(0.0, |last| {
            at.saturating_duration_since(last).as_secs_f64() * 1000.0
        });
        self.last_update = Some(at);
        let magnitude = trend.abs();
        if magnitude > self.threshold_ms + THRESHOLD_OUTLIER_MS {
            return;
        }
        let gain = if magnitude < self.threshold_ms {
            THRESHOLD_GAIN_DOWN
        } else {
            THRESHOLD_GAIN_UP
        };
        self.threshold_ms = (self.threshold_ms
            + gain * (magnitude - self.threshold_ms) * elapsed_ms.min(100.0))
        .clamp(THRESHOLD_MIN_MS, THRESHOLD_MAX_MS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(d: &mut Detector, from: Instant, trends: &[f64]) -> Vec<Usage> {
        trends
            .iter()
            .enumerate()
            .map(|(i, &t)| d.update(from + Duration::from_millis(5 * i as u64), t))
            .collect()
    }

    #[test]
    fn a_flat_trend_is_normal_and_a_rising_one_is_overuse() {
        let t0 = Instant::now();
        let mut d = Detector::default();
        assert!(run(&mut d, t0, &[0.5; 50])
            .iter()
            .all(|&u| u == Usage::Normal));
        let rising: Vec<f64> = (0..10).map(|i| 14.0 + f64::from(i)).collect();
        let usages = run(&mut d, t0 + Duration::from_secs(1), &rising);
        assert_eq!(usages.last(), Some(&Usage::Over), "{usages:?}");
        assert_eq!(usages[0], Usage::Normal, "one sample over is not enough");
        assert_eq!(d.update(t0 + Duration::from_secs(2), -30.0), Usage::Under);
    }

    #[test]
    fn the_threshold_comes_back_down_after_a_congestion_episode() {
        let t0 = Instant::now();
        let mut d = Detector::default();
        // A long stretch just above the threshold drags it up...
        let high: Vec<f64> = (0..400).map(|i| 20.0 + f64::from(i) * 0.05).collect();
        run(&mut d, t0, &high);
        let raised = d.threshold_ms;
        assert!(raised > 20.0, "{raised}");
        // ...and a few quiet seconds bring it back near its floor, so the
        // next queue is seen (the GCC draft's gains would take minutes).
        run(&mut d, t0 + Duration::from_secs(3), &[0.0; 600]);
        assert!(d.threshold_ms < 8.0, "{} after {raised}", d.threshold_ms);
    }
}
