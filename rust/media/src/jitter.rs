//! Audio jitter buffer: reorders Opus packets, holds them for a target
//! delay that follows the measured network jitter, and tells the caller when
//! a packet is lost so it can run FEC or PLC. Time is passed in (ms).
//!
//! **Playout clock.** For each packet, `transit = arrival − media time`. The
//! smallest transit in the recent window is the fastest path; a packet is
//! due at `media time + min transit + target delay`.
//!
//! **Target delay** = the 95th percentile of `transit − min transit` over
//! the last [`JitterBufferConfig::window_packets`] packets, bounded to
//! `min_delay_ms..=max_delay_ms`. It rises at once and falls by at most
//! 1 ms per packet (50 ms per second at 20 ms packets), so one quiet
//! second does not undo a burst's protection.
//!
//! **Output** ([`JitterBuffer::poll`], called whenever the playout side
//! needs the next 20 ms):
//! - the next packet in sequence once it is due → [`JitterOutput::Packet`];
//! - if the next packet is missing, its due time (from the expected
//!   timestamp) has passed, and a later packet is buffered →
//!   [`JitterOutput::Lost`], with the following packet's payload when it
//!   is buffered (Opus FEC can rebuild the lost one from it);
//! - when the buffer is empty nothing is declared lost (this is DTX
//!   silence or a late burst; the caller conceals and the late packet will
//!   still be played) → [`JitterOutput::Empty`];
//! - when the buffered audio exceeds the target by more than two packets,
//!   the oldest packet is discarded (counted in `dropped_for_latency`) so
//!   the delay shrinks back after a burst.
//!
//! Packets older than what was already played or declared lost are late,
//! and repeated sequence numbers are duplicates; both are discarded.

use crate::rtp::seq::{SeqUnwrapper, TimestampUnwrapper};
use std::collections::{BTreeMap, VecDeque};

/// Jitter buffer settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterBufferConfig {
    /// Lower bound of the target delay (ms). Default 20.
    pub min_delay_ms: u32,
    /// Upper bound of the target delay (ms). Default 200.
    pub max_delay_ms: u32,
    /// RTP clock rate (48,000 for Opus).
    pub clock_rate: u32,
    /// Packets in the window used for the delay statistics. Default 100 (2 s).
    pub window_packets: usize,
    /// Hard cap on buffered packets (oldest dropped first). Default 50.
    pub max_packets: usize,
}

impl Default for JitterBufferConfig {
    fn default() -> Self {
        JitterBufferConfig {
            min_delay_ms: 20,
            max_delay_ms: 200,
            clock_rate: 48_000,
            window_packets: 100,
            max_packets: 50,
        }
    }
}

/// What [`JitterBuffer::insert`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Buffered for playout.
    Accepted,
    /// Same sequence number is already buffered.
    Duplicate,
    /// Its slot was already played or declared lost.
    Late,
}

/// What the playout side gets from [`JitterBuffer::poll`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JitterOutput {
    /// Decode this packet.
    Packet {
        /// RTP sequence number.
        sequence: u16,
        /// RTP timestamp.
        timestamp: u32,
        /// The payload (an Opus packet).
        payload: Vec<u8>,
    },
    /// This packet is lost: decode FEC from `next_payload` if present, else
    /// run PLC.
    Lost {
        /// The missing sequence number.
        sequence: u16,
        /// Its expected RTP timestamp.
        timestamp: u32,
        /// The next packet's payload, when buffered (for Opus FEC). That
        /// packet stays buffered and comes out of the next `poll`.
        next_payload: Option<Vec<u8>>,
    },
    /// Nothing is due: play concealment or comfort noise (or silence before
    /// the first packet).
    Empty,
}

