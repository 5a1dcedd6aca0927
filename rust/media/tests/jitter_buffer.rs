//! Jitter buffer scenarios with simulated time: 20 ms Opus packets
//! (960 ticks at 48 kHz), a playout side that polls every 20 ms.

use hotline_media::jitter::{InsertOutcome, JitterBuffer, JitterBufferConfig, JitterOutput};
use rand::{rngs::StdRng, Rng, SeedableRng};

const TICKS: u32 = 960;

fn payload(seq: u16) -> Vec<u8> {
    seq.to_be_bytes().to_vec()
}

/// Runs a scenario: `arrivals` are (seq, arrival ms); polls every 20 ms
/// from `first_poll` to `end`. Returns what came out, as (poll time, output).
fn run(
    jb: &mut JitterBuffer,
    mut arrivals: Vec<(u16, u64)>,
    first_poll: u64,
    end: u64,
) -> Vec<(u64, JitterOutput)> {
    arrivals.sort_by_key(|a| a.1);
    let mut out = Vec::new();
    let mut next = arrivals.into_iter().peekable();
    let mut now = first_poll;
    while now <= end {
        while let Some(&(seq, at)) = next.peek() {
            if at > now {
                break;
            }
            jb.insert(seq, u32::from(seq) * TICKS, payload(seq), at);
            next.next();
        }
        out.push((now, jb.poll(now)));
        now += 20;
    }
    out
}

fn played(out: &[(u64, JitterOutput)]) -> Vec<u16> {
    out.iter()
        .filter_map(|(_, o)| match o {
            JitterOutput::Packet { sequence, .. } => Some(*sequence),
            _ => None,
        })
        .collect()
}

fn lost(out: &[(u64, JitterOutput)]) -> Vec<u16> {
    out.iter()
        .filter_map(|(_, o)| match o {
            JitterOutput::Lost { sequence, .. } => Some(*sequence),
            _ => None,
        })
        .collect()
}

#[test]
fn reorders_packets() {
    let mut jb = JitterBuffer::new(JitterBufferConfig::default());
    // Packets 0..20 sent every 20 ms; 5 and 6 swap, 12 arrives 30 ms late.
    let arrivals = (0..20u16)
        .map(|s| {
            let sent = u64::from(s) * 20 + 1000;
            let delay = match s {
                5 => 25,
                6 => 5,
                12 => 35,
                _ => 5,
            };
            (s, sent + delay)
        })
        .collect();
    let out = run(&mut jb, arrivals, 1000, 1600);
    assert_eq!(played(&out), (0..20).collect::<Vec<_>>());
    assert!(lost(&out).is_empty());
    assert!(jb.target_delay_ms() >= 20.0);
}

#[test]
fn declares_loss_when_playout_time_passes_and_offers_the_next_packet_for_fec() {
    let mut jb = JitterBuffer::new(JitterBufferConfig::default());
    let arrivals = (0..15u16)
        .filter(|&s| s != 7)
        .map(|s| (s, u64::from(s) * 20 + 5))
        .collect();
    let out = run(&mut jb, arrivals, 0, 400);
    assert_eq!(lost(&out), vec![7]);
    let (_, lost_output) = out
        .iter()
        .find(|(_, o)| matches!(o, JitterOutput::Lost { .. }))
        .unwrap();
    assert_eq!(
        lost_output,
        &JitterOutput::Lost {
            sequence: 7,
            timestamp: 7 * TICKS,
            next_payload: Some(payload(8))
        }
    );
    let p = played(&out);
    assert_eq!(p, (0..15).filter(|&s| s != 7).collect::<Vec<_>>());
    assert_eq!(jb.stats().lost, 1);
}

#[test]
fn late_packets_and_duplicates_are_dropped() {
    let mut jb = JitterBuffer::new(JitterBufferConfig::default());
    let mut got = Vec::new();
    for s in 0..5u16 {
        let t = u64::from(s) * 20;
        assert_eq!(
            jb.insert(s, u32::from(s) * TICKS, payload(s), t),
            InsertOutcome::Accepted
        );
        if s == 4 {
            assert_eq!(
                jb.insert(4, 4 * TICKS, payload(4), t + 1),
                InsertOutcome::Duplicate
            );
        }
        if let JitterOutput::Packet { sequence, .. } = jb.poll(t + 25) {
            got.push(sequence);
        }
    }
    assert_eq!(got, vec![0, 1, 2, 3, 4]);
    assert_eq!(jb.insert(1, TICKS, payload(1), 120), InsertOutcome::Late);
    assert_eq!(
        jb.insert(4, 4 * TICKS, payload(4), 120),
        InsertOutcome::Late
    );
    let s = jb.stats();
    assert_eq!((s.duplicates, s.late, s.received, s.played), (1, 2, 5, 5));
}

