//! A minimal RTP packet (RFC 3550): fixed header, CSRCs, an optional header
//! extension kept as opaque bytes, padding removed on parse.
//!
//! Why not the `rtp` crate of the webrtc-rs family: it pulls in `bytes` and
//! `webrtc-util` (with its own async and networking dependencies) for what
//! is about a hundred lines here, and this crate must stay free of IO. The
//! engine's WebRTC stack and the SFU have their own RTP types; this one is
//! for tests, tools and code that should not depend on either.

use thiserror::Error;

/// RTP parse errors.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RtpError {
    /// Fewer bytes than the headers announce.
    #[error("RTP packet truncated: {0}")]
    Truncated(&'static str),
    /// Version field is not 2.
    #[error("RTP version {0} is not 2")]
    BadVersion(u8),
    /// Padding length is larger than the payload.
    #[error("RTP padding length {0} is invalid")]
    BadPadding(u8),
}

/// The fields of an RTP header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RtpHeader {
    /// Marker bit: last packet of a video frame, first of an audio talkspurt.
    pub marker: bool,
    /// Payload type (7 bits).
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp at the payload's clock rate.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    /// Contributing sources (at most 15).
    pub csrc: Vec<u32>,
    /// Header extension: the 16-bit profile (e.g. 0xBEDE for RFC 8285 one-byte
    /// elements) and its data (a multiple of 4 bytes), kept opaque.
    pub extension: Option<(u16, Vec<u8>)>,
}

/// An RTP packet: header plus payload (padding removed).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RtpPacket {
    /// The header.
    pub header: RtpHeader,
    /// The payload.
    pub payload: Vec<u8>,
}

impl RtpPacket {
    /// Parses a packet. Padding is stripped; extensions are kept, not interpreted.
    pub fn parse(buf: &[u8]) -> Result<Self, RtpError> {
        if buf.len() < 12 {
            return Err(RtpError::Truncated("fixed header"));
        }
        let version = buf[0] >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion(version));
        }
        let padding = buf[0] & 0x20 != 0;
        let has_ext = buf[0] & 0x10 != 0;
        let cc = usize::from(buf[0] & 0x0F);
        let mut header = RtpHeader {
            marker: buf[1] & 0x80 != 0,
            payload_type: buf[1] & 0x7F,
            sequence: u16::from_be_bytes([buf[2], buf[3]]),
            timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
            ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
            csrc: Vec::with_capacity(cc),
            extension: None,
        };
        let mut pos = 12;
        if buf.len() < pos + 4 * cc {
            return Err(RtpError::Truncated("CSRC list"));
        }
        for i in 0..cc {
            let o = pos + 4 * i;
            header.csrc.push(u32::from_be_bytes([
                buf[o],
                buf[o + 1],
                buf[o + 2],
                buf[o + 3],
            ]));
        }
        pos += 4 * cc;
        if has_ext {
            if buf.len() < pos + 4 {
                return Err(RtpError::Truncated("extension header"));
            }
            let profile = u16::from_be_bytes([buf[pos], buf[pos + 1]]);
            let words = usize::from(u16::from_be_bytes([buf[pos + 2], buf[pos + 3]]));
            pos += 4;
            if buf.len() < pos + 4 * words {
                return Err(RtpError::Truncated("extension data"));
            }
            header.extension = Some((profile, buf[pos..pos + 4 * words].to_vec()));
            pos += 4 * words;
        }
        let mut end = buf.len();
        if padding {
            let pad = buf[end - 1];
            if pad == 0 || usize::from(pad) > end - pos {
                return Err(RtpError::BadPadding(pad));
            }
            end -= usize::from(pad);
        }
        Ok(RtpPacket {
            header,
            payload: buf[pos..end].to_vec(),
        })
    }

    /// Serialises the packet (no padding). Extension data is zero-padded to
    /// a multiple of 4 bytes; more than 15 CSRCs are truncated.
    pub fn serialize(&self) -> Vec<u8> {
        let h = &self.header;
        let cc = h.csrc.len().min(15);
        let mut out = Vec::with_capacity(12 + 4 * cc + self.payload.len() + 64);
        out.push(0x80 | if h.extension.is_some() { 0x10 } else { 0 } | cc as u8);
        out.push(if h.marker { 0x80 } else { 0 } | (h.payload_type & 0x7F));
        out.extend_from_slice(&h.sequence.to_be_bytes());
        out.extend_from_slice(&h.timestamp.to_be_bytes());
        out.extend_from_slice(&h.ssrc.to_be_bytes());
        for c in &h.csrc[..cc] {
            out.extend_from_slice(&c.to_be_bytes());
        }
        if let Some((profile, data)) = &h.extension {
            let words = data.len().div_ceil(4);
            out.extend_from_slice(&profile.to_be_bytes());
            out.extend_from_slice(&(words as u16).to_be_bytes());
            out.extend_from_slice(data);
            out.resize(out.len() + words * 4 - data.len(), 0);
        }
        out.extend_from_slice(&self.payload);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_csrc_and_extension() {
        let p = RtpPacket {
            header: RtpHeader {
                marker: true,
                payload_type: 111,
                sequence: 65_535,
                timestamp: 0xDEAD_BEEF,
                ssrc: 42,
                csrc: vec![1, 2],
                extension: Some((0xBEDE, vec![0x10, 0xAA, 0, 0])),
            },
            payload: vec![9, 8, 7],
        };
        let bytes = p.serialize();
        assert_eq!(bytes.len(), 12 + 8 + 8 + 3);
        assert_eq!(RtpPacket::parse(&bytes).unwrap(), p);
    }

    #[test]
    fn strips_padding_and_rejects_garbage() {
        let mut bytes = RtpPacket {
            payload: vec![1, 2, 3],
            ..Default::default()
        }
        .serialize();
        bytes[0] |= 0x20;
        bytes.extend_from_slice(&[0, 0, 3]);
        assert_eq!(RtpPacket::parse(&bytes).unwrap().payload, vec![1, 2, 3]);
        assert_eq!(
            RtpPacket::parse(&[0x80; 5]),
            Err(RtpError::Truncated("fixed header"))
        );
        assert_eq!(RtpPacket::parse(&[0x40; 12]), Err(RtpError::BadVersion(1)));
        let mut ext = vec![0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xBE, 0xDE, 0, 2];
        assert_eq!(
            RtpPacket::parse(&ext),
            Err(RtpError::Truncated("extension data"))
        );
        ext.extend_from_slice(&[0; 8]);
        assert!(RtpPacket::parse(&ext).unwrap().payload.is_empty());
    }
}
