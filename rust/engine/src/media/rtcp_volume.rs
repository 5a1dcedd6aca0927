//! Receiver feedback at libwebrtc's volume, not `rtc`'s.
//!
//! Measured at the SFU (`hotline_sfu_packets_in_total`), a receive-only
//! engine sent 36–40 RTCP datagrams a second where libwebrtc sends about a
//! dozen for the same streams. Two of `rtc`'s receiver interceptors are the
//! cause, and each is wrapped here:
//! - **NACKs for the retransmission stream.** `rtc` binds each RTX stream as
//!   a remote stream of its own, with the media stream's feedback. The NACK
//!   generator then logs RTX sequence numbers. [`super::rtx`] turns every
//!   retransmission back into the packet it repairs, so only the SFU's
//!   padding stays on the RTX stream, with holes where the retransmissions
//!   were. Each hole was asked for every 100 ms, about ten NACKs a second,
//!   with no loss at all. [`MediaStreamsOnly`] hides RTX streams from the
//!   interceptor it wraps. Nothing is lost: an RTX stream is never repaired,
//!   and the stream it repairs is reported.
//! - **One receiver report per stream.** `rtc` sends one RTCP datagram per
//!   received stream every second. libwebrtc sends one report with a block
//!   for each stream. [`OneReceiverReport`] merges the reports made in one
//!   round into one (31 blocks each at most, RFC 3550's limit).

use std::collections::{HashSet, VecDeque};
use std::time::Instant;

use rtc::interceptor::{Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::sansio::Protocol;
use rtc::shared::error::Error;

/// Report blocks one receiver report can carry (a 5-bit count).
const MAX_REPORT_BLOCKS: usize = 31;

/// An interceptor that changes part of what the one it wraps does. What it
/// does not override goes straight to `inner`; [`Wrapped`] makes it an
/// `rtc` interceptor.
pub(crate) trait Wrapping: Send + Sync {
    type Inner: Interceptor;
    fn inner(&mut self) -> &mut Self::Inner;
    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.inner().poll_write()
    }
    fn bind_remote_stream(&mut self, info: &StreamInfo) {
        self.inner().bind_remote_stream(info);
    }
    fn unbind_remote_stream(&mut self, info: &StreamInfo) {
        self.inner().unbind_remote_stream(info);
    }
}

/// A [`Wrapping`] as an `rtc` interceptor.
pub(crate) struct Wrapped<W>(W);

impl<W: Wrapping> Protocol<TaggedPacket, TaggedPacket, ()> for Wrapped<W> {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Error> {
        self.0.inner().handle_read(msg)
    }
    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.0.inner().poll_read()
    }
    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Error> {
        self.0.inner().handle_write(msg)
    }
    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.0.poll_write()
    }
    fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        self.0.inner().handle_timeout(now)
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.0.inner().poll_timeout()
    }
}

impl<W: Wrapping> Interceptor for Wrapped<W> {
    fn bind_local_stream(&mut self, info: &StreamInfo) {
        self.0.inner().bind_local_stream(info);
    }
    fn unbind_local_stream(&mut self, info: &StreamInfo) {
        self.0.inner().unbind_local_stream(info);
    }
    fn bind_remote_stream(&mut self, info: &StreamInfo) {
        self.0.bind_remote_stream(info);
    }
    fn unbind_remote_stream(&mut self, info: &StreamInfo) {
        self.0.unbind_remote_stream(info);
    }
}

/// An interceptor that only sees media streams: the RTX streams that repair
/// them are bound to it neither before nor after their media stream.
pub(crate) struct MediaStreamsOnly<I> {
    inner: I,
    /// RTX SSRCs named by bound media streams.
    repair_ssrcs: HashSet<u32>,
    /// Streams bound to `inner`.
    bound: HashSet<u32>,
}

impl<I: Interceptor> MediaStreamsOnly<I> {
    pub(crate) fn new(inner: I) -> Wrapped<Self> {
        Wrapped(MediaStreamsOnly {
            inner,
            repair_ssrcs: HashSet::new(),
            bound: HashSet::new(),
        })
    }
}

impl<I: Interceptor> Wrapping for MediaStreamsOnly<I> {
    type Inner = I;
    fn inner(&mut self) -> &mut I {
        &mut self.inner
    }
    fn bind_remote_stream(&mut self, info: &StreamInfo) {
        if let Some(rtx) = info.ssrc_rtx {
            self.repair_ssrcs.insert(rtx);
            // Its RTX stream came first: take it back.
            if self.bound.remove(&rtx) {
                let mut repair = info.clone();
                repair.ssrc = rtx;
                self.inner.unbind_remote_stream(&repair);
            }
        }
        if self.repair_ssrcs.contains(&info.ssrc) {
            return;
        }
        self.bound.insert(info.ssrc);
        self.inner.bind_remote_stream(info);
    }
    fn unbind_remote_stream(&mut self, info: &StreamInfo) {
        if let Some(rtx) = info.ssrc_rtx {
            self.repair_ssrcs.remove(&rtx);
        }
        if self.bound.remove(&info.ssrc) {
            self.inner.unbind_remote_stream(info);
        }
    }
}

