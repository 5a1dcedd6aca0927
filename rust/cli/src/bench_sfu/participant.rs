//! One load-generator participant: a raw signaling client and the two
//! connections Hotline's engine has (docs/protocol.md, "Media"), driven by
//! str0m with nothing decoded.
//!
//! A publisher calls its subscribers (a group video call), publishes one
//! sendonly video m-line and replays the pre-encoded clip. A subscriber
//! accepts, publishes one sendonly audio m-line that never sends (the SFU
//! gives a subscriber connection only to members that published), answers
//! the SFU's offers and counts the video it receives.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hotline_proto::{
    usersig, CallInfo, CallState, ClientFrame, ClientMsg, MediaType, ParticipantState, ServerMsg,
    PROTOCOL_VERSION,
};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::Event;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::conn::{Conn, H264_PT};
use super::tally::{Tally, Totals};
use super::video::Clip;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How to reach and sign in to the server.
#[derive(Clone)]
pub struct Login {
    pub url: String,
    pub sdk_app_id: u64,
    pub secret_key: String,
}

pub enum Role {
    Publisher { subscribers: Vec<String> },
    Subscriber,
}

/// Counters every participant adds to, for the progress lines.
#[derive(Default)]
pub struct Live {
    pub packets_received: AtomicU64,
    pub frames_sent: AtomicU64,
}

/// What one participant saw.
#[derive(Debug)]
pub struct Report {
    pub publisher: bool,
    /// Its media connections came up (a subscriber: the one it receives on).
    pub connected: bool,
    pub frames_sent: u64,
    pub received: Totals,
    pub send_drops: u64,
    /// From the start of the run to the first video packet (subscribers).
    pub first_packet: Option<Duration>,
}

pub struct Participant {
    user: String,
    role: Role,
    ws: Ws,
    seq: u64,
    ip: IpAddr,
    call_id: Option<String>,
    accepted: bool,
    published: bool,
    publisher: Option<Conn>,
    pending: Option<(u64, SdpPendingOffer)>,
    video_mid: Option<Mid>,
    subscriber: Option<Conn>,
    /// The subscriber connection's video m-lines (the SFU's `tracks`).
    video_mids: HashSet<String>,
    tally: Tally,
    first_packet: Option<Instant>,
    frames_sent: u64,
    clip: Arc<Clip>,
    live: Arc<Live>,
}

