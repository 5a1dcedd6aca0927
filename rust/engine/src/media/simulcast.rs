//! Simulcast for group calls: the camera is encoded at up to three sizes
//! (the preset's, half and a quarter, down to 180p), each on a video track
//! of its own, so the SFU can give each subscriber the layer its link
//! takes (`docs/protocol.md`, ADR 0009). 1v1 calls send one layer and adapt
//! it instead (see [`super::adapt`]).
//!
//! The uplink estimate is shared out from the smallest layer up: the
//! smallest always goes (it is what a thumbnail or a slow subscriber
//! gets), and each larger one only while what is left carries it. A layer
//! that does not fit pauses at once; it resumes when the budget has
//! cleared its rate by a margin for a while (resuming costs a keyframe).
//! No clock: time is passed in.

use std::time::{Duration, Instant};

use hotline_media::VideoEncoderParams;

use super::adapt::{video_budget_kbps, VideoTarget};

/// Most layers sent.
pub(crate) const MAX_LAYERS: usize = 3;
/// No layer smaller than this short side (TRTC's small stream is 180p).
const MIN_SHORT_SIDE: u32 = 180;
/// A layer keeps going while the budget left carries this share of its rate.
const KEEP_SHARE: f64 = 0.7;
/// A paused layer resumes once the budget left has cleared its rate by
/// this factor for [`RESUME_HOLD`].
const RESUME_MARGIN: f64 = 1.25;
const RESUME_HOLD: Duration = Duration::from_secs(2);
/// No encoder below this (OpenH264's useful minimum).
const MIN_VIDEO_KBPS: f64 = 30.0;

/// The layers' sizes for a preset, as shares of its picture, largest first:
/// halving while the short side stays at 180 or above.
pub(crate) fn layer_scales(preset: &VideoEncoderParams) -> Vec<f64> {
    let short = preset.width.min(preset.height);
    let mut scales = vec![1.0];
    while scales.len() < MAX_LAYERS {
        let next = scales[scales.len() - 1] / 2.0;
        if f64::from(short) * next < f64::from(MIN_SHORT_SIDE) - 0.5 {
            break;
        }
        scales.push(next);
    }
    scales
}

/// A layer's rate at full quality: the preset's scaled by pixels^0.9, so
/// 720p at 1200 kbps has its 360p layer at about 350 kbps and its 180p
/// layer at 100 (TRTC's small stream): the small layer must leave room
/// for several speakers' audio on a slow link.
fn layer_kbps(preset: &VideoEncoderParams, scale: f64) -> f64 {
    f64::from(preset.bitrate_kbps) * (scale * scale).powf(0.9)
}

/// What all `layers` layers of `preset` send at full quality, in kbps.
pub(crate) fn total_kbps(preset: &VideoEncoderParams, layers: usize) -> f64 {
    layer_scales(preset)
        .into_iter()
        .take(layers.max(1))
        .map(|s| layer_kbps(preset, s))
        .sum()
}

/// Which layers go, and at what rate.
#[derive(Debug)]
pub(crate) struct Simulcast {
    preset: VideoEncoderParams,
    scales: Vec<f64>,
    active: Vec<bool>,
    /// Per layer: since when the budget has cleared its resume mark.
    resume_since: Vec<Option<Instant>>,
}

impl Simulcast {
    /// `layers` layers of `preset` (fixed for the call: the publisher's
    /// offer named that many tracks); fewer if the preset is too small.
    pub(crate) fn new(preset: VideoEncoderParams, layers: usize) -> Simulcast {
        let mut scales = layer_scales(&preset);
        scales.truncate(layers.max(1));
        Simulcast {
            active: vec![true; scales.len()],
            resume_since: vec![None; scales.len()],
            scales,
            preset,
        }
    }

    /// The preset the layers were sized for.
    pub(crate) fn preset(&self) -> VideoEncoderParams {
        self.preset
    }

    /// What each layer should do now, largest first (`None`: paused), given
    /// the estimate (bits per second; `None` before the first feedback:
    /// every layer at its full rate).
    pub(crate) fn update(
        &mut self,
        now: Instant,
        estimate_bps: Option<f64>,
    ) -> Vec<Option<VideoTarget>> {
        let n = self.scales.len();
        let full: Vec<f64> = self
            .scales
            .iter()
            .map(|&s| layer_kbps(&self.preset, s))
            .collect();
        let Some(estimate) = estimate_bps else {
            return (0..n).map(|i| Some(self.target(i, full[i]))).collect();
        };
        let mut left = video_budget_kbps(estimate);
        let mut rates = vec![None; n];
        // Smallest first: it always goes.
        for i in (0..n).rev() {
            let smallest = i == n - 1;
            let keep = left >= full[i] * KEEP_SHARE;
            let go = if smallest {
                true
            } else if self.active[i] {
                keep
            } else {
                let clear = left >= full[i] * RESUME_MARGIN;
                let since = if clear {
                    *self.resume_since[i].get_or_insert(now)
                } else {
                    self.resume_since[i] = None;
                    now
                };
                clear && now.duration_since(since) >= RESUME_HOLD
            };
            // A layer above a paused one would be no use to the SFU's
            // choice order; pause everything above the first that stops.
            let go = go && (smallest || rates[i + 1].is_some());
            if go != self.active[i] {
                self.resume_since[i] = None;
            }
            self.active[i] = go;
            if go {
                let rate = left.min(full[i]).max(MIN_VIDEO_KBPS);
                left -= rate;
                rates[i] = Some(rate);
            }
        }
        rates
            .into_iter()
            .enumerate()
            .map(|(i, r)| r.map(|r| self.target(i, r)))
            .collect()
    }