/// A receiver-report interceptor whose reports of one round leave as one
/// RTCP packet. Everything else it writes passes unchanged, in order.
pub(crate) struct OneReceiverReport<I> {
    inner: I,
    out: VecDeque<TaggedPacket>,
}

impl<I: Interceptor> OneReceiverReport<I> {
    pub(crate) fn new(inner: I) -> Wrapped<Self> {
        Wrapped(OneReceiverReport {
            inner,
            out: VecDeque::new(),
        })
    }

    /// Move what `inner` wrote to `out`, merging runs of lone receiver
    /// reports made at the same instant.
    fn pull(&mut self) {
        while let Some(msg) = self.inner.poll_write() {
            let last = self.out.back_mut();
            match last.as_deref().and_then(|last| merged(last, &msg)) {
                Some(rr) => {
                    if let Some(last) = last {
                        last.message.packet = Packet::Rtcp(vec![Box::new(rr)]);
                    }
                }
                None => self.out.push_back(msg),
            }
        }
    }
}

impl<I: Interceptor> Wrapping for OneReceiverReport<I> {
    type Inner = I;
    fn inner(&mut self) -> &mut I {
        &mut self.inner
    }
    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.pull();
        self.out.pop_front()
    }
}

/// `last` and `next` as one receiver report, if both are lone reports of
/// the same round and their blocks fit in one.
fn merged(last: &TaggedPacket, next: &TaggedPacket) -> Option<ReceiverReport> {
    if last.now != next.now {
        return None;
    }
    let (a, b) = (lone_receiver_report(last)?, lone_receiver_report(next)?);
    (a.reports.len() + b.reports.len() <= MAX_REPORT_BLOCKS).then(|| ReceiverReport {
        reports: a.reports.iter().chain(&b.reports).cloned().collect(),
        ..a.clone()
    })
}

