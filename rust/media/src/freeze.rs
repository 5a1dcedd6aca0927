//! Video freezes as WebRTC's statistics count them (`freezeCount`,
//! `totalFreezesDuration`): a gap between two rendered frames longer than
//! three times the recent mean gap, or than the mean plus 150 ms, whichever
//! is longer. Time is passed in (milliseconds on any monotonic clock).

use std::collections::VecDeque;

/// Gaps the mean is taken over.
const WINDOW: usize = 30;
/// Extra gap over the mean that is a freeze at any frame rate.
const MIN_EXTRA_MS: f64 = 150.0;

/// Counts freezes in a stream of frame instants.
#[derive(Debug, Clone, Default)]
pub struct FreezeDetector {
    last_ms: Option<u64>,
    gaps: VecDeque<f64>,
    freezes: u64,
    frozen_ms: u64,
}

impl FreezeDetector {
    /// A detector that has seen nothing.
    pub fn new() -> FreezeDetector {
        FreezeDetector::default()
    }

    /// A frame was shown at `now_ms`. Returns the freeze it ended, if any
    /// (its length in ms).
    pub fn frame(&mut self, now_ms: u64) -> Option<u64> {
        let last = self.last_ms.replace(now_ms);
        let gap = now_ms.saturating_sub(last?) as f64;
        let frozen = (!self.gaps.is_empty()).then(|| {
            let mean = self.gaps.iter().sum::<f64>() / self.gaps.len() as f64;
            gap > (3.0 * mean).max(mean + MIN_EXTRA_MS)
        });
        if frozen == Some(true) {
            self.freezes += 1;
            self.frozen_ms += gap as u64;
            // A freeze is not a frame interval: the mean stays the stream's.
            return Some(gap as u64);
        }
        if self.gaps.len() == WINDOW {
            self.gaps.pop_front();
        }
        self.gaps.push_back(gap);
        None
    }

    /// Forget the last frame (the stream paused on purpose, e.g. nobody
    /// watched it): the next frame starts afresh without counting the gap.
    pub fn pause(&mut self) {
        self.last_ms = None;
    }

    /// Freezes counted.
    pub fn freezes(&self) -> u64 {
        self.freezes
    }

    /// Their total length in ms.
    pub fn frozen_ms(&self) -> u64 {
        self.frozen_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(d: &mut FreezeDetector, from: u64, step: u64, n: u64) -> u64 {
        for i in 0..n {
            d.frame(from + i * step);
        }
        from + (n - 1) * step
    }

    #[test]
    fn a_steady_stream_never_freezes() {
        let mut d = FreezeDetector::new();
        frames(&mut d, 0, 66, 300);
        assert_eq!((d.freezes(), d.frozen_ms()), (0, 0));
    }

    #[test]
    fn a_long_gap_is_one_freeze_of_its_length() {
        let mut d = FreezeDetector::new();
        let last = frames(&mut d, 0, 33, 60);
        assert_eq!(d.frame(last + 500), Some(500));
        frames(&mut d, last + 533, 33, 60);
        assert_eq!((d.freezes(), d.frozen_ms()), (1, 500));
    }

    #[test]
    fn the_threshold_is_three_means_or_the_mean_plus_150_ms() {
        // At 30 fps the 150 ms rule is the larger: 183 ms gaps pass.
        let mut d = FreezeDetector::new();
        let last = frames(&mut d, 0, 33, 30);
        assert_eq!(d.frame(last + 180), None);
        // At 5 fps three means (600 ms) are the larger: 500 ms passes.
        let mut d = FreezeDetector::new();
        let last = frames(&mut d, 0, 200, 30);
        assert_eq!(d.frame(last + 500), None);
        assert_eq!(d.frame(last + 500 + 700), Some(700));
    }

    #[test]
    fn a_pause_is_not_a_freeze() {
        let mut d = FreezeDetector::new();
        let last = frames(&mut d, 0, 33, 30);
        d.pause();
        frames(&mut d, last + 10_000, 33, 30);
        assert_eq!(d.freezes(), 0);
    }
}
