//! Per-call statistics (`getCallStatistics`-style), computed on demand from
//! the media threads' counters: rates are over the time since the previous
//! query (or, for the first, since the call's media started), totals since
//! the call's media started.

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use hotline_media::{LinkStats, NetworkQuality};

use super::receive::Remotes;
use super::shared::MediaShared;

/// One remote user's receive statistics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RemoteUserStats {
    /// Who.
    pub user_id: String,
    /// Video packets received.
    pub video_packets_received: u64,
    /// Video frames put together from those packets, whether decoded or
    /// not (nothing is decoded while no view shows the user).
    pub video_frames_received: u64,
    /// Video frames decoded. A user's video is decoded only while a remote
    /// view shows it (`start_remote_view`), so this stands still otherwise.
    pub video_frames_decoded: u64,
    /// Frames given up (incomplete after loss, or the decoder fell behind).
    pub video_frames_dropped: u64,
    /// Access units the decoder refused.
    pub decode_errors: u64,
    /// Decoded frames per second (over the last interval).
    pub video_fps: f64,
    /// Video and audio receive bitrate (kbps, last interval).
    pub receive_bitrate_kbps: f64,
    /// Audio packets (20 ms each) received.
    pub audio_packets_received: u64,
    /// Packets missing from the sequence (percent of expected, whole call).
    pub loss_percent: f64,
    /// Audio jitter-buffer target delay (ms).
    pub jitter_buffer_delay_ms: f64,
    /// Interarrival jitter of the audio (ms).
    pub jitter_ms: f64,
    /// Keyframe requests sent for this user's video.
    pub keyframe_requests_sent: u64,
    /// Milliseconds from the start of the call's media to this user's first decoded frame (0 = none yet).
    pub first_frame_ms: u64,
    /// Video freezes while shown: a gap between decoded frames over three
    /// times the recent mean gap or the mean plus 150 ms (WebRTC's
    /// `freezeCount`).
    pub freeze_count: u64,
    /// Their total length (ms).
    pub total_freeze_ms: u64,
    /// Size of the last decoded picture (0×0 before the first).
    pub video_width: u32,
    /// See `video_width`.
    pub video_height: u32,
    /// The link graded from RTT, loss and jitter.
    pub quality: NetworkQuality,
}

/// Statistics of the current call's media.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallStats {
    /// Round-trip time to the SFU (ms; 0 until measured).
    pub rtt_ms: f64,
    /// Send bitrate, audio and video (kbps, last interval).
    pub send_bitrate_kbps: f64,
    /// Frames encoded and sent per second (last interval).
    pub send_fps: f64,
    /// Video frames sent in total.
    pub video_frames_sent: u64,
    /// Keyframes sent in total.
    pub keyframes_sent: u64,
    /// Keyframe requests (PLI/FIR) received.
    pub keyframe_requests_received: u64,
    /// Audio packets sent in total.
    pub audio_packets_sent: u64,
    /// Receive bitrate over all users (kbps, last interval).
    pub receive_bitrate_kbps: f64,
    /// Estimated one-way delay from capture to playout (ms): half the RTT,
    /// plus one frame interval of capture, plus the jitter buffer.
    pub end_to_end_delay_ms: f64,
    /// Send-side bandwidth estimate towards the SFU (kbps; 0 until the
    /// first congestion feedback), capped in a 1v1 call by what the other
    /// phone's downlink takes (the SFU's REMB).
    pub estimated_bandwidth_kbps: f64,
    /// Packet loss towards the SFU, from the same feedback (percent).
    pub send_loss_percent: f64,
    /// The video encoder's target bitrate now (kbps; 0 without video).
    pub video_target_kbps: u32,
    /// The picture size sent now, after adaptation (0×0 without video).
    pub send_width: u32,
    /// See `send_width`.
    pub send_height: u32,
    /// The frame rate the encoder runs at now, after adaptation.
    pub send_target_fps: u32,
    /// Step of the adaptation ladder: 0 = the preset's size and frame rate,
    /// each step down a smaller picture or a lower rate. With simulcast:
    /// how many of the largest layers are paused.
    pub adaptation_step: u32,
    /// Video layers being sent: 1, or with simulcast (group calls) up to
    /// 3; 0 without video. `send_width`×`send_height` is the largest's.
    pub send_layers: u32,
    /// Publisher connected, ms after the call's media started (0 = not yet).
    pub publisher_connected_ms: u64,
    /// Subscriber connected, ms after the call's media started (0 = not yet).
    pub subscriber_connected_ms: u64,
    /// Per remote user.
    pub users: Vec<RemoteUserStats>,
}

/// Counter values at the previous query, for rates.
#[derive(Default)]
pub(crate) struct RateMemory {
    at: Option<Instant>,
    sent_bytes: u64,
    sent_frames: u64,
    per_user: HashMap<String, (u64, u64)>, // bytes, frames decoded
}

impl RateMemory {
    /// Memory of zeroed counters now: the first query's rates are averages
    /// since this moment (the start of the call's media) rather than 0.
    pub(crate) fn starting_now() -> RateMemory {
        RateMemory {
            at: Some(Instant::now()),
            ..RateMemory::default()
        }
    }
}