/// Counters and current delay.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct JitterStats {
    /// Packets accepted.
    pub received: u64,
    /// Packets played out.
    pub played: u64,
    /// Packets declared lost.
    pub lost: u64,
    /// Packets that arrived too late.
    pub late: u64,
    /// Duplicate packets.
    pub duplicates: u64,
    /// Packets discarded to bring the delay back to the target.
    pub dropped_for_latency: u64,
    /// Current target delay (ms).
    pub target_delay_ms: f64,
    /// RFC 3550 interarrival jitter estimate (ms).
    pub jitter_ms: f64,
    /// Audio currently buffered (ms of media).
    pub buffered_ms: f64,
}

#[derive(Debug, Clone)]
struct Entry {
    ts: u64,
    payload: Vec<u8>,
}

/// Adaptive audio jitter buffer; see the module docs.
#[derive(Debug)]
pub struct JitterBuffer {
    config: JitterBufferConfig,
    seqs: SeqUnwrapper,
    timestamps: TimestampUnwrapper,
    packets: BTreeMap<u64, Entry>,
    /// Extended sequence number and timestamp of the last slot played or lost.
    cursor: Option<(u64, u64)>,
    /// Media time per sequence step, learned from consecutive packets.
    ticks_per_packet: u64,
    transits: VecDeque<f64>,
    target_ms: f64,
    last_arrival: Option<(f64, u64)>,
    stats: JitterStats,
}

impl JitterBuffer {
    /// An empty buffer.
    pub fn new(config: JitterBufferConfig) -> Self {
        JitterBuffer {
            config,
            seqs: SeqUnwrapper::default(),
            timestamps: TimestampUnwrapper::default(),
            packets: BTreeMap::new(),
            cursor: None,
            ticks_per_packet: u64::from(config.clock_rate) / 50,
            transits: VecDeque::new(),
            target_ms: f64::from(config.min_delay_ms),
            last_arrival: None,
            stats: JitterStats {
                target_delay_ms: f64::from(config.min_delay_ms),
                ..Default::default()
            },
        }
    }

    fn media_ms(&self, ts: u64) -> f64 {
        ts as f64 * 1000.0 / f64::from(self.config.clock_rate)
    }

    /// Current target delay in ms.
    pub fn target_delay_ms(&self) -> f64 {
        self.target_ms
    }

    /// Counters and delay.
    pub fn stats(&self) -> JitterStats {
        let mut s = self.stats;
        s.target_delay_ms = self.target_ms;
        s.buffered_ms = self.buffered_ms();
        s
    }

    fn buffered_ms(&self) -> f64 {
        match (
            self.packets.values().next(),
            self.packets.values().next_back(),
        ) {
            (Some(a), Some(b)) => self.media_ms(b.ts - a.ts + self.ticks_per_packet),
            _ => 0.0,
        }
    }

    /// Adds a packet that arrived at `now_ms`.
    pub fn insert(
        &mut self,
        sequence: u16,
        timestamp: u32,
        payload: Vec<u8>,
        now_ms: u64,
    ) -> InsertOutcome {
        let seq = self.seqs.unwrap(sequence);
        let ts = self.timestamps.unwrap(timestamp);
        if self.cursor.is_some_and(|(c, _)| seq <= c) {
            self.stats.late += 1;
            log::trace!("jitter buffer: late packet {sequence}");
            return InsertOutcome::Late;
        }
        if self.packets.contains_key(&seq) {
            self.stats.duplicates += 1;
            return InsertOutcome::Duplicate;
        }
        // Learn the packet duration from sequence neighbours.
        if let Some(prev) = self.packets.get(&(seq - 1)) {
            if ts > prev.ts && ts - prev.ts <= u64::from(self.config.clock_rate) / 8 {
                self.ticks_per_packet = ts - prev.ts;
            }
        }
        let now = now_ms as f64;
        self.update_delay(now, ts);
        self.packets.insert(seq, Entry { ts, payload });
        self.stats.received += 1;
        while self.packets.len() > self.config.max_packets {
            let (&k, _) = self.packets.iter().next().expect("non-empty");
            self.packets.remove(&k);
            self.stats.dropped_for_latency += 1;
            self.advance_cursor_to(k);
        }
        InsertOutcome::Accepted
    }

