//! From a bandwidth estimate to what the video encoder does: its bitrate,
//! and below each rung's floor a smaller picture or a lower frame rate
//! (TRTC's ladder: 720p → 540p → 360p → 180p, 30 → 15 fps), and back up
//! when the estimate recovers. No clock: time is passed in.
//!
//! Audio comes first: a fixed reserve for Opus and the packets' overhead is
//! taken from the estimate before video gets the rest.

use std::time::{Duration, Instant};

use hotline_media::{OpusEncoderConfig, VideoEncoderParams};

/// Opus at 32 kbps plus RTP, SRTP, UDP and IP headers on 50 packets a second.
pub(crate) const AUDIO_RESERVE_KBPS: f64 = 48.0;
/// Share of the estimate spent on media; the rest covers video's packet
/// headers and retransmissions.
pub(crate) const MEDIA_SHARE: f64 = 0.9;
/// Encoder bits per pixel and frame at a rung's floor: below it the
/// picture turns to mush, and the next rung down looks better.
const FLOOR_BITS_PER_PIXEL: f64 = 0.04;
/// No encoder below this (OpenH264's useful minimum).
const MIN_VIDEO_KBPS: f64 = 30.0;
/// Frame rate below 360p, and on the rung inserted for presets above it.
const LOW_FPS: u32 = 15;
/// Short sides of the ladder's pictures, largest first.
const LADDER_SHORT_SIDES: [u32; 4] = [720, 540, 360, 180];
/// The budget must clear the next rung's floor by this factor, and then
/// stay above the floor for [`UP_HOLD`], before the picture grows: growing
/// costs a keyframe.
const UP_MARGIN: f64 = 1.25;
const UP_HOLD: Duration = Duration::from_secs(2);

/// One step of the ladder: a picture size (as a share of the preset's) and
/// a frame rate, with the least bitrate worth sending it at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rung {
    /// Short side of the picture, in pixels.
    pub(crate) short_side: u32,
    pub(crate) fps: u32,
    pub(crate) floor_kbps: f64,
}

/// What the encoder should do now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct VideoTarget {
    /// Picture size relative to the preset's (1.0 = the preset's size).
    pub(crate) scale: f64,
    pub(crate) fps: u32,
    pub(crate) bitrate_kbps: u32,
    /// Index of the rung (0 = the preset's own).
    pub(crate) rung: usize,
}

/// The ladder for one preset, and where on it the call is.
#[derive(Debug)]
pub(crate) struct Adaptation {
    preset: VideoEncoderParams,
    rungs: Vec<Rung>,
    current: usize,
    /// Since when the budget has cleared the next rung up.
    up_since: Option<Instant>,
}

impl Adaptation {
    pub(crate) fn new(preset: VideoEncoderParams) -> Adaptation {
        Adaptation {
            rungs: ladder(&preset),
            preset,
            current: 0,
            up_since: None,
        }
    }

    /// The preset the ladder was built for.
    pub(crate) fn preset(&self) -> VideoEncoderParams {
        self.preset
    }

    /// Where to be, given the estimate (bits per second; `None` until the
    /// first feedback: then the preset as set).
    pub(crate) fn update(&mut self, now: Instant, estimate_bps: Option<f64>) -> VideoTarget {
        let Some(estimate) = estimate_bps else {
            return self.target(f64::from(self.preset.bitrate_kbps));
        };
        let budget = video_budget_kbps(estimate);
        // Down at once, as far as needed: a congested link is hurting now.
        while self.current + 1 < self.rungs.len() && budget < self.rungs[self.current].floor_kbps {
            self.current += 1;
            self.up_since = None;
        }
        // Up one rung at a time, once the budget has cleared the next
        // rung's floor by the margin and not fallen under the floor itself
        // for the hold (estimates wobble; a wobble must not restart it).
        if self.current > 0 {
            let next_floor = self.rungs[self.current - 1].floor_kbps;
            if budget < next_floor {
                self.up_since = None;
            } else if budget >= next_floor * UP_MARGIN || self.up_since.is_some() {
                let since = *self.up_since.get_or_insert(now);
                if now.duration_since(since) >= UP_HOLD {
                    self.current -= 1;
                    self.up_since = None;
                }
            }
        }
        self.target(budget)
    }

    fn target(&self, budget_kbps: f64) -> VideoTarget {
        let rung = self.rungs[self.current];
        let preset_short = self.preset.width.min(self.preset.height);
        let bitrate = budget_kbps
            .min(f64::from(self.preset.bitrate_kbps))
            .max(MIN_VIDEO_KBPS);
        VideoTarget {
            scale: f64::from(rung.short_side) / f64::from(preset_short.max(1)),
            fps: rung.fps,
            bitrate_kbps: bitrate.round() as u32,
            rung: self.current,
        }
    }
}

