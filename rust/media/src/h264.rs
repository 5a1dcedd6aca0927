//! H.264 with OpenH264: a Constrained Baseline encoder shaped for calls and
//! a decoder that returns [`VideoFrame`]s.
//!
//! The encoder emits Constrained Baseline (profile_idc 66 with
//! constraint_set1), level 3.1 up to 720p, i.e. SDP `profile-level-id=42e01f`
//! with `packetization-mode=1`, which every browser decodes. 1080p needs
//! level 4.0 (`42e028`); [`VideoEncoderParams::profile_level_id`] says which.
//! Each IDR carries its SPS and PPS, so a keyframe alone starts a decoder.
//!
//! Output is a list of NAL units without start codes, the form RTP
//! payloading ([`crate::rtp::h264`]) wants; [`EncodedVideo::to_annex_b`]
//! gives the byte stream the decoder wants.

use crate::frame::{Rotation, VideoFrame};
use openh264::encoder::{
    BitRate, Complexity, EncoderConfig, FrameRate, IntraFramePeriod, Level, Profile,
    RateControlMode, UsageType,
};
use openh264::formats::YUVSource;
use openh264::OpenH264API;
use thiserror::Error;

/// NAL unit type of an IDR slice.
pub const NAL_IDR: u8 = 5;
/// NAL unit type of a sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// NAL unit type of a picture parameter set.
pub const NAL_PPS: u8 = 8;

/// H.264 encoder and decoder failures.
#[derive(Debug, Error)]
pub enum H264Error {
    /// The encoder settings are out of range.
    #[error("invalid encoder parameters: {0}")]
    InvalidParams(String),
    /// OpenH264 failed to encode.
    #[error("H.264 encode failed: {0}")]
    Encode(String),
    /// The bitstream could not be decoded (corrupt, or a reference picture is
    /// missing). The receiver should ask the sender for a keyframe (PLI).
    #[error("H.264 decode failed (native code {code}): {message}")]
    Decode {
        /// OpenH264's `DECODING_STATE` bits, 0 if not from the codec.
        code: i64,
        /// OpenH264's description.
        message: String,
    },
}

/// The resolutions TUICallEngine's `setVideoEncoderParams` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

impl VideoResolution {
    /// Landscape width and height.
    pub fn landscape_size(self) -> (u32, u32) {
        match self {
            VideoResolution::R640x360 => (640, 360),
            VideoResolution::R960x540 => (960, 540),
            VideoResolution::R1280x720 => (1280, 720),
            VideoResolution::R1920x1080 => (1920, 1080),
        }
    }

    /// TRTC's default bitrate for this resolution, in kbps.
    pub fn default_bitrate_kbps(self) -> u32 {
        match self {
            VideoResolution::R640x360 => 550,
            VideoResolution::R960x540 => 850,
            VideoResolution::R1280x720 => 1200,
            VideoResolution::R1920x1080 => 2000,
        }
    }
}

/// Landscape (wide) or portrait (tall) pictures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Orientation {
    /// Width greater than height.
    #[default]
    Landscape,
    /// Height greater than width.
    Portrait,
}

/// Encoder settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoEncoderParams {
    /// Picture width in pixels (even).
    pub width: u32,
    /// Picture height in pixels (even).
    pub height: u32,
    /// Target bitrate in kbps.
    pub bitrate_kbps: u32,
    /// Frame rate the camera delivers (frames per second).
    pub fps: u32,
    /// Emit an IDR every this many frames as a safety net for receivers
    /// whose keyframe requests were lost; 0 means only on request. Default:
    /// 10 seconds' worth.
    pub keyframe_interval_frames: u32,
    /// Let rate control skip frames when over budget (as libwebrtc does);
    /// [`H264Encoder::encode`] then returns `None` for a skipped frame.
    /// Default true: OpenH264 warns that without it the bitrate cannot be
    /// held. Tests that need one output per input turn it off.
    pub allow_frame_skip: bool,
}

impl VideoEncoderParams {
    /// A TUICallEngine/TRTC preset at 15 fps.
    pub fn preset(resolution: VideoResolution, orientation: Orientation) -> Self {
        let (w, h) = resolution.landscape_size();
        let (width, height) = match orientation {
            Orientation::Landscape => (w, h),
            Orientation::Portrait => (h, w),
        };
        VideoEncoderParams {
            width,
            height,
            bitrate_kbps: resolution.default_bitrate_kbps(),
            fps: 15,
            keyframe_interval_frames: 150,
            allow_frame_skip: true,
        }
    }

