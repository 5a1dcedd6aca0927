//! Reads the SFU's REMB messages about our sent video: the most the
//! receiving side can take (a 1v1 callee behind a slow downlink), which caps
//! the publisher's estimate ([`SharedEstimate::set_receiver_limit`]). The
//! packets go on down the chain untouched.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use rtc::interceptor::{Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::sansio::Protocol;
use rtc::shared::error::Error;

use super::estimate::SharedEstimate;

/// See the module docs.
pub(crate) struct RembReader {
    estimate: Arc<SharedEstimate>,
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl RembReader {
    pub(crate) fn new(estimate: Arc<SharedEstimate>) -> RembReader {
        RembReader {
            estimate,
            read: VecDeque::new(),
            write: VecDeque::new(),
        }
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

impl Protocol<TaggedPacket, TaggedPacket, ()> for RembReader {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            // The last one in a compound is the newest word.
            if let Some(bps) = packets
                .iter()
                .filter_map(|p| remb_bitrate(p.as_ref()))
                .last()
            {
                self.estimate.set_receiver_limit(bps, msg.now);
            }
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write.pop_front()
    }
}

impl Interceptor for RembReader {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
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
