//! The engine's media: every call is a room on the server's SFU (ADR 0004).
//!
//! | module | job |
//! |---|---|
//! | [`devices`] | the app's side: sources, sinks, the device delegate |
//! | `session` | one call's publisher and subscriber connections |
//! | `peer` | building `webrtc` peer connections (codecs, ICE timing) |
//! | `keyframe` | delivering PLI/FIR about our video to the encoder |
//! | `estimate` | the publisher's bandwidth estimate (GCC over TWCC feedback) |
//! | `adapt` | estimate → encoder bitrate, picture size and frame rate |
//! | `pace` | spreading a video frame's packets at 2.5 × the estimate |
//! | `send` | camera → H.264 → RTP thread |
//! | `audio` | microphone → Opus → RTP, jitter buffers → mix → speaker, levels |
//! | `receive` | remote tracks → depacketize → decode → sinks |
//! | `mailbox` | non-blocking sink delivery |
//! | [`stats`] | call statistics and network quality |

mod adapt;
mod audio;
pub mod devices;
mod estimate;
mod inbound;
mod keyframe;
mod mailbox;
mod pace;
mod peer;
mod pushback;
mod receive;
mod remb;
mod rtcp_volume;
mod rtx;
mod send;
mod session;
mod shared;
mod simulcast;
pub mod stats;
pub mod synthetic;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hotline_core::{Event, NetworkQuality as CoreQuality, UserNetworkQuality};
use hotline_media::NetworkQuality;
use hotline_proto::{MediaTrack, MediaType, VideoStreamType};
use tokio::sync::mpsc;

use crate::actor::ActorMsg;
pub(crate) use peer::RelaySource;
pub(crate) use session::MediaSession;
use session::SessionContext;
pub(crate) use shared::{AudioOut, MediaShared, VideoView};
use stats::{CallStats, RateMemory};

/// How often `onUserNetworkQualityChanged` is reported.
const QUALITY_INTERVAL: Duration = Duration::from_secs(2);

/// The engine's media state: devices (for the engine's life) and the
/// current call's session. Shared by the API and the actor.
#[derive(Default)]
pub(crate) struct Media {
    pub(crate) shared: Arc<MediaShared>,
    session: Mutex<Option<MediaSession>>,
    rates: Mutex<RateMemory>,
}

/// What the actor knows that a session needs.
pub(crate) struct ActorLink {
    pub(crate) me: String,
    pub(crate) server_host: String,
    pub(crate) actor: mpsc::UnboundedSender<ActorMsg>,
    pub(crate) events: std::sync::mpsc::Sender<Event>,
    /// The TURN relays the last login listed.
    pub(crate) relays: peer::RelaySource,
}

impl Media {
    pub(crate) fn new() -> Media {
        let media = Media::default();
        // TUICallEngine starts calls with the microphone on.
        media.shared.microphone_open.store(true, Relaxed);
        media
    }

    /// Follow the call: start media when it begins here, stop when it ends.
    pub(crate) fn on_event(self: &Arc<Self>, event: &Event, link: &ActorLink) {
        match event {
            Event::CallBegin {
                call_id,
                media_type,
                is_group,
                ..
            } => self.start(call_id, *media_type, *is_group, link),
            Event::CallEnd { call_id, .. } | Event::CallNotConnected { call_id, .. } => {
                self.stop(call_id)
            }
            Event::CallMediaTypeChanged { .. } => {
                // Video → audio: the camera stops; the others see video unavailable.
                self.shared.camera_open.store(false, Relaxed);
                self.media_state_changed();
            }
            _ => {}
        }
    }

    /// Start the call's media; group calls send video as simulcast layers.
    fn start(
        self: &Arc<Self>,
        call_id: &str,
        media_type: MediaType,
        group: bool,
        link: &ActorLink,
    ) {
        let mut slot = self.session.lock().expect("media session");
        if slot.as_ref().is_some_and(|s| s.call_id == call_id) {
            return;
        }
        log::info!("starting {} media for call {call_id}", media_type.as_str());
        if media_type == MediaType::Video && !self.shared.camera_open.load(Relaxed) {
            log::info!("the camera is closed: call {call_id} sends no video until openCamera");
        }
        self.shared.counters.reset();
        self.shared.estimate.reset();
        *self.shared.video_send.lock().expect("video send state") = Default::default();
        *self.rates.lock().expect("rates") = RateMemory::starting_now();
        let ctx = SessionContext {
            call_id: call_id.to_string(),
            media_type,
            simulcast: group,
            me: link.me.clone(),
            server_host: link.server_host.clone(),
            shared: self.shared.clone(),
            actor: link.actor.clone(),
            events: link.events.clone(),
            relays: link.relays.clone(),
        };
        let runtime = tokio::runtime::Handle::current();
        *slot = Some(MediaSession::start(&runtime, ctx));
        drop(slot);
        // No lock held: the delegate may call back into the engine.
        if self.shared.microphone_open.load(Relaxed) {
            let delegate = self.shared.delegate.lock().expect("delegate").clone();
            if let Some(d) = delegate {
                d.open_microphone();
            }
        }
        self.spawn_quality_reports(call_id.to_string(), link.events.clone());
    }

