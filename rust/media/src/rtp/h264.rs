//! H.264 RTP payloading, packetization mode 1 (RFC 6184).
//!
//! **Packetizer**: consecutive NAL units that fit together go into one
//! STAP-A (in practice SPS + PPS ahead of an IDR); a NAL unit that fits
//! alone goes as a single NAL unit packet; a larger one is split into FU-A
//! fragments. The caller gives all packets of an access unit the same RTP
//! timestamp and sets the marker on the last one.
//!
//! **Depacketizer**: takes packets in any order (with their sequence
//! number, timestamp and marker), and emits access units in order once
//! every packet from the previous access unit's end to a marker is present.
//! A gap is declared lost once a later access unit is known complete and the
//! gap has lasted `loss_wait_ms` (time for reordering, or for NACK/RTX to
//! fill it; time is passed in), or at once when the buffer holds packets
//! more than `max_reorder` sequence numbers past the gap. Access units touched by a loss are dropped and reported
//! so the caller can send a PLI; by default the following non-IDR access
//! units are dropped too (they reference the lost picture) until an IDR
//! arrives, and a complete IDR is then taken at once, without waiting on
//! gaps before it.
//!
//! A stream (or a subscription joined mid-stream) starts at the first
//! access unit that begins with an SPS, i.e. a keyframe; packets before it
//! are discarded silently. [`H264Depacketizer::waiting_for_keyframe`] tells
//! the caller to send a PLI. An SPS-led packet also proves where an access
//! unit starts, so the keyframe that answers a PLI is not held up by the
//! gap before it.

use super::seq::SeqUnwrapper;
use crate::h264::{nal_type, NAL_IDR, NAL_SPS};
use std::collections::BTreeMap;

const STAP_A: u8 = 24;
const FU_A: u8 = 28;

/// Splits access units into RTP payloads.
#[derive(Debug, Clone)]
pub struct H264Packetizer {
    max_payload: usize,
}

impl H264Packetizer {
    /// A packetizer whose payloads are at most `max_payload` bytes (at least
    /// 16; see [`super::DEFAULT_MAX_PAYLOAD`]).
    pub fn new(max_payload: usize) -> Self {
        H264Packetizer {
            max_payload: max_payload.max(16),
        }
    }

    /// The payloads for one access unit (NAL units without start codes), in
    /// sending order. Set the RTP marker on the last one.
    pub fn packetize<T: AsRef<[u8]>>(&self, nals: &[T]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut stap: Vec<&[u8]> = Vec::new();
        let mut stap_size = 1; // STAP-A header byte
        let flush = |stap: &mut Vec<&[u8]>, stap_size: &mut usize, out: &mut Vec<Vec<u8>>| {
            match stap.len() {
                0 => {}
                1 => out.push(stap[0].to_vec()),
                _ => {
                    let nri = stap.iter().map(|n| n[0] & 0x60).max().unwrap_or(0);
                    let mut p = Vec::with_capacity(*stap_size);
                    p.push(nri | STAP_A);
                    for n in stap.iter() {
                        p.extend_from_slice(&(n.len() as u16).to_be_bytes());
                        p.extend_from_slice(n);
                    }
                    out.push(p);
                }
            }
            stap.clear();
            *stap_size = 1;
        };
        for nal in nals {
            let nal = nal.as_ref();
            if nal.is_empty() {
                continue;
            }
            if nal.len() > self.max_payload {
                flush(&mut stap, &mut stap_size, &mut out);
                self.fragment(nal, &mut out);
                continue;
            }
            if stap_size + 2 + nal.len() > self.max_payload {
                flush(&mut stap, &mut stap_size, &mut out);
            }
            stap.push(nal);
            stap_size += 2 + nal.len();
        }
        flush(&mut stap, &mut stap_size, &mut out);
        out
    }

    fn fragment(&self, nal: &[u8], out: &mut Vec<Vec<u8>>) {
        let indicator = (nal[0] & 0xE0) | FU_A;
        let kind = nal[0] & 0x1F;
        let body = &nal[1..];
        let chunk = self.max_payload - 2;
        let count = body.len().div_ceil(chunk);
        for (i, part) in body.chunks(chunk).enumerate() {
            let mut header = kind;
            if i == 0 {
                header |= 0x80;
            }
            if i + 1 == count {
                header |= 0x40;
            }
            let mut p = Vec::with_capacity(part.len() + 2);
            p.push(indicator);
            p.push(header);
            p.extend_from_slice(part);
            out.push(p);
        }
    }
}

