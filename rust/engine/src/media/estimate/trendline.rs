//! The delay trend: libwebrtc's trendline filter. The accumulated one-way
//! delay variation is smoothed and a line is fitted through its last
//! [`WINDOW`] points; the slope, scaled by how many samples stand behind it
//! and by [`GAIN`], is what the detector compares with its threshold.
//! (`rtc`'s Kalman filter tracks the per-group delay change instead, which
//! stayed positive for seconds after a queue had stopped growing.)

use std::collections::VecDeque;

/// Points the line is fitted through.
const WINDOW: usize = 20;
/// Smoothing of the accumulated delay.
const SMOOTHING: f64 = 0.9;
/// libwebrtc's threshold gain.
const GAIN: f64 = 4.0;
/// The sample count the slope is scaled by stops here.
const SAMPLES_CAP: f64 = 60.0;

#[derive(Debug, Default)]
pub(super) struct Trendline {
    first_ms: Option<f64>,
    accumulated_ms: f64,
    smoothed_ms: f64,
    samples: f64,
    points: VecDeque<(f64, f64)>,
}

impl Trendline {
    /// Add one inter-group delay change (`delta_ms`, of the group that
    /// arrived at `arrival_ms`); returns the scaled trend.
    pub(super) fn update(&mut self, arrival_ms: f64, delta_ms: f64) -> f64 {
        let first = *self.first_ms.get_or_insert(arrival_ms);
        self.samples = (self.samples + 1.0).min(SAMPLES_CAP);
        self.accumulated_ms += delta_ms;
        self.smoothed_ms = SMOOTHING * self.smoothed_ms + (1.0 - SMOOTHING) * self.accumulated_ms;
        let x = arrival_ms - first;
        self.points.push_back((x, self.smoothed_ms));
        if self.points.len() > WINDOW {
            self.points.pop_front();
        }
        if self.points.len() < WINDOW {
            return 0.0;
        }
        slope(&self.points).map_or(0.0, |s| s * self.samples * GAIN)
    }
}

/// Least-squares slope of `points`, if their x values differ.
fn slope(points: &VecDeque<(f64, f64)>) -> Option<f64> {
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let (mut num, mut den) = (0.0, 0.0);
    for &(x, y) in points {
        num += (x - mean_x) * (y - mean_y);
        den += (x - mean_x) * (x - mean_x);
    }
    (den > 0.0).then(|| num / den)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One group every 5 ms from `from_ms`, arriving `delta` later than the
    /// one before.
    fn feed(t: &mut Trendline, from_ms: f64, deltas: impl Iterator<Item = f64>) -> f64 {
        let mut trend = 0.0;
        let mut arrival = from_ms;
        for d in deltas {
            arrival += 5.0 + d;
            trend = t.update(arrival, d);
        }
        trend
    }

    #[test]
    fn a_growing_queue_trends_up_and_a_steady_one_does_not() {
        // Each 5 ms group arrives 1.5 ms later than the one before: a link
        // offered 30 % more than it carries.
        let mut t = Trendline::default();
        let rising = feed(&mut t, 0.0, std::iter::repeat_n(1.5, 100));
        assert!(rising > 12.5, "{rising}");
        // The queue is full and stays so: no trend, however long it lasts.
        let flat = feed(&mut t, 1000.0, std::iter::repeat_n(0.0, 100));
        assert!(flat.abs() < 1.0, "{flat}");
        // Draining: the trend goes negative.
        let falling = feed(&mut t, 2000.0, std::iter::repeat_n(-1.0, 40));
        assert!(falling < -6.0, "{falling}");
    }

    #[test]
    fn jitter_without_a_trend_stays_small() {
        let mut t = Trendline::default();
        let noise = (0..400).map(|i| if i % 2 == 0 { 3.0 } else { -3.0 });
        assert!(feed(&mut t, 0.0, noise).abs() < 12.5);
    }
}
