//! Opus RTP payloading (RFC 7587): one Opus packet per RTP packet, payload
//! unchanged, 48 kHz timestamps. This module turns encoded packets into RTP
//! packets with running sequence numbers and timestamps.

use super::packet::{RtpHeader, RtpPacket};
use crate::opus_codec::{EncodedAudio, SAMPLES_PER_PACKET};

/// Numbers outgoing Opus packets for one stream.
#[derive(Debug, Clone)]
pub struct OpusPayloader {
    ssrc: u32,
    payload_type: u8,
    next_sequence: u16,
    next_timestamp: u32,
    in_talkspurt: bool,
}

impl OpusPayloader {
    /// A payloader starting at the given (normally random) sequence number
    /// and timestamp.
    pub fn new(ssrc: u32, payload_type: u8, first_sequence: u16, first_timestamp: u32) -> Self {
        OpusPayloader {
            ssrc,
            payload_type,
            next_sequence: first_sequence,
            next_timestamp: first_timestamp,
            in_talkspurt: false,
        }
    }

    /// The RTP packet for this 20 ms packet, or `None` for a DTX packet
    /// (silence), which is not sent; its 20 ms still advance the timestamp.
    /// The marker is set on the first packet after silence (RFC 3551).
    pub fn payload(&mut self, encoded: &EncodedAudio) -> Option<RtpPacket> {
        let timestamp = self.next_timestamp;
        self.next_timestamp = self.next_timestamp.wrapping_add(SAMPLES_PER_PACKET as u32);
        if encoded.dtx {
            self.in_talkspurt = false;
            return None;
        }
        let marker = !self.in_talkspurt;
        self.in_talkspurt = true;
        let sequence = self.next_sequence;
        self.next_sequence = self.next_sequence.wrapping_add(1);
        Some(RtpPacket {
            header: RtpHeader {
                marker,
                payload_type: self.payload_type,
                sequence,
                timestamp,
                ssrc: self.ssrc,
                ..Default::default()
            },
            payload: encoded.data.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtx_skips_sequence_but_not_time() {
        let mut p = OpusPayloader::new(7, 111, 65_535, 1000);
        let speech = EncodedAudio {
            data: vec![0x78, 1, 2],
            timestamp_us: 0,
            dtx: false,
        };
        let silence = EncodedAudio {
            data: vec![0x78],
            timestamp_us: 0,
            dtx: true,
        };
        let a = p.payload(&speech).unwrap();
        assert!(a.header.marker);
        assert_eq!((a.header.sequence, a.header.timestamp), (65_535, 1000));
        let b = p.payload(&speech).unwrap();
        assert!(!b.header.marker);
        assert!(p.payload(&silence).is_none());
        let c = p.payload(&speech).unwrap();
        assert!(c.header.marker);
        assert_eq!((c.header.sequence, c.header.timestamp), (1, 1000 + 3 * 960));
        assert_eq!(c.payload, speech.data);
    }
}
