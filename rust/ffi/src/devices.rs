//! The device boundary for apps: camera and microphone sources, audio sinks,
//! the device delegate, and the adapters that turn them into the engine's
//! traits (`hotline_engine::media::devices`).
//!
//! Frames coming *from* the app cross the FFI as bytes and are copied: a
//! [`CapturedFrame`]'s `data` is copied once by the generated code into a
//! Rust-owned buffer and once more into the engine's I420 frame (NV12 is
//! de-interleaved in that same pass). At 640×360 that is 2 × 346 KB per frame,
//! at 1280×720 2 × 1.4 MB. Frames going *to* the app do not cross as bytes (see
//! `video.rs`).
//!
//! Foreign code can fail (a Kotlin exception, a malformed frame): every
//! adapter logs the failure and carries on as if no frame or no call had
//! happened, so nothing panics on an engine thread.

use std::sync::Arc;

use hotline_engine::media::devices as engine;
use hotline_engine::media::devices::{AudioPlaybackDevice, Camera, FillMode};
use hotline_media::Rotation;

use crate::guard::foreign;
use crate::HotlineError;

/// The pixel layout of a [`CapturedFrame`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum FrameFormat {
    /// Planar Y, then U, then V (chroma at half resolution both ways).
    I420,
    /// Planar Y, then one plane of interleaved U,V pairs (iOS camera
    /// buffers, `420YpCbCr8BiPlanar`). Android's `YUV_420_888` images have
    /// separate plane buffers: copy them into one `data` as I420 or NV12.
    Nv12,
}

/// One camera picture handed to the engine by a [`VideoSource`].
///
/// `data` holds the planes back to back, each `stride × rows` bytes: for
/// I420 the Y plane (`stride_y × height`), then U and V (`stride_uv ×
/// height/2` each); for NV12 the Y plane, then the UV plane (`stride_uv ×
/// height/2`). The last plane's last row may stop at the picture's width.
/// The bytes are copied twice on the way in (into Rust, then into the
/// encoder's frame); see the bindings guide for the cost.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CapturedFrame {
    /// I420 or NV12.
    pub format: FrameFormat,
    /// Width in pixels (even, 2–8192).
    pub width: u32,
    /// Height in pixels (even, 2–8192).
    pub height: u32,
    /// The planes, back to back (see the type's description).
    pub data: Vec<u8>,
    /// Bytes per Y row; 0 means `width` (no padding).
    #[uniffi(default = 0)]
    pub stride_y: u32,
    /// Bytes per chroma row; 0 means no padding (`width / 2` for I420,
    /// `width` for NV12).
    #[uniffi(default = 0)]
    pub stride_uv: u32,
    /// Clockwise rotation the receiver applies when rendering: 0, 90, 180
    /// or 270 (sensor orientation); the pixels are sent as they are.
    #[uniffi(default = 0)]
    pub rotation: u32,
    /// Capture time in microseconds, monotonic (e.g. `System.nanoTime() /
    /// 1000`, `CMSampleBuffer` time). The video's RTP timing follows it.
    #[uniffi(default = 0)]
    pub timestamp_us: i64,
}

/// `len` bytes of `data` from `start` (fewer if `data` ends first; the
/// frame constructors check the length), or why there are none.
fn plane(data: &[u8], start: usize, len: usize) -> Result<&[u8], String> {
    let end = start.checked_add(len).ok_or("plane size overflows")?;
    let end = end.min(data.len());
    data.get(start..end)
        .ok_or_else(|| format!("data has {} bytes, a plane starts at {start}", data.len()))
}