/// The loss Opus's in-band FEC is tuned for (percent), given the loss the
/// SFU reports: the encoder's default until loss is seen, then twice the
/// loss (a burst is worse than the average) up to 40 %. The bitrate stays:
/// stronger FEC takes its bits from the main stream, not from the link.
pub(crate) fn opus_expected_loss(reported_percent: f64) -> u8 {
    let default = f64::from(OpusEncoderConfig::default().packet_loss_percent);
    (2.0 * reported_percent).clamp(default, 40.0).round() as u8
}

/// A layer's bitrate cut to `ratio` of itself by [`super::pushback`], but
/// not below the encoder's useful minimum.
pub(crate) fn pushed_back(bitrate_kbps: u32, ratio: f64) -> u32 {
    let floor = f64::from(bitrate_kbps).min(MIN_VIDEO_KBPS);
    (f64::from(bitrate_kbps) * ratio).max(floor).round() as u32
}

/// What video may spend out of an estimate, in kbps.
pub(crate) fn video_budget_kbps(estimate_bps: f64) -> f64 {
    estimate_bps / 1000.0 * MEDIA_SHARE - AUDIO_RESERVE_KBPS
}

/// The preset's own rung, then every ladder size below it; frame rates
/// above [`LOW_FPS`] drop to it below 360p (and, for such presets, a
/// 360p rung at the low rate comes between).
pub(crate) fn ladder(preset: &VideoEncoderParams) -> Vec<Rung> {
    let (w, h) = (preset.width, preset.height);
    let short = w.min(h).max(2);
    let aspect = f64::from(w.max(h)) / f64::from(short);
    let fps = preset.fps.max(1);
    let rung = |short_side: u32, fps: u32| Rung {
        short_side,
        fps,
        floor_kbps: floor_kbps(short_side, aspect, fps),
    };
    let mut rungs = vec![rung(short, fps)];
    for side in LADDER_SHORT_SIDES.into_iter().filter(|&s| s < short) {
        if side < 360 && fps > LOW_FPS {
            if rungs.last().is_some_and(|r| r.fps > LOW_FPS) {
                let last = rungs.last().expect("a rung").short_side;
                rungs.push(rung(last, LOW_FPS));
            }
            rungs.push(rung(side, LOW_FPS));
        } else {
            rungs.push(rung(side, fps));
        }
    }
    // A preset set below its own floor keeps its size until the estimate
    // falls well under what the app asked for.
    let asked = f64::from(preset.bitrate_kbps) * 0.7;
    if rungs[0].floor_kbps > asked {
        rungs[0].floor_kbps = asked;
    }
    rungs
}

/// The floor of a picture `short_side` pixels high at `fps`: a fixed number
/// of bits per pixel at 15 fps, growing with the square root of the frame
/// rate above it (consecutive frames differ less at higher rates).
fn floor_kbps(short_side: u32, aspect: f64, fps: u32) -> f64 {
    let pixels = f64::from(short_side).powi(2) * aspect;
    let rate = 15.0 * (f64::from(fps) / 15.0).sqrt();
    (pixels * rate * FLOOR_BITS_PER_PIXEL / 1000.0).max(MIN_VIDEO_KBPS)
}