    /// The same settings at another frame rate (the keyframe interval keeps
    /// its duration).
    pub fn with_fps(mut self, fps: u32) -> Self {
        if let Some(scaled) = (self.keyframe_interval_frames * fps).checked_div(self.fps) {
            self.keyframe_interval_frames = scaled;
        }
        self.fps = fps;
        self
    }

    /// The SDP `profile-level-id` the stream conforms to: `42e01f` up to
    /// 1280×720 (level 3.1), `42e028` above (level 4.0).
    pub fn profile_level_id(&self) -> &'static str {
        if self.needs_level_4() {
            "42e028"
        } else {
            "42e01f"
        }
    }

    fn needs_level_4(&self) -> bool {
        // Level 3.1 allows 3600 macroblocks per frame.
        let mbs = self.width.div_ceil(16) * self.height.div_ceil(16);
        mbs > 3600
    }

    fn validate(&self) -> Result<(), H264Error> {
        if self.width < 16 || self.height < 16 || self.width & 1 != 0 || self.height & 1 != 0 {
            return Err(H264Error::InvalidParams(format!(
                "size {}x{} must be even and at least 16x16",
                self.width, self.height
            )));
        }
        if self.width > 3840 || self.height > 3840 {
            return Err(H264Error::InvalidParams("size above 3840".into()));
        }
        if !(1..=60).contains(&self.fps) {
            return Err(H264Error::InvalidParams(format!(
                "fps {} must be 1..=60",
                self.fps
            )));
        }
        if !(30..=20_000).contains(&self.bitrate_kbps) {
            return Err(H264Error::InvalidParams(format!(
                "bitrate {} kbps must be 30..=20000",
                self.bitrate_kbps
            )));
        }
        Ok(())
    }
}

impl Default for VideoEncoderParams {
    /// 640×360 landscape at 550 kbps and 15 fps, TUICallEngine's mobile default.
    fn default() -> Self {
        Self::preset(VideoResolution::R640x360, Orientation::Landscape)
    }
}

/// One encoded picture (an access unit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedVideo {
    /// NAL units in decoding order, without start codes. A keyframe starts
    /// with SPS and PPS.
    pub nals: Vec<Vec<u8>>,
    /// True for an IDR picture.
    pub keyframe: bool,
    /// The source frame's timestamp.
    pub timestamp_us: u64,
    /// The source frame's rotation (to signal, e.g. in an RTP header
    /// extension; it is not applied to the pixels).
    pub rotation: Rotation,
}

impl EncodedVideo {
    /// Total bytes of NAL data.
    pub fn size(&self) -> usize {
        self.nals.iter().map(Vec::len).sum()
    }

    /// The access unit as an Annex B byte stream (4-byte start codes).
    pub fn to_annex_b(&self) -> Vec<u8> {
        nals_to_annex_b(&self.nals)
    }
}

/// Joins NAL units into an Annex B byte stream with 4-byte start codes.
pub fn nals_to_annex_b<T: AsRef<[u8]>>(nals: &[T]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nals.iter().map(|n| n.as_ref().len() + 4).sum());
    for nal in nals {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(nal.as_ref());
    }
    out
}

/// Splits an Annex B byte stream into NAL units (start codes removed).
pub fn split_annex_b(stream: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new(); // (start code position, payload position)
    let mut i = 0;
    while i + 2 < stream.len() {
        if stream[i] == 0 && stream[i + 1] == 0 && stream[i + 2] == 1 {
            let code_start = if i > 0 && stream[i - 1] == 0 {
                i - 1
            } else {
                i
            };
            starts.push((code_start, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::with_capacity(starts.len());
    for (k, &(_, payload)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(stream.len(), |&(code, _)| code);
        if end > payload {
            nals.push(&stream[payload..end]);
        }
    }
    nals
}

/// The `nal_unit_type` of a NAL unit (0 for an empty one).
pub fn nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |b| b & 0x1F)
}

fn openh264_config(params: &VideoEncoderParams) -> EncoderConfig {
    let level = if params.needs_level_4() {
        Level::Level_4_0
    } else {
        Level::Level_3_1
    };
    EncoderConfig::new()
        .profile(Profile::Baseline)
        .level(level)
        .usage_type(UsageType::CameraVideoRealTime)
        .rate_control_mode(RateControlMode::Bitrate)
        .bitrate(BitRate::from_bps(params.bitrate_kbps * 1000))
        .max_frame_rate(FrameRate::from_hz(params.fps as f32))
        .skip_frames(params.allow_frame_skip)
        .intra_frame_period(IntraFramePeriod::from_num_frames(
            params.keyframe_interval_frames,
        ))
        // Low: 12–40 % faster than Medium on this machine, and on the
        // synthetic test pictures no worse (52.4 vs 50.8 dB at 720p and
        // 1.2 Mbps); see docs/benchmarks.md ("Media between engines").
        .complexity(Complexity::Low)
        .num_threads(1)
}

/// H.264 encoder (OpenH264, Constrained Baseline, one thread).
///
/// Frames of another size than `params` are accepted: the encoder
/// re-initialises and starts with a keyframe.
pub struct H264Encoder {
    encoder: openh264::encoder::Encoder,
    params: VideoEncoderParams,
    initialized: bool,
    keyframe_requested: bool,
    frames_encoded: u64,
}

impl std::fmt::Debug for H264Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Encoder")
            .field("params", &self.params)
            .field("frames_encoded", &self.frames_encoded)
            .finish_non_exhaustive()
    }
}