impl CapturedFrame {
    /// The engine's frame (a copy), or why the frame is malformed.
    fn to_engine(&self) -> Result<hotline_media::VideoFrame, String> {
        let (w, h) = (self.width as usize, self.height as usize);
        let rotation = Rotation::from_degrees(self.rotation).map_err(|e| e.to_string())?;
        let timestamp_us = self.timestamp_us.max(0) as u64;
        let stride_y = if self.stride_y == 0 {
            w
        } else {
            self.stride_y as usize
        };
        let y_len = stride_y.checked_mul(h).ok_or("Y plane size overflows")?;
        let y = plane(&self.data, 0, y_len)?;
        let rest = self.data.get(y_len.min(self.data.len())..).unwrap_or(&[]);
        let frame = match self.format {
            FrameFormat::I420 => {
                let stride_uv = if self.stride_uv == 0 {
                    w / 2
                } else {
                    self.stride_uv as usize
                };
                let c_len = stride_uv
                    .checked_mul(h / 2)
                    .ok_or("U plane size overflows")?;
                let u = plane(rest, 0, c_len)?;
                let v = plane(rest, c_len.min(rest.len()), c_len)?;
                hotline_media::VideoFrame::from_i420(
                    self.width,
                    self.height,
                    y,
                    stride_y,
                    u,
                    v,
                    stride_uv,
                    timestamp_us,
                    rotation,
                )
            }
            FrameFormat::Nv12 => {
                let stride_uv = if self.stride_uv == 0 {
                    w
                } else {
                    self.stride_uv as usize
                };
                let c_len = stride_uv
                    .checked_mul(h / 2)
                    .ok_or("UV plane size overflows")?;
                let uv = plane(rest, 0, c_len)?;
                hotline_media::VideoFrame::from_nv12(
                    self.width,
                    self.height,
                    y,
                    stride_y,
                    uv,
                    stride_uv,
                    timestamp_us,
                    rotation,
                )
            }
        };
        frame.map_err(|e| e.to_string())
    }
}

/// 10 ms of 48 kHz mono 16-bit PCM: exactly 480 samples.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AudioFrame {
    /// 480 samples, oldest first.
    pub samples: Vec<i16>,
    /// Capture (or playout) time of the first sample, in microseconds.
    #[uniffi(default = 0)]
    pub timestamp_us: i64,
}

impl From<&hotline_media::AudioFrame> for AudioFrame {
    fn from(f: &hotline_media::AudioFrame) -> Self {
        AudioFrame {
            samples: f.samples.to_vec(),
            timestamp_us: f.timestamp_us.min(i64::MAX as u64) as i64,
        }
    }
}

/// Gives the engine camera pictures (the app's capture pipeline).
///
/// Pulled on the engine's video thread at the encoder's frame rate while the
/// camera is open: keep the newest captured picture and return it here
/// (returning the same picture twice is fine). Return quickly; the engine
/// never queues pictures. A malformed frame, or an exception, is logged and
/// skipped.
#[uniffi::export(with_foreign)]
pub trait VideoSource: Send + Sync {
    /// The newest picture, or nothing if there is none yet (nothing is sent).
    fn read_frame(&self) -> Result<Option<CapturedFrame>, HotlineError>;
}

/// Gives the engine microphone audio.
///
/// Pulled every 10 ms on the engine's audio thread while the microphone is
/// open: keep a short ring buffer of captured PCM and return the next 10 ms.
/// Return quickly. Nothing (or a frame without exactly 480 samples, which is
/// logged) sends 10 ms of silence.
#[uniffi::export(with_foreign)]
pub trait AudioSource: Send + Sync {
    /// The next 10 ms of 48 kHz mono PCM, or nothing.
    fn read_audio(&self) -> Result<Option<AudioFrame>, HotlineError>;
}

/// Receives audio: the mix of everyone in the call (`set_audio_playback_sink`,
/// the speaker) or one user's decoded audio (`start_remote_audio`).
///
/// Called every 10 ms, in order, on the sink's own thread (not the engine's
/// audio thread), behind a queue of half a second: a sink further behind
/// than that loses frames, and the call's audio never waits for it. Copy the
/// samples into your playout buffer and return.
#[uniffi::export(with_foreign)]
pub trait AudioSink: Send + Sync {
    /// 10 ms of 48 kHz mono PCM (480 samples).
    fn on_audio(&self, frame: AudioFrame) -> Result<(), HotlineError>;
}