#[test]
fn empty_buffer_is_not_loss_dtx_silence_resumes_cleanly() {
    let mut jb = JitterBuffer::new(JitterBufferConfig::default());
    // Talk: 0..5; DTX silence for 1 s (no packets, timestamps jump); talk again
    // with the next sequence numbers.
    let mut outputs = Vec::new();
    for step in 0..100u64 {
        let t = step * 20;
        let seq_ts = if step < 5 {
            Some((step as u16, step as u32 * TICKS))
        } else if (55..60).contains(&step) {
            Some(((step - 50) as u16, step as u32 * TICKS))
        } else {
            None
        };
        if let Some((seq, ts)) = seq_ts {
            jb.insert(seq, ts, payload(seq), t + 3);
        }
        outputs.push((t + 10, jb.poll(t + 10)));
    }
    assert!(lost(&outputs).is_empty(), "{:?}", lost(&outputs));
    assert_eq!(played(&outputs), (0..10).collect::<Vec<_>>());
    assert_eq!(jb.stats().late, 0);
}

#[test]
fn target_delay_adapts_to_jitter_within_bounds() {
    let config = JitterBufferConfig::default();
    let mut jb = JitterBuffer::new(config);
    let mut rng = StdRng::seed_from_u64(3);
    // 4 s with 0–5 ms of jitter: the target stays near the minimum.
    let mut seq = 0u16;
    let mut arrivals = Vec::new();
    for _ in 0..200 {
        arrivals.push((seq, u64::from(seq) * 20 + rng.gen_range(0..=5)));
        seq += 1;
    }
    let out = run(&mut jb, arrivals, 0, 200 * 20 + 100);
    assert!(lost(&out).is_empty());
    let calm = jb.target_delay_ms();
    assert!((20.0..=30.0).contains(&calm), "calm target {calm}");

    // 4 s with 0–80 ms of jitter: the target grows to cover it, and few
    // packets are lost to lateness.
    let start = seq;
    let mut arrivals = Vec::new();
    for _ in 0..200 {
        arrivals.push((seq, u64::from(seq) * 20 + rng.gen_range(0..=80)));
        seq += 1;
    }
    let before = jb.stats();
    let out = run(
        &mut jb,
        arrivals,
        u64::from(start) * 20 + 100,
        u64::from(seq) * 20 + 400,
    );
    let rough = jb.target_delay_ms();
    assert!((60.0..=100.0).contains(&rough), "rough target {rough}");
    let newly_lost = jb.stats().lost - before.lost;
    assert!(newly_lost <= 12, "{newly_lost} of 200 lost to lateness");
    assert!(played(&out).len() >= 180);
    assert!(jb.stats().jitter_ms > 10.0);

    // Extreme jitter is capped at the maximum.
    let mut arrivals = Vec::new();
    let start = seq;
    for _ in 0..100 {
        arrivals.push((seq, u64::from(seq) * 20 + rng.gen_range(0..=600)));
        seq += 1;
    }
    run(
        &mut jb,
        arrivals,
        u64::from(start) * 20 + 400,
        u64::from(seq) * 20 + 1000,
    );
    assert_eq!(jb.target_delay_ms(), 200.0);

    // Calm again: the target comes back down gradually.
    let mut arrivals = Vec::new();
    let start = seq;
    for _ in 0..250 {
        arrivals.push((seq, u64::from(seq) * 20 + 2));
        seq += 1;
    }
    run(
        &mut jb,
        arrivals,
        u64::from(start) * 20 + 100,
        u64::from(seq) * 20 + 100,
    );
    assert!(
        jb.target_delay_ms() < 40.0,
        "target after calm: {}",
        jb.target_delay_ms()
    );
}

#[test]
fn delay_shrinks_after_a_burst_by_dropping_old_packets() {
    let mut jb = JitterBuffer::new(JitterBufferConfig::default());
    // Steady, then a 300 ms stall delivering 15 packets at once, then steady.
    let arrivals = (0..60u16)
        .map(|s| {
            let sent = u64::from(s) * 20;
            let at = if (10..25).contains(&s) { 500 } else { sent + 2 };
            (s, at)
        })
        .collect();
    let out = run(&mut jb, arrivals, 0, 1400);
    let s = jb.stats();
    assert!(s.dropped_for_latency >= 1, "{s:?}");
    assert!(s.buffered_ms <= 60.0, "{s:?}");
    assert!(lost(&out).is_empty());
}