/// The encoder's size for a camera frame of `width`×`height` at `scale`:
/// even, at least 16×16, never larger than the frame.
pub(crate) fn scaled_size(width: u32, height: u32, scale: f64) -> (u32, u32) {
    if scale >= 1.0 {
        return (width, height);
    }
    let side = |v: u32| (((f64::from(v) * scale / 2.0).round() as u32) * 2).clamp(16, v.max(16));
    (side(width), side(height))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotline_media::{Orientation, VideoResolution};

    fn p720(fps: u32) -> VideoEncoderParams {
        VideoEncoderParams::preset(VideoResolution::R1280x720, Orientation::Landscape).with_fps(fps)
    }

    fn sides(rungs: &[Rung]) -> Vec<(u32, u32)> {
        rungs.iter().map(|r| (r.short_side, r.fps)).collect()
    }

    #[test]
    fn the_ladder_steps_through_the_sizes_below_the_preset() {
        assert_eq!(
            sides(&ladder(&p720(15))),
            [(720, 15), (540, 15), (360, 15), (180, 15)]
        );
        assert_eq!(
            sides(&ladder(&p720(30))),
            [(720, 30), (540, 30), (360, 30), (360, 15), (180, 15)]
        );
        let p360 = VideoEncoderParams::default();
        assert_eq!(sides(&ladder(&p360)), [(360, 15), (180, 15)]);
        // Portrait pictures use the same short sides.
        let portrait = VideoEncoderParams::preset(VideoResolution::R960x540, Orientation::Portrait);
        assert_eq!(sides(&ladder(&portrait)), [(540, 15), (360, 15), (180, 15)]);
    }

    #[test]
    fn floors_fall_down_the_ladder_and_stay_under_the_presets_bitrate() {
        for preset in [p720(15), p720(30), VideoEncoderParams::default()] {
            let rungs = ladder(&preset);
            for pair in rungs.windows(2) {
                assert!(pair[0].floor_kbps > pair[1].floor_kbps, "{rungs:?}");
            }
            assert!(rungs[0].floor_kbps < f64::from(preset.bitrate_kbps));
        }
        // 720p at 15 fps needs about half a megabit.
        let floor = ladder(&p720(15))[0].floor_kbps;
        assert!((400.0..700.0).contains(&floor), "{floor}");
    }

    #[test]
    fn without_an_estimate_the_preset_is_used_as_set() {
        let mut a = Adaptation::new(p720(15));
        let t = a.update(Instant::now(), None);
        assert_eq!((t.scale, t.fps, t.bitrate_kbps, t.rung), (1.0, 15, 1200, 0));
    }

    #[test]
    fn a_300_kbps_link_steps_down_at_once_and_fits_under_it() {
        let mut a = Adaptation::new(p720(15));
        let t = a.update(Instant::now(), Some(300_000.0));
        let budget = video_budget_kbps(300_000.0);
        assert_eq!(t.bitrate_kbps, budget.round() as u32);
        assert!(f64::from(t.bitrate_kbps) + AUDIO_RESERVE_KBPS < 300.0);
        assert_eq!(t.scale, 0.5, "360p: {t:?}");
        // A plenty link keeps the preset's bitrate, not more.
        let mut b = Adaptation::new(p720(15));
        assert_eq!(b.update(Instant::now(), Some(5e6)).bitrate_kbps, 1200);
    }

    #[test]
    fn the_way_back_up_waits_for_the_estimate_to_hold() {
        let t0 = Instant::now();
        let mut a = Adaptation::new(p720(30));
        assert_eq!(a.update(t0, Some(150_000.0)).rung, 4, "180p at 15 fps");
        // Recovered: one rung per hold.
        let mut at = t0;
        let mut rungs = vec![];
        for _ in 0..100 {
            at += Duration::from_millis(100);
            rungs.push(a.update(at, Some(5e6)).rung);
        }
        assert_eq!(rungs[..20], [4; 20], "held for two seconds first");
        assert_eq!(rungs[20], 3);
        assert_eq!(*rungs.last().unwrap(), 0, "back to the preset");
        // A dip resets the hold.
        let mut b = Adaptation::new(p720(15));
        b.update(t0, Some(350_000.0));
        let was = b.current;
        assert_eq!(was, 2);
        b.update(t0 + Duration::from_millis(1500), Some(5e6));
        b.update(t0 + Duration::from_millis(1600), Some(350_000.0));
        assert_eq!(
            b.update(t0 + Duration::from_millis(3600), Some(5e6)).rung,
            was
        );
    }

    #[test]
    fn pushback_cuts_the_bitrate_down_to_the_encoders_minimum() {
        assert_eq!(pushed_back(1200, 1.0), 1200);
        assert_eq!(pushed_back(1200, 0.25), 300);
        assert_eq!(pushed_back(1200, 0.01), 30);
        assert_eq!(pushed_back(20, 0.5), 20, "never raised");
    }

    #[test]
    fn opus_fec_rises_with_reported_loss() {
        assert_eq!(opus_expected_loss(0.0), 10);
        assert_eq!(opus_expected_loss(3.0), 10);
        assert_eq!(opus_expected_loss(8.0), 16);
        assert_eq!(opus_expected_loss(60.0), 40);
    }

    #[test]
    fn scaled_sizes_are_even_and_never_grow() {
        assert_eq!(scaled_size(1280, 720, 0.75), (960, 540));
        assert_eq!(scaled_size(1280, 720, 0.25), (320, 180));
        assert_eq!(scaled_size(640, 360, 1.0), (640, 360));
        assert_eq!(scaled_size(642, 362, 0.5), (322, 182));
        assert_eq!(scaled_size(40, 20, 0.1), (16, 16));
    }
}