    fn stop(&self, call_id: &str) {
        let session = {
            let mut slot = self.session.lock().expect("media session");
            if slot.as_ref().is_none_or(|s| s.call_id != call_id) {
                return;
            }
            slot.take()
        };
        if let Some(s) = session {
            log::info!("stopping media for call {call_id}");
            s.stop();
            // The camera is per call (TUICallEngine): closed here whether or
            // not a delegate is there to hear of it.
            let camera_was_open = self.shared.camera_open.swap(false, Relaxed);
            let delegate = self.shared.delegate.lock().expect("delegate").clone();
            if let Some(d) = delegate {
                if camera_was_open {
                    d.close_camera();
                }
                d.close_microphone();
            }
        }
    }

    /// Stop whatever runs (logout).
    pub(crate) fn stop_all(&self) {
        let id = self
            .session
            .lock()
            .expect("media session")
            .as_ref()
            .map(|s| s.call_id.clone());
        if let Some(id) = id {
            self.stop(&id);
        }
    }

    /// The SFU's subscriber offer for the current call.
    pub(crate) fn on_offer(
        &self,
        call_id: &str,
        revision: u64,
        sdp: String,
        tracks: Vec<MediaTrack>,
    ) {
        match self.session.lock().expect("media session").as_ref() {
            Some(s) if s.call_id == call_id => s.offer(revision, sdp, tracks),
            _ => log::debug!("media offer {revision} for call {call_id} without a session"),
        }
    }

    /// Camera or microphone switched: tell the others (if in a call).
    /// The device's network changed: the current call restarts ICE on both
    /// connections.
    pub(crate) fn network_changed(&self) {
        if let Some(s) = self.session.lock().expect("media session").as_ref() {
            s.restart_ice();
        }
    }

    /// Keep the app's big/small choice for `user_id` and tell the SFU.
    pub(crate) fn set_stream_type(&self, user_id: &str, stream_type: VideoStreamType) {
        let mut types = self.shared.stream_types.lock().expect("stream types");
        match stream_type {
            VideoStreamType::Big => types.remove(user_id),
            VideoStreamType::Small => types.insert(user_id.to_string(), stream_type),
        };
        drop(types);
        if let Some(s) = self.session.lock().expect("media session").as_ref() {
            s.stream_type_changed(user_id, stream_type);
        }
    }

    pub(crate) fn media_state_changed(&self) {
        if let Some(s) = self.session.lock().expect("media session").as_ref() {
            s.media_state_changed();
        }
    }

    /// The current call's statistics, if media runs.
    pub(crate) async fn stats(&self) -> Option<CallStats> {
        let (remotes, milestones, peers) = {
            let slot = self.session.lock().expect("media session");
            let s = slot.as_ref()?;
            let peers = s.peers.lock().expect("peers").clone();
            (s.remotes.clone(), s.milestones.clone(), peers)
        };
        let rtt_ms = round_trip_ms(peers).await;
        let fps = self.shared.encoder_params().fps;
        let mut stats = stats::compute(
            &self.shared,
            &remotes,
            &mut self.rates.lock().expect("rates"),
            rtt_ms,
            fps,
        );
        stats.publisher_connected_ms = milestones.publisher_connected_ms.load(Relaxed);
        stats.subscriber_connected_ms = milestones.subscriber_connected_ms.load(Relaxed);
        Some(stats)
    }

    /// Report network quality every [`QUALITY_INTERVAL`] while this call's media runs.
    fn spawn_quality_reports(
        self: &Arc<Self>,
        call_id: String,
        events: std::sync::mpsc::Sender<Event>,
    ) {
        let media = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut rates = RateMemory::starting_now();
            loop {
                tokio::time::sleep(QUALITY_INTERVAL).await;
                let Some(media) = media.upgrade() else { return };
                let (remotes, peers) = {
                    let slot = media.session.lock().expect("media session");
                    match slot.as_ref() {
                        Some(s) if s.call_id == call_id => {
                            (s.remotes.clone(), s.peers.lock().expect("peers").clone())
                        }
                        _ => return,
                    }
                };
                let rtt_ms = round_trip_ms(peers).await;
                let fps = media.shared.encoder_params().fps;
                let stats = stats::compute(&media.shared, &remotes, &mut rates, rtt_ms, fps);
                let qualities = stats
                    .users
                    .iter()
                    .map(|u| UserNetworkQuality {
                        user_id: u.user_id.clone(),
                        quality: to_core(u.quality),
                    })
                    .collect::<Vec<_>>();
                if !qualities.is_empty() {
                    let _ = events.send(Event::UserNetworkQualityChanged {
                        call_id: call_id.clone(),
                        qualities,
                    });
                }
            }
        });
    }
}

/// The worst current round-trip time to the SFU over the call's peer
/// connections (from ICE's STUN checks), in ms; 0 before any was measured.
async fn round_trip_ms(peers: Vec<Arc<dyn webrtc::peer_connection::PeerConnection>>) -> f64 {
    let mut rtt_ms: f64 = 0.0;
    for pc in peers {
        let report = pc
            .get_stats(
                std::time::Instant::now(),
                rtc::statistics::StatsSelector::None,
            )
            .await;
        for pair in report.candidate_pairs() {
            rtt_ms = rtt_ms.max(pair.current_round_trip_time * 1000.0);
        }
    }
    rtt_ms
}

fn to_core(q: NetworkQuality) -> CoreQuality {
    match q {
        NetworkQuality::Unknown => CoreQuality::Unknown,
        NetworkQuality::Excellent => CoreQuality::Excellent,
        NetworkQuality::Good => CoreQuality::Good,
        NetworkQuality::Poor => CoreQuality::Poor,
        NetworkQuality::Bad => CoreQuality::Bad,
        NetworkQuality::VeryBad => CoreQuality::VeryBad,
        NetworkQuality::Down => CoreQuality::Down,
    }
}
