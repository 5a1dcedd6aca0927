//! One call's media, as ADR 0004 describes: a *publisher* connection (the
//! engine offers sendonly audio, and video for video calls) and a
//! *subscriber* connection (the SFU offers everyone else's tracks and the
//! engine answers each revision). One tokio task owns both connections and
//! handles, in order: the SFU's offers, media-state changes, ICE restarts,
//! and the connections' events (new remote tracks, keyframe requests).
//!
//! An ICE restart (the network changed, or a connection lost its path)
//! keeps both connections, their DTLS and the codecs: the publisher offers
//! new ICE credentials (`media_publish` with `ice_restart`), the SFU restarts
//! the subscriber with its next offer, and the engine, the controlling ICE
//! agent on both, nominates the new path.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hotline_core::{Command, CommandOk, CoreError, Event};
use hotline_proto::{ErrorCode, MediaTrack, MediaType, VideoStreamType};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RTCRtpRtxParameters,
    RtpCodecKind,
};
use tokio::sync::{mpsc, oneshot};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCIceGatheringState, RTCPeerConnectionState,
};

use super::adapt::{AUDIO_RESERVE_KBPS, MEDIA_SHARE};
use super::audio::AudioThread;
use super::estimate::PublishedGcc;
use super::keyframe::is_keyframe_request;
use super::peer::{
    h264_codec, local_ip_towards, new_peer, opus_codec, video_orientation_id, RelaySource, Relays,
};
use super::receive::{receive_audio, receive_video, Remotes};
use super::send::{spawn_video_sender, RtpOut, VideoLayerOut};
use super::shared::MediaShared;
use super::simulcast::{layer_scales, total_kbps};
use crate::actor::ActorMsg;

/// Milestones of a session, in ms since it started (0 = not yet).
#[derive(Default)]
pub(crate) struct Milestones {
    pub(crate) publisher_connected_ms: AtomicU64,
    pub(crate) subscriber_connected_ms: AtomicU64,
}

/// What starting a session needs.
pub(crate) struct SessionContext {
    pub(crate) call_id: String,
    pub(crate) media_type: MediaType,
    /// Send video as simulcast layers (group calls).
    pub(crate) simulcast: bool,
    pub(crate) me: String,
    pub(crate) server_host: String,
    pub(crate) shared: Arc<MediaShared>,
    pub(crate) actor: mpsc::UnboundedSender<ActorMsg>,
    pub(crate) events: std::sync::mpsc::Sender<Event>,
    pub(crate) relays: RelaySource,
}

enum SessionMsg {
    Offer {
        revision: u64,
        sdp: String,
        tracks: Vec<MediaTrack>,
    },
    MediaStateChanged,
    /// The app chose a user's big or small stream.
    StreamType {
        user_id: String,
        stream_type: VideoStreamType,
    },
    RestartIce,
}

/// How long an ICE restart waits for the publisher's new candidates.
const RESTART_GATHER_TIMEOUT: Duration = Duration::from_secs(5);
/// Tries of an ICE restart's `media_publish` whose connection was lost
/// under it (the network change that caused it also drops signaling).
const RESTART_TRIES: u32 = 3;
/// A connection that loses its path restarts ICE at most this often, and
/// again this often while it stays without one.
const MIN_RESTART_INTERVAL: Duration = Duration::from_secs(2);

/// Handle to a running session; dropping it (or [`stop`](Self::stop)) ends it.
pub(crate) struct MediaSession {
    pub(crate) call_id: String,
    tx: mpsc::UnboundedSender<SessionMsg>,
    stop: Arc<AtomicBool>,
    pub(crate) remotes: Arc<Remotes>,
    pub(crate) milestones: Arc<Milestones>,
    pub(crate) peers: Arc<std::sync::Mutex<Vec<Arc<dyn PeerConnection>>>>,
}

