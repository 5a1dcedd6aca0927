//! Mixing remote participants' audio for playback, and speaking levels for
//! TUICallEngine's `onUserVoiceVolumeChanged` (0–100 per user).

use crate::frame::{AudioFrame, SAMPLES_PER_FRAME};
use std::collections::HashMap;
use std::hash::Hash;

/// Sums 10 ms frames sample by sample, saturating at the i16 range. The
/// result carries `timestamp_us`. No frames give silence.
pub fn mix(frames: &[&AudioFrame], timestamp_us: u64) -> AudioFrame {
    let mut acc = [0i32; SAMPLES_PER_FRAME];
    for f in frames {
        for (a, &s) in acc.iter_mut().zip(f.samples.iter()) {
            *a += i32::from(s);
        }
    }
    let mut out = AudioFrame::silence(timestamp_us);
    for (o, a) in out.samples.iter_mut().zip(acc) {
        *o = a.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
    }
    out
}

/// The instantaneous level of a frame, 0–100: RMS in dBFS mapped linearly
/// from −60 dBFS (0) to 0 dBFS (100). A full-scale sine is about 97,
/// normal speech (−30 to −20 dBFS) 50–67, room noise (−60 dBFS) 0.
pub fn instant_level(frame: &AudioFrame) -> f64 {
    let rms = frame.rms();
    if rms < 1.0 {
        return 0.0;
    }
    let dbfs = 20.0 * (rms / 32768.0).log10();
    ((dbfs + 60.0) / 60.0 * 100.0).clamp(0.0, 100.0)
}

/// A smoothed level meter: rises quickly (attack ≈ 20 ms) and decays
/// slowly (release ≈ 300 ms), as a VU meter does, so the reported level does
/// not flicker between syllables.
#[derive(Debug, Clone, Default)]
pub struct LevelMeter {
    level: f64,
}

impl LevelMeter {
    const ATTACK: f64 = 0.4;
    const RELEASE: f64 = 0.033;

    /// Feeds one 10 ms frame and returns the smoothed level (0–100).
    pub fn update(&mut self, frame: &AudioFrame) -> u8 {
        self.update_level(instant_level(frame))
    }

    /// Feeds 10 ms of silence (a participant with nothing to play).
    pub fn update_silence(&mut self) -> u8 {
        self.update_level(0.0)
    }

    fn update_level(&mut self, instant: f64) -> u8 {
        let k = if instant > self.level {
            Self::ATTACK
        } else {
            Self::RELEASE
        };
        self.level += (instant - self.level) * k;
        self.level()
    }

    /// The current smoothed level (0–100).
    pub fn level(&self) -> u8 {
        self.level.round().clamp(0.0, 100.0) as u8
    }
}

/// Per-participant level meters, keyed by user ID (or any key).
#[derive(Debug, Clone)]
pub struct SpeakingLevels<K> {
    meters: HashMap<K, LevelMeter>,
}

impl<K: Eq + Hash + Clone> Default for SpeakingLevels<K> {
    fn default() -> Self {
        SpeakingLevels {
            meters: HashMap::new(),
        }
    }
}

impl<K: Eq + Hash + Clone> SpeakingLevels<K> {
    /// No participants yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one participant's 10 ms frame (`None`: nothing to play this
    /// tick, counts as silence). Returns that participant's level.
    pub fn update(&mut self, key: &K, frame: Option<&AudioFrame>) -> u8 {
        let meter = self.meters.entry(key.clone()).or_default();
        match frame {
            Some(f) => meter.update(f),
            None => meter.update_silence(),
        }
    }

    /// Forgets a participant who left.
    pub fn remove(&mut self, key: &K) {
        self.meters.remove(key);
    }

    /// Every participant's current level (for `onUserVoiceVolumeChanged`,
    /// a few times per second).
    pub fn levels(&self) -> Vec<(K, u8)> {
        self.meters
            .iter()
            .map(|(k, m)| (k.clone(), m.level()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::ToneGenerator;

    #[test]
    fn mixing_adds_and_saturates() {
        let mut a = AudioFrame::silence(0);
        let mut b = AudioFrame::silence(0);
        a.samples[0] = 30_000;
        b.samples[0] = 10_000;
        a.samples[1] = -30_000;
        b.samples[1] = -10_000;
        a.samples[2] = 100;
        b.samples[2] = -40;
        let m = mix(&[&a, &b], 7);
        assert_eq!(&m.samples[..4], &[i16::MAX, i16::MIN, 60, 0]);
        assert_eq!(m.timestamp_us, 7);
        assert_eq!(mix(&[], 0), AudioFrame::silence(0));
        assert_eq!(mix(&[&a], 0).samples, a.samples);
    }

    #[test]
    fn levels_follow_loudness_rise_fast_and_decay_slowly() {
        assert_eq!(instant_level(&AudioFrame::silence(0)), 0.0);
        let loud = ToneGenerator::new(440.0, 1.0).next_frame();
        let quiet = ToneGenerator::new(440.0, 0.01).next_frame();
        assert!(
            (instant_level(&loud) - 95.0).abs() < 3.0,
            "{}",
            instant_level(&loud)
        );
        assert!(instant_level(&quiet) < 30.0);

        let mut levels = SpeakingLevels::new();
        let mut last = 0;
        for _ in 0..5 {
            last = levels.update(&"alice", Some(&loud));
        }
        assert!(last > 85, "after 50 ms of loud tone: {last}");
        levels.update(&"bob", Some(&quiet));
        for _ in 0..10 {
            last = levels.update(&"alice", None);
        }
        assert!(
            last > 60,
            "100 ms after stopping it is still visible: {last}"
        );
        for _ in 0..200 {
            last = levels.update(&"alice", None);
        }
        assert_eq!(last, 0);
        let mut all = levels.levels();
        all.sort();
        assert_eq!(all.len(), 2);
        levels.remove(&"bob");
        assert_eq!(levels.levels().len(), 1);
    }
}
