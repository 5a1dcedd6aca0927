//! `set_video_encoder_params`: TUICallEngine's presets, mapped to
//! `hotline_media::VideoEncoderParams::preset` plus the app's overrides.

use hotline_media::{Orientation, VideoResolution as MediaResolution};

/// The encoder resolutions TUICallEngine offers (landscape sizes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum VideoResolution {
    /// 640×360, 550 kbps by default (the mobile default).
    R640x360,
    /// 960×540, 850 kbps by default.
    R960x540,
    /// 1280×720, 1200 kbps by default.
    R1280x720,
    /// 1920×1080, 2000 kbps by default.
    R1920x1080,
}

/// Landscape (wide) or portrait (tall) pictures (TUICallEngine's
/// `ResolutionMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ResolutionMode {
    /// Width greater than height.
    Landscape,
    /// Height greater than width (the resolution's sides swapped).
    Portrait,
}

/// What `set_video_encoder_params` takes: a preset and optional overrides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct VideoEncoderParams {
    /// The picture size.
    pub resolution: VideoResolution,
    /// Landscape or portrait.
    pub resolution_mode: ResolutionMode,
    /// Target bitrate in kbps (30–20000); 0 keeps the resolution's default.
    #[uniffi(default = 0)]
    pub bitrate_kbps: u32,
    /// Frames per second (1–60); 0 keeps the default, 15.
    #[uniffi(default = 0)]
    pub fps: u32,
}

impl From<VideoEncoderParams> for hotline_media::VideoEncoderParams {
    fn from(p: VideoEncoderParams) -> Self {
        let resolution = match p.resolution {
            VideoResolution::R640x360 => MediaResolution::R640x360,
            VideoResolution::R960x540 => MediaResolution::R960x540,
            VideoResolution::R1280x720 => MediaResolution::R1280x720,
            VideoResolution::R1920x1080 => MediaResolution::R1920x1080,
        };
        let orientation = match p.resolution_mode {
            ResolutionMode::Landscape => Orientation::Landscape,
            ResolutionMode::Portrait => Orientation::Portrait,
        };
        let mut params = hotline_media::VideoEncoderParams::preset(resolution, orientation);
        if p.fps != 0 {
            params = params.with_fps(p.fps);
        }
        if p.bitrate_kbps != 0 {
            params.bitrate_kbps = p.bitrate_kbps;
        }
        params
    }
}

/// The encoder settings in force (`video_encoder_params`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct VideoEncoderSettings {
    /// Picture width in pixels (frames of another size are encoded at their own size).
    pub width: u32,
    /// Picture height in pixels.
    pub height: u32,
    /// Target bitrate in kbps.
    pub bitrate_kbps: u32,
    /// Frames per second the video source is pulled at.
    pub fps: u32,
    /// A keyframe every this many frames (0: only on request).
    pub keyframe_interval_frames: u32,
}

impl From<hotline_media::VideoEncoderParams> for VideoEncoderSettings {
    fn from(p: hotline_media::VideoEncoderParams) -> Self {
        VideoEncoderSettings {
            width: p.width,
            height: p.height,
            bitrate_kbps: p.bitrate_kbps,
            fps: p.fps,
            keyframe_interval_frames: p.keyframe_interval_frames,
        }
    }
}