    fn target(&self, layer: usize, kbps: f64) -> VideoTarget {
        VideoTarget {
            scale: self.scales[layer],
            fps: self.preset.fps,
            bitrate_kbps: kbps.round() as u32,
            rung: layer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotline_media::{Orientation, VideoResolution};

    fn p720() -> VideoEncoderParams {
        VideoEncoderParams::preset(VideoResolution::R1280x720, Orientation::Landscape)
    }

    fn active(targets: &[Option<VideoTarget>]) -> Vec<bool> {
        targets.iter().map(Option::is_some).collect()
    }

    /// An estimate whose video budget is `kbps`.
    fn for_budget(kbps: f64) -> Option<f64> {
        Some(
            (kbps + super::super::adapt::AUDIO_RESERVE_KBPS) / super::super::adapt::MEDIA_SHARE
                * 1000.0,
        )
    }

    #[test]
    fn layers_halve_down_to_180p() {
        assert_eq!(layer_scales(&p720()), vec![1.0, 0.5, 0.25]);
        let p360 = VideoEncoderParams::preset(VideoResolution::R640x360, Orientation::Portrait);
        assert_eq!(layer_scales(&p360), vec![1.0, 0.5]);
        let p180 = VideoEncoderParams {
            width: 320,
            height: 180,
            ..p720()
        };
        assert_eq!(layer_scales(&p180), vec![1.0]);
    }

    #[test]
    fn without_feedback_every_layer_goes_at_its_full_rate() {
        let mut s = Simulcast::new(p720(), 3);
        let t = s.update(Instant::now(), None);
        let kbps: Vec<u32> = t.iter().map(|t| t.unwrap().bitrate_kbps).collect();
        assert_eq!(kbps[0], p720().bitrate_kbps);
        assert!(kbps[1] < kbps[0] / 2 && kbps[2] < kbps[1] / 2, "{kbps:?}");
        assert_eq!(t[2].unwrap().scale, 0.25);
    }

    #[test]
    fn a_slow_uplink_pauses_the_large_layers_first_and_keeps_the_smallest() {
        let mut s = Simulcast::new(p720(), 3);
        let now = Instant::now();
        let small = layer_kbps(&p720(), 0.25);
        let mid = layer_kbps(&p720(), 0.5);
        assert_eq!(
            active(&s.update(now, for_budget(small + mid + 100.0))),
            vec![false, true, true]
        );
        assert_eq!(
            active(&s.update(now, for_budget(small + 10.0))),
            vec![false, false, true]
        );
        // Even below its own rate the smallest goes, at what is left.
        let t = s.update(now, for_budget(50.0));
        assert_eq!(active(&t), vec![false, false, true]);
        assert_eq!(t[2].unwrap().bitrate_kbps, 50);
    }

    #[test]
    fn a_paused_layer_resumes_only_after_the_hold() {
        let mut s = Simulcast::new(p720(), 3);
        let t0 = Instant::now();
        let small = layer_kbps(&p720(), 0.25);
        let mid = layer_kbps(&p720(), 0.5);
        s.update(t0, for_budget(small));
        let plenty = for_budget(small + mid * RESUME_MARGIN + 1.0);
        assert_eq!(
            active(&s.update(t0 + Duration::from_secs(1), plenty)),
            vec![false, false, true]
        );
        assert_eq!(
            active(&s.update(t0 + Duration::from_millis(2900), plenty)),
            vec![false, false, true]
        );
        assert_eq!(
            active(&s.update(t0 + Duration::from_secs(3), plenty)),
            vec![false, true, true]
        );
        // A dip under the mark restarts the hold of the next one up.
        let top = layer_kbps(&p720(), 1.0);
        let all = for_budget(small + mid + top * RESUME_MARGIN + 1.0);
        s.update(t0 + Duration::from_secs(4), all);
        s.update(t0 + Duration::from_secs(5), plenty);
        assert_eq!(
            active(&s.update(t0 + Duration::from_secs(6), all)),
            vec![false, true, true]
        );
        assert_eq!(
            active(&s.update(t0 + Duration::from_secs(8), all)),
            vec![true, true, true]
        );
    }

    #[test]
    fn a_layer_keeps_going_slightly_below_its_rate() {
        let mut s = Simulcast::new(p720(), 3);
        let now = Instant::now();
        let small = layer_kbps(&p720(), 0.25);
        let mid = layer_kbps(&p720(), 0.5);
        let t = s.update(now, for_budget(small + mid * 0.8));
        assert_eq!(active(&t), vec![false, true, true]);
        assert_eq!(t[1].unwrap().bitrate_kbps, (mid * 0.8).round() as u32);
    }

    #[test]
    fn fewer_layers_than_the_preset_allows_are_respected() {
        let mut s = Simulcast::new(p720(), 2);
        let t = s.update(Instant::now(), None);
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].unwrap().scale, 0.5);
    }
}