impl H264Encoder {
    /// Creates an encoder.
    pub fn new(params: VideoEncoderParams) -> Result<Self, H264Error> {
        params.validate()?;
        let encoder = openh264::encoder::Encoder::with_api_config(
            OpenH264API::from_source(),
            openh264_config(&params),
        )
        .map_err(|e| H264Error::InvalidParams(e.to_string()))?;
        Ok(H264Encoder {
            encoder,
            params,
            initialized: false,
            keyframe_requested: false,
            frames_encoded: 0,
        })
    }

    /// The current settings.
    pub fn params(&self) -> VideoEncoderParams {
        self.params
    }

    /// Frames encoded so far.
    pub fn frames_encoded(&self) -> u64 {
        self.frames_encoded
    }

    /// Makes the next encoded frame an IDR (on PLI or FIR from a receiver).
    pub fn request_keyframe(&mut self) {
        log::debug!("H.264 keyframe requested");
        self.keyframe_requested = true;
    }

    /// Changes the target bitrate during the call; it applies from the next
    /// frame, without a keyframe.
    pub fn set_bitrate_kbps(&mut self, kbps: u32) -> Result<(), H264Error> {
        let mut params = self.params;
        params.bitrate_kbps = kbps;
        params.validate()?;
        self.params = params;
        if !self.initialized {
            // OpenH264 initialises on the first frame; just rebuild the config.
            *self = H264Encoder {
                keyframe_requested: self.keyframe_requested,
                ..H264Encoder::new(params)?
            };
            return Ok(());
        }
        let bps = (kbps * 1000) as i32;
        let mut info = openh264_sys2::SBitrateInfo {
            iLayer: openh264_sys2::SPATIAL_LAYER_ALL,
            iBitrate: bps,
        };
        // SAFETY: the encoder is initialised (a frame went through it), and
        // ENCODER_OPTION_MAX_BITRATE / ENCODER_OPTION_BITRATE take a pointer
        // to an SBitrateInfo that lives across the call. This is what
        // libwebrtc's OpenH264 wrapper does on every rate update.
        #[allow(unsafe_code)]
        let (max_rc, rc) = unsafe {
            let raw = self.encoder.raw_api();
            let max_rc = raw.set_option(
                openh264_sys2::ENCODER_OPTION_MAX_BITRATE,
                (&raw mut info).cast(),
            );
            info.iBitrate = bps;
            let rc = raw.set_option(
                openh264_sys2::ENCODER_OPTION_BITRATE,
                (&raw mut info).cast(),
            );
            (max_rc, rc)
        };
        if max_rc != 0 || rc != 0 {
            return Err(H264Error::InvalidParams(format!(
                "OpenH264 rejected bitrate {kbps} kbps ({max_rc}, {rc})"
            )));
        }
        log::debug!("H.264 bitrate now {kbps} kbps");
        Ok(())
    }

    /// Encodes one frame. Returns `None` when rate control skipped it
    /// (only with `allow_frame_skip`).
    pub fn encode(&mut self, frame: &VideoFrame) -> Result<Option<EncodedVideo>, H264Error> {
        if self.keyframe_requested && self.initialized {
            self.encoder.force_intra_frame();
        }
        self.keyframe_requested = false;
        let ts = openh264::Timestamp::from_millis(frame.timestamp_us / 1000);
        let stream = self
            .encoder
            .encode_at(frame, ts)
            .map_err(|e| H264Error::Encode(e.to_string()))?;
        self.initialized = true;
        let mut nals = Vec::new();
        for l in 0..stream.num_layers() {
            let layer = stream.layer(l).expect("layer index in range");
            for n in 0..layer.nal_count() {
                let nal = layer.nal_unit(n).expect("NAL index in range");
                nals.extend(split_annex_b(nal).into_iter().map(<[u8]>::to_vec));
            }
        }
        if nals.is_empty() {
            log::trace!("H.264 frame skipped by rate control");
            return Ok(None);
        }
        self.frames_encoded += 1;
        let keyframe = nals.iter().any(|n| nal_type(n) == NAL_IDR);
        Ok(Some(EncodedVideo {
            nals,
            keyframe,
            timestamp_us: frame.timestamp_us,
            rotation: frame.rotation,
        }))
    }
}

