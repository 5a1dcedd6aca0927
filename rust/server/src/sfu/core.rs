//! The SFU's state: every call's room, every participant's two str0m `Rtc`s,
//! and the routes RTP takes between them. Sans-IO: datagrams, commands and
//! time come in; datagrams to send collect in [`Core::out`]. The thread in
//! `mod.rs` owns the socket and drives this.
//!
//! Per participant (call, user):
//! - a **publisher** `Rtc`: the engine offers sendonly audio and video, the
//!   SFU answers (`media_publish`);
//! - a **subscriber** `Rtc`: the SFU offers one sendonly m-line per remote
//!   track (`media_offer`, growing `revision`), the engine answers
//!   (`media_answer`). One exchange is in flight at a time; changes made
//!   meanwhile go into the next offer once the current one is answered.
//!
//! RTP is forwarded without decoding: the publisher's packet is written to
//! each subscriber's send stream (str0m keeps a per-subscriber buffer and
//! answers that subscriber's NACKs from it). A subscriber's PLI/FIR becomes a
//! keyframe request on the publisher's receive stream.
//!
//! A publisher may send simulcast: several video m-lines, the largest layer
//! first. Subscribers get one video m-line per publisher, fed from the layer
//! their bandwidth estimate and `media_view` choice allow (`layers.rs` has
//! the rules, `core/allocation.rs` applies them; `core/keyframes.rs` relays
//! and retries keyframe requests).
//!
//! Packets come over UDP or, for networks that block UDP, over ICE-TCP
//! connections to a port of its own (`tcp.rs`); every peer offers both host
//! candidates, UDP first so that it ranks higher.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hotline_proto::{ErrorCode, MediaTrack, ServerMsg, VideoStreamType};
use str0m::bwe::{Bitrate, BweKind};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::PayloadParams;
use str0m::media::{Direction, KeyframeRequest, KeyframeRequestKind, MediaKind, Mid};
use str0m::net::{DatagramSend, Protocol, Receive, TcpType};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};

use super::layers::{self, LayerRate, Prober, MAX_LAYERS};
use super::packet_kind::PacketKind;
use super::routing::{Ufrags, WorkerId};
use super::timestamps::{is_later, offset_for_new_source, LastSent};
use super::Cmd;
use crate::hub::Outbox;
use crate::metrics::{Metrics, WorkerMetrics};

mod allocation;
mod keyframes;
mod limits;

use limits::PublisherLimit;

type PeerId = u64;

/// Most outputs taken from one `Rtc` in one go (bounds every drain).
const MAX_POLL: usize = 10_000;
/// A peer with nothing scheduled is still looked at this often.
const IDLE_TICK: Duration = Duration::from_millis(500);
/// Retransmission buffer of a subscriber's video: str0m's defaults (1000
/// packets, 3 s), but a higher cap on the share of sent bytes that may be
/// retransmissions. Above str0m's default cap (15 %) it drops every queued
/// repair, so a link losing more than ~15 % (repairs cost about the loss
/// rate, plus the reordering's spurious NACKs) got almost none; half still
/// bounds what a runaway NACKer costs.
const VIDEO_RTX_PACKETS: usize = 1000;
const VIDEO_RTX_AGE: Duration = Duration::from_secs(3);
const VIDEO_RTX_RATIO_CAP: Option<f32> = Some(0.5);
/// Where a group subscriber's bandwidth estimate starts: enough for a 720p
/// layer, so a fast link starts at full quality and a slow one steps down as
/// soon as the feedback shows its queue.
const SUBSCRIBER_START_ESTIMATE: Bitrate = Bitrate::kbps(1_500);
/// Where a 1v1 subscriber's starts: above the largest preset (1080p at
/// 2 Mbps), so that no publisher is held back, or paced, before the
/// feedback says so.
const SUBSCRIBER_START_ESTIMATE_1V1: Bitrate = Bitrate::kbps(2_500);
/// How often a subscriber connection's stats (the loss its receiver
/// reports) are read.
const SUBSCRIBER_STATS_EVERY: Duration = Duration::from_secs(1);
/// Loss a subscriber's receiver must report (a share of one stream's
/// packets) to count as lossy, and for how long that counts. A busy
/// receiver sends its feedback late, which reads as a queue and sinks a
/// delay-based estimate for seconds with nothing lost; a real bottleneck
/// soon drops packets too.
const LOSS_SEEN: f32 = 0.02;
const LOSS_RECENT: Duration = Duration::from_secs(3);

/// The SFU's codecs, the ones issue 3 mandates: Opus, and H.264 Constrained
/// Baseline 42e01f with packetization mode 1 (and RTX). Keeping the list short
/// keeps every SDP small (a 9-party subscriber offer has 16 m-lines).
pub fn rtc_config() -> RtcConfig {
    let mut cfg = Rtc::builder()
        .set_rtp_mode(true)
        .set_ice_lite(true)
        .clear_codecs()
        .enable_opus(true, false);
    cfg.codec_config()
        .add_h264(108.into(), Some(109.into()), true, 0x42e01f);
    cfg
}

/// A subscriber connection also estimates its bandwidth, which decides the
/// simulcast layers it gets in a group call and limits its publisher in a
/// 1v1 call (`core/limits.rs`).
fn estimating_rtc_config(group: bool) -> RtcConfig {
    let start = if group {
        SUBSCRIBER_START_ESTIMATE
    } else {
        SUBSCRIBER_START_ESTIMATE_1V1
    };
    // The stats carry the loss the subscriber's receiver reports.
    rtc_config()
        .enable_bwe(Some(start))
        .set_stats_interval(Some(SUBSCRIBER_STATS_EVERY))
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Publisher,
    Subscriber {
        /// In a group call.
        group: bool,
    },
}

struct Peer {
    rtc: Rtc,
    call_id: String,
    user_id: String,
    role: Role,
    next: Instant,
    dead: bool,
    /// Its local ICE ufrags (a new one per ICE restart), registered in
    /// [`Core::ufrags`] so that its checks reach this worker.
    ufrags: Vec<String>,
}

