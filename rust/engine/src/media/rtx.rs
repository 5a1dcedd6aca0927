//! Turns received retransmissions (RTX, RFC 4588) back into the packets
//! they repair before the NACK generator sees them.
//!
//! `rtc` unwraps RTX only after the interceptor chain, so its NACK
//! generator never learns that a retransmission arrived and asks for every
//! repaired packet again, every 100 ms, for as long as its 512-packet log
//! holds it. In the loss test a subscriber asked for ~10,800 sequence
//! numbers in 10 s to repair ~230 losses; the SFU's retransmission budget
//! went on those and real repairs were dropped. Below the generator (where
//! `rtc` puts interceptors that repair inbound packets) a retransmission
//! counts as the arrival it is.

use std::collections::HashMap;

use rtc::interceptor::{Packet, StreamInfo, TaggedPacket};

use super::inbound::InboundHook;

/// Where in the chain: after the FEC decoder (6_000), before the NACK
/// generator (7_000).
pub(crate) const RTX_UNWRAP_SLOT: usize = 6_500;

/// What an RTX stream repairs.
#[derive(Clone, Copy)]
struct Repairs {
    rtx_payload_type: u8,
    ssrc: u32,
    payload_type: u8,
}

/// See the module docs.
#[derive(Default)]
pub(crate) struct RtxUnwrapper {
    /// RTX SSRC → the stream it repairs.
    streams: HashMap<u32, Repairs>,
}

/// Rewrites an RTX packet as the original: its SSRC, payload type and
/// sequence number (the first two payload bytes, RFC 4588 §4). A packet too
/// short to carry one (padding) is left for `rtc` to drop.
fn unwrap_rtx(packet: &mut rtc::rtp::Packet, repairs: Repairs) {
    if packet.header.payload_type != repairs.rtx_payload_type || packet.payload.len() < 2 {
        return;
    }
    packet.header.sequence_number = u16::from_be_bytes([packet.payload[0], packet.payload[1]]);
    packet.header.ssrc = repairs.ssrc;
    packet.header.payload_type = repairs.payload_type;
    packet.header.padding = false;
    packet.payload = packet.payload.slice(2..);
}

impl InboundHook for RtxUnwrapper {
    fn inbound(&mut self, msg: &mut TaggedPacket) {
        if let Packet::Rtp(packet) = &mut msg.message.packet {
            if let Some(repairs) = self.streams.get(&packet.header.ssrc) {
                unwrap_rtx(packet, *repairs);
            }
        }
    }

    fn bind_remote_stream(&mut self, info: &StreamInfo) {
        if let (Some(rtx_ssrc), Some(rtx_payload_type)) = (info.ssrc_rtx, info.payload_type_rtx) {
            self.streams.insert(
                rtx_ssrc,
                Repairs {
                    rtx_payload_type,
                    ssrc: info.ssrc,
                    payload_type: info.payload_type,
                },
            );
        }
    }

    fn unbind_remote_stream(&mut self, info: &StreamInfo) {
        if let Some(rtx_ssrc) = info.ssrc_rtx {
            self.streams.remove(&rtx_ssrc);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn rtx_packet(payload: &'static [u8]) -> rtc::rtp::Packet {
        rtc::rtp::Packet {
            header: rtc::rtp::header::Header {
                version: 2,
                payload_type: 109,
                sequence_number: 7,
                timestamp: 9000,
                ssrc: 2000,
                marker: true,
                ..Default::default()
            },
            payload: Bytes::from_static(payload),
        }
    }

    const REPAIRS: Repairs = Repairs {
        rtx_payload_type: 109,
        ssrc: 1000,
        payload_type: 108,
    };

    #[test]
    fn a_retransmission_becomes_the_packet_it_repairs() {
        let mut p = rtx_packet(&[0x01, 0x02, 0xAA, 0xBB]);
        unwrap_rtx(&mut p, REPAIRS);
        assert_eq!(
            (
                p.header.ssrc,
                p.header.payload_type,
                p.header.sequence_number
            ),
            (1000, 108, 0x0102)
        );
        assert_eq!((p.header.timestamp, p.header.marker), (9000, true));
        assert_eq!(&p.payload[..], &[0xAA, 0xBB]);
    }

    #[test]
    fn padding_and_other_payload_types_are_left_alone() {
        let mut p = rtx_packet(&[0x01]);
        unwrap_rtx(&mut p, REPAIRS);
        assert_eq!(p.header.ssrc, 2000);
        let mut p = rtx_packet(&[0x01, 0x02, 0xAA]);
        p.header.payload_type = 108;
        unwrap_rtx(&mut p, REPAIRS);
        assert_eq!((p.header.ssrc, p.payload.len()), (2000, 3));
    }
}