/// H.264 decoder (OpenH264), one access unit in, at most one picture out.
pub struct H264Decoder {
    decoder: openh264::decoder::Decoder,
    frames_decoded: u64,
}

impl std::fmt::Debug for H264Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Decoder")
            .field("frames_decoded", &self.frames_decoded)
            .finish_non_exhaustive()
    }
}

impl H264Decoder {
    /// Creates a decoder.
    pub fn new() -> Result<Self, H264Error> {
        let decoder = openh264::decoder::Decoder::new().map_err(|e| H264Error::Decode {
            code: e.native_code(),
            message: e.to_string(),
        })?;
        Ok(H264Decoder {
            decoder,
            frames_decoded: 0,
        })
    }

    /// Pictures decoded so far.
    pub fn frames_decoded(&self) -> u64 {
        self.frames_decoded
    }

    /// Decodes one access unit given as NAL units (no start codes).
    /// `timestamp_us` and `rotation` are copied onto the picture.
    pub fn decode_nals<T: AsRef<[u8]>>(
        &mut self,
        nals: &[T],
        timestamp_us: u64,
        rotation: Rotation,
    ) -> Result<Option<VideoFrame>, H264Error> {
        self.decode_annex_b(&nals_to_annex_b(nals), timestamp_us, rotation)
    }

    /// Decodes one access unit given as an Annex B byte stream. Returns
    /// `Ok(None)` when the data held no picture (e.g. only SPS/PPS), and
    /// [`H264Error::Decode`] when the stream is broken: ask for a keyframe.
    pub fn decode_annex_b(
        &mut self,
        stream: &[u8],
        timestamp_us: u64,
        rotation: Rotation,
    ) -> Result<Option<VideoFrame>, H264Error> {
        let decoded = self.decoder.decode(stream).map_err(|e| H264Error::Decode {
            code: e.native_code(),
            message: e.to_string(),
        })?;
        let Some(yuv) = decoded else { return Ok(None) };
        let (w, h) = yuv.dimensions();
        let (sy, su, _) = yuv.strides();
        let frame = VideoFrame::from_i420(
            w as u32,
            h as u32,
            yuv.y(),
            sy,
            yuv.u(),
            yuv.v(),
            su,
            timestamp_us,
            rotation,
        )
        .map_err(|e| H264Error::Decode {
            code: 0,
            message: e.to_string(),
        })?;
        self.frames_decoded += 1;
        Ok(Some(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_match_trtc() {
        let p = VideoEncoderParams::default();
        assert_eq!(
            (p.width, p.height, p.bitrate_kbps, p.fps),
            (640, 360, 550, 15)
        );
        let p = VideoEncoderParams::preset(VideoResolution::R1280x720, Orientation::Portrait);
        assert_eq!((p.width, p.height, p.bitrate_kbps), (720, 1280, 1200));
        assert_eq!(p.profile_level_id(), "42e01f");
        let p = VideoEncoderParams::preset(VideoResolution::R1920x1080, Orientation::Landscape);
        assert_eq!((p.bitrate_kbps, p.profile_level_id()), (2000, "42e028"));
        assert_eq!(
            VideoEncoderParams::preset(VideoResolution::R960x540, Orientation::Landscape)
                .bitrate_kbps,
            850
        );
        assert_eq!(
            VideoEncoderParams::default()
                .with_fps(30)
                .keyframe_interval_frames,
            300
        );
    }

    #[test]
    fn annex_b_split_and_join() {
        let stream = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5,
        ];
        let nals = split_annex_b(&stream);
        assert_eq!(
            nals,
            vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4, 5][..]]
        );
        assert_eq!(split_annex_b(&nals_to_annex_b(&nals)), nals);
        assert_eq!(nal_type(nals[2]), NAL_IDR);
    }

    #[test]
    fn rejects_bad_params() {
        let p = VideoEncoderParams {
            width: 641,
            ..Default::default()
        };
        assert!(matches!(
            H264Encoder::new(p),
            Err(H264Error::InvalidParams(_))
        ));
    }
}