/// One remote track in a subscriber connection.
struct Route {
    /// The subscriber's m-line.
    mid: Mid,
    /// Whose track, and their publisher's m-line.
    source_user: String,
    source_mid: Mid,
    kind: MediaKind,
    /// The subscriber's answer covered this m-line, so its send stream exists.
    negotiated: bool,
    /// The publisher connection and layer the last forwarded packet came
    /// from; a new one (the engine re-published, or the layer switched)
    /// restarts the sequence mapping.
    epoch: (PeerId, usize),
    /// Video: the publisher's layer forwarded now (0 = the largest; beyond
    /// the publisher's smallest until its first packet).
    layer: usize,
    /// Video: the layer to switch to on its next keyframe.
    target: usize,
    /// When the target layer's keyframe was last asked for.
    target_asked: Option<Instant>,
    /// Since when the estimate has wanted a smaller layer than forwarded.
    short_since: Option<Instant>,
    seq_offset: i64,
    last_out: Option<u64>,
    /// Video: added to the source's RTP timestamps (`timestamps.rs`).
    ts_offset: u32,
    /// Video: the latest timestamp sent and when.
    last_ts: Option<LastSent>,
    /// Publisher payload type → subscriber payload type, learned on first use.
    pts: Vec<(u8, Option<u8>)>,
}

struct Pending {
    revision: u64,
    offer: SdpPendingOffer,
    msg: ServerMsg,
}

#[derive(Default)]
struct Subscriber {
    peer: Option<PeerId>,
    revision: u64,
    pending: Option<Pending>,
    /// Something changed while an offer was in flight.
    dirty: bool,
    /// The next offer restarts ICE (the engine's network changed).
    ice_restart: bool,
    routes: Vec<Route>,
    /// The connection's bandwidth estimate (bits per second).
    estimate_bps: Option<f64>,
    /// The `desired` rate last given to the estimator.
    desired_bps: f64,
    /// When to make the estimator probe for held-back layers.
    prober: Prober,
    /// `media_view` choices, by publisher.
    views: HashMap<String, VideoStreamType>,
    /// The estimate when the first small stream was chosen: sending little
    /// lets the estimate sink to what is sent (str0m caps it at 1.5 times
    /// that), so when the big streams come back it restarts from here.
    estimate_before_small: Option<f64>,
    /// When its receiver last reported loss of [`LOSS_SEEN`] or more.
    lossy_at: Option<Instant>,
}

impl Subscriber {
    /// Its receiver reported `loss` (a share of packets) on a stream.
    fn saw_loss(&mut self, loss: f32, now: Instant) {
        if loss >= LOSS_SEEN {
            self.lossy_at = Some(now);
        }
    }

    /// Whether its receiver reported loss in the last [`LOSS_RECENT`]: its
    /// estimate's shortfall is then a real bottleneck's.
    fn lossy(&self, now: Instant) -> bool {
        self.lossy_at
            .is_some_and(|at| now.saturating_duration_since(at) < LOSS_RECENT)
    }

    /// Whether its latest stats (one interval) showed loss.
    fn losing(&self, now: Instant) -> bool {
        self.lossy_at.is_some_and(|at| {
            now.saturating_duration_since(at) < SUBSCRIBER_STATS_EVERY + SUBSCRIBER_STATS_EVERY / 2
        })
    }

    /// Note a `media_view` choice; the estimate to restart from, when the
    /// last small stream goes back to big and the estimate sank meanwhile.
    fn remember_estimate(&mut self, chosen: VideoStreamType) -> Option<f64> {
        let any_small = self.views.values().any(|v| *v == VideoStreamType::Small);
        match chosen {
            VideoStreamType::Small => {
                if self.estimate_before_small.is_none() {
                    self.estimate_before_small = self.estimate_bps;
                }
                None
            }
            VideoStreamType::Big if !any_small => {
                let before = self.estimate_before_small.take()?;
                let sank = self.estimate_bps.is_some_and(|now| now < before);
                sank.then(|| {
                    self.estimate_bps = Some(before);
                    before
                })
            }
            VideoStreamType::Big => None,
        }
    }
}

struct Member {
    device_id: String,
    outbox: Outbox,
    publisher: Option<PeerId>,
    tracks: Vec<(Mid, MediaKind)>,
    /// The video m-lines: simulcast layers of one camera, largest first.
    layers: Vec<Mid>,
    /// What each layer is measured to send.
    layer_rates: Vec<LayerRate>,
    /// Whether (and what) its audio sends.
    audio_rate: LayerRate,
    /// In a 1v1 call: its best rate and the limit its subscriber's
    /// downlink set it.
    limit: PublisherLimit,
    sub: Subscriber,
}

impl Member {
    /// The tracks subscribers see: the audio, and the video as its
    /// largest layer's m-line.
    fn subscribed_tracks(&self) -> impl Iterator<Item = (Mid, MediaKind)> + '_ {
        self.tracks
            .iter()
            .copied()
            .filter(|(mid, kind)| *kind == MediaKind::Audio || self.layers.first() == Some(mid))
    }
}

#[derive(Default)]
struct Room {
    members: BTreeMap<String, Member>,
    /// A group call: subscribers get simulcast layers by their estimate;
    /// in a 1v1 call their estimate limits the publisher instead.
    group: bool,
}

// Events live only between polling a connection and routing them; boxing
// every packet would cost an allocation per forwarded packet.
#[allow(clippy::large_enum_variant)]
enum Ev {
    Rtp(RtpPacket),
    Keyframe(KeyframeRequest),
    Connected,
    Estimate(f64),
    /// The share of a sent stream's packets its receiver reported lost.
    Loss(f32),
}

/// A packet to send: over UDP, or framed on the TCP connection from `dst`.
pub type Transmit = (Protocol, SocketAddr, DatagramSend);