/// Which camera (TUICallEngine's `TUICommonDefine.Camera`).
#[uniffi::remote(Enum)]
pub enum Camera {
    /// The selfie camera (the default).
    Front,
    /// The rear camera.
    Back,
}

/// Where call audio plays (TUICallEngine's `AudioPlaybackDevice`).
#[uniffi::remote(Enum)]
pub enum AudioPlaybackDevice {
    /// The loudspeaker (the default for video calls).
    Speakerphone,
    /// The earpiece.
    Earpiece,
}

/// How a renderer fits the picture into its view (TUICallEngine's `fillMode`).
#[uniffi::remote(Enum)]
pub enum FillMode {
    /// Cover the view, cropping the picture.
    Fill,
    /// Show the whole picture, with bars.
    Fit,
}

/// How one user's video is rendered (`set_video_render_params`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct VideoRenderParams {
    /// Fill or fit.
    pub fill_mode: FillMode,
    /// Extra clockwise rotation in degrees: 0, 90, 180 or 270.
    #[uniffi(default = 0)]
    pub rotation: u32,
}

impl From<VideoRenderParams> for engine::VideoRenderParams {
    fn from(p: VideoRenderParams) -> Self {
        engine::VideoRenderParams {
            fill_mode: p.fill_mode,
            rotation: p.rotation,
        }
    }
}

impl From<engine::VideoRenderParams> for VideoRenderParams {
    fn from(p: engine::VideoRenderParams) -> Self {
        VideoRenderParams {
            fill_mode: p.fill_mode,
            rotation: p.rotation,
        }
    }
}

/// Carries out the device requests made through the engine: the app's
/// camera, microphone and audio route (TUICallEngine's device methods).
///
/// Called on the thread that called the engine method (`open_camera` and
/// so on), or on an engine thread when a call's media starts (the
/// microphone opens) and stops (camera and microphone close). Return
/// quickly; exceptions are logged and ignored.
#[uniffi::export(with_foreign)]
pub trait DeviceDelegate: Send + Sync {
    /// Start capturing from `camera`; pictures then flow through the video source.
    fn open_camera(&self, camera: Camera) -> Result<(), HotlineError>;
    /// Stop capturing video.
    fn close_camera(&self) -> Result<(), HotlineError>;
    /// Switch to `camera` while capturing.
    fn switch_camera(&self, camera: Camera) -> Result<(), HotlineError>;
    /// Start capturing audio.
    fn open_microphone(&self) -> Result<(), HotlineError>;
    /// Stop capturing audio.
    fn close_microphone(&self) -> Result<(), HotlineError>;
    /// Route playout to the loudspeaker or the earpiece.
    fn select_audio_playback_device(&self, device: AudioPlaybackDevice)
        -> Result<(), HotlineError>;
    /// Render `user_id`'s video this way (`""` is this user's local view).
    fn set_video_render_params(
        &self,
        user_id: String,
        params: VideoRenderParams,
    ) -> Result<(), HotlineError>;
}

/// A foreign video source as the engine's.
pub(crate) struct VideoSourceAdapter(pub(crate) Arc<dyn VideoSource>);

impl engine::VideoSource for VideoSourceAdapter {
    fn read_frame(&self) -> Option<hotline_media::VideoFrame> {
        let captured = foreign("VideoSource.readFrame", || self.0.read_frame())??;
        match captured.to_engine() {
            Ok(frame) => Some(frame),
            Err(e) => {
                log::error!(
                    "VideoSource.readFrame: skipping a malformed {:?} {}x{} frame ({} bytes): {e}",
                    captured.format,
                    captured.width,
                    captured.height,
                    captured.data.len()
                );
                None
            }
        }
    }
}

/// A foreign audio source as the engine's.
pub(crate) struct AudioSourceAdapter(pub(crate) Arc<dyn AudioSource>);

impl engine::AudioSource for AudioSourceAdapter {
    fn read_audio(&self) -> Option<hotline_media::AudioFrame> {
        let frame = foreign("AudioSource.readAudio", || self.0.read_audio())??;
        let ts = frame.timestamp_us.max(0) as u64;
        match hotline_media::AudioFrame::from_slice(&frame.samples, ts) {
            Ok(f) => Some(f),
            Err(e) => {
                log::error!("AudioSource.readAudio: skipping a malformed frame: {e}");
                None
            }
        }
    }
}

