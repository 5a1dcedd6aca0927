//! The engine's own interceptors only look at (or repair) inbound packets
//! and pass everything on: [`Inbound`] is the interceptor around such a
//! [`InboundHook`], so each of them is just its hook.

use std::collections::VecDeque;
use std::time::Instant;

use rtc::interceptor::{Interceptor, StreamInfo, TaggedPacket};
use rtc::sansio::Protocol;
use rtc::shared::error::Error;

/// What an [`Inbound`] interceptor does to each packet it reads.
pub(crate) trait InboundHook: Send + Sync + 'static {
    /// Look at, mark or change one inbound packet.
    fn inbound(&mut self, msg: &mut TaggedPacket);
    /// A remote stream was negotiated.
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    /// A remote stream is gone.
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

/// An interceptor that hands every inbound packet to its hook and passes
/// every packet on, in order.
pub(crate) struct Inbound<H> {
    pub(crate) hook: H,
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl<H: InboundHook> Inbound<H> {
    pub(crate) fn new(hook: H) -> Inbound<H> {
        Inbound {
            hook,
            read: VecDeque::new(),
            write: VecDeque::new(),
        }
    }
}

impl<H: InboundHook> Protocol<TaggedPacket, TaggedPacket, ()> for Inbound<H> {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        self.hook.inbound(&mut msg);
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

impl<H: InboundHook> Interceptor for Inbound<H> {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, info: &StreamInfo) {
        self.hook.bind_remote_stream(info);
    }
    fn unbind_remote_stream(&mut self, info: &StreamInfo) {
        self.hook.unbind_remote_stream(info);
    }
}
