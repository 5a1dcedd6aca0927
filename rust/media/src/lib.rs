//! Hotline's media layer, without sockets, threads or clocks: frames,
//! synthetic test media, Opus and H.264 codecs, RTP payloading, an audio
//! jitter buffer, mixing and speaking levels, network-quality grading, and
//! rendering (rotation, fill/fit scaling).
//!
//! The engine (publishing and subscribing through WebRTC) and the SFU build
//! on these pieces; everything here is unit-tested with real codecs and
//! simulated time.
//!
//! | module | job |
//! |---|---|
//! | [`frame`] | `VideoFrame` (I420, NV12 import, rotation) and `AudioFrame` (10 ms, 48 kHz mono) |
//! | [`freeze`] | video freezes counted as WebRTC's statistics count them |
//! | [`synthetic`] | numbered test pictures, tones, PSNR, cross-correlation |
//! | [`opus_codec`] | Opus 20 ms / FEC / DTX encoder, decoder with PLC and FEC |
//! | [`h264`] | OpenH264 Constrained Baseline encoder with TRTC presets, decoder |
//! | [`rtp`] | RTP header, H.264 packetization mode 1, Opus payloading |
//! | [`jitter`] | adaptive audio jitter buffer |
//! | [`mixer`] | mixing with saturation, 0–100 speaking levels |
//! | [`quality`] | RTT/loss/jitter → Excellent … Down |
//! | [`files`] | `.y4m` video and 48 kHz 16-bit `.wav` audio readers and writers |
//! | [`render`] | showing a frame in a view: its rotation plus an extra one, fill/fit scaling |

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod files;
pub mod frame;
pub mod freeze;
pub mod h264;
pub mod jitter;
pub mod mixer;
pub mod opus_codec;
pub mod quality;
pub mod render;
pub mod rtp;
pub mod synthetic;

pub use files::{FileError, WavReader, WavWriter, Y4mReader, Y4mWriter};
pub use frame::{
    AudioFrame, FrameError, Rotation, VideoFrame, AUDIO_SAMPLE_RATE, SAMPLES_PER_FRAME,
};
pub use freeze::FreezeDetector;
pub use h264::{
    EncodedVideo, H264Decoder, H264Encoder, H264Error, Orientation, VideoEncoderParams,
    VideoResolution,
};
pub use jitter::{JitterBuffer, JitterBufferConfig, JitterOutput};
pub use opus_codec::{EncodedAudio, OpusDecoder, OpusEncoder, OpusEncoderConfig, OpusError};
pub use quality::{LinkStats, NetworkQuality};
pub use render::FillMode;
