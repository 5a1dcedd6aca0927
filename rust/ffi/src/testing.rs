//! Test and demo devices implemented in Rust: a camera that draws numbered
//! moving pictures and a microphone that plays a tone, for demos, tests and
//! apps without a real camera (emulators, CI). Not for production capture.

use std::sync::Arc;

use hotline_engine::media::devices::{AudioSource as _, VideoSource as _};
use hotline_engine::media::synthetic;

use crate::devices::{AudioFrame, AudioSource, CapturedFrame, FrameFormat, VideoSource};
use crate::HotlineError;

struct SyntheticCamera(synthetic::SyntheticCamera);

impl VideoSource for SyntheticCamera {
    fn read_frame(&self) -> Result<Option<CapturedFrame>, HotlineError> {
        let Some(f) = self.0.read_frame() else {
            return Ok(None);
        };
        Ok(Some(CapturedFrame {
            format: FrameFormat::I420,
            width: f.width(),
            height: f.height(),
            data: f.to_packed_i420(),
            stride_y: 0,
            stride_uv: 0,
            rotation: f.rotation.degrees(),
            timestamp_us: f.timestamp_us.min(i64::MAX as u64) as i64,
        }))
    }
}

struct ToneMicrophone(synthetic::ToneMicrophone);

impl AudioSource for ToneMicrophone {
    fn read_audio(&self) -> Result<Option<AudioFrame>, HotlineError> {
        Ok(self.0.read_audio().map(|f| AudioFrame::from(&f)))
    }
}

/// FOR TESTS AND DEMOS: a camera implemented in Rust that draws a moving
/// test pattern of `width`×`height` (e.g. 640×360; made even and kept
/// within 16–3840), each picture carrying its number. Pass it to
/// `set_video_source`.
#[uniffi::export]
pub fn synthetic_camera(width: u32, height: u32) -> Arc<dyn VideoSource> {
    let side = |d: u32| (d & !1).clamp(16, 3840);
    Arc::new(SyntheticCamera(synthetic::SyntheticCamera::new(
        side(width),
        side(height),
    )))
}

/// FOR TESTS AND DEMOS: a microphone implemented in Rust that plays a sine
/// tone of `frequency_hz` at `amplitude` (0–1 of full scale). Pass it to
/// `set_audio_source`.
#[uniffi::export]
pub fn tone_microphone(frequency_hz: f64, amplitude: f64) -> Arc<dyn AudioSource> {
    Arc::new(ToneMicrophone(synthetic::ToneMicrophone::new(
        frequency_hz,
        amplitude.clamp(0.0, 1.0),
    )))
}
