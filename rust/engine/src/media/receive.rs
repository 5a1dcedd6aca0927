//! The subscribing side. Each remote track gets a tokio task that reads its
//! RTP. Video: the depacketizer reorders and reassembles access units
//! (asking for a keyframe on loss or decoder error), and a per-user decode
//! thread turns them into frames for the user's view. Audio: packets go into
//! the user's jitter buffer, which the audio thread plays out.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{sync_channel, Receiver, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use hotline_media::rtp::h264::{AccessUnit, DepacketizerEvent, H264Depacketizer};
use hotline_media::{FreezeDetector, H264Decoder, JitterBuffer, JitterBufferConfig, Rotation};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use super::shared::MediaShared;

/// Access units waiting for the decoder; beyond this the decoder is behind
/// and the backlog is dropped in favour of a fresh keyframe.
const DECODE_QUEUE: usize = 30;
/// How long a gap in the video may wait for reordering or NACK
/// retransmissions before its frame is given up. A packet lost on both legs
/// (phone → SFU → phone) may need several NACK rounds on each; the SFU
/// (str0m) asks a publisher up to five times about 100 ms apart, so waiting
/// less gives up on packets still being repaired, and a given-up frame costs
/// far more (every frame until a keyframe arrives) than a late one.
const LOSS_WAIT_MS: u64 = 500;
/// At most one keyframe request per this interval.
const PLI_INTERVAL: Duration = Duration::from_millis(300);

/// Per-remote-user receive counters (see `stats`).
#[derive(Default)]
pub(crate) struct RemoteCounters {
    pub(crate) video_packets: AtomicU64,
    pub(crate) video_bytes: AtomicU64,
    /// Access units put together from packets (decoded or not).
    pub(crate) video_frames_received: AtomicU64,
    pub(crate) video_frames_decoded: AtomicU64,
    pub(crate) video_frames_dropped: AtomicU64,
    pub(crate) decode_errors: AtomicU64,
    pub(crate) keyframe_requests_sent: AtomicU64,
    pub(crate) audio_packets: AtomicU64,
    pub(crate) audio_bytes: AtomicU64,
    /// Highest RTP sequence seen minus first, per kind (for loss).
    pub(crate) video_expected: AtomicU64,
    pub(crate) audio_expected: AtomicU64,
    /// Milliseconds since the session's start of the last packet.
    pub(crate) last_packet_ms: AtomicU64,
    /// When the first frame was decoded (ms since the session began; 0 = not yet).
    pub(crate) first_frame_ms: AtomicU64,
    /// Freezes of the decoded video (see [`FreezeDetector`]) and their total length.
    pub(crate) freezes: AtomicU64,
    pub(crate) frozen_ms: AtomicU64,
    /// Size of the last decoded picture, width << 32 | height.
    pub(crate) decoded_size: AtomicU64,
}

/// One remote user's audio, fed by the receive task and drained by the audio thread.
pub(crate) struct RemoteAudio {
    pub(crate) jitter: JitterBuffer,
}

/// What the receive side shares with the audio thread and the stats.
pub(crate) struct Remotes {
    pub(crate) epoch: Instant,
    pub(crate) audio: Mutex<HashMap<String, RemoteAudio>>,
    pub(crate) counters: Mutex<HashMap<String, Arc<RemoteCounters>>>,
}