/// A foreign audio sink as the engine's.
pub(crate) struct AudioSinkAdapter(pub(crate) Arc<dyn AudioSink>);

impl engine::AudioSink for AudioSinkAdapter {
    fn on_audio(&self, frame: &hotline_media::AudioFrame) {
        foreign("AudioSink.onAudio", || self.0.on_audio(frame.into()));
    }
}

/// A foreign device delegate as the engine's.
pub(crate) struct DelegateAdapter(pub(crate) Arc<dyn DeviceDelegate>);

impl engine::DeviceDelegate for DelegateAdapter {
    fn open_camera(&self, camera: Camera) {
        foreign("DeviceDelegate.openCamera", || self.0.open_camera(camera));
    }
    fn close_camera(&self) {
        foreign("DeviceDelegate.closeCamera", || self.0.close_camera());
    }
    fn switch_camera(&self, camera: Camera) {
        foreign("DeviceDelegate.switchCamera", || {
            self.0.switch_camera(camera)
        });
    }
    fn open_microphone(&self) {
        foreign("DeviceDelegate.openMicrophone", || self.0.open_microphone());
    }
    fn close_microphone(&self) {
        foreign("DeviceDelegate.closeMicrophone", || {
            self.0.close_microphone()
        });
    }
    fn select_audio_playback_device(&self, device: AudioPlaybackDevice) {
        foreign("DeviceDelegate.selectAudioPlaybackDevice", || {
            self.0.select_audio_playback_device(device)
        });
    }
    fn set_video_render_params(&self, user_id: &str, params: engine::VideoRenderParams) {
        foreign("DeviceDelegate.setVideoRenderParams", || {
            self.0
                .set_video_render_params(user_id.to_string(), params.into())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(format: FrameFormat, w: u32, h: u32, data: Vec<u8>) -> CapturedFrame {
        CapturedFrame {
            format,
            width: w,
            height: h,
            data,
            stride_y: 0,
            stride_uv: 0,
            rotation: 0,
            timestamp_us: 7,
        }
    }

    #[test]
    fn i420_and_nv12_with_and_without_strides_convert() {
        // 4x2 I420, tight.
        let f = frame(FrameFormat::I420, 4, 2, (0..12).collect());
        let e = f.to_engine().unwrap();
        assert_eq!(e.to_packed_i420(), (0..12).collect::<Vec<u8>>());
        assert_eq!(e.timestamp_us, 7);
        // 4x2 NV12 with a padded Y stride of 6 and UV stride of 6, last row short.
        let mut f = frame(
            FrameFormat::Nv12,
            4,
            2,
            vec![0, 1, 2, 3, 99, 99, 4, 5, 6, 7, 99, 99, 10, 20, 11, 21],
        );
        f.stride_y = 6;
        f.stride_uv = 6;
        f.rotation = 90;
        let e = f.to_engine().unwrap();
        assert_eq!(
            e.to_packed_i420(),
            vec![0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 20, 21]
        );
        assert_eq!(e.rotation, Rotation::R90);
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        let bad = [
            frame(FrameFormat::I420, 4, 2, vec![0; 11]),
            frame(FrameFormat::I420, 3, 2, vec![0; 12]),
            frame(FrameFormat::Nv12, 4, 2, vec![]),
            frame(FrameFormat::I420, 0, 0, vec![]),
            frame(FrameFormat::I420, u32::MAX, u32::MAX, vec![0; 16]),
            CapturedFrame {
                stride_y: u32::MAX,
                stride_uv: u32::MAX,
                ..frame(FrameFormat::Nv12, 8192, 8192, vec![0; 16])
            },
            CapturedFrame {
                rotation: 45,
                ..frame(FrameFormat::I420, 4, 2, vec![0; 12])
            },
        ];
        for f in bad {
            assert!(f.to_engine().is_err(), "{f:?}");
        }
    }
}