    fn update_delay(&mut self, now: f64, ts: u64) {
        let media = self.media_ms(ts);
        // RFC 3550 interarrival jitter.
        if let Some((prev_now, prev_ts)) = self.last_arrival {
            let d = (now - prev_now) - (media - self.media_ms(prev_ts));
            self.stats.jitter_ms += (d.abs() - self.stats.jitter_ms) / 16.0;
        }
        self.last_arrival = Some((now, ts));
        self.transits.push_back(now - media);
        while self.transits.len() > self.config.window_packets.max(2) {
            self.transits.pop_front();
        }
        let min = self.min_transit();
        let mut excess: Vec<f64> = self.transits.iter().map(|t| t - min).collect();
        excess.sort_by(f64::total_cmp);
        let p95 = excess[((excess.len() - 1) as f64 * 0.95).round() as usize];
        let wanted = p95.clamp(
            f64::from(self.config.min_delay_ms),
            f64::from(self.config.max_delay_ms),
        );
        let before = self.target_ms;
        self.target_ms = if wanted >= self.target_ms {
            wanted
        } else {
            (self.target_ms - 1.0).max(wanted)
        };
        if (self.target_ms - before).abs() >= 10.0 {
            log::debug!(
                "jitter buffer: target delay {before:.0} -> {:.0} ms",
                self.target_ms
            );
        }
    }

    fn min_transit(&self) -> f64 {
        self.transits.iter().copied().fold(f64::INFINITY, f64::min)
    }

    fn due_ms(&self, ts: u64) -> f64 {
        self.media_ms(ts) + self.min_transit() + self.target_ms
    }

    fn advance_cursor_to(&mut self, seq: u64) {
        let ts = self.packets.get(&seq).map(|e| e.ts);
        let ts = ts.unwrap_or_else(|| match self.cursor {
            Some((c, t)) => t + (seq - c) * self.ticks_per_packet,
            None => 0,
        });
        if self.cursor.is_none_or(|(c, _)| seq > c) {
            self.cursor = Some((seq, ts));
        }
    }

    /// The next thing to play at `now_ms`; see the module docs.
    pub fn poll(&mut self, now_ms: u64) -> JitterOutput {
        let now = now_ms as f64;
        let Some((&first_seq, first)) = self.packets.iter().next() else {
            return JitterOutput::Empty;
        };
        let first_ts = first.ts;
        let (next_seq, next_ts) = match self.cursor {
            Some((c, t)) => (c + 1, t + self.ticks_per_packet),
            None => (first_seq, first_ts),
        };
        if first_seq == next_seq {
            if now < self.due_ms(first_ts) {
                return JitterOutput::Empty;
            }
            // Too much buffered? Drop the head instead of playing it.
            let excess = self.buffered_ms() - self.target_ms - self.media_ms(self.ticks_per_packet);
            if excess > 2.0 * self.media_ms(self.ticks_per_packet) && self.packets.len() > 2 {
                self.packets.remove(&first_seq);
                self.advance_cursor_to(first_seq);
                self.stats.dropped_for_latency += 1;
                log::trace!("jitter buffer: dropped packet {first_seq} to cut latency");
                return self.poll(now_ms);
            }
            let entry = self.packets.remove(&first_seq).expect("present");
            self.cursor = Some((first_seq, entry.ts));
            self.stats.played += 1;
            return JitterOutput::Packet {
                sequence: first_seq as u16,
                timestamp: entry.ts as u32,
                payload: entry.payload,
            };
        }
        // The next packet is missing and a later one is here.
        if now < self.due_ms(next_ts) {
            return JitterOutput::Empty;
        }
        self.cursor = Some((next_seq, next_ts));
        self.stats.lost += 1;
        let next_payload = self.packets.get(&(next_seq + 1)).map(|e| e.payload.clone());
        log::trace!(
            "jitter buffer: packet {next_seq} lost (fec source: {})",
            next_payload.is_some()
        );
        JitterOutput::Lost {
            sequence: next_seq as u16,
            timestamp: next_ts as u32,
            next_payload,
        }
    }
}