impl MediaSession {
    pub(crate) fn start(runtime: &tokio::runtime::Handle, ctx: SessionContext) -> MediaSession {
        let (tx, rx) = mpsc::unbounded_channel();
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let remotes = Arc::new(Remotes::new(started));
        let milestones = Arc::new(Milestones::default());
        let peers = Arc::new(std::sync::Mutex::new(Vec::new()));
        let session = MediaSession {
            call_id: ctx.call_id.clone(),
            tx,
            stop: stop.clone(),
            remotes: remotes.clone(),
            milestones: milestones.clone(),
            peers: peers.clone(),
        };
        let task = Task {
            relays: Relays::new(ctx.relays.clone()),
            ctx,
            stop,
            remotes,
            milestones,
            peers,
            runtime: runtime.clone(),
            subscriber: None,
            answered_once: false,
            orientation_id: None,
            local_ip: std::net::IpAddr::from([0, 0, 0, 0]),
            last_restart: None,
            publisher_lost: false,
            subscriber_lost: false,
            retry_at: None,
        };
        runtime.spawn(task.run(rx));
        session
    }

    /// The SFU's subscriber offer.
    pub(crate) fn offer(&self, revision: u64, sdp: String, tracks: Vec<MediaTrack>) {
        let _ = self.tx.send(SessionMsg::Offer {
            revision,
            sdp,
            tracks,
        });
    }

    /// The network changed: restart ICE on both connections.
    pub(crate) fn restart_ice(&self) {
        let _ = self.tx.send(SessionMsg::RestartIce);
    }

    /// The camera or microphone was switched: tell the others.
    pub(crate) fn media_state_changed(&self) {
        let _ = self.tx.send(SessionMsg::MediaStateChanged);
    }

    /// The app chose `user_id`'s big or small stream: tell the SFU.
    pub(crate) fn stream_type_changed(&self, user_id: &str, stream_type: VideoStreamType) {
        let _ = self.tx.send(SessionMsg::StreamType {
            user_id: user_id.to_string(),
            stream_type,
        });
    }

    /// End the session: threads stop at their next tick, connections close.
    pub(crate) fn stop(self) {}
}

impl Drop for MediaSession {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        let peers = std::mem::take(&mut *self.peers.lock().expect("peers"));
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                for pc in peers {
                    let _ = pc.close().await;
                }
            });
        } else {
            // Outside the runtime (engine shutdown): the runtime's end closes them.
            drop(peers);
        }
    }
}

/// Peer-connection events, forwarded into the session task.
enum PcEvent {
    Gathered,
    State(RTCPeerConnectionState),
    Track(Arc<dyn TrackRemote>),
}

struct Forward(mpsc::UnboundedSender<PcEvent>);

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Forward {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.0.send(PcEvent::Gathered);
        }
    }
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.0.send(PcEvent::State(state));
    }
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.0.send(PcEvent::Track(track));
    }
}

fn failed(e: impl std::fmt::Display) -> CoreError {
    CoreError::new(ErrorCode::Failed, format!("media: {e}"))
}

struct Subscriber {
    pc: Arc<dyn PeerConnection>,
    events: mpsc::UnboundedReceiver<PcEvent>,
}

struct Task {
    ctx: SessionContext,
    stop: Arc<AtomicBool>,
    remotes: Arc<Remotes>,
    milestones: Arc<Milestones>,
    peers: Arc<std::sync::Mutex<Vec<Arc<dyn PeerConnection>>>>,
    runtime: tokio::runtime::Handle,
    subscriber: Option<Subscriber>,
    answered_once: bool,
    /// The video-orientation extension's ID in the SFU's latest offer.
    orientation_id: Option<u8>,
    /// The address both connections bind: the one that routes to the server.
    local_ip: std::net::IpAddr,
    /// TURN relays, and the bridges to those reached over TCP or TLS.
    relays: Relays,
    /// When ICE was last restarted.
    last_restart: Option<Instant>,
    /// Connections whose path is lost (disconnected or failed), and when to
    /// restart ICE again if one still is.
    publisher_lost: bool,
    subscriber_lost: bool,
    retry_at: Option<tokio::time::Instant>,
}

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn next_event(sub: &mut Option<Subscriber>) -> Option<PcEvent> {
    match sub {
        Some(s) => s.events.recv().await,
        None => std::future::pending().await,
    }
}

impl Task {
    fn ms(&self) -> u64 {
        (self.remotes.epoch.elapsed().as_millis() as u64).max(1)
    }

