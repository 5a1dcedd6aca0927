//! RTP payloading: the packet header, H.264 packetization mode 1
//! (RFC 6184) and Opus (RFC 7587).
//!
//! These types are transport-neutral: the engine hands payloads to its
//! WebRTC stack and the SFU reads headers, but neither needs the other's
//! library here.

pub mod h264;
pub mod opus;
pub mod packet;
pub mod seq;

pub use packet::{RtpError, RtpHeader, RtpPacket};

/// RTP clock rate of H.264 video (Hz).
pub const VIDEO_CLOCK_RATE: u32 = 90_000;
/// RTP clock rate of Opus audio (Hz, always 48 kHz per RFC 7587).
pub const AUDIO_CLOCK_RATE: u32 = 48_000;
/// Default payload budget per packet: keeps RTP + SRTP + UDP + IP under a
/// 1280-byte IPv6 minimum MTU with room for header extensions.
pub const DEFAULT_MAX_PAYLOAD: usize = 1200;

/// Converts a capture time in microseconds to an RTP timestamp at `clock_rate`
/// (wrapping, as RTP timestamps do).
pub fn rtp_timestamp(timestamp_us: u64, clock_rate: u32) -> u32 {
    ((u128::from(timestamp_us) * u128::from(clock_rate) / 1_000_000) as u64) as u32
}