impl Default for H264Packetizer {
    fn default() -> Self {
        Self::new(super::DEFAULT_MAX_PAYLOAD)
    }
}

/// A reassembled access unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessUnit {
    /// RTP timestamp (90 kHz).
    pub timestamp: u32,
    /// NAL units without start codes.
    pub nals: Vec<Vec<u8>>,
    /// True if it contains an IDR slice.
    pub keyframe: bool,
    /// Sequence number of its first packet.
    pub first_sequence: u16,
    /// Sequence number of its last (marker) packet.
    pub last_sequence: u16,
}

impl AccessUnit {
    /// The access unit as an Annex B byte stream, for the decoder.
    pub fn to_annex_b(&self) -> Vec<u8> {
        crate::h264::nals_to_annex_b(&self.nals)
    }
}

/// Why an access unit was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// One or more of its packets never arrived.
    PacketLoss,
    /// Its packets were present but malformed (bad STAP-A, FU-A without
    /// start or end, unsupported packet type).
    Malformed,
    /// It was complete, but an earlier access unit was lost and this is not
    /// a keyframe, so it could not be decoded correctly.
    WaitingForKeyframe,
}

/// What the depacketizer produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DepacketizerEvent {
    /// A complete access unit, ready for the decoder.
    AccessUnit(AccessUnit),
    /// An access unit was lost or broken; request a keyframe (PLI).
    /// `timestamp` is `None` when none of its packets arrived at all.
    Dropped {
        /// Its RTP timestamp, when known.
        timestamp: Option<u32>,
        /// Why.
        reason: DropReason,
    },
}

#[derive(Debug, Clone)]
struct Buffered {
    timestamp: u32,
    marker: bool,
    payload: Vec<u8>,
}

/// Counters of a depacketizer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DepacketizerStats {
    /// Access units emitted.
    pub access_units: u64,
    /// Access units dropped, for any reason.
    pub dropped: u64,
    /// Packets that arrived after their place was already decided (late or
    /// duplicate), ignored.
    pub late_packets: u64,
}

/// Reassembles access units from H.264 RTP packets; see the module docs.
#[derive(Debug)]
pub struct H264Depacketizer {
    unwrapper: SeqUnwrapper,
    packets: BTreeMap<u64, Buffered>,
    /// Extended sequence number of the last packet consumed.
    last_consumed: Option<u64>,
    max_reorder: u64,
    loss_wait_ms: u64,
    /// The gap being waited on: its first sequence number and when it was seen.
    gap: Option<(u64, u64)>,
    require_keyframe_after_loss: bool,
    waiting_for_keyframe: bool,
    events: Vec<DepacketizerEvent>,
    stats: DepacketizerStats,
}

impl Default for H264Depacketizer {
    fn default() -> Self {
        Self::new()
    }
}

impl H264Depacketizer {
    /// A depacketizer that tolerates reordering by up to 256 packets and
    /// drops delta frames after a loss until the next keyframe.
    pub fn new() -> Self {
        H264Depacketizer {
            unwrapper: SeqUnwrapper::default(),
            packets: BTreeMap::new(),
            last_consumed: None,
            max_reorder: 256,
            loss_wait_ms: 50,
            gap: None,
            require_keyframe_after_loss: true,
            waiting_for_keyframe: false,
            events: Vec::new(),
            stats: DepacketizerStats::default(),
        }
    }

    /// Sets how far past a gap (in packets) to wait before declaring it lost.
    pub fn with_max_reorder(mut self, packets: u16) -> Self {
        self.max_reorder = u64::from(packets.max(1));
        self
    }

    /// How long a gap may wait for reordered or retransmitted packets once
    /// a later access unit is complete (default 50 ms; with NACK use about
    /// one and a half RTTs).
    pub fn with_loss_wait_ms(mut self, ms: u64) -> Self {
        self.loss_wait_ms = ms;
        self
    }

    /// Whether to drop non-IDR access units after a loss until an IDR
    /// arrives (default true).
    pub fn with_require_keyframe_after_loss(mut self, on: bool) -> Self {
        self.require_keyframe_after_loss = on;
        self
    }

    /// Counters so far.
    pub fn stats(&self) -> DepacketizerStats {
        self.stats
    }

    /// True while no keyframe has started the stream yet, or after a loss
    /// until the next keyframe: the caller should have requested one (PLI).
    pub fn waiting_for_keyframe(&self) -> bool {
        self.last_consumed.is_none() || self.waiting_for_keyframe
    }

    /// Packets currently buffered.
    pub fn buffered_packets(&self) -> usize {
        self.packets.len()
    }