/// Every room and connection of one SFU thread.
pub struct Core {
    candidate: SocketAddr,
    /// Peers also get this passive ICE-TCP candidate.
    tcp: Option<SocketAddr>,
    peers: HashMap<PeerId, Peer>,
    /// Routes by transport and remote address: a TCP connection's source
    /// port says nothing about a UDP one's.
    by_addr: HashMap<(Protocol, SocketAddr), PeerId>,
    rooms: HashMap<String, Room>,
    next_peer: PeerId,
    metrics: Arc<Metrics>,
    /// Packets to send (transport, destination, contents).
    pub out: Vec<Transmit>,
    /// Peers to drain before the next wait.
    dirty: Vec<PeerId>,
    /// When layer choices were last revisited.
    allocated_at: Option<Instant>,
    /// Which worker this core runs on, and where its connections' ufrags
    /// are registered for the other workers to route by.
    worker: WorkerId,
    ufrags: Arc<Ufrags>,
}

fn reply(
    outbox: &Outbox,
    metrics: &Metrics,
    seq: u64,
    r: Result<Option<String>, (ErrorCode, String)>,
) {
    let msg = match r {
        Ok(sdp) => ServerMsg::Response {
            seq,
            code: 0,
            message: String::new(),
            login: None,
            call: None,
            records: None,
            sdp,
        },
        Err((code, message)) => {
            metrics.error(code);
            ServerMsg::err(seq, code, message)
        }
    };
    outbox.send(&msg);
}

fn kind_name(kind: MediaKind) -> &'static str {
    if kind == MediaKind::Audio {
        "audio"
    } else {
        "video"
    }
}

/// The sending audio and video m-lines of an SDP offer: (mid, kind).
fn offered_tracks(sdp: &str) -> Vec<(Mid, MediaKind)> {
    let mut out = vec![];
    let mut section: Option<(MediaKind, Option<Mid>, bool)> = None;
    let mut finish = |s: Option<(MediaKind, Option<Mid>, bool)>| {
        if let Some((kind, Some(mid), true)) = s {
            out.push((mid, kind));
        }
    };
    for line in sdp.lines().map(str::trim) {
        if let Some(m) = line.strip_prefix("m=") {
            finish(section.take());
            let mut f = m.split_whitespace();
            let kind = match f.next() {
                Some("audio") => Some(MediaKind::Audio),
                Some("video") => Some(MediaKind::Video),
                _ => None,
            };
            let port_open = f.next().is_some_and(|p| p != "0");
            // sendrecv is the default direction
            section = kind.filter(|_| port_open).map(|k| (k, None, true));
        } else if let Some((_, mid, sending)) = section.as_mut() {
            if let Some(v) = line.strip_prefix("a=mid:") {
                *mid = Some(Mid::from(v));
            } else if line == "a=recvonly" || line == "a=inactive" {
                *sending = false;
            }
        }
    }
    finish(section);
    out
}

impl Drop for Core {
    /// A core that goes (its worker stopped or panicked) takes its
    /// connections with it.
    fn drop(&mut self) {
        self.metrics
            .sfu_peers
            .fetch_sub(self.peers.len() as i64, Relaxed);
    }
}

/// Take a peer's output: datagrams into `out`, interesting events into `evs`.
fn drain(peer: &mut Peer, out: &mut Vec<Transmit>, evs: &mut Vec<Ev>, now: Instant) {
    if peer.dead {
        return;
    }
    for _ in 0..MAX_POLL {
        match peer.rtc.poll_output() {
            Ok(Output::Transmit(t)) => out.push((t.proto, t.destination, t.contents)),
            Ok(Output::Timeout(t)) => {
                peer.next = t.min(now + IDLE_TICK);
                return;
            }
            Ok(Output::Event(e)) => match e {
                Event::RtpPacket(p) => evs.push(Ev::Rtp(p)),
                Event::KeyframeRequest(k) => evs.push(Ev::Keyframe(k)),
                Event::Connected => evs.push(Ev::Connected),
                Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. }) => {
                    evs.push(Ev::Estimate(estimate.as_f64()))
                }
                Event::MediaEgressStats(s) => {
                    if let Some(loss) = s.loss {
                        evs.push(Ev::Loss(loss))
                    }
                }
                Event::IceConnectionStateChange(s) => log::debug!(
                    "sfu: {} {:?} of {}: ICE {s:?}",
                    peer.call_id,
                    peer.role,
                    peer.user_id
                ),
                _ => {}
            },
            Err(e) => {
                log::info!(
                    "sfu: {:?} connection of {} in {} failed: {e}",
                    peer.role,
                    peer.user_id,
                    peer.call_id
                );
                peer.dead = true;
                return;
            }
        }
    }
    peer.next = now;
}

/// The counters of the worker a core runs on (none in a core built
/// without the SFU's workers, as in unit tests).
fn worker_stats(metrics: &Metrics, worker: WorkerId) -> Option<&WorkerMetrics> {
    metrics.sfu_workers.get()?.get(worker)
}

impl Core {
    /// A core whose SDPs name `candidate` as the SFU's UDP address and
    /// `tcp`, if any, as its passive ICE-TCP candidate; it runs on `worker`
    /// and registers its connections' ufrags in `ufrags`.
    pub fn new(
        candidate: SocketAddr,
        tcp: Option<SocketAddr>,
        metrics: Arc<Metrics>,
        worker: WorkerId,
        ufrags: Arc<Ufrags>,
    ) -> Core {
        Core {
            worker,
            ufrags,
            candidate,
            tcp,
            peers: HashMap::new(),
            by_addr: HashMap::new(),
            rooms: HashMap::new(),
            next_peer: 1,
            metrics,
            out: Vec::new(),
            dirty: Vec::new(),
            allocated_at: None,
        }
    }

