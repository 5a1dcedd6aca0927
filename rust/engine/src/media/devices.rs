//! The device boundary: the engine owns no camera, microphone or speaker.
//!
//! The app (a mobile shell, the CLI) implements these traits:
//! - **Sources** are *pulled* by the engine's media threads: the video source
//!   once per frame interval (at the encoder's fps), the audio source every
//!   10 ms. A camera source keeps its newest frame; a microphone source keeps
//!   a short ring buffer of PCM.
//! - **Sinks** are *pushed* decoded media. Each sink is called on its own
//!   delivery thread with the newest frame; a sink slower than the stream
//!   misses frames (counted), it never holds up decoding or the network.
//! - The **device delegate** carries out requests the app makes through the
//!   engine (open the camera, route audio to the earpiece, ...).

use std::sync::Arc;

use hotline_media::{AudioFrame, VideoFrame};

/// Gives the engine camera frames (I420; NV12 converts with
/// [`VideoFrame::from_nv12`]). Called on the engine's video thread at the
/// encoder frame rate while the camera is open.
pub trait VideoSource: Send + Sync {
    /// The newest frame, or `None` if there is none yet (nothing is sent).
    fn read_frame(&self) -> Option<VideoFrame>;
}

/// Gives the engine microphone audio. Called every 10 ms on the engine's
/// audio thread while the microphone is open.
pub trait AudioSource: Send + Sync {
    /// The next 10 ms of 48 kHz mono PCM, or `None` when none is captured
    /// (silence is sent).
    fn read_audio(&self) -> Option<AudioFrame>;
}

/// Receives decoded (or, for the local view, captured) video frames.
pub trait VideoSink: Send + Sync {
    /// One frame. Render it (honouring `frame.rotation` and the render
    /// params) and return; the next frame waits for this call.
    fn on_frame(&self, frame: &VideoFrame);
}

/// Receives audio: the mixed playout of everyone in the call (the speaker),
/// or one remote user's decoded audio (for recording).
pub trait AudioSink: Send + Sync {
    /// 10 ms of 48 kHz mono PCM.
    fn on_audio(&self, frame: &AudioFrame);
}

/// Which camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Camera {
    /// The selfie camera (TUICallEngine's default).
    #[default]
    Front,
    /// The rear camera.
    Back,
}

/// Where call audio plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AudioPlaybackDevice {
    /// The loudspeaker (TUICallEngine's default for video calls).
    #[default]
    Speakerphone,
    /// The earpiece.
    Earpiece,
}

/// How a sink fits the picture into its view (TUICallEngine's `fillMode`):
/// `Fill` (the default) covers the view and crops the picture, `Fit` shows
/// the whole picture with bars. [`hotline_media::render::render`] does either.
pub use hotline_media::render::FillMode;

/// How one user's video is rendered (`setVideoRenderParams`); handed to the
/// device delegate, whose renderers apply it (with the frame's own rotation;
/// [`hotline_media::render`] has the pixel work).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VideoRenderParams {
    /// Fill or fit.
    pub fill_mode: FillMode,
    /// Extra clockwise rotation in degrees: 0, 90, 180 or 270.
    pub rotation: u32,
}

/// Carries out device requests; implemented by the shell. Every method is
/// called on the engine's calling thread and should return quickly.
pub trait DeviceDelegate: Send + Sync {
    /// Start capturing from `camera`; frames then flow through the video source.
    fn open_camera(&self, camera: Camera);
    /// Stop capturing video.
    fn close_camera(&self);
    /// Switch to the other camera while capturing.
    fn switch_camera(&self, camera: Camera);
    /// Start capturing audio.
    fn open_microphone(&self);
    /// Stop capturing audio.
    fn close_microphone(&self);
    /// Route playout to the loudspeaker or the earpiece.
    fn select_audio_playback_device(&self, device: AudioPlaybackDevice);
    /// Render `user_id`'s video this way (`""` is this user's local view).
    fn set_video_render_params(&self, user_id: &str, params: VideoRenderParams);
}

/// Shared, swappable handles to the app's devices.
pub(crate) type SharedVideoSource = Arc<dyn VideoSource>;
/// See [`SharedVideoSource`].
pub(crate) type SharedAudioSource = Arc<dyn AudioSource>;
