//! Encoded video through RTP payloading and back, with reordering and loss.

use hotline_media::h264::EncodedVideo;
use hotline_media::rtp::h264::{DepacketizerEvent, DropReason, H264Depacketizer, H264Packetizer};
use hotline_media::rtp::{rtp_timestamp, RtpHeader, RtpPacket, VIDEO_CLOCK_RATE};
use hotline_media::synthetic::{psnr, read_frame_number, VideoPattern};
use hotline_media::{H264Decoder, H264Encoder, Rotation, VideoEncoderParams};
use rand::seq::SliceRandom;
use rand::{rngs::StdRng, SeedableRng};

const FRAME_US: u64 = 66_667;

/// Encodes `count` numbered 360p frames; `keyframes_at` forces IDRs.
fn encode(count: u32, keyframes_at: &[u32]) -> (Vec<EncodedVideo>, VideoPattern) {
    let params = VideoEncoderParams {
        allow_frame_skip: false,
        ..Default::default()
    };
    let mut enc = H264Encoder::new(params).unwrap();
    let pattern = VideoPattern::new(640, 360);
    let frames = (0..count)
        .map(|i| {
            if keyframes_at.contains(&i) {
                enc.request_keyframe();
            }
            enc.encode(&pattern.frame(i, u64::from(i) * FRAME_US))
                .unwrap()
                .unwrap()
        })
        .collect();
    (frames, pattern)
}

/// RTP packets (serialized and parsed again) per access unit.
fn packetize(frames: &[EncodedVideo]) -> Vec<Vec<RtpPacket>> {
    let pk = H264Packetizer::default();
    let mut seq = 65_500u16; // wraps during the test
    frames
        .iter()
        .map(|f| {
            let payloads = pk.packetize(&f.nals);
            let n = payloads.len();
            payloads
                .into_iter()
                .enumerate()
                .map(|(i, payload)| {
                    let p = RtpPacket {
                        header: RtpHeader {
                            marker: i + 1 == n,
                            payload_type: 102,
                            sequence: seq,
                            timestamp: rtp_timestamp(f.timestamp_us, VIDEO_CLOCK_RATE),
                            ssrc: 0x1234,
                            ..Default::default()
                        },
                        payload,
                    };
                    seq = seq.wrapping_add(1);
                    assert!(p.serialize().len() <= 1200 + 12);
                    RtpPacket::parse(&p.serialize()).unwrap()
                })
                .collect()
        })
        .collect()
}

struct Receiver {
    depacketizer: H264Depacketizer,
    decoder: H264Decoder,
    decoded: Vec<u32>,
    dropped: Vec<(Option<u32>, DropReason)>,
    decode_errors: usize,
}

impl Receiver {
    fn new(depacketizer: H264Depacketizer) -> Self {
        Receiver {
            depacketizer,
            decoder: H264Decoder::new().unwrap(),
            decoded: vec![],
            dropped: vec![],
            decode_errors: 0,
        }
    }

    fn handle(&mut self, events: Vec<DepacketizerEvent>, pattern: &VideoPattern) {
        for e in events {
            match e {
                DepacketizerEvent::AccessUnit(au) => {
                    match self
                        .decoder
                        .decode_annex_b(&au.to_annex_b(), 0, Rotation::R0)
                    {
                        Ok(Some(frame)) => {
                            let n = read_frame_number(&frame)
                                .expect("decoded frame carries its number");
                            let db = psnr(&pattern.frame(n, 0), &frame);
                            assert!(db > 30.0, "frame {n}: {db:.1} dB");
                            self.decoded.push(n);
                        }
                        Ok(None) => {}
                        Err(_) => self.decode_errors += 1,
                    }
                }
                DepacketizerEvent::Dropped { timestamp, reason } => {
                    self.dropped.push((timestamp, reason))
                }
            }
        }
    }

    fn push(&mut self, p: &RtpPacket, now_ms: u64, pattern: &VideoPattern) {
        let ev = self.depacketizer.push(
            p.header.sequence,
            p.header.timestamp,
            p.header.marker,
            &p.payload,
            now_ms,
        );
        self.handle(ev, pattern);
    }
}

#[test]
fn shuffled_packets_within_the_reorder_window_decode_every_frame() {
    let (frames, pattern) = encode(8, &[]);
    let aus = packetize(&frames);
    assert!(
        aus[0].len() >= 3,
        "the 360p keyframe needs STAP-A plus FU-A fragments: {}",
        aus[0].len()
    );
    let mut all: Vec<RtpPacket> = aus.into_iter().flatten().collect();
    // Shuffle in windows of 6 packets (reordering, not loss).
    let mut rng = StdRng::seed_from_u64(7);
    for chunk in all.chunks_mut(6) {
        chunk.shuffle(&mut rng);
    }
    let mut rx = Receiver::new(H264Depacketizer::new());
    for p in &all {
        rx.push(p, 0, &pattern);
    }
    assert_eq!(rx.decoded, (0..8).collect::<Vec<_>>());
    assert!(rx.dropped.is_empty());
    assert_eq!(rx.depacketizer.buffered_packets(), 0);
}