impl Remotes {
    pub(crate) fn new(epoch: Instant) -> Remotes {
        Remotes {
            epoch,
            audio: Mutex::default(),
            counters: Mutex::default(),
        }
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    pub(crate) fn counters(&self, user: &str) -> Arc<RemoteCounters> {
        self.counters
            .lock()
            .expect("remote counters")
            .entry(user.to_string())
            .or_default()
            .clone()
    }
}

/// Counts expected packets from sequence numbers (RFC 3550 style, unwrapped).
#[derive(Default)]
struct SeqRange {
    unwrap: hotline_media::rtp::seq::SeqUnwrapper,
    first: Option<u64>,
    highest: u64,
}

impl SeqRange {
    fn expected(&mut self, seq: u16) -> u64 {
        let s = self.unwrap.unwrap(seq);
        let first = *self.first.get_or_insert(s);
        self.highest = self.highest.max(s);
        self.highest - first + 1
    }
}

/// The rotation a video-orientation (CVO) extension carries, in libwebrtc's
/// reading: the clockwise turn that shows the picture upright.
fn rotation_from_cvo(byte: u8) -> Rotation {
    match byte & 3 {
        0 => Rotation::R0,
        1 => Rotation::R90,
        2 => Rotation::R180,
        _ => Rotation::R270,
    }
}

/// Read one remote video track until it ends. `orientation_id` is the
/// negotiated ID of the video-orientation extension, if any.
pub(crate) async fn receive_video(
    track: Arc<dyn TrackRemote>,
    user: String,
    shared: Arc<MediaShared>,
    remotes: Arc<Remotes>,
    orientation_id: Option<u8>,
) {
    let counters = remotes.counters(&user);
    let media_ssrc = track.ssrcs().await.first().copied().unwrap_or(0);
    // Senders put the rotation on a frame's last packet (libwebrtc: on
    // keyframes and changes while it is 0), so it holds until it changes.
    let mut rotation = Rotation::R0;
    let (au_tx, au_rx) = sync_channel::<(AccessUnit, Rotation)>(DECODE_QUEUE);
    let keyframe_wanted = Arc::new(AtomicBool::new(false));
    spawn_decoder(
        user.clone(),
        au_rx,
        shared,
        counters.clone(),
        keyframe_wanted.clone(),
        remotes.epoch,
    );

    let mut depack = H264Depacketizer::new().with_loss_wait_ms(LOSS_WAIT_MS);
    let mut seqs = SeqRange::default();
    let mut last_pli: Option<Instant> = None;
    // Keyframes are asked for only while packets come: a track whose sender
    // sends nothing (no camera) has nothing to repair, and its first frame
    // will be a keyframe anyway.
    let mut packets_since_pli = false;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let events = tokio::select! {
            ev = track.poll() => match ev {
                Some(TrackRemoteEvent::OnRtpPacket(p)) => {
                    if p.header.payload_type != super::peer::H264_PT {
                        // Only H.264 is negotiated; anything else is not ours to depacketize.
                        log::debug!("{user}: ignoring a video packet with payload type {}", p.header.payload_type);
                        continue;
                    }
                    counters.video_packets.fetch_add(1, Relaxed);
                    packets_since_pli = true;
                    counters.video_bytes.fetch_add(p.payload.len() as u64, Relaxed);
                    counters.video_expected.store(seqs.expected(p.header.sequence_number), Relaxed);
                    let now = remotes.now_ms();
                    counters.last_packet_ms.store(now, Relaxed);
                    if let Some(cvo) = orientation_id.and_then(|id| p.header.get_extension(id)) {
                        rotation = cvo.first().map_or(rotation, |b| rotation_from_cvo(*b));
                    }
                    depack.push(p.header.sequence_number, p.header.timestamp, p.header.marker, &p.payload, now)
                }
                Some(TrackRemoteEvent::OnEnded) | None => break,
                Some(_) => continue,
            },
            _ = tick.tick() => depack.handle_timeout(remotes.now_ms()),
        };
        for e in events {
            match e {
                DepacketizerEvent::AccessUnit(au) => {
                    counters.video_frames_received.fetch_add(1, Relaxed);
                    match au_tx.try_send((au, rotation)) {
                        Ok(()) => {}
                        Err(TrySendError::Full(_)) => {
                            counters.video_frames_dropped.fetch_add(1, Relaxed);
                            keyframe_wanted.store(true, Relaxed);
                        }
                        Err(TrySendError::Disconnected(_)) => return,
                    }
                }
                DepacketizerEvent::Dropped { .. } => {
                    counters.video_frames_dropped.fetch_add(1, Relaxed);
                }
            }
        }
        let wants = depack.waiting_for_keyframe() || keyframe_wanted.swap(false, Relaxed);
        if wants && packets_since_pli && last_pli.is_none_or(|t| t.elapsed() >= PLI_INTERVAL) {
            last_pli = Some(Instant::now());
            packets_since_pli = false;
            counters.keyframe_requests_sent.fetch_add(1, Relaxed);
            let pli = PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc,
            };
            if let Err(e) = track.write_rtcp(vec![Box::new(pli)]).await {
                log::debug!("PLI for {user} not sent: {e}");
            }
        }
    }
    log::debug!("video track of {user} ended");
}

