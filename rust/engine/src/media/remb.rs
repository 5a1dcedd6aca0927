//! Reads the SFU's REMB messages about our sent video: the most the
//! receiving side can take (a 1v1 callee behind a slow downlink), which caps
//! the publisher's estimate ([`SharedEstimate::set_receiver_limit`]). The
//! packets go on down the chain untouched.

use std::sync::Arc;

use rtc::interceptor::{Packet, TaggedPacket};
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;

use super::estimate::SharedEstimate;
use super::inbound::InboundHook;

/// See the module docs.
pub(crate) struct RembReader {
    estimate: Arc<SharedEstimate>,
}

impl RembReader {
    pub(crate) fn new(estimate: Arc<SharedEstimate>) -> RembReader {
        RembReader { estimate }
    }
}

/// The bitrate an RTCP packet limits the sender to, if it is a REMB.
fn remb_bitrate(packet: &dyn rtc::rtcp::Packet) -> Option<f64> {
    let remb = packet
        .as_any()
        .downcast_ref::<ReceiverEstimatedMaximumBitrate>()?;
    let bps = f64::from(remb.bitrate);
    (bps.is_finite() && bps > 0.0).then_some(bps)
}

impl InboundHook for RembReader {
    fn inbound(&mut self, msg: &mut TaggedPacket) {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            // The last one in a compound is the newest word.
            if let Some(bps) = packets
                .iter()
                .filter_map(|p| remb_bitrate(p.as_ref()))
                .next_back()
            {
                self.estimate.set_receiver_limit(bps, msg.now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;

    #[test]
    fn only_a_remb_with_a_usable_bitrate_limits() {
        let remb = |bitrate| ReceiverEstimatedMaximumBitrate {
            sender_ssrc: 1,
            bitrate,
            ssrcs: vec![2],
        };
        assert_eq!(remb_bitrate(&remb(300_000.0)), Some(300_000.0));
        assert_eq!(remb_bitrate(&remb(0.0)), None);
        assert_eq!(remb_bitrate(&remb(f32::NAN)), None);
        let pli = PictureLossIndication {
            sender_ssrc: 1,
            media_ssrc: 2,
        };
        assert_eq!(remb_bitrate(&pli), None);
    }
}