    /// When [`H264Depacketizer::handle_timeout`] should be called next
    /// (ms), if a gap is pending.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.gap.map(|(_, since)| since + self.loss_wait_ms)
    }

    /// Re-checks pending gaps at `now_ms`; returns any drops and the access
    /// units they unblock.
    pub fn handle_timeout(&mut self, now_ms: u64) -> Vec<DepacketizerEvent> {
        self.process(now_ms);
        std::mem::take(&mut self.events)
    }

    /// Adds one packet's payload, received at `now_ms`. Returns the access
    /// units completed and the drops decided by it, in order.
    pub fn push(
        &mut self,
        sequence: u16,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
        now_ms: u64,
    ) -> Vec<DepacketizerEvent> {
        let ext = self.unwrapper.unwrap(sequence);
        if self.last_consumed.is_some_and(|c| ext <= c) || self.packets.contains_key(&ext) {
            self.stats.late_packets += 1;
            return Vec::new();
        }
        self.packets.insert(
            ext,
            Buffered {
                timestamp,
                marker,
                payload: payload.to_vec(),
            },
        );
        self.process(now_ms);
        std::mem::take(&mut self.events)
    }

    fn process(&mut self, now_ms: u64) {
        loop {
            let start = match self.last_consumed {
                Some(c) => c + 1,
                None => {
                    // The stream starts at the first SPS-led packet.
                    let first = self
                        .packets
                        .iter()
                        .find(|(_, p)| starts_with_sps(&p.payload))
                        .map(|(&k, _)| k);
                    let newest = self.packets.keys().next_back().copied().unwrap_or(0);
                    let cut = first.unwrap_or(newest.saturating_sub(self.max_reorder));
                    self.packets = self.packets.split_off(&cut);
                    match first {
                        Some(k) => {
                            self.last_consumed = Some(k - 1);
                            k
                        }
                        None => return,
                    }
                }
            };
            if let Some(end) = self.complete_run(start) {
                self.gap = None;
                self.emit(start, end);
                continue;
            }
            // Nothing before a keyframe can be shown while one is awaited:
            // once one is complete, skip to it instead of waiting on gaps.
            if self.waiting_for_keyframe {
                if let Some(keyframe) = self.complete_keyframe_after(start) {
                    self.gap = None;
                    self.drop_range(start, keyframe - 1, DropReason::WaitingForKeyframe);
                    continue;
                }
            }
            // Nothing complete at the cursor: is there a gap we must give up on?
            let Some((boundary, overflow)) = self.next_proven_start(start) else {
                return;
            };
            let since = match self.gap {
                Some((s, since)) if s == start => since,
                _ => {
                    self.gap = Some((start, now_ms));
                    now_ms
                }
            };
            if !overflow && now_ms < since + self.loss_wait_ms {
                return;
            }
            self.gap = None;
            self.drop_range(start, boundary - 1, DropReason::PacketLoss);
        }
    }

    /// Where the first complete keyframe after `start` begins.
    fn complete_keyframe_after(&self, start: u64) -> Option<u64> {
        self.packets
            .range(start + 1..)
            .map(|(&seq, _)| seq)
            .find(|&seq| {
                starts_with_sps(&self.packets[&seq].payload) && self.complete_run(seq).is_some()
            })
    }

    /// If packets `start..=end` are all present with one timestamp and `end`
    /// has the marker, returns `end`. A timestamp change before a marker
    /// (lost marker packet cannot cause this; a broken sender can) ends the
    /// run too, as a malformed access unit.
    fn complete_run(&self, start: u64) -> Option<u64> {
        let first = self.packets.get(&start)?;
        let mut seq = start;
        let mut p = first;
        loop {
            if p.timestamp != first.timestamp {
                return None;
            }
            if p.marker {
                return Some(seq);
            }
            seq += 1;
            p = self.packets.get(&seq)?;
        }
    }

    /// The first sequence number after `start` (exclusive) where an access
    /// unit provably starts and is complete, or where to resume because the
    /// reorder window has run out (then the flag is true).
    fn next_proven_start(&self, start: u64) -> Option<(u64, bool)> {
        let newest = *self.packets.keys().next_back()?;
        for (&seq, p) in self.packets.range(start + 1..) {
            let prev_differs = self
                .packets
                .get(&(seq - 1))
                .is_some_and(|q| q.timestamp != p.timestamp && q.marker);
            if (prev_differs || starts_with_sps(&p.payload)) && self.complete_run(seq).is_some() {
                return Some((seq, false));
            }
        }
        if newest >= start + self.max_reorder {
            // Give up on everything before the oldest packet that follows a
            // marker, or before the newest packet.
            let resume = self
                .packets
                .range(start + 1..)
                .find(|(&seq, _)| self.packets.get(&(seq - 1)).is_some_and(|q| q.marker))
                .map_or(newest, |(&s, _)| s);
            return Some((resume, true));
        }
        None
    }

    fn drop_range(&mut self, from: u64, to: u64, reason: DropReason) {
        let mut timestamps: Vec<u32> = Vec::new();
        let dropped: Vec<u64> = self.packets.range(from..=to).map(|(&k, _)| k).collect();
        for k in dropped {
            let p = self.packets.remove(&k).expect("key listed");
            if timestamps.last() != Some(&p.timestamp) {
                timestamps.push(p.timestamp);
            }
        }
        log::debug!(
            "H.264 depacketizer: packets {from}..={to} given up ({reason:?}), dropping {} access unit(s)",
            timestamps.len().max(1)
        );
        if timestamps.is_empty() {
            self.report_drop(None, reason);
        }
        for ts in timestamps {
            self.report_drop(Some(ts), reason);
        }
        self.last_consumed = Some(to);
        if self.require_keyframe_after_loss {
            self.waiting_for_keyframe = true;
        }
    }

    fn report_drop(&mut self, timestamp: Option<u32>, reason: DropReason) {
        self.stats.dropped += 1;
        self.events
            .push(DepacketizerEvent::Dropped { timestamp, reason });
    }

    fn emit(&mut self, start: u64, end: u64) {
        let packets: Vec<Buffered> = (start..=end)
            .map(|k| self.packets.remove(&k).expect("run is present"))
            .collect();
        self.last_consumed = Some(end);
        let timestamp = packets[0].timestamp;
        let Some(nals) = reassemble(&packets) else {
            log::debug!("H.264 depacketizer: malformed access unit at ts {timestamp}");
            self.report_drop(Some(timestamp), DropReason::Malformed);
            if self.require_keyframe_after_loss {
                self.waiting_for_keyframe = true;
            }
            return;
        };
        let keyframe = nals.iter().any(|n| nal_type(n) == NAL_IDR);
        if self.waiting_for_keyframe && !keyframe {
            self.report_drop(Some(timestamp), DropReason::WaitingForKeyframe);
            return;
        }
        if keyframe {
            self.waiting_for_keyframe = false;
        }
        self.stats.access_units += 1;
        self.events.push(DepacketizerEvent::AccessUnit(AccessUnit {
            timestamp,
            nals,
            keyframe,
            first_sequence: start as u16,
            last_sequence: end as u16,
        }));
    }
}