pub(crate) fn compute(
    shared: &MediaShared,
    remotes: &Remotes,
    memory: &mut RateMemory,
    rtt_ms: f64,
    fps_setting: u32,
) -> CallStats {
    let now = Instant::now();
    let dt = memory
        .at
        .map_or(0.0, |t| now.duration_since(t).as_secs_f64());
    let rate = |delta: u64| if dt > 0.0 { delta as f64 / dt } else { 0.0 };
    let c = &shared.counters;
    let sent_bytes = c.video_bytes_sent.load(Relaxed) + c.audio_bytes_sent.load(Relaxed);
    let sent_frames = c.video_frames_sent.load(Relaxed);
    let mut stats = CallStats {
        rtt_ms,
        send_bitrate_kbps: rate(sent_bytes - memory.sent_bytes.min(sent_bytes)) * 8.0 / 1000.0,
        send_fps: rate(sent_frames - memory.sent_frames.min(sent_frames)),
        video_frames_sent: sent_frames,
        keyframes_sent: c.keyframes_sent.load(Relaxed),
        keyframe_requests_received: c.keyframe_requests_received.load(Relaxed),
        audio_packets_sent: c.audio_packets_sent.load(Relaxed),
        estimated_bandwidth_kbps: shared.estimate.bits_per_second().unwrap_or(0.0) / 1000.0,
        send_loss_percent: shared.estimate.loss_percent(),
        ..Default::default()
    };
    let video = *shared.video_send.lock().expect("video send state");
    stats.video_target_kbps = video.bitrate_kbps;
    stats.send_width = video.width;
    stats.send_height = video.height;
    stats.send_target_fps = video.fps;
    stats.adaptation_step = video.rung as u32;
    stats.send_layers = video.layers;
    memory.sent_bytes = sent_bytes;
    memory.sent_frames = sent_frames;

    // Target delay and interarrival jitter of each user's audio.
    let jitter: HashMap<String, (f64, f64)> = remotes
        .audio
        .lock()
        .expect("remote audio")
        .iter()
        .map(|(u, a)| {
            let s = a.jitter.stats();
            (u.clone(), (s.target_delay_ms, s.jitter_ms))
        })
        .collect();
    let now_ms = remotes.now_ms();
    let counters: Vec<(String, _)> = remotes
        .counters
        .lock()
        .expect("remote counters")
        .iter()
        .map(|(u, c)| (u.clone(), c.clone()))
        .collect();
    let mut max_buffer: f64 = 0.0;
    for (user, rc) in counters {
        let bytes = rc.video_bytes.load(Relaxed) + rc.audio_bytes.load(Relaxed);
        let decoded = rc.video_frames_decoded.load(Relaxed);
        let (pb, pf) = memory.per_user.get(&user).copied().unwrap_or((0, 0));
        memory.per_user.insert(user.clone(), (bytes, decoded));
        let received = rc.video_packets.load(Relaxed) + rc.audio_packets.load(Relaxed);
        let expected = rc.video_expected.load(Relaxed) + rc.audio_expected.load(Relaxed);
        let loss_percent = if expected > 0 {
            100.0 * expected.saturating_sub(received) as f64 / expected as f64
        } else {
            0.0
        };
        let (delay, jitter_ms) = jitter.get(&user).copied().unwrap_or_default();
        max_buffer = max_buffer.max(delay);
        let last = rc.last_packet_ms.load(Relaxed);
        let quality = if received == 0 {
            NetworkQuality::Unknown
        } else {
            NetworkQuality::from_stats(&LinkStats {
                rtt_ms,
                loss_percent,
                jitter_ms,
                ms_since_last_packet: now_ms.saturating_sub(last),
            })
        };
        let user_stats = RemoteUserStats {
            user_id: user,
            video_packets_received: rc.video_packets.load(Relaxed),
            video_frames_received: rc.video_frames_received.load(Relaxed),
            video_frames_decoded: decoded,
            video_frames_dropped: rc.video_frames_dropped.load(Relaxed),
            decode_errors: rc.decode_errors.load(Relaxed),
            video_fps: rate(decoded - pf.min(decoded)),
            receive_bitrate_kbps: rate(bytes - pb.min(bytes)) * 8.0 / 1000.0,
            audio_packets_received: rc.audio_packets.load(Relaxed),
            loss_percent,
            jitter_buffer_delay_ms: delay,
            jitter_ms,
            keyframe_requests_sent: rc.keyframe_requests_sent.load(Relaxed),
            first_frame_ms: rc.first_frame_ms.load(Relaxed),
            freeze_count: rc.freezes.load(Relaxed),
            total_freeze_ms: rc.frozen_ms.load(Relaxed),
            video_width: (rc.decoded_size.load(Relaxed) >> 32) as u32,
            video_height: rc.decoded_size.load(Relaxed) as u32,
            quality,
        };
        stats.receive_bitrate_kbps += user_stats.receive_bitrate_kbps;
        stats.users.push(user_stats);
    }
    stats.users.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    stats.end_to_end_delay_ms = rtt_ms / 2.0 + 1000.0 / f64::from(fps_setting.max(1)) + max_buffer;
    memory.at = Some(now);
    stats
}
