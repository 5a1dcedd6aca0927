//! Delivers keyframe requests (PLI, FIR) about our sent video to the
//! application. webrtc's default interceptor chain consumes inbound RTCP;
//! this interceptor marks PLI/FIR for delivery so the sender can make the
//! encoder produce an IDR (the SFU relays subscribers' requests upstream).

use rtc::interceptor::{Attribute, Packet, TaggedPacket};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;

use super::inbound::InboundHook;

/// See the module docs.
#[derive(Default)]
pub(crate) struct KeyframeRequestForwarder;

/// Whether an RTCP packet asks for a keyframe.
pub(crate) fn is_keyframe_request(packet: &dyn rtc::rtcp::Packet) -> bool {
    let any = packet.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
}

impl InboundHook for KeyframeRequestForwarder {
    fn inbound(&mut self, msg: &mut TaggedPacket) {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            if packets.iter().any(|p| is_keyframe_request(p.as_ref())) {
                msg.message.add(Attribute::DeliverToApplication);
            }
        }
    }
}
