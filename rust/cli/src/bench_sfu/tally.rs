//! What a subscriber counts of each video stream it receives, without
//! decoding: RTP packets, packets lost (sequence-number gaps), frames (the
//! marker bit ends one) and freezes (gaps between frames, as the engine
//! counts them: [`FreezeDetector`]).

use std::collections::HashMap;
use std::time::Instant;

use hotline_media::FreezeDetector;

/// One stream's counters.
#[derive(Default)]
struct Stream {
    packets: u64,
    /// The highest extended sequence number seen, and the first.
    first_seq: Option<u64>,
    last_seq: u64,
    frames: u64,
    freezes: FreezeDetector,
    frozen_ms: u64,
}

/// A subscriber's counters over all the streams it receives.
#[derive(Default)]
pub struct Tally {
    streams: HashMap<u32, Stream>,
}

/// The sum over streams.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub streams: u64,
    pub packets: u64,
    pub lost: u64,
    pub frames: u64,
    pub freezes: u64,
    pub frozen_ms: u64,
}

impl std::ops::AddAssign for Totals {
    fn add_assign(&mut self, o: Totals) {
        self.streams += o.streams;
        self.packets += o.packets;
        self.lost += o.lost;
        self.frames += o.frames;
        self.freezes += o.freezes;
        self.frozen_ms += o.frozen_ms;
    }
}

impl Tally {
    /// A video packet of stream `ssrc` with extended sequence number `seq`
    /// (str0m extends it), ending a frame if `marker`.
    pub fn packet(&mut self, ssrc: u32, seq: u64, marker: bool, at: Instant, epoch: Instant) {
        let s = self.streams.entry(ssrc).or_default();
        s.packets += 1;
        s.first_seq.get_or_insert(seq);
        s.last_seq = s.last_seq.max(seq);
        if marker {
            s.frames += 1;
            let ms = at.saturating_duration_since(epoch).as_millis() as u64;
            if let Some(gap) = s.freezes.frame(ms) {
                s.frozen_ms += gap;
            }
        }
    }

    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for s in self.streams.values() {
            let expected = s.first_seq.map_or(0, |first| s.last_seq - first + 1);
            t += Totals {
                streams: 1,
                packets: s.packets,
                // Duplicates (retransmissions that crossed) can exceed it.
                lost: expected.saturating_sub(s.packets),
                frames: s.frames,
                freezes: s.freezes.freezes(),
                frozen_ms: s.frozen_ms,
            };
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn gaps_are_losses_and_markers_are_frames() {
        let epoch = Instant::now();
        let mut t = Tally::default();
        let at = |ms| epoch + Duration::from_millis(ms);
        for (seq, marker) in [(10, false), (11, true), (13, true), (14, false), (15, true)] {
            t.packet(7, seq, marker, at(seq * 33), epoch);
        }
        t.packet(8, 100, true, at(10), epoch);
        let totals = t.totals();
        assert_eq!(totals.streams, 2);
        assert_eq!(totals.packets, 6);
        assert_eq!(totals.lost, 1, "seq 12");
        assert_eq!(totals.frames, 4);
    }
}