fn spawn_decoder(
    user: String,
    aus: Receiver<(AccessUnit, Rotation)>,
    shared: Arc<MediaShared>,
    counters: Arc<RemoteCounters>,
    keyframe_wanted: Arc<AtomicBool>,
    epoch: Instant,
) {
    thread::Builder::new()
        .name(format!("hotline-decode-{user}"))
        .spawn(move || {
            let mut decoder = match H264Decoder::new() {
                Ok(d) => d,
                Err(e) => {
                    log::error!("no H.264 decoder: {e}");
                    return;
                }
            };
            // Decoding costs about a tenth of a core at 720p30, so it runs
            // only while someone watches (as TRTC decodes only between
            // startRemoteView and stopRemoteView). The pictures skipped were
            // references, so watching again starts at a keyframe.
            let mut needs_keyframe = false;
            let mut freezes = FreezeDetector::new();
            for (au, rotation) in aus {
                let watched = shared
                    .remote_views
                    .lock()
                    .expect("remote views")
                    .contains_key(&user);
                if !watched {
                    needs_keyframe = true;
                    freezes.pause();
                    continue;
                }
                if needs_keyframe && !au.keyframe {
                    keyframe_wanted.store(true, Relaxed);
                    continue;
                }
                needs_keyframe = false;
                // The RTP timestamp (90 kHz) in µs, as the frame's timestamp.
                let ts_us = u64::from(au.timestamp) * 1_000 / 90;
                match decoder.decode_nals(&au.nals, ts_us, rotation) {
                    Ok(Some(frame)) => {
                        let now_ms = epoch.elapsed().as_millis() as u64;
                        if counters.video_frames_decoded.fetch_add(1, Relaxed) == 0 {
                            counters.first_frame_ms.store(now_ms.max(1), Relaxed);
                        }
                        if let Some(ms) = freezes.frame(now_ms) {
                            counters.freezes.fetch_add(1, Relaxed);
                            counters.frozen_ms.fetch_add(ms, Relaxed);
                        }
                        counters.decoded_size.store(
                            u64::from(frame.width()) << 32 | u64::from(frame.height()),
                            Relaxed,
                        );
                        if let Some(view) =
                            shared.remote_views.lock().expect("remote views").get(&user)
                        {
                            view.mailbox.post(frame);
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        log::debug!("decoding {user}'s video failed: {e}; asking for a keyframe");
                        counters.decode_errors.fetch_add(1, Relaxed);
                        keyframe_wanted.store(true, Relaxed);
                    }
                }
            }
        })
        .expect("spawn a decoder thread");
}

/// Read one remote audio track into the user's jitter buffer until it ends.
pub(crate) async fn receive_audio(
    track: Arc<dyn TrackRemote>,
    user: String,
    remotes: Arc<Remotes>,
) {
    let counters = remotes.counters(&user);
    remotes.audio.lock().expect("remote audio").insert(
        user.clone(),
        RemoteAudio {
            jitter: JitterBuffer::new(JitterBufferConfig::default()),
        },
    );
    let mut seqs = SeqRange::default();
    while let Some(ev) = track.poll().await {
        match ev {
            TrackRemoteEvent::OnRtpPacket(p) => {
                counters.audio_packets.fetch_add(1, Relaxed);
                counters
                    .audio_bytes
                    .fetch_add(p.payload.len() as u64, Relaxed);
                counters
                    .audio_expected
                    .store(seqs.expected(p.header.sequence_number), Relaxed);
                let now = remotes.now_ms();
                counters.last_packet_ms.store(now, Relaxed);
                if let Some(a) = remotes.audio.lock().expect("remote audio").get_mut(&user) {
                    a.jitter.insert(
                        p.header.sequence_number,
                        p.header.timestamp,
                        p.payload.to_vec(),
                        now,
                    );
                }
            }
            TrackRemoteEvent::OnEnded => break,
            _ => {}
        }
    }
    remotes.audio.lock().expect("remote audio").remove(&user);
    log::debug!("audio track of {user} ended");
}