/// True if the payload is an SPS, or a STAP-A whose first NAL unit is one.
fn starts_with_sps(payload: &[u8]) -> bool {
    match payload.first().map(|b| b & 0x1F) {
        Some(NAL_SPS) => true,
        Some(STAP_A) => payload.get(3).is_some_and(|b| b & 0x1F == NAL_SPS),
        _ => false,
    }
}

/// Turns the payloads of one access unit into NAL units; `None` if malformed.
fn reassemble(packets: &[Buffered]) -> Option<Vec<Vec<u8>>> {
    let mut nals = Vec::new();
    let mut fu: Option<Vec<u8>> = None;
    for p in packets {
        let data = &p.payload;
        let kind = *data.first()? & 0x1F;
        match kind {
            1..=23 => {
                if fu.is_some() {
                    return None;
                }
                nals.push(data.clone());
            }
            STAP_A => {
                if fu.is_some() {
                    return None;
                }
                let mut pos = 1;
                while pos < data.len() {
                    let len = usize::from(u16::from_be_bytes([data[pos], *data.get(pos + 1)?]));
                    pos += 2;
                    if len == 0 || pos + len > data.len() {
                        return None;
                    }
                    nals.push(data[pos..pos + len].to_vec());
                    pos += len;
                }
            }
            FU_A => {
                let header = *data.get(1)?;
                let (start, end) = (header & 0x80 != 0, header & 0x40 != 0);
                match (&mut fu, start) {
                    (None, true) => {
                        let mut nal = vec![(data[0] & 0xE0) | (header & 0x1F)];
                        nal.extend_from_slice(&data[2..]);
                        fu = Some(nal);
                    }
                    (Some(nal), false) => nal.extend_from_slice(&data[2..]),
                    _ => return None,
                }
                if end {
                    nals.push(fu.take()?);
                }
            }
            _ => return None,
        }
    }
    if fu.is_some() || nals.is_empty() {
        return None;
    }
    Some(nals)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nal(kind: u8, len: usize) -> Vec<u8> {
        let mut n = vec![0x60 | kind];
        n.extend((0..len - 1).map(|i| (i % 251) as u8));
        n
    }

    fn feed(
        d: &mut H264Depacketizer,
        payloads: &[Vec<u8>],
        first_seq: u16,
        ts: u32,
    ) -> Vec<DepacketizerEvent> {
        let mut ev = Vec::new();
        for (i, p) in payloads.iter().enumerate() {
            ev.extend(d.push(
                first_seq.wrapping_add(i as u16),
                ts,
                i + 1 == payloads.len(),
                p,
                0,
            ));
        }
        ev
    }

    #[test]
    fn packetizer_uses_stap_a_single_and_fu_a() {
        let sps = nal(7, 20);
        let pps = nal(8, 5);
        let idr = nal(5, 3000);
        let small = nal(1, 100);
        let pk = H264Packetizer::new(1200);
        let payloads = pk.packetize(&[sps.clone(), pps.clone(), idr.clone()]);
        assert_eq!(payloads[0][0] & 0x1F, STAP_A);
        assert_eq!(payloads.len(), 1 + 3); // 2999 body bytes / 1198 per fragment
        assert!(payloads.iter().all(|p| p.len() <= 1200));
        assert_eq!(payloads[1][1], 0x80 | 5);
        assert_eq!(payloads[3][1], 0x40 | 5);
        assert_eq!(
            pk.packetize(std::slice::from_ref(&small)),
            vec![small.clone()]
        );

        let mut d = H264Depacketizer::new();
        let ev = feed(&mut d, &payloads, 100, 9000);
        let DepacketizerEvent::AccessUnit(au) = &ev[0] else {
            panic!("{ev:?}")
        };
        assert_eq!(au.nals, vec![sps, pps, idr]);
        assert!(au.keyframe);
        assert_eq!((au.first_sequence, au.last_sequence), (100, 103));
    }

    #[test]
    fn reordered_packets_across_wrap_are_reassembled_in_order() {
        let pk = H264Packetizer::new(100);
        let au1 = pk.packetize(&[nal(7, 10), nal(5, 450)]);
        let au2 = pk.packetize(&[nal(1, 250)]);
        let mut all: Vec<(u16, u32, bool, Vec<u8>)> = Vec::new();
        let mut seq = 65_533u16;
        for (ts, au) in [(0u32, &au1), (3000, &au2)] {
            for (i, p) in au.iter().enumerate() {
                all.push((seq, ts, i + 1 == au.len(), p.clone()));
                seq = seq.wrapping_add(1);
            }
        }
        // Reverse everything except the very first packet.
        all[1..].reverse();
        let mut d = H264Depacketizer::new();
        let mut out = Vec::new();
        for (s, t, m, p) in &all {
            out.extend(d.push(*s, *t, *m, p, 0));
        }
        let ts: Vec<u32> = out
            .iter()
            .map(|e| match e {
                DepacketizerEvent::AccessUnit(a) => a.timestamp,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(ts, vec![0, 3000]);
        // A duplicate is ignored.
        assert!(d.push(all[0].0, 0, false, &all[0].3, 0).is_empty());
        assert_eq!(d.stats().late_packets, 1);
    }

    #[test]
    fn malformed_fu_a_is_dropped() {
        let mut d = H264Depacketizer::new();
        assert!(d.push(0, 0, false, &nal(7, 10), 0).is_empty());
        // FU-A end fragment without a start.
        let ev = d.push(1, 0, true, &[0x60 | FU_A, 0x40 | 5, 1, 2], 0);
        assert_eq!(
            ev,
            vec![DepacketizerEvent::Dropped {
                timestamp: Some(0),
                reason: DropReason::Malformed
            }]
        );
        assert!(d.waiting_for_keyframe());
    }

    #[test]
    fn stream_starts_at_a_keyframe() {
        let pk = H264Packetizer::new(1200);
        let mut d = H264Depacketizer::new();
        // A delta frame first (joined mid-stream): discarded, waiting.
        assert!(feed(&mut d, &pk.packetize(&[nal(1, 50)]), 10, 0).is_empty());
        assert!(d.waiting_for_keyframe());
        let ev = feed(
            &mut d,
            &pk.packetize(&[nal(7, 10), nal(8, 4), nal(5, 2000)]),
            11,
            3000,
        );
        assert!(matches!(&ev[..], [DepacketizerEvent::AccessUnit(au)] if au.keyframe));
        assert!(!d.waiting_for_keyframe());
    }
}
