//! `call_stats` and network quality: the engine's statistics as records.

use hotline_engine::media::stats as engine;

/// TUICallEngine's network quality grades, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum NetworkQuality {
    /// Not known yet (no statistics).
    Unknown,
    /// Excellent.
    Excellent,
    /// Good.
    Good,
    /// Poor: noticeable impairment.
    Poor,
    /// Bad: hard to use.
    Bad,
    /// Very bad: barely usable.
    VeryBad,
    /// Down: disconnected.
    Down,
}

impl From<hotline_core::NetworkQuality> for NetworkQuality {
    fn from(q: hotline_core::NetworkQuality) -> Self {
        use hotline_core::NetworkQuality as Q;
        match q {
            Q::Unknown => NetworkQuality::Unknown,
            Q::Excellent => NetworkQuality::Excellent,
            Q::Good => NetworkQuality::Good,
            Q::Poor => NetworkQuality::Poor,
            Q::Bad => NetworkQuality::Bad,
            Q::VeryBad => NetworkQuality::VeryBad,
            Q::Down => NetworkQuality::Down,
        }
    }
}

impl From<hotline_media::NetworkQuality> for NetworkQuality {
    fn from(q: hotline_media::NetworkQuality) -> Self {
        use hotline_media::NetworkQuality as Q;
        match q {
            Q::Unknown => NetworkQuality::Unknown,
            Q::Excellent => NetworkQuality::Excellent,
            Q::Good => NetworkQuality::Good,
            Q::Poor => NetworkQuality::Poor,
            Q::Bad => NetworkQuality::Bad,
            Q::VeryBad => NetworkQuality::VeryBad,
            Q::Down => NetworkQuality::Down,
        }
    }
}

/// One user's link quality in `on_user_network_quality_changed`
/// (TUICallEngine's `NetworkQualityInfo`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NetworkQualityInfo {
    /// Who (this user's own ID for the uplink).
    pub user_id: String,
    /// The grade.
    pub quality: NetworkQuality,
}

impl From<hotline_core::UserNetworkQuality> for NetworkQualityInfo {
    fn from(q: hotline_core::UserNetworkQuality) -> Self {
        NetworkQualityInfo {
            user_id: q.user_id,
            quality: q.quality.into(),
        }
    }
}

/// One remote user's receive statistics.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RemoteUserStats {
    /// Who.
    pub user_id: String,
    /// Video packets received.
    pub video_packets_received: u64,
    /// Video frames put together from those packets, whether decoded or not.
    pub video_frames_received: u64,
    /// Video frames decoded. A user's video is decoded only while a remote
    /// view shows it (`startRemoteView`), so this stands still otherwise.
    pub video_frames_decoded: u64,
    /// Decoded frames per second (since the previous `call_stats`).
    pub video_fps: f64,
    /// Audio and video receive bitrate in kbps (since the previous `call_stats`).
    pub receive_bitrate_kbps: f64,
    /// Audio packets (20 ms each) received.
    pub audio_packets_received: u64,
    /// Packets missing from the sequence, percent of expected (whole call).
    pub loss_percent: f64,
    /// The audio jitter buffer's target delay in ms.
    pub jitter_buffer_delay_ms: f64,
    /// Interarrival jitter of the audio in ms.
    pub jitter_ms: f64,
    /// Keyframe requests sent for this user's video.
    pub keyframe_requests_sent: u64,
    /// Milliseconds from the start of the call's media to this user's first
    /// decoded frame (0: none yet).
    pub first_frame_ms: u64,
    /// Video freezes while shown: a gap between decoded frames over three
    /// times the recent mean gap or the mean plus 150 ms (WebRTC's
    /// `freezeCount`).
    pub freeze_count: u64,
    /// Their total length in ms.
    pub total_freeze_ms: u64,
    /// Width of the last decoded picture (0 before the first).
    pub video_width: u32,
    /// Height of the last decoded picture (0 before the first).
    pub video_height: u32,
    /// The link graded from RTT, loss and jitter.
    pub quality: NetworkQuality,
}