    async fn command(&self, command: Command) -> Result<CommandOk, CoreError> {
        let (reply, result) = oneshot::channel();
        self.ctx
            .actor
            .send(ActorMsg::Command { command, reply })
            .map_err(|_| failed("engine stopped"))?;
        result.await.map_err(|_| failed("engine stopped"))?
    }

    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<SessionMsg>) {
        self.local_ip = local_ip_towards(&self.ctx.server_host).await;
        let (pub_tx, mut pub_events) = mpsc::unbounded_channel();
        let publisher = match self.publish(pub_tx, &mut pub_events).await {
            Ok(p) => p,
            // The call ended while it was publishing: nothing went wrong.
            Err(e) if self.stop.load(Relaxed) => {
                log::debug!(
                    "call {} ended before its media was published ({e})",
                    self.ctx.call_id
                );
                return;
            }
            Err(e) => {
                log::warn!("publishing media for call {} failed: {e}", self.ctx.call_id);
                let _ = self.ctx.events.send(Event::Error {
                    code: e.code,
                    message: e.message,
                });
                return;
            }
        };
        self.send_media_state().await;
        let chosen: Vec<(String, VideoStreamType)> = self
            .ctx
            .shared
            .stream_types
            .lock()
            .expect("stream types")
            .iter()
            .map(|(u, t)| (u.clone(), *t))
            .collect();
        for (user_id, stream_type) in chosen {
            self.send_stream_type(user_id, stream_type).await;
        }
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(SessionMsg::Offer { revision, sdp, tracks }) => {
                        if let Err(e) = self.answer(revision, sdp, &tracks).await {
                            // After the call ended (or the engine stopped) this is no failure.
                            if self.stop.load(Relaxed) {
                                log::debug!("subscriber offer {revision} not answered: media stopped ({e})");
                            } else {
                                log::warn!("answering subscriber offer {revision} failed: {e}");
                            }
                        }
                    }
                    Some(SessionMsg::MediaStateChanged) => self.send_media_state().await,
                    Some(SessionMsg::StreamType { user_id, stream_type }) => {
                        self.send_stream_type(user_id, stream_type).await
                    }
                    Some(SessionMsg::RestartIce) => {
                        self.restart_ice(&publisher, &mut pub_events, Restart::NetworkChanged).await
                    }
                    None => break,
                },
                ev = pub_events.recv() => match ev {
                    Some(PcEvent::State(s)) => {
                        self.on_state("publisher", s, true);
                        self.publisher_lost = lost_path(s);
                        if self.publisher_lost {
                            self.restart_ice(&publisher, &mut pub_events, Restart::LostPath("publisher")).await;
                        }
                    }
                    Some(_) => {}
                    None => break,
                },
                ev = next_event(&mut self.subscriber) => match ev {
                    Some(PcEvent::State(s)) => {
                        self.on_state("subscriber", s, false);
                        self.subscriber_lost = lost_path(s);
                        if self.subscriber_lost {
                            self.restart_ice(&publisher, &mut pub_events, Restart::LostPath("subscriber")).await;
                        }
                    }
                    Some(PcEvent::Track(track)) => self.on_track(track).await,
                    Some(PcEvent::Gathered) => {}
                    None => self.subscriber = None,
                },
                _ = sleep_until_opt(self.retry_at) => {
                    self.retry_at = None;
                    if self.publisher_lost || self.subscriber_lost {
                        let which = if self.publisher_lost { "publisher" } else { "subscriber" };
                        self.restart_ice(&publisher, &mut pub_events, Restart::LostPath(which)).await;
                    }
                }
            }
            if self.stop.load(Relaxed) {
                break;
            }
        }
        let _ = publisher.close().await;
        if let Some(s) = self.subscriber.take() {
            let _ = s.pc.close().await;
        }
        log::debug!("media session for call {} ended", self.ctx.call_id);
    }

    fn on_state(&self, which: &str, state: RTCPeerConnectionState, publisher: bool) {
        log::debug!("{which} connection: {state}");
        if state == RTCPeerConnectionState::Connected && publisher {
            // Frames encoded before the connection were lost: start with a
            // keyframe so subscribers can decode at once.
            self.ctx.shared.keyframe_wanted.store(true, Relaxed);
        }
        if state == RTCPeerConnectionState::Connected {
            let slot = if publisher {
                &self.milestones.publisher_connected_ms
            } else {
                &self.milestones.subscriber_connected_ms
            };
            let _ = slot.compare_exchange(0, self.ms(), Relaxed, Relaxed);
        }
    }

    /// A local track; `layer` > 0 names a simulcast layer's.
    fn local_track(
        &self,
        kind: RtpCodecKind,
        codec: RTCRtpCodec,
        ssrc: u32,
        layer: usize,
    ) -> Arc<TrackLocalStaticRTP> {
        let me = &self.ctx.me;
        let name = match (kind, layer) {
            (RtpCodecKind::Audio, _) => "audio".to_string(),
            (_, 0) => "video".to_string(),
            (_, layer) => format!("video-{layer}"),
        };
        Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            me.clone(),
            format!("{me}-{name}"),
            format!("{me}-{name}"),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    // Video retransmissions (answers to NACKs) go on their own
                    // SSRC (RFC 4588), as the SFU expects.
                    rtx: (kind == RtpCodecKind::Video).then(|| RTCRtpRtxParameters {
                        ssrc: ssrc.wrapping_add(1),
                    }),
                    ..Default::default()
                },
                codec,
                ..Default::default()
            }],
        )))
    }

    /// How many video tracks to publish: none for audio calls, one per
    /// simulcast layer in group calls, otherwise one.
    fn video_layers(&self) -> usize {
        match (self.ctx.media_type, self.ctx.simulcast) {
            (MediaType::Audio, _) => 0,
            (MediaType::Video, false) => 1,
            (MediaType::Video, true) => layer_scales(&self.ctx.shared.encoder_params()).len(),
        }
    }

    /// The publisher's bandwidth estimator: it starts at what the call
    /// sends when nothing holds it back (the video preset and audio) and
    /// looks no further than twice that, so a sudden bottleneck is not met
    /// with an estimate far above anything sent.
    fn estimator(&self) -> PublishedGcc {
        let audio_kbps = AUDIO_RESERVE_KBPS;
        let wanted_kbps = match self.ctx.media_type {
            MediaType::Video => {
                (total_kbps(&self.ctx.shared.encoder_params(), self.video_layers()) + audio_kbps)
                    / MEDIA_SHARE
            }
            MediaType::Audio => audio_kbps,
        };
        PublishedGcc::new(
            wanted_kbps * 1000.0,
            2.0 * wanted_kbps * 1000.0,
            self.ctx.shared.estimate.clone(),
        )
    }

    /// Build the publisher, offer it to the SFU, apply the answer and start
    /// the sending threads.
    async fn publish(
        &mut self,
        events_tx: mpsc::UnboundedSender<PcEvent>,
        events: &mut mpsc::UnboundedReceiver<PcEvent>,
    ) -> Result<Arc<dyn PeerConnection>, CoreError> {
        let relays = self.relays.for_stack(self.local_ip).await;
        let pc = new_peer(
            self.local_ip,
            relays,
            Arc::new(Forward(events_tx)),
            Some(self.estimator()),
        )
        .await
        .map_err(failed)?;
        self.peers.lock().expect("peers").push(pc.clone());
        let audio_ssrc: u32 = rand::random();
        let audio = self.local_track(RtpCodecKind::Audio, opus_codec(), audio_ssrc, 0);
        pc.add_track(audio.clone() as Arc<dyn TrackLocal>)
            .await
            .map_err(failed)?;
        // Video: one track, or one per simulcast layer, largest first (the
        // SFU reads the m-lines' order as the layers').
        let mut video = vec![];
        for layer in 0..self.video_layers() {
            let ssrc: u32 = rand::random();
            let track = self.local_track(RtpCodecKind::Video, h264_codec(), ssrc, layer);
            pc.add_track(track.clone() as Arc<dyn TrackLocal>)
                .await
                .map_err(failed)?;
            video.push((track, ssrc));
        }
        let offer = pc.create_offer(None).await.map_err(failed)?;
        pc.set_local_description(offer).await.map_err(failed)?;
        wait_gathered(events).await;
        let sdp = pc
            .local_description()
            .await
            .ok_or_else(|| failed("no local description"))?
            .sdp;
        let ok = self
            .command(Command::MediaPublish {
                call_id: self.ctx.call_id.clone(),
                sdp,
                ice_restart: false,
            })
            .await?;
        let answer = ok
            .sdp
            .ok_or_else(|| failed("the server sent no SDP answer"))?;
        pc.set_remote_description(RTCSessionDescription::answer(answer).map_err(failed)?)
            .await
            .map_err(failed)?;

        let shared = self.ctx.shared.clone();
        AudioThread {
            shared: shared.clone(),
            remotes: self.remotes.clone(),
            out: RtpOut {
                track: audio,
                runtime: self.runtime.clone(),
            },
            ssrc: audio_ssrc,
            call_id: self.ctx.call_id.clone(),
            me: self.ctx.me.clone(),
            events: self.ctx.events.clone(),
        }
        .spawn(self.stop.clone());
        let mut layers = vec![];
        for (track, ssrc) in video {
            let keyframe_wanted = Arc::new(AtomicBool::new(false));
            layers.push(VideoLayerOut {
                out: RtpOut {
                    track: track.clone(),
                    runtime: self.runtime.clone(),
                },
                ssrc,
                keyframe_wanted: keyframe_wanted.clone(),
            });
            // Keyframe requests relayed by the SFU, for this layer.
            let shared = shared.clone();
            self.runtime.spawn(async move {
                while let Some(ev) = track.poll().await {
                    let TrackLocalEvent::OnRtcpPacket(packets) = ev else {
                        continue;
                    };
                    if packets.iter().any(|p| is_keyframe_request(p.as_ref())) {
                        shared
                            .counters
                            .keyframe_requests_received
                            .fetch_add(1, Relaxed);
                        keyframe_wanted.store(true, Relaxed);
                    }
                }
            });
        }
        if !layers.is_empty() {
            spawn_video_sender(shared.clone(), layers, self.stop.clone());
        }
        Ok(pc)
    }

    /// Restart ICE on both connections (see the module's comment). Failures
    /// are logged: the call goes on, and the next network change or lost
    /// path tries again.
    async fn restart_ice(
        &mut self,
        publisher: &Arc<dyn PeerConnection>,
        events: &mut mpsc::UnboundedReceiver<PcEvent>,
        why: Restart,
    ) {
        let recent = self
            .last_restart
            .is_some_and(|at| at.elapsed() < MIN_RESTART_INTERVAL);
        if recent && matches!(why, Restart::LostPath(_)) {
            return;
        }
        self.last_restart = Some(Instant::now());
        // Still without a path by then (the new one is not usable yet): again.
        self.retry_at = Some(tokio::time::Instant::now() + MIN_RESTART_INTERVAL);
        log::info!("call {}: restarting ICE ({why})", self.ctx.call_id);
        match self.offer_ice_restart(publisher, events).await {
            Ok(()) => {
                // Whatever was lost on the old path, receivers start clean.
                self.ctx.shared.keyframe_wanted.store(true, Relaxed);
            }
            Err(e) if self.stop.load(Relaxed) => {
                log::debug!("ICE restart not finished: media stopped ({e})")
            }
            Err(e) => log::warn!("ICE restart of call {} failed: {e}", self.ctx.call_id),
        }
    }

    async fn offer_ice_restart(
        &mut self,
        pc: &Arc<dyn PeerConnection>,
        events: &mut mpsc::UnboundedReceiver<PcEvent>,
    ) -> Result<(), CoreError> {
        pc.restart_ice().await.map_err(failed)?;
        let offer = pc.create_offer(None).await.map_err(failed)?;
        pc.set_local_description(offer).await.map_err(failed)?;
        if tokio::time::timeout(RESTART_GATHER_TIMEOUT, wait_gathered(events))
            .await
            .is_err()
        {
            log::debug!("ICE restart: gathering did not complete; offering what there is");
        }
        let sdp = pc
            .local_description()
            .await
            .ok_or_else(|| failed("no local description"))?
            .sdp;
        let mut tries = 0;
        let ok = loop {
            tries += 1;
            let publish = Command::MediaPublish {
                call_id: self.ctx.call_id.clone(),
                sdp: sdp.clone(),
                ice_restart: true,
            };
            match self.command(publish).await {
                Err(e) if e.code == ErrorCode::Timeout && tries < RESTART_TRIES => continue,
                other => break other?,
            }
        };
        let answer = ok
            .sdp
            .ok_or_else(|| failed("the server sent no SDP answer"))?;
        pc.set_remote_description(RTCSessionDescription::answer(answer).map_err(failed)?)
            .await
            .map_err(failed)
    }

    async fn answer(
        &mut self,
        revision: u64,
        sdp: String,
        tracks: &[MediaTrack],
    ) -> Result<(), CoreError> {
        log::debug!("subscriber offer {revision}: {} track(s)", tracks.len());
        if self.subscriber.is_none() {
            let (tx, events) = mpsc::unbounded_channel();
            let relays = self.relays.for_stack(self.local_ip).await;
            let pc = new_peer(self.local_ip, relays, Arc::new(Forward(tx)), None)
                .await
                .map_err(failed)?;
            self.peers.lock().expect("peers").push(pc.clone());
            self.subscriber = Some(Subscriber { pc, events });
        }
        let pc = self.subscriber.as_ref().expect("subscriber").pc.clone();
        self.orientation_id = video_orientation_id(&sdp);
        pc.set_remote_description(RTCSessionDescription::offer(sdp).map_err(failed)?)
            .await
            .map_err(failed)?;
        let answer = pc.create_answer(None).await.map_err(failed)?;
        pc.set_local_description(answer).await.map_err(failed)?;
        if !self.answered_once {
            self.answered_once = true;
            let sub = self.subscriber.as_mut().expect("subscriber");
            let mut early = Vec::new();
            loop {
                match sub.events.recv().await {
                    Some(PcEvent::Gathered) | None => break,
                    Some(other) => early.push(other),
                }
            }
            for ev in early {
                if let PcEvent::Track(t) = ev {
                    self.on_track(t).await;
                }
            }
        }
        let sdp = pc
            .local_description()
            .await
            .ok_or_else(|| failed("no local description"))?
            .sdp;
        self.command(Command::MediaAnswer {
            call_id: self.ctx.call_id.clone(),
            revision,
            sdp,
        })
        .await?;
        Ok(())
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let user = track.stream_id().await.to_string();
        let kind = track.kind().await;
        log::debug!("remote {kind} track of {user}");
        let remotes = self.remotes.clone();
        if kind == RtpCodecKind::Video {
            self.runtime.spawn(receive_video(
                track,
                user,
                self.ctx.shared.clone(),
                remotes,
                self.orientation_id,
            ));
        } else {
            self.runtime.spawn(receive_audio(track, user, remotes));
        }
    }

    async fn send_media_state(&self) {
        let shared = &self.ctx.shared;
        let audio = shared.microphone_open.load(Relaxed);
        let video = self.ctx.media_type == MediaType::Video && shared.camera_open.load(Relaxed);
        let cmd = Command::MediaState {
            call_id: self.ctx.call_id.clone(),
            audio,
            video,
        };
        if let Err(e) = self.command(cmd).await {
            log::debug!("media_state not sent: {e}");
        }
    }

    async fn send_stream_type(&self, user_id: String, stream_type: VideoStreamType) {
        let cmd = Command::MediaView {
            call_id: self.ctx.call_id.clone(),
            user_id,
            stream_type,
        };
        if let Err(e) = self.command(cmd).await {
            log::debug!("media_view not sent: {e}");
        }
    }
}

/// Why ICE restarts.
#[derive(Clone, Copy)]
enum Restart {
    /// The app said so (`notifyNetworkChanged`): always.
    NetworkChanged,
    /// This connection's consent checks fail: at most every
    /// [`MIN_RESTART_INTERVAL`], since the restart itself passes through
    /// these states.
    LostPath(&'static str),
}

impl std::fmt::Display for Restart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Restart::NetworkChanged => f.write_str("the network changed"),
            Restart::LostPath(which) => write!(f, "the {which} connection lost its path"),
        }
    }
}

/// The connection can no longer reach the SFU over its path (consent checks
/// failing): time for an ICE restart.
fn lost_path(state: RTCPeerConnectionState) -> bool {
    matches!(
        state,
        RTCPeerConnectionState::Disconnected | RTCPeerConnectionState::Failed
    )
}

async fn wait_gathered(events: &mut mpsc::UnboundedReceiver<PcEvent>) {
    while let Some(ev) = events.recv().await {
        if matches!(ev, PcEvent::Gathered) {
            return;
        }
    }
}