#[test]
fn lost_fu_a_fragment_drops_that_access_unit_until_the_next_keyframe() {
    // Frame 0 is an IDR; frame 3 is a big IDR (on request) whose middle
    // fragment we lose, so frames 3..=5 cannot be shown; frame 6 is an IDR
    // again (the PLI answer) and decoding resumes.
    let (frames, pattern) = encode(9, &[3, 6]);
    let aus = packetize(&frames);
    let lost_au = 3;
    assert!(aus[lost_au].len() >= 3);
    let lost = aus[lost_au][1].header.sequence;
    let lost_ts = aus[lost_au][1].header.timestamp;
    let mut rx = Receiver::new(H264Depacketizer::new().with_loss_wait_ms(40));
    let mut pending_timeouts = 0;
    for (i, au) in aus.iter().enumerate() {
        let now = i as u64 * 67;
        if let Some(t) = rx.depacketizer.poll_timeout() {
            if t <= now {
                pending_timeouts += 1;
                let ev = rx.depacketizer.handle_timeout(now);
                rx.handle(ev, &pattern);
            }
        }
        for p in au {
            if p.header.sequence != lost {
                rx.push(p, now, &pattern);
            }
        }
    }
    assert!(pending_timeouts >= 1, "the loss was decided by a timeout");
    assert_eq!(
        rx.dropped[0],
        (Some(lost_ts), DropReason::PacketLoss),
        "{:?}",
        rx.dropped
    );
    assert!(
        rx.dropped[1..]
            .iter()
            .all(|d| d.1 == DropReason::WaitingForKeyframe),
        "{:?}",
        rx.dropped
    );
    assert_eq!(rx.dropped.len(), 3);
    assert_eq!(rx.decoded, vec![0, 1, 2, 6, 7, 8]);
    assert_eq!(rx.decode_errors, 0);
}

#[test]
fn whole_access_unit_lost_before_a_keyframe_is_reported_without_a_timestamp() {
    // Frame 1 (a delta) vanishes entirely; frame 2 is the keyframe that
    // answers the PLI. Its SPS-led first packet proves where it starts, so it
    // is decoded at once.
    let (frames, pattern) = encode(4, &[2]);
    let aus = packetize(&frames);
    let mut rx = Receiver::new(H264Depacketizer::new().with_loss_wait_ms(0));
    for (i, au) in aus.iter().enumerate() {
        if i == 1 {
            continue;
        }
        for p in au {
            rx.push(p, 0, &pattern);
        }
    }
    assert_eq!(rx.dropped, vec![(None, DropReason::PacketLoss)]);
    assert_eq!(rx.decoded, vec![0, 2, 3]);
    assert!(!rx.depacketizer.waiting_for_keyframe());
}

#[test]
fn joining_mid_stream_waits_for_a_keyframe() {
    let (frames, pattern) = encode(5, &[3]);
    let aus = packetize(&frames);
    let mut rx = Receiver::new(H264Depacketizer::new());
    for p in aus[1..].iter().flatten() {
        rx.push(p, 0, &pattern);
        if p.header.timestamp < aus[3][0].header.timestamp {
            assert!(rx.depacketizer.waiting_for_keyframe());
        }
    }
    assert_eq!(rx.decoded, vec![3, 4]);
    assert!(rx.dropped.is_empty());
}

#[test]
fn a_keyframe_awaited_after_a_loss_is_not_held_up_by_earlier_gaps() {
    // Frame 2 is lost, so frames wait for a keyframe. Frame 5 is lost too,
    // but frame 6 (the keyframe answering the PLI) is shown as soon as it is
    // complete: nothing before it could be shown, so that gap is not waited on.
    let (frames, pattern) = encode(8, &[6]);
    let aus = packetize(&frames);
    let mut rx = Receiver::new(H264Depacketizer::new().with_loss_wait_ms(1_000));
    for p in [0, 1, 3, 4].iter().flat_map(|&i| &aus[i]) {
        rx.push(p, 0, &pattern);
    }
    let ev = rx.depacketizer.handle_timeout(1_000);
    rx.handle(ev, &pattern);
    assert!(rx.depacketizer.waiting_for_keyframe());
    for p in aus[6..].iter().flatten() {
        rx.push(p, 1_001, &pattern);
    }
    assert_eq!(rx.decoded, vec![0, 1, 6, 7]);
    assert_eq!(
        rx.dropped.last(),
        Some(&(None, DropReason::WaitingForKeyframe)),
        "frame 5, never seen: {:?}",
        rx.dropped
    );
    assert!(!rx.depacketizer.waiting_for_keyframe());
}