impl Participant {
    /// Connect and log in as `user` (a UserSig signed with the secret key).
    pub async fn login(
        login: &Login,
        user: String,
        role: Role,
        ip: IpAddr,
        clip: Arc<Clip>,
        live: Arc<Live>,
    ) -> Result<Participant, String> {
        let (ws, _) = tokio_tungstenite::connect_async(&login.url)
            .await
            .map_err(|e| format!("{user}: cannot connect to {}: {e}", login.url))?;
        let mut p = Participant {
            user: user.clone(),
            role,
            ws,
            seq: 0,
            ip,
            call_id: None,
            accepted: false,
            published: false,
            publisher: None,
            pending: None,
            video_mid: None,
            subscriber: None,
            video_mids: HashSet::new(),
            tally: Tally::default(),
            first_packet: None,
            frames_sent: 0,
            clip,
            live,
        };
        let now_s = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let sig = usersig::generate(login.sdk_app_id, &login.secret_key, &user, 86_400, now_s);
        let seq = p
            .send(ClientMsg::Login {
                protocol_version: PROTOCOL_VERSION,
                sdk_app_id: login.sdk_app_id,
                user_id: user.clone(),
                user_sig: sig,
                device_id: format!("bench-{user}"),
                multi_device: false,
                known_calls: vec![],
            })
            .await?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = tokio::time::timeout(left, p.ws.next())
                .await
                .map_err(|_| format!("{user}: no login answer within 10 s"))?;
            let Some(Ok(Message::Text(text))) = msg else {
                return Err(format!("{user}: the server closed the connection at login"));
            };
            if let Ok(ServerMsg::Response {
                seq: s,
                code,
                message,
                ..
            }) = serde_json::from_str::<ServerMsg>(&text)
            {
                if s == seq {
                    if code != 0 {
                        return Err(format!("{user}: login refused ({code}: {message})"));
                    }
                    return Ok(p);
                }
            }
        }
    }

    async fn send(&mut self, msg: ClientMsg) -> Result<u64, String> {
        self.seq += 1;
        let text =
            serde_json::to_string(&ClientFrame { seq: self.seq, msg }).expect("frames serialise");
        self.ws
            .send(Message::Text(text.into()))
            .await
            .map_err(|e| format!("{}: signaling lost: {e}", self.user))?;
        Ok(self.seq)
    }

    /// Take part until `end`, then hang up; `start` is when the run began.
    pub async fn run(mut self, start: Instant, end: Instant) -> Result<Report, String> {
        if let Role::Publisher { subscribers } = &self.role {
            let msg = ClientMsg::Call {
                user_ids: subscribers.clone(),
                media_type: MediaType::Video,
                room_id: String::new(),
                timeout_s: 0,
                user_data: String::new(),
                chat_group_id: String::new(),
                group: true,
                offline_push: None,
            };
            self.send(msg).await?;
        }
        let frame_interval = Duration::from_secs(1) / self.clip.fps.max(1);
        let mut next_frame = Instant::now();
        let mut buf_pub = vec![0u8; 2048];
        let mut buf_sub = vec![0u8; 2048];
        let mut events = Vec::new();
        while Instant::now() < end {
            let pub_sock = self.publisher.as_ref().map(|c| c.sock.clone());
            let sub_sock = self.subscriber.as_ref().map(|c| c.sock.clone());
            let mut wake = end;
            for c in [&self.publisher, &self.subscriber].into_iter().flatten() {
                wake = wake.min(c.wake);
            }
            let sending = self
                .publisher
                .as_ref()
                .is_some_and(|c| c.connected.is_some());
            if sending {
                wake = wake.min(next_frame);
            }
            tokio::select! {
                msg = self.ws.next() => match msg {
                    Some(Ok(Message::Text(text))) => self.signaling(&text).await?,
                    Some(Ok(_)) => {}
                    _ => return Err(format!("{}: the server closed signaling", self.user)),
                },
                r = recv(&pub_sock, &mut buf_pub) => {
                    if let (Some((n, from)), Some(c)) = (r, self.publisher.as_mut()) {
                        c.receive(&buf_pub[..n], from, &mut events);
                    }
                }
                r = recv(&sub_sock, &mut buf_sub) => {
                    if let (Some((n, from)), Some(c)) = (r, self.subscriber.as_mut()) {
                        c.receive(&buf_sub[..n], from, &mut events);
                        self.count(&mut events, start);
                    }
                }
                _ = tokio::time::sleep_until(wake.into()) => {
                    let now = Instant::now();
                    if let Some(c) = self.publisher.as_mut() {
                        if c.wake <= now { c.tick(&mut events); }
                    }
                    if let Some(c) = self.subscriber.as_mut() {
                        if c.wake <= now { c.tick(&mut events); }
                    }
                    self.count(&mut events, start);
                    if sending && next_frame <= now {
                        self.send_frame();
                        next_frame += frame_interval;
                        // Behind (a stalled machine): skip ahead, never burst.
                        if next_frame < now { next_frame = now + frame_interval; }
                    }
                }
            }
            events.clear();
        }
        if let (Role::Publisher { .. }, Some(call_id)) = (&self.role, self.call_id.clone()) {
            let _ = self.send(ClientMsg::Hangup { call_id }).await;
        }
        let _ = self.ws.close(None).await;
        Ok(Report {
            publisher: matches!(self.role, Role::Publisher { .. }),
            connected: match self.role {
                Role::Publisher { .. } => self
                    .publisher
                    .as_ref()
                    .is_some_and(|c| c.connected.is_some()),
                Role::Subscriber => self
                    .subscriber
                    .as_ref()
                    .is_some_and(|c| c.connected.is_some()),
            },
            frames_sent: self.frames_sent,
            received: self.tally.totals(),
            send_drops: [&self.publisher, &self.subscriber]
                .into_iter()
                .flatten()
                .map(|c| c.send_drops)
                .sum(),
            first_packet: self
                .first_packet
                .map(|t| t.saturating_duration_since(start)),
        })
    }

    /// Count the subscriber connection's video packets among `events`.
    fn count(&mut self, events: &mut Vec<Event>, start: Instant) {
        let Some(sub) = self.subscriber.as_mut() else {
            return;
        };
        for e in events.drain(..) {
            let Event::RtpPacket(pkt) = e else { continue };
            let video = sub
                .rtc
                .direct_api()
                .stream_rx(&pkt.header.ssrc)
                .is_some_and(|rx| self.video_mids.contains(&rx.mid().to_string()));
            if !video {
                continue;
            }
            let now = Instant::now();
            self.first_packet.get_or_insert(now);
            self.live.packets_received.fetch_add(1, Relaxed);
            self.tally
                .packet(*pkt.header.ssrc, *pkt.seq_no, pkt.header.marker, now, start);
        }
    }

    /// The clip's next access unit, with this publisher's running RTP time.
    fn send_frame(&mut self) {
        let (Some(conn), Some(mid)) = (self.publisher.as_mut(), self.video_mid) else {
            return;
        };
        let clip = &self.clip;
        let au = clip.frames[(self.frames_sent % clip.frames.len() as u64) as usize].clone();
        let ticks = self.frames_sent * 90_000 / u64::from(clip.fps.max(1));
        let Some(writer) = conn.rtc.writer(mid) else {
            return;
        };
        let time = MediaTime::new(ticks, Frequency::NINETY_KHZ);
        if writer
            .write(H264_PT.into(), Instant::now(), time, au)
            .is_ok()
        {
            self.frames_sent += 1;
            self.live.frames_sent.fetch_add(1, Relaxed);
        }
        let mut events = Vec::new();
        conn.drain(&mut events);
    }

    async fn signaling(&mut self, text: &str) -> Result<(), String> {
        let Ok(msg) = serde_json::from_str::<ServerMsg>(text) else {
            return Ok(());
        };
        match msg {
            ServerMsg::Response {
                code,
                message,
                call,
                sdp,
                seq,
                ..
            } => {
                if code != 0 {
                    return Err(format!(
                        "{}: request {seq} refused ({code}: {message})",
                        self.user
                    ));
                }
                if let Some(call) = call {
                    self.call_changed(call).await?;
                }
                if let (Some(answer), Some((pending_seq, _))) = (sdp, &self.pending) {
                    if *pending_seq == seq {
                        let (_, pending) = self.pending.take().expect("checked");
                        let answer = SdpAnswer::from_sdp_string(&answer)
                            .map_err(|e| format!("{}: the SFU's answer: {e}", self.user))?;
                        let conn = self.publisher.as_mut().expect("publishing");
                        conn.rtc
                            .sdp_api()
                            .accept_answer(pending, answer)
                            .map_err(|e| format!("{}: the SFU's answer: {e}", self.user))?;
                        conn.drain(&mut Vec::new());
                    }
                }
            }
            ServerMsg::CallUpdate { call } => self.call_changed(call).await?,
            ServerMsg::MediaOffer {
                call_id,
                revision,
                sdp,
                tracks,
            } => {
                for t in tracks.iter().filter(|t| t.kind == "video") {
                    self.video_mids.insert(t.mid.clone());
                }
                if self.subscriber.is_none() {
                    let conn = Conn::new(self.ip, true)
                        .await
                        .map_err(|e| format!("{}: socket: {e}", self.user))?;
                    self.subscriber = Some(conn);
                }
                let conn = self.subscriber.as_mut().expect("just made");
                let offer = SdpOffer::from_sdp_string(&sdp)
                    .map_err(|e| format!("{}: the SFU's offer: {e}", self.user))?;
                let answer = conn
                    .rtc
                    .sdp_api()
                    .accept_offer(offer)
                    .map_err(|e| format!("{}: the SFU's offer: {e}", self.user))?
                    .to_sdp_string();
                conn.drain(&mut Vec::new());
                self.send(ClientMsg::MediaAnswer {
                    call_id,
                    revision,
                    sdp: answer,
                })
                .await?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Accept when invited; publish once in the active call.
    async fn call_changed(&mut self, call: CallInfo) -> Result<(), String> {
        if call.state == CallState::Ended {
            return Ok(());
        }
        let me = call.participant(&self.user).map(|p| p.state);
        self.call_id.get_or_insert_with(|| call.call_id.clone());
        let invited = me == Some(ParticipantState::Ringing);
        if invited && matches!(self.role, Role::Subscriber) && !self.accepted {
            self.accepted = true;
            self.send(ClientMsg::Accept {
                call_id: call.call_id.clone(),
            })
            .await?;
        }
        if call.state == CallState::Active
            && me == Some(ParticipantState::InCall)
            && !self.published
        {
            self.published = true;
            self.publish(call.call_id).await?;
        }
        Ok(())
    }

    async fn publish(&mut self, call_id: String) -> Result<(), String> {
        let mut conn = Conn::new(self.ip, false)
            .await
            .map_err(|e| format!("{}: socket: {e}", self.user))?;
        let kind = match self.role {
            Role::Publisher { .. } => MediaKind::Video,
            Role::Subscriber => MediaKind::Audio,
        };
        let mut api = conn.rtc.sdp_api();
        let mid = api.add_media(
            kind,
            Direction::SendOnly,
            Some(self.user.clone()),
            None,
            None,
        );
        let (offer, pending) = api
            .apply()
            .ok_or_else(|| format!("{}: no offer", self.user))?;
        if kind == MediaKind::Video {
            self.video_mid = Some(mid);
        }
        self.publisher = Some(conn);
        let seq = self
            .send(ClientMsg::MediaPublish {
                call_id,
                sdp: offer.to_sdp_string(),
                ice_restart: false,
            })
            .await?;
        self.pending = Some((seq, pending));
        Ok(())
    }
}

async fn recv(
    sock: &Option<Arc<tokio::net::UdpSocket>>,
    buf: &mut [u8],
) -> Option<(usize, std::net::SocketAddr)> {
    match sock {
        Some(s) => s.recv_from(buf).await.ok(),
        None => std::future::pending().await,
    }
}