    /// The metrics this core counts into.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The earliest moment a peer wants time to pass.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.peers
            .values()
            .filter(|p| !p.dead)
            .map(|p| p.next)
            .min()
    }

    fn new_peer(&mut self, call_id: &str, user_id: &str, role: Role, now: Instant) -> PeerId {
        let mut rtc = match role {
            Role::Subscriber { group } => estimating_rtc_config(group),
            Role::Publisher => rtc_config(),
        }
        .build(now);
        rtc.add_local_candidate(Candidate::host(self.candidate, "udp").expect("a host candidate"));
        if let Some(addr) = self.tcp {
            // Added second: str0m gives it a lower local preference, so a
            // client that gets both through picks UDP.
            let tcp = Candidate::builder()
                .tcp()
                .host(addr)
                .tcptype(TcpType::Passive)
                .build()
                .expect("a TCP host candidate");
            rtc.add_local_candidate(tcp);
        }
        let id = self.next_peer;
        self.next_peer += 1;
        let ufrag = rtc.direct_api().local_ice_credentials().ufrag;
        self.ufrags.insert(&ufrag, self.worker);
        self.peers.insert(
            id,
            Peer {
                rtc,
                call_id: call_id.into(),
                user_id: user_id.into(),
                role,
                next: now,
                dead: false,
                ufrags: vec![ufrag],
            },
        );
        self.metrics.sfu_peers.fetch_add(1, Relaxed);
        id
    }

    fn drop_peer(&mut self, id: Option<PeerId>) {
        let Some(id) = id else { return };
        if let Some(mut p) = self.peers.remove(&id) {
            for ufrag in &p.ufrags {
                self.ufrags.remove(ufrag);
            }
            p.rtc.disconnect();
            self.metrics.sfu_peers.fetch_sub(1, Relaxed);
        }
        self.by_addr.retain(|_, p| *p != id);
    }

    fn drop_member(&mut self, m: Member) {
        self.drop_peer(m.publisher);
        self.drop_peer(m.sub.peer);
    }

    /// Apply a command from the hub.
    pub fn handle_cmd(&mut self, cmd: Cmd, now: Instant) {
        match cmd {
            Cmd::Publish {
                call_id,
                user_id,
                device_id,
                sdp,
                ice_restart,
                group,
                seq,
                outbox,
            } => {
                if group {
                    self.rooms.entry(call_id.clone()).or_default().group = true;
                }
                let restarted = if ice_restart {
                    self.restart_ice(&call_id, &user_id, &device_id, &sdp, &outbox)
                } else {
                    None
                };
                let r = match restarted {
                    Some(r) => r,
                    None => self.publish(&call_id, &user_id, device_id, &sdp, outbox.clone(), now),
                };
                reply(&outbox, &self.metrics, seq, r.map(Some));
                self.renegotiate_room(&call_id, now);
            }
            Cmd::Answer {
                call_id,
                user_id,
                revision,
                sdp,
                seq,
                outbox,
            } => {
                let r = self.answer(&call_id, &user_id, revision, &sdp);
                reply(&outbox, &self.metrics, seq, r.map(|_| None));
                self.renegotiate_room(&call_id, now);
            }
            Cmd::Members { call_id, in_call } => {
                let Some(room) = self.rooms.get_mut(&call_id) else {
                    return;
                };
                let leaving: Vec<String> = room
                    .members
                    .iter()
                    .filter(|(u, m)| {
                        !in_call
                            .iter()
                            .any(|(iu, idev)| iu == *u && *idev == m.device_id)
                    })
                    .map(|(u, _)| u.clone())
                    .collect();
                if leaving.is_empty() {
                    return;
                }
                let gone: Vec<Member> = leaving
                    .iter()
                    .filter_map(|u| room.members.remove(u))
                    .collect();
                log::debug!("sfu: {leaving:?} left the media of {call_id}");
                for m in gone {
                    self.drop_member(m);
                }
                self.renegotiate_room(&call_id, now);
            }
            Cmd::View {
                call_id,
                user_id,
                source_user,
                stream_type,
            } => {
                let Some(m) = self
                    .rooms
                    .get_mut(&call_id)
                    .and_then(|r| r.members.get_mut(&user_id))
                else {
                    return;
                };
                log::debug!(
                    "sfu: {user_id} in {call_id} wants {source_user}'s {stream_type:?} stream"
                );
                m.sub.views.insert(source_user, stream_type);
                let restart = m.sub.remember_estimate(stream_type);
                if let (Some(bps), Some(id)) = (restart, m.sub.peer) {
                    if let Some(sub) = self.peers.get_mut(&id) {
                        sub.rtc.bwe().reset(Bitrate::bps(bps as u64));
                        // Its pacer takes the new rate now, not at its next timer.
                        self.dirty.push(id);
                    }
                }
                self.allocate(&call_id, &user_id, now);
            }
            // The worker panics before it gets here.
            Cmd::Fail { .. } => {}
            Cmd::EndCall { call_id } => {
                if let Some(room) = self.rooms.remove(&call_id) {
                    for (_, m) in room.members {
                        self.drop_member(m);
                    }
                }
            }
            Cmd::Rebind {
                user_id,
                device_id,
                outbox,
            } => {
                for room in self.rooms.values_mut() {
                    if let Some(m) = room
                        .members
                        .get_mut(&user_id)
                        .filter(|m| m.device_id == device_id)
                    {
                        m.outbox = outbox.clone();
                        if let Some(p) = &m.sub.pending {
                            m.outbox.send(&p.msg);
                        }
                    }
                }
            }
        }
        self.flush_dirty(now);
    }

    fn publish(
        &mut self,
        call_id: &str,
        user_id: &str,
        device_id: String,
        sdp: &str,
        outbox: Outbox,
        now: Instant,
    ) -> Result<String, (ErrorCode, String)> {
        let offer = SdpOffer::from_sdp_string(sdp)
            .map_err(|e| (ErrorCode::ParamInvalid, format!("invalid SDP offer: {e}")))?;
        let videos = offered_tracks(sdp)
            .iter()
            .filter(|(_, kind)| *kind == MediaKind::Video)
            .count();
        if videos > MAX_LAYERS {
            return Err((
                ErrorCode::ParamInvalid,
                format!("the offer sends {videos} videos; at most {MAX_LAYERS} simulcast layers of one camera are forwarded"),
            ));
        }
        let id = self.new_peer(call_id, user_id, Role::Publisher, now);
        let accepted = self
            .peers
            .get_mut(&id)
            .expect("just added")
            .rtc
            .sdp_api()
            .accept_offer(offer);
        let answer = match accepted {
            Ok(a) => a,
            Err(e) => {
                self.drop_peer(Some(id));
                return Err((
                    ErrorCode::ParamInvalid,
                    format!("SDP offer not acceptable: {e}"),
                ));
            }
        };
        // The tracks the engine sends, as its offer lists them (str0m reports
        // MediaAdded only once the connection is up; offers go out before).
        let peer = self.peers.get_mut(&id).expect("just added");
        let tracks: Vec<(Mid, MediaKind)> = offered_tracks(sdp)
            .into_iter()
            .filter(|(mid, _)| peer.rtc.media(*mid).is_some())
            .collect();
        let layers: Vec<Mid> = tracks
            .iter()
            .filter(|(_, kind)| *kind == MediaKind::Video)
            .map(|(mid, _)| *mid)
            .collect();
        let room = self.rooms.entry(call_id.to_string()).or_default();
        // A new publish replaces the member's connections: the engine started over.
        let old = room.members.remove(user_id);
        let revision = old.as_ref().map_or(0, |m| m.sub.revision);
        let views = old
            .as_ref()
            .map(|m| m.sub.views.clone())
            .unwrap_or_default();
        let member = Member {
            device_id,
            outbox,
            publisher: Some(id),
            tracks,
            layer_rates: vec![LayerRate::new(); layers.len()],
            audio_rate: LayerRate::new(),
            limit: PublisherLimit::default(),
            layers,
            sub: Subscriber {
                revision,
                views,
                ..Default::default()
            },
        };
        room.members.insert(user_id.to_string(), member);
        if let Some(old) = old {
            self.drop_member(old);
        }
        self.dirty.push(id);
        Ok(answer.to_sdp_string())
    }

    /// An ICE-restart offer for the member's live publisher: applied to it
    /// (str0m sees the new remote credentials and restarts ICE), and the
    /// subscriber's next offer restarts ICE too. `None` when there is no
    /// such connection, and the offer is published afresh.
    fn restart_ice(
        &mut self,
        call_id: &str,
        user_id: &str,
        device_id: &str,
        sdp: &str,
        outbox: &Outbox,
    ) -> Option<Result<String, (ErrorCode, String)>> {
        let m = self
            .rooms
            .get_mut(call_id)?
            .members
            .get_mut(user_id)
            .filter(|m| m.device_id == device_id)?;
        let pub_id = m.publisher?;
        let peer = self.peers.get_mut(&pub_id).filter(|p| !p.dead)?;
        let offer = match SdpOffer::from_sdp_string(sdp) {
            Ok(o) => o,
            Err(e) => {
                return Some(Err((
                    ErrorCode::ParamInvalid,
                    format!("invalid SDP offer: {e}"),
                )))
            }
        };
        let answer = match peer.rtc.sdp_api().accept_offer(offer) {
            Ok(a) => a,
            Err(e) => {
                return Some(Err((
                    ErrorCode::ParamInvalid,
                    format!("SDP offer not acceptable: {e}"),
                )))
            }
        };
        // str0m answers a restart with new local credentials.
        let ufrag = peer.rtc.direct_api().local_ice_credentials().ufrag;
        if !peer.ufrags.contains(&ufrag) {
            self.ufrags.insert(&ufrag, self.worker);
            peer.ufrags.push(ufrag);
        }
        log::debug!("sfu: {user_id} restarts ICE in {call_id}");
        self.metrics.sfu_ice_restarts_total.fetch_add(1, Relaxed);
        // The signaling connection may be new too.
        m.outbox = outbox.clone();
        m.sub.ice_restart = m.sub.peer.is_some();
        // The old path's addresses are forgotten: the checks on the new one
        // are routed by their ICE username.
        let sub_id = m.sub.peer;
        self.by_addr
            .retain(|_, p| *p != pub_id && Some(*p) != sub_id);
        self.dirty.push(pub_id);
        Some(Ok(answer.to_sdp_string()))
    }

    fn answer(
        &mut self,
        call_id: &str,
        user_id: &str,
        revision: u64,
        sdp: &str,
    ) -> Result<(), (ErrorCode, String)> {
        let refused = |m: String| Err((ErrorCode::RequestRefused, m));
        let Some(m) = self
            .rooms
            .get_mut(call_id)
            .and_then(|r| r.members.get_mut(user_id))
        else {
            return refused("there is no media offer to answer; publish first".into());
        };
        let current = m.sub.pending.as_ref().map(|p| p.revision);
        if current != Some(revision) {
            // Stale (or made up): say so, and send the offer that is current.
            if let Some(p) = &m.sub.pending {
                m.outbox.send(&p.msg);
            }
            return match current {
                Some(c) => refused(format!(
                    "revision {revision} is stale; the current offer is revision {c}"
                )),
                None => refused(format!(
                    "revision {revision} is not waiting for an answer (latest was {})",
                    m.sub.revision
                )),
            };
        }
        let answer = SdpAnswer::from_sdp_string(sdp)
            .map_err(|e| (ErrorCode::ParamInvalid, format!("invalid SDP answer: {e}")))?;
        let pending = m.sub.pending.take().expect("checked");
        let peer_id = m.sub.peer.expect("an offer implies a connection");
        let peer = self
            .peers
            .get_mut(&peer_id)
            .expect("subscriber peer exists");
        if let Err(e) = peer.rtc.sdp_api().accept_answer(pending.offer, answer) {
            // The exchange is spent: start the subscriber connection over.
            let old = m.sub.peer.take();
            m.sub.routes.clear();
            m.sub.dirty = true;
            self.drop_peer(old);
            return Err((
                ErrorCode::ParamInvalid,
                format!("SDP answer not acceptable: {e}; a new offer follows"),
            ));
        }
        let mut fresh = vec![];
        let paced = peer.role == Role::Subscriber { group: true };
        for r in &mut m.sub.routes {
            if !r.negotiated {
                fresh.push(r.mid);
                if r.kind == MediaKind::Video {
                    // The send stream exists now and has sent nothing yet.
                    if let Some(tx) = peer.rtc.direct_api().stream_tx_by_mid(r.mid, None) {
                        tx.set_rtx_cache(VIDEO_RTX_PACKETS, VIDEO_RTX_AGE, VIDEO_RTX_RATIO_CAP);
                        // A 1v1 stream has no smaller layer to fit the
                        // estimate with: held in the pacer, it would only
                        // queue, and what got through would pull the
                        // estimate down further.
                        tx.set_unpaced(!paced);
                    }
                }
            }
            r.negotiated = true;
        }
        self.dirty.push(peer_id);
        // New tracks on a connection that is already up start with a keyframe.
        self.keyframes_for(call_id, user_id, |mid| fresh.contains(&mid));
        Ok(())
    }

    /// Bring every member's subscriber connection in line with the room's tracks.
    fn renegotiate_room(&mut self, call_id: &str, now: Instant) {
        let Some(room) = self.rooms.get(call_id) else {
            return;
        };
        if room.members.is_empty() {
            self.rooms.remove(call_id);
            return;
        }
        let users: Vec<String> = room.members.keys().cloned().collect();
        for u in users {
            self.renegotiate(call_id, &u, now);
        }
        self.flush_dirty(now);
    }

    fn renegotiate(&mut self, call_id: &str, user: &str, now: Instant) {
        let room = self.rooms.get(call_id).expect("room exists");
        let desired: Vec<(String, Mid, MediaKind)> = room
            .members
            .iter()
            .filter(|(u, _)| u.as_str() != user)
            .flat_map(|(u, m)| {
                m.subscribed_tracks()
                    .map(move |(mid, kind)| (u.clone(), mid, kind))
            })
            .collect();
        let m = room.members.get(user).expect("member exists");
        if m.sub.pending.is_some() {
            self.rooms
                .get_mut(call_id)
                .unwrap()
                .members
                .get_mut(user)
                .unwrap()
                .sub
                .dirty = true;
            return;
        }
        let adds: Vec<(String, Mid, MediaKind)> = desired
            .iter()
            .filter(|(u, mid, _)| {
                !m.sub
                    .routes
                    .iter()
                    .any(|r| &r.source_user == u && r.source_mid == *mid)
            })
            .cloned()
            .collect();
        let removes: Vec<Mid> = m
            .sub
            .routes
            .iter()
            .filter(|r| {
                !desired
                    .iter()
                    .any(|(u, mid, _)| u == &r.source_user && *mid == r.source_mid)
            })
            .map(|r| r.mid)
            .collect();
        let revision = m.sub.revision + 1;
        let ice_restart = m.sub.ice_restart && m.sub.peer.is_some();
        if adds.is_empty() && removes.is_empty() && !ice_restart {
            self.rooms
                .get_mut(call_id)
                .unwrap()
                .members
                .get_mut(user)
                .unwrap()
                .sub
                .dirty = false;
            return;
        }
        let peer_id = match m.sub.peer {
            Some(p) => p,
            None => {
                let role = Role::Subscriber { group: room.group };
                let p = self.new_peer(call_id, user, role, now);
                self.rooms
                    .get_mut(call_id)
                    .unwrap()
                    .members
                    .get_mut(user)
                    .unwrap()
                    .sub
                    .peer = Some(p);
                p
            }
        };
        let peer = self
            .peers
            .get_mut(&peer_id)
            .expect("subscriber peer exists");
        let mut api = peer.rtc.sdp_api();
        let mut new_routes = vec![];
        for (u, source_mid, kind) in adds {
            // A fresh track ID per offer: someone who leaves and joins again
            // is a new track to the subscriber (WebRTC stacks ignore an m-line
            // whose msid repeats one they have seen).
            let track = format!("{u}-{}-{revision}", kind_name(kind));
            let mid = api.add_media(
                kind,
                Direction::SendOnly,
                Some(u.clone()),
                Some(track),
                None,
            );
            new_routes.push(Route {
                mid,
                source_user: u,
                source_mid,
                kind,
                negotiated: false,
                epoch: (0, 0),
                // Video starts small and moves up as the estimate allows.
                layer: MAX_LAYERS - 1,
                target: MAX_LAYERS - 1,
                target_asked: None,
                short_since: None,
                seq_offset: 0,
                last_out: None,
                ts_offset: 0,
                last_ts: None,
                pts: vec![],
            });
        }
        for mid in &removes {
            api.set_direction(*mid, Direction::Inactive);
        }
        // The SFU's own candidate stays; only the credentials change.
        let restart_ufrag = ice_restart.then(|| api.ice_restart(true).ufrag);
        let Some((offer, pending)) = api.apply() else {
            return;
        };
        if let Some(ufrag) = restart_ufrag {
            self.ufrags.insert(&ufrag, self.worker);
            peer.ufrags.push(ufrag);
        }
        let m = self
            .rooms
            .get_mut(call_id)
            .unwrap()
            .members
            .get_mut(user)
            .unwrap();
        m.sub.routes.retain(|r| !removes.contains(&r.mid));
        m.sub.routes.extend(new_routes);
        m.sub.revision += 1;
        m.sub.dirty = false;
        m.sub.ice_restart = false;
        let tracks = m
            .sub
            .routes
            .iter()
            .map(|r| MediaTrack {
                mid: r.mid.to_string(),
                user_id: r.source_user.clone(),
                kind: kind_name(r.kind).into(),
            })
            .collect();
        let msg = ServerMsg::MediaOffer {
            call_id: call_id.into(),
            revision: m.sub.revision,
            sdp: offer.to_sdp_string(),
            tracks,
        };
        m.outbox.send(&msg);
        m.sub.pending = Some(Pending {
            revision: m.sub.revision,
            offer: pending,
            msg,
        });
        self.dirty.push(peer_id);
    }

    /// A datagram arrived on the SFU's UDP socket.
    pub fn handle_datagram(&mut self, src: SocketAddr, data: &[u8], now: Instant) {
        self.handle_packet(Protocol::Udp, src, data, now);
    }

    /// A packet arrived over `proto` from `src` (for TCP, one RFC 4571 frame
    /// of the connection from `src`). Packets no peer claims are dropped.
    pub fn handle_packet(&mut self, proto: Protocol, src: SocketAddr, data: &[u8], now: Instant) {
        let Ok(contents) = data.try_into() else {
            return;
        };
        // str0m matches a check to the local candidate it was sent to.
        let destination = match (proto, self.tcp) {
            (Protocol::Tcp, Some(tcp)) => tcp,
            _ => self.candidate,
        };
        let input = Input::Receive(
            now,
            Receive {
                proto,
                source: src,
                destination,
                contents,
            },
        );
        let id = match self.by_addr.get(&(proto, src)) {
            Some(id) => *id,
            None => match self
                .peers
                .iter()
                .find(|(_, p)| !p.dead && p.rtc.accepts(&input))
            {
                Some((id, _)) => {
                    self.by_addr.insert((proto, src), *id);
                    *id
                }
                None => return,
            },
        };
        self.feed(id, input, Some(PacketKind::of(data)), now);
    }

    /// A TCP connection closed: its address routes nowhere any more (a new
    /// connection may reuse the port for someone else).
    pub fn forget(&mut self, proto: Protocol, src: SocketAddr) {
        self.by_addr.remove(&(proto, src));
    }

    /// Let time pass: every peer whose timer is due runs its timers and is
    /// drained. (A peer given input was drained then, and one written to
    /// is in `dirty`: the others have nothing new to say before their timer.)
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| !p.dead && p.next <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.advance(id, now);
        }
        self.allocate_all(now);
        self.flush_dirty(now);
    }

    /// Give one live peer the time, then carry out what it has to say.
    fn advance(&mut self, id: PeerId, now: Instant) {
        self.feed(id, Input::Timeout(now), None, now);
    }

    /// Hand one live peer an input (a datagram of `kind`, or the time), then
    /// carry out what it has to say. A peer that fails is dead from then on.
    fn feed(&mut self, id: PeerId, input: Input, kind: Option<PacketKind>, now: Instant) {
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        if peer.dead {
            return;
        }
        if let (Some(kind), Some(stats)) = (kind, worker_stats(&self.metrics, self.worker)) {
            stats.packet_in(peer.role != Role::Publisher, kind);
        }
        if let Err(e) = peer.rtc.handle_input(input) {
            log::info!(
                "sfu: input for {} in {} failed: {e}",
                peer.user_id,
                peer.call_id
            );
            peer.dead = true;
            return;
        }
        let mut evs = vec![];
        drain(peer, &mut self.out, &mut evs, now);
        self.process(id, evs, now);
    }

    /// Drain the peers something was written to (bounded: subscribers emit no RTP).
    fn flush_dirty(&mut self, now: Instant) {
        for _ in 0..4 {
            if self.dirty.is_empty() {
                return;
            }
            let mut ids = std::mem::take(&mut self.dirty);
            ids.sort_unstable();
            ids.dedup();
            for id in ids {
                // Written packets are timestamped and queued for the pacer by a
                // time input; without one they would wait for the next timer.
                self.advance(id, now);
            }
        }
    }

    fn process(&mut self, from: PeerId, evs: Vec<Ev>, now: Instant) {
        if evs.is_empty() {
            return;
        }
        let Some(peer) = self.peers.get(&from) else {
            return;
        };
        let (call_id, user_id, role) = (peer.call_id.clone(), peer.user_id.clone(), peer.role);
        for ev in evs {
            match (role, ev) {
                (Role::Publisher, Ev::Rtp(p)) => self.forward(from, &call_id, &user_id, p, now),
                (Role::Subscriber { .. }, Ev::Estimate(bps)) => {
                    log::trace!("sfu: {user_id} in {call_id}: estimate {bps:.0} bps");
                    if let Some(m) = self
                        .rooms
                        .get_mut(&call_id)
                        .and_then(|r| r.members.get_mut(&user_id))
                    {
                        m.sub.estimate_bps = Some(bps);
                    }
                    self.allocate(&call_id, &user_id, now);
                }
                (Role::Subscriber { .. }, Ev::Loss(loss)) => {
                    if let Some(m) = self
                        .rooms
                        .get_mut(&call_id)
                        .and_then(|r| r.members.get_mut(&user_id))
                    {
                        m.sub.saw_loss(loss, now);
                    }
                }
                (Role::Subscriber { .. }, Ev::Keyframe(k)) => {
                    self.keyframe(&call_id, &user_id, k.mid, k.kind)
                }
                // Whatever was sent before the subscriber could decrypt it is
                // lost: start each of its videos with a keyframe.
                (Role::Subscriber { .. }, Ev::Connected) => {
                    self.keyframes_for(&call_id, &user_id, |_| true)
                }
                // Requests made before the publisher's connection was up
                // could not be sent (no SRTP yet): ask again now.
                (Role::Publisher, Ev::Connected) => self.keyframe_from_publisher(from),
                _ => {}
            }
        }
    }

    /// Write one publisher packet to every subscriber that carries its track
    /// (for a simulcast layer: every subscriber fed from that layer, and
    /// those switching to it once its keyframe starts).
    fn forward(
        &mut self,
        from: PeerId,
        call_id: &str,
        source_user: &str,
        p: RtpPacket,
        now: Instant,
    ) {
        let stats = worker_stats(&self.metrics, self.worker);
        if let Some(stats) = stats {
            stats.rtp_in.fetch_add(1, Relaxed);
        }
        let Some(source_mid) = self.peers.get_mut(&from).and_then(|peer| {
            peer.rtc
                .direct_api()
                .stream_rx(&p.header.ssrc)
                .map(|s| s.mid())
        }) else {
            return;
        };
        let in_pt = *p.header.payload_type;
        let source_params: Option<PayloadParams> = self.peers[&from]
            .rtc
            .codec_config()
            .params()
            .iter()
            .find(|c| *c.pt() == in_pt)
            .cloned();
        let Some(room) = self.rooms.get_mut(call_id) else {
            return;
        };
        // Video layers go to subscribers under the largest layer's m-line.
        // `simulcast`: the publisher's smallest layer, if it has several.
        let (route_mid, layer, simulcast) = match room.members.get_mut(source_user) {
            Some(src) => match src.layers.iter().position(|m| *m == source_mid) {
                Some(i) => {
                    src.layer_rates[i].add(now, p.payload.len());
                    let last = src.layers.len() - 1;
                    (src.layers[0], i, (last > 0).then_some(last))
                }
                None => {
                    src.audio_rate.add(now, p.payload.len());
                    (source_mid, 0, None)
                }
            },
            None => return,
        };
        // Only a layer switch needs to know.
        let starts_keyframe = simulcast.is_some() && layers::starts_keyframe(&p.payload);
        let ext = ExtensionValues {
            audio_level: p.header.ext_vals.audio_level,
            voice_activity: p.header.ext_vals.voice_activity,
            video_orientation: p.header.ext_vals.video_orientation,
            ..Default::default()
        };
        for (user, m) in room.members.iter_mut() {
            if user == source_user {
                continue;
            }
            let Some(sub_id) = m.sub.peer else { continue };
            let Some(route) = m.sub.routes.iter_mut().find(|r| {
                r.negotiated && r.source_user == source_user && r.source_mid == route_mid
            }) else {
                continue;
            };
            if let Some(last) = simulcast {
                // A new route starts on the smallest layer this publisher has.
                route.layer = route.layer.min(last);
                route.target = route.target.min(last);
                if layer != route.layer {
                    if layer != route.target || !starts_keyframe {
                        continue;
                    }
                    route.layer = layer;
                    self.metrics.sfu_layer_switches_total.fetch_add(1, Relaxed);
                }
            }
            let Some(sub) = self.peers.get_mut(&sub_id) else {
                continue;
            };
            if sub.dead {
                continue;
            }
            let out_pt = match route.pts.iter().find(|(i, _)| *i == in_pt) {
                Some((_, o)) => *o,
                None => {
                    let o = source_params
                        .and_then(|sp| sub.rtc.codec_config().match_params(sp).map(|c| *c.pt()));
                    route.pts.push((in_pt, o));
                    o
                }
            };
            let Some(out_pt) = out_pt else { continue };
            let seq_in = *p.seq_no;
            if route.epoch != (from, layer) {
                route.epoch = (from, layer);
                route.seq_offset = route.last_out.map_or(0, |l| l as i64 + 1 - seq_in as i64);
                if route.kind == MediaKind::Video {
                    route.ts_offset = offset_for_new_source(
                        route.last_ts,
                        route.ts_offset,
                        p.header.timestamp,
                        now,
                    );
                }
            }
            let seq_out = (seq_in as i64 + route.seq_offset).max(0) as u64;
            route.last_out = Some(route.last_out.map_or(seq_out, |l| l.max(seq_out)));
            let ts_out = p.header.timestamp.wrapping_add(route.ts_offset);
            if route.kind == MediaKind::Video
                && route.last_ts.is_none_or(|l| is_later(ts_out, l.timestamp))
            {
                route.last_ts = Some(LastSent {
                    timestamp: ts_out,
                    at: now,
                });
            }
            let mut api = sub.rtc.direct_api();
            let Some(tx) = api.stream_tx_by_mid(route.mid, None) else {
                continue;
            };
            tx.write_rtp(
                RtpWrite::new(
                    out_pt.into(),
                    seq_out.into(),
                    ts_out,
                    p.timestamp,
                    p.payload.clone(),
                )
                .marker(p.header.marker)
                .ext_vals(ext.clone())
                .nackable(route.kind == MediaKind::Video),
            );
            if let Some(stats) = stats {
                stats.rtp_forwarded.fetch_add(1, Relaxed);
            }
            self.dirty.push(sub_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_from_before_the_small_streams_comes_back_with_the_last_big_one() {
        let mut sub = Subscriber {
            estimate_bps: Some(2_000_000.0),
            ..Default::default()
        };
        for user in ["alice", "bob"] {
            sub.views.insert(user.into(), VideoStreamType::Small);
            assert_eq!(sub.remember_estimate(VideoStreamType::Small), None);
        }
        // Sending little, the estimate sank.
        sub.estimate_bps = Some(400_000.0);
        sub.views.insert("alice".into(), VideoStreamType::Big);
        assert_eq!(
            sub.remember_estimate(VideoStreamType::Big),
            None,
            "bob is still small"
        );
        sub.views.insert("bob".into(), VideoStreamType::Big);
        assert_eq!(
            sub.remember_estimate(VideoStreamType::Big),
            Some(2_000_000.0)
        );
        assert_eq!(sub.estimate_bps, Some(2_000_000.0));
        // Once: a later big choice restarts nothing.
        assert_eq!(sub.remember_estimate(VideoStreamType::Big), None);
        // An estimate that did not sink is kept.
        sub.views.insert("alice".into(), VideoStreamType::Small);
        sub.remember_estimate(VideoStreamType::Small);
        sub.estimate_bps = Some(3_000_000.0);
        sub.views.insert("alice".into(), VideoStreamType::Big);
        assert_eq!(sub.remember_estimate(VideoStreamType::Big), None);
        assert_eq!(sub.estimate_bps, Some(3_000_000.0));
    }
}