/// The receiver report a message consists of, if that is all it is.
fn lone_receiver_report(msg: &TaggedPacket) -> Option<&ReceiverReport> {
    match &msg.message.packet {
        Packet::Rtcp(packets) if packets.len() == 1 => packets[0]
            .as_any()
            .downcast_ref::<ReceiverReport>()
            .filter(|rr| rr.profile_extensions.is_empty()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rtc::interceptor::{
        AttributedPacket, NackGeneratorBuilder, RTCPFeedback, ReceiverReportBuilder,
    };
    use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;

    use super::*;

    const MEDIA: u32 = 1111;
    const RTX: u32 = 2222;

    fn video(ssrc: u32, rtx: Option<u32>) -> StreamInfo {
        StreamInfo {
            ssrc,
            ssrc_rtx: rtx,
            payload_type: if rtx.is_some() { 108 } else { 109 },
            payload_type_rtx: rtx.map(|_| 109),
            clock_rate: 90_000,
            rtcp_feedback: vec![RTCPFeedback {
                typ: "nack".into(),
                parameter: String::new(),
            }],
            ..Default::default()
        }
    }

    fn rtp(now: Instant, ssrc: u32, seq: u16) -> TaggedPacket {
        let mut p = rtc::rtp::Packet::default();
        p.header.version = 2;
        p.header.ssrc = ssrc;
        p.header.sequence_number = seq;
        p.header.timestamp = u32::from(seq) * 3000;
        TaggedPacket {
            now,
            transport: Default::default(),
            message: AttributedPacket::new(Packet::Rtp(p)),
        }
    }

    /// Everything `i` writes until `until`, polling its timers on the way.
    fn written<I: Interceptor>(i: &mut I, start: Instant, until: Duration) -> Vec<TaggedPacket> {
        let mut out = vec![];
        let end = start + until;
        while let Some(t) = i.poll_timeout().filter(|t| *t <= end) {
            i.handle_timeout(t).unwrap();
            while let Some(msg) = i.poll_write() {
                out.push(msg);
            }
        }
        out
    }

    fn nacks(msgs: &[TaggedPacket]) -> Vec<u32> {
        msgs.iter()
            .filter_map(|m| match &m.message.packet {
                Packet::Rtcp(p) => p[0].as_any().downcast_ref::<TransportLayerNack>(),
                _ => None,
            })
            .map(|n| n.media_ssrc)
            .collect()
    }

    /// A media stream that loses nothing, and an RTX stream on which only
    /// padding stays (the retransmissions were turned back into media).
    fn feed_media_and_padding<I: Interceptor>(i: &mut I, start: Instant) {
        for seq in 0..50u16 {
            let now = start + Duration::from_millis(u64::from(seq) * 10);
            i.handle_read(rtp(now, MEDIA, 1000 + seq)).unwrap();
            if seq % 10 == 0 {
                // RTX 500, 510, 520…: the ones between were retransmissions.
                i.handle_read(rtp(now, RTX, 500 + seq)).unwrap();
            }
            while i.poll_read().is_some() {}
        }
    }

    #[test]
    fn no_nacks_for_holes_in_the_retransmission_stream() {
        let start = Instant::now();
        let mut plain = NackGeneratorBuilder::new().build();
        plain.bind_remote_stream(&video(MEDIA, Some(RTX)));
        plain.bind_remote_stream(&video(RTX, None));
        feed_media_and_padding(&mut plain, start);
        let asked = nacks(&written(&mut plain, start, Duration::from_secs(1)));
        assert!(
            asked.contains(&RTX),
            "rtc alone asks for the RTX holes: {asked:?}"
        );

        let mut wrapped = MediaStreamsOnly::new(NackGeneratorBuilder::new().build());
        wrapped.bind_remote_stream(&video(MEDIA, Some(RTX)));
        wrapped.bind_remote_stream(&video(RTX, None));
        feed_media_and_padding(&mut wrapped, start);
        let asked = nacks(&written(&mut wrapped, start, Duration::from_secs(1)));
        assert_eq!(asked, Vec::<u32>::new());
    }

    #[test]
    fn a_hole_in_the_media_stream_is_still_asked_for_at_once() {
        let start = Instant::now();
        let mut wrapped = MediaStreamsOnly::new(
            NackGeneratorBuilder::new()
                .with_max_nacks_per_packet(10)
                .build(),
        );
        // The RTX stream binds first this time.
        wrapped.bind_remote_stream(&video(RTX, None));
        wrapped.bind_remote_stream(&video(MEDIA, Some(RTX)));
        for seq in [0u16, 1, 2, 4, 5] {
            wrapped.handle_read(rtp(start, MEDIA, seq)).unwrap();
        }
        wrapped.handle_read(rtp(start, RTX, 7)).unwrap();
        wrapped.handle_read(rtp(start, RTX, 9)).unwrap();
        let first = written(&mut wrapped, start, Duration::from_millis(100));
        assert_eq!(
            nacks(&first),
            vec![MEDIA],
            "one NACK, for the media stream, within 100 ms"
        );
        let all = written(&mut wrapped, start, Duration::from_secs(3));
        assert_eq!(
            nacks(&all).len(),
            9,
            "nine more, ten in all, for a packet that never comes"
        );
    }

    #[test]
    fn the_reports_of_one_round_leave_as_one() {
        let start = Instant::now();
        let mut rr =
            OneReceiverReport::new(MediaStreamsOnly::new(ReceiverReportBuilder::new().build()));
        let streams = [
            video(MEDIA, Some(RTX)),
            video(RTX, None),
            StreamInfo {
                ssrc: 3333,
                clock_rate: 48_000,
                ..Default::default()
            },
        ];
        for s in &streams {
            rr.bind_remote_stream(s);
        }
        for seq in 0..10 {
            for ssrc in [MEDIA, RTX, 3333] {
                rr.handle_read(rtp(start, ssrc, seq)).unwrap();
            }
        }
        while rr.poll_read().is_some() {}
        // Something else written on the way keeps its place.
        rr.handle_write(rtp(start, 4444, 1)).unwrap();
        let out = written(&mut rr, start, Duration::from_millis(1500));
        assert_eq!(out.len(), 2, "the RTP packet, then one report");
        assert!(matches!(&out[0].message.packet, Packet::Rtp(p) if p.header.ssrc == 4444));
        let Packet::Rtcp(packets) = &out[1].message.packet else {
            panic!("not RTCP");
        };
        let report = packets[0]
            .as_any()
            .downcast_ref::<ReceiverReport>()
            .expect("a receiver report");
        let mut about: Vec<u32> = report.reports.iter().map(|b| b.ssrc).collect();
        about.sort();
        assert_eq!(
            about,
            vec![MEDIA, 3333],
            "a block per media stream, none for RTX"
        );
    }

    #[test]
    fn more_streams_than_one_report_holds_take_two() {
        let start = Instant::now();
        let mut rr = OneReceiverReport::new(ReceiverReportBuilder::new().build());
        for ssrc in 1..=40u32 {
            rr.bind_remote_stream(&StreamInfo {
                ssrc,
                clock_rate: 48_000,
                ..Default::default()
            });
            rr.handle_read(rtp(start, ssrc, 1)).unwrap();
        }
        while rr.poll_read().is_some() {}
        let out = written(&mut rr, start, Duration::from_millis(1500));
        let blocks: Vec<usize> = out
            .iter()
            .map(|m| match &m.message.packet {
                Packet::Rtcp(p) => p[0]
                    .as_any()
                    .downcast_ref::<ReceiverReport>()
                    .map_or(0, |r| r.reports.len()),
                _ => 0,
            })
            .collect();
        assert_eq!(blocks, vec![31, 9]);
    }
}