/// Statistics of the current call's media (`call_stats`). Rates are over
/// the time since the previous `call_stats` (ask every second or two; the
/// first covers the time since the call's media started); totals are since
/// the call's media started.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CallStats {
    /// Round-trip time to the server's SFU in ms (0 until measured).
    pub rtt_ms: f64,
    /// Send bitrate, audio and video, in kbps.
    pub send_bitrate_kbps: f64,
    /// Video frames encoded and sent per second.
    pub send_fps: f64,
    /// Video frames sent in total.
    pub video_frames_sent: u64,
    /// Keyframes sent in total.
    pub keyframes_sent: u64,
    /// Keyframe requests (PLI/FIR) received.
    pub keyframe_requests_received: u64,
    /// Audio packets sent in total.
    pub audio_packets_sent: u64,
    /// Receive bitrate over all users, in kbps.
    pub receive_bitrate_kbps: f64,
    /// Estimated one-way delay from capture to playout in ms: half the RTT,
    /// one frame interval of capture, and the jitter buffer.
    pub end_to_end_delay_ms: f64,
    /// The send-side bandwidth estimate towards the SFU in kbps (0 until
    /// the first congestion feedback), capped in a 1v1 call by what the
    /// other phone's downlink takes. Video adapts to it.
    pub estimated_bandwidth_kbps: f64,
    /// Packet loss towards the SFU in percent, from the same feedback.
    pub send_loss_percent: f64,
    /// The video encoder's target bitrate now, in kbps (0 without video).
    pub video_target_kbps: u32,
    /// Width of the picture sent now, after adaptation (0 without video).
    pub send_width: u32,
    /// Height of the picture sent now, after adaptation (0 without video).
    pub send_height: u32,
    /// Frame rate the encoder runs at now, after adaptation.
    pub send_target_fps: u32,
    /// Step of the adaptation ladder: 0 is the preset's size and frame
    /// rate; each step down is a smaller picture or a lower frame rate.
    /// With simulcast: how many of the largest layers are paused.
    pub adaptation_step: u32,
    /// Video layers being sent: 1, or with simulcast (group calls) up to
    /// 3; 0 without video. `send_width`×`send_height` is the largest's.
    pub send_layers: u32,
    /// When the publishing connection came up, ms after the call's media
    /// started (0: not yet).
    pub publisher_connected_ms: u64,
    /// When the subscribing connection came up, ms after the call's media
    /// started (0: not yet).
    pub subscriber_connected_ms: u64,
    /// Per remote user, ordered by user ID.
    pub users: Vec<RemoteUserStats>,
}

impl From<engine::RemoteUserStats> for RemoteUserStats {
    fn from(u: engine::RemoteUserStats) -> Self {
        RemoteUserStats {
            user_id: u.user_id,
            video_packets_received: u.video_packets_received,
            video_frames_received: u.video_frames_received,
            video_frames_decoded: u.video_frames_decoded,
            video_fps: u.video_fps,
            receive_bitrate_kbps: u.receive_bitrate_kbps,
            audio_packets_received: u.audio_packets_received,
            loss_percent: u.loss_percent,
            jitter_buffer_delay_ms: u.jitter_buffer_delay_ms,
            jitter_ms: u.jitter_ms,
            keyframe_requests_sent: u.keyframe_requests_sent,
            first_frame_ms: u.first_frame_ms,
            freeze_count: u.freeze_count,
            total_freeze_ms: u.total_freeze_ms,
            video_width: u.video_width,
            video_height: u.video_height,
            quality: u.quality.into(),
        }
    }
}

impl From<engine::CallStats> for CallStats {
    fn from(s: engine::CallStats) -> Self {
        CallStats {
            rtt_ms: s.rtt_ms,
            send_bitrate_kbps: s.send_bitrate_kbps,
            send_fps: s.send_fps,
            video_frames_sent: s.video_frames_sent,
            keyframes_sent: s.keyframes_sent,
            keyframe_requests_received: s.keyframe_requests_received,
            audio_packets_sent: s.audio_packets_sent,
            receive_bitrate_kbps: s.receive_bitrate_kbps,
            end_to_end_delay_ms: s.end_to_end_delay_ms,
            estimated_bandwidth_kbps: s.estimated_bandwidth_kbps,
            send_loss_percent: s.send_loss_percent,
            video_target_kbps: s.video_target_kbps,
            send_width: s.send_width,
            send_height: s.send_height,
            send_target_fps: s.send_target_fps,
            adaptation_step: s.adaptation_step,
            send_layers: s.send_layers,
            publisher_connected_ms: s.publisher_connected_ms,
            subscriber_connected_ms: s.subscriber_connected_ms,
            users: s.users.into_iter().map(Into::into).collect(),
        }
    }
}
