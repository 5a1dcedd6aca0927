//! The hub: one task that owns the call registry and knows every logged-in
//! device. Sessions send it logins and call requests; it applies them to the
//! registry in arrival order (which is what makes glare deterministic),
//! pushes the new snapshots to every device of every participant, persists
//! them, and then answers.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hotline_proto::push::PushKind;
use hotline_proto::{CallInfo, ClientMsg, EndReason, LoginResult, ServerMsg};
use rand::Rng;
use tokio::sync::{mpsc, oneshot, watch, Notify};

use crate::metrics::Metrics;
use crate::push::ringing::{RingChange, Ringing};
use crate::push::{Push, PushJob, CANCEL_TTL_MS};
use crate::registry::{Change, NewCall, Refusal, Registry};
use crate::sfu::{Cmd, Sfu};
use crate::store::Store;
use crate::turn::TurnCredentials;
use crate::writer::{Persist, Watermark, Writer};

/// Unix time in milliseconds.
pub fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Something for a session to write to its socket.
#[derive(Debug)]
pub enum Outbound {
    /// A serialised [`ServerMsg`].
    Text(String),
    /// Close the connection with this WebSocket close code and reason.
    Close(u16, String),
}

/// A session's mailbox. Bounded: a client too slow to drain it is disconnected
/// rather than allowed to hold up everyone else.
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::Sender<Outbound>,
    kill: Arc<Notify>,
}

/// Capacity of each session's mailbox.
pub const OUTBOX_CAPACITY: usize = 64;

impl Outbox {
    /// A mailbox, the receiver its session drains, and the notify that tells
    /// the session to drop the connection at once.
    pub fn new() -> (Outbox, mpsc::Receiver<Outbound>, Arc<Notify>) {
        let (tx, rx) = mpsc::channel(OUTBOX_CAPACITY);
        let kill = Arc::new(Notify::new());
        (
            Outbox {
                tx,
                kill: kill.clone(),
            },
            rx,
            kill,
        )
    }

    /// Queue a message; a full mailbox kills the connection.
    pub fn send(&self, msg: &ServerMsg) {
        self.push(Outbound::Text(
            serde_json::to_string(msg).expect("ServerMsg serialises"),
        ));
    }

    fn push(&self, out: Outbound) {
        if self.tx.try_send(out).is_err() {
            self.kill.notify_one();
        }
    }

    /// Ask the session to close the connection.
    pub fn close(&self, code: u16, reason: &str) {
        self.push(Outbound::Close(code, reason.to_string()));
    }
}

/// A request from a session.
pub enum HubMsg {
    /// A device finished authentication.
    Login {
        /// The connection.
        conn_id: u64,
        /// Who.
        user_id: String,
        /// Which device.
        device_id: String,
        /// Multi-device ringing.
        multi_device: bool,
        /// Calls the client asks about.
        known_calls: Vec<String>,
        /// Where to push messages.
        outbox: Outbox,
        /// The login result (calls to resume).
        reply: oneshot::Sender<LoginResult>,
    },
    /// A call-control request from a logged-in device.
    Request {
        /// The connection.
        conn_id: u64,
        /// Who.
        user_id: String,
        /// Which device.
        device_id: String,
        /// The request's seq.
        seq: u64,
        /// The request.
        msg: ClientMsg,
    },
    /// The server ends these calls (the SFU worker carrying them failed).
    EndCalls {
        /// The calls.
        call_ids: Vec<String>,
        /// Why.
        reason: EndReason,
    },
    /// A connection closed.
    Closed {
        /// The connection.
        conn_id: u64,
        /// Who, if it had logged in.
        user_id: String,
    },
}

struct Device {
    conn_id: u64,
    device_id: String,
    multi_device: bool,
    outbox: Outbox,
}

/// Most requests applied before one commit.
const MAX_BATCH: usize = 256;

/// Work applied to the registry but not yet handed to the writer.
#[derive(Default)]
struct Batch {
    change: Change,
    replies: Vec<(Outbox, ServerMsg)>,
    logins: Vec<(oneshot::Sender<LoginResult>, LoginResult)>,
    /// Commands for the SFU, sent after the batch is persisted and answered.
    sfu: Vec<Cmd>,
}

/// The hub's state.
pub struct Hub {
    batch: Batch,
    registry: Registry,
    store: Store,
    /// Numbers batches for readers that wait for them to be stored.
    watermark: Watermark,
    metrics: Arc<Metrics>,
    devices: HashMap<String, Vec<Device>>,
    heartbeat_interval_s: u32,
    idle_timeout_s: u32,
    sfu: Option<Sfu>,
    /// Unfinished calls someone published media in (the SFU hears their changes).
    media_calls: HashSet<String>,
    /// Offline push, when configured, and who rings (to know what to push).
    push: Option<(Push, Ringing)>,
    /// TURN relays and their credentials, listed in every login result.
    turn: Option<TurnCredentials>,
}

/// WebSocket close code for "policy violation", used for kicks.
pub const CLOSE_POLICY: u16 = 1008;

impl Hub {
    /// A hub over a registry restored from the store; it numbers its batches
    /// with `watermark`.
    pub fn new(
        registry: Registry,
        store: Store,
        watermark: Watermark,
        metrics: Arc<Metrics>,
        heartbeat_interval_s: u32,
        idle_timeout_s: u32,
    ) -> Hub {
        let hub = Hub {
            batch: Batch::default(),
            registry,
            store,
            watermark,
            metrics,
            devices: HashMap::new(),
            heartbeat_interval_s,
            idle_timeout_s,
            sfu: None,
            media_calls: HashSet::new(),
            push: None,
            turn: None,
        };
        hub.update_gauges();
        hub
    }

    /// Push invitations to devices that are not connected. Invitations that
    /// already ring (restored after a restart) were pushed before and are
    /// not pushed again.
    pub fn with_push(mut self, push: Push) -> Hub {
        let ringing = Ringing::from_calls(self.registry.calls());
        self.push = Some((push, ringing));
        self
    }

    /// List these TURN relays, with a fresh credential, at every login.
    pub fn with_turn(mut self, turn: TurnCredentials) -> Hub {
        self.turn = Some(turn);
        self
    }

    /// Route media requests to this SFU (without one they are refused).
    pub fn with_sfu(mut self, sfu: Sfu) -> Hub {
        self.sfu = Some(sfu);
        self
    }

    /// Run until every sender is dropped. The hub's writer advances
    /// `committed`, the sender of the hub's watermark.
    pub async fn run(mut self, mut rx: mpsc::Receiver<HubMsg>, committed: watch::Sender<u64>) {
        let writer = Writer::start(self.store.clone(), self.sfu.clone(), committed);
        loop {
            let wait = self
                .registry
                .next_deadline()
                .map(|d| Duration::from_millis((d - unix_ms()).max(0) as u64));
            let timer = async {
                match wait {
                    Some(w) => tokio::time::sleep(w).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(msg) => {
                        // Take everything already waiting, apply it, and hand
                        // it to the writer as one batch.
                        self.handle(msg).await;
                        for _ in 1..MAX_BATCH {
                            match rx.try_recv() {
                                Ok(msg) => self.handle(msg).await,
                                Err(_) => break,
                            }
                        }
                        self.flush(&writer).await;
                    }
                    None => break,
                },
                _ = timer => {
                    let change = self.registry.on_timer(unix_ms());
                    self.batch.change.merge(change);
                    self.flush(&writer).await;
                }
            }
        }
        writer.finish().await;
        self.store.close().await;
    }

    async fn handle(&mut self, msg: HubMsg) {
        match msg {
            HubMsg::Login {
                conn_id,
                user_id,
                device_id,
                multi_device,
                known_calls,
                outbox,
                reply,
            } => {
                let result = self
                    .login(
                        conn_id,
                        &user_id,
                        device_id,
                        multi_device,
                        &known_calls,
                        outbox,
                    )
                    .await;
                self.batch.logins.push((reply, result));
            }
            HubMsg::Request {
                conn_id,
                user_id,
                device_id,
                seq,
                msg,
            } => {
                self.request(conn_id, &user_id, &device_id, seq, msg).await;
            }
            HubMsg::EndCalls { call_ids, reason } => {
                for call_id in call_ids {
                    let change = self.registry.end_by_server(&call_id, reason, unix_ms());
                    self.batch.change.merge(change);
                }
            }
            HubMsg::Closed { conn_id, user_id } => self.closed(conn_id, &user_id),
        }
    }

    async fn login(
        &mut self,
        conn_id: u64,
        user_id: &str,
        device_id: String,
        multi_device: bool,
        known_calls: &[String],
        outbox: Outbox,
    ) -> LoginResult {
        let devices = self.devices.entry(user_id.to_string()).or_default();
        let was_offline = devices.is_empty();
        devices.retain(|d| {
            if d.device_id == device_id {
                d.outbox
                    .close(1000, "replaced by a newer connection from the same device");
                false
            } else if multi_device && d.multi_device {
                true
            } else {
                d.outbox.send(&ServerMsg::KickedOffline {
                    message: "logged in on another device".into(),
                });
                d.outbox.close(CLOSE_POLICY, "logged in on another device");
                false
            }
        });
        if self.sfu.is_some() {
            self.batch.sfu.push(Cmd::Rebind {
                user_id: user_id.to_string(),
                device_id: device_id.clone(),
                outbox: outbox.clone(),
            });
        }
        devices.push(Device {
            conn_id,
            device_id,
            multi_device,
            outbox,
        });
        if was_offline {
            self.metrics.users_online.fetch_add(1, Relaxed);
            self.registry.set_presence(user_id, true, unix_ms());
        }
        self.metrics.logins_total.fetch_add(1, Relaxed);
        let mut calls: Vec<CallInfo> = self
            .registry
            .calls_of(user_id)
            .into_iter()
            .cloned()
            .collect();
        for id in known_calls.iter().take(8) {
            if calls.iter().any(|c| &c.call_id == id) {
                continue;
            }
            let found = match self.registry.get(id) {
                Some(c) if c.participant(user_id).is_some() => Some(c.clone()),
                Some(_) => None,
                None => {
                    // An ended call may still be on its way to the database.
                    self.watermark.settled().await;
                    self.store
                        .call_for_user(id, user_id)
                        .await
                        .unwrap_or_else(|e| {
                            log::error!("loading call {id} for login: {e}");
                            None
                        })
                }
            };
            calls.extend(found);
        }
        LoginResult {
            server_time_ms: unix_ms(),
            heartbeat_interval_s: self.heartbeat_interval_s,
            idle_timeout_s: self.idle_timeout_s,
            calls,
            ice_servers: self
                .turn
                .iter()
                .map(|t| t.for_user(user_id, (unix_ms() / 1000) as u64))
                .collect(),
        }
    }

    fn closed(&mut self, conn_id: u64, user_id: &str) {
        let Some(devices) = self.devices.get_mut(user_id) else {
            return;
        };
        let before = devices.len();
        devices.retain(|d| d.conn_id != conn_id);
        if before == devices.len() || !devices.is_empty() {
            return;
        }
        self.devices.remove(user_id);
        self.metrics.users_online.fetch_sub(1, Relaxed);
        self.registry.set_presence(user_id, false, unix_ms());
    }

    fn outbox(&self, user_id: &str, conn_id: u64) -> Option<&Outbox> {
        self.devices
            .get(user_id)?
            .iter()
            .find(|d| d.conn_id == conn_id)
            .map(|d| &d.outbox)
    }

    async fn request(&mut self, conn_id: u64, user: &str, device: &str, seq: u64, msg: ClientMsg) {
        let now = unix_ms();
        let call_id_of = |msg: &ClientMsg| match msg {
            ClientMsg::Accept { call_id }
            | ClientMsg::Reject { call_id }
            | ClientMsg::Ignore { call_id }
            | ClientMsg::Hangup { call_id }
            | ClientMsg::Invite { call_id, .. }
            | ClientMsg::Join { call_id }
            | ClientMsg::SwitchMedia { call_id, .. }
            | ClientMsg::MediaState { call_id, .. }
            | ClientMsg::MediaView { call_id, .. } => Some(call_id.clone()),
            _ => None,
        };
        let mut target = call_id_of(&msg);
        let result: Result<Change, Refusal> = match msg {
            ClientMsg::Call {
                user_ids,
                media_type,
                room_id,
                timeout_s,
                user_data,
                chat_group_id,
                group,
                offline_push,
            } => {
                let call_id = new_call_id();
                target = Some(call_id.clone());
                let req = NewCall {
                    call_id,
                    user_ids,
                    media_type,
                    room_id,
                    timeout_s,
                    user_data,
                    chat_group_id,
                    group,
                    offline_push,
                };
                let r = self.registry.call(user, device, req, now);
                if r.is_ok() {
                    self.metrics.calls_placed_total.fetch_add(1, Relaxed);
                }
                r
            }
            ClientMsg::Accept { call_id } => self.registry.accept(user, device, &call_id, now),
            ClientMsg::Reject { call_id } => {
                self.registry
                    .decline(user, device, &call_id, EndReason::Reject, now)
            }
            ClientMsg::Ignore { call_id } => {
                self.registry
                    .decline(user, device, &call_id, EndReason::LineBusy, now)
            }
            ClientMsg::Hangup { call_id } => self.registry.hangup(user, device, &call_id, now),
            ClientMsg::Invite {
                call_id,
                user_ids,
                timeout_s,
            } => self
                .registry
                .invite(user, &call_id, &user_ids, timeout_s, now),
            ClientMsg::Join { call_id } => self.registry.join(user, device, &call_id, now),
            ClientMsg::SwitchMedia {
                call_id,
                media_type,
            } => self.registry.switch_media(user, &call_id, media_type, now),
            ClientMsg::MediaState {
                call_id,
                audio,
                video,
            } => self.registry.set_media_state(user, &call_id, audio, video),
            ClientMsg::MediaPublish {
                call_id,
                sdp,
                ice_restart,
            } => {
                let Some(outbox) = self.outbox(user, conn_id).cloned() else {
                    return;
                };
                match self.media_check(user, device, &call_id) {
                    Ok(()) => {
                        self.media_calls.insert(call_id.clone());
                        let cmd = Cmd::Publish {
                            group: self.registry.is_group(&call_id),
                            call_id,
                            user_id: user.into(),
                            device_id: device.into(),
                            sdp,
                            ice_restart,
                            seq,
                            outbox,
                        };
                        self.batch.sfu.push(cmd);
                        return;
                    }
                    Err(r) => Err(r),
                }
            }
            ClientMsg::MediaAnswer {
                call_id,
                revision,
                sdp,
            } => {
                let Some(outbox) = self.outbox(user, conn_id).cloned() else {
                    return;
                };
                match self.media_check(user, device, &call_id) {
                    Ok(()) => {
                        let cmd = Cmd::Answer {
                            call_id,
                            user_id: user.into(),
                            revision,
                            sdp,
                            seq,
                            outbox,
                        };
                        self.batch.sfu.push(cmd);
                        return;
                    }
                    Err(r) => Err(r),
                }
            }
            ClientMsg::MediaView {
                call_id,
                user_id: source_user,
                stream_type,
            } => self.media_check(user, device, &call_id).map(|()| {
                self.batch.sfu.push(Cmd::View {
                    call_id,
                    user_id: user.into(),
                    source_user,
                    stream_type,
                });
                Change::default()
            }),
            ClientMsg::SetMultiDevice { enabled } => {
                if let Some(d) = self
                    .devices
                    .get_mut(user)
                    .and_then(|ds| ds.iter_mut().find(|d| d.conn_id == conn_id))
                {
                    d.multi_device = enabled;
                }
                Ok(Change::default())
            }
            other => {
                log::error!(
                    "hub got a {} request, which sessions answer themselves",
                    other.type_name()
                );
                Err(Refusal {
                    code: hotline_proto::ErrorCode::ServerError,
                    message: "misrouted request".into(),
                })
            }
        };
        let reply = match result {
            Ok(change) => {
                let call =
                    target.and_then(|id| change.calls.iter().find(|c| c.call_id == id).cloned());
                self.batch.change.merge(change);
                match call {
                    Some(call) => ServerMsg::ok_call(seq, call),
                    None => ServerMsg::ok(seq),
                }
            }
            Err(refusal) => {
                self.metrics.error(refusal.code);
                ServerMsg::err(seq, refusal.code, refusal.message)
            }
        };
        if let Some(outbox) = self.outbox(user, conn_id) {
            self.batch.replies.push((outbox.clone(), reply));
        }
    }

    /// May `user`, on `device`, publish or subscribe media in `call_id`?
    fn media_check(&self, user: &str, device: &str, call_id: &str) -> Result<(), Refusal> {
        if self.sfu.is_none() {
            return Err(Refusal {
                code: hotline_proto::ErrorCode::SceneNotSupported,
                message: "this server has no SFU".into(),
            });
        }
        let in_call_on = self.registry.media_device(user, call_id)?;
        if in_call_on != device {
            return Err(Refusal {
                code: hotline_proto::ErrorCode::RequestRefused,
                message: "you are in this call on another device".into(),
            });
        }
        Ok(())
    }

    /// Push the batch's snapshots to every device concerned, then hand the
    /// batch to the writer, which stores it and then answers the requests and
    /// logins that made it and hands the SFU its work (so the SFU's offers
    /// follow the snapshots they depend on).
    ///
    /// Snapshots go out before the write so that a callee starts ringing
    /// without waiting for SQLite; the requester's answer still waits for
    /// it. A crash in between can only lose a change nobody was told had
    /// succeeded: the requester's engine gets no answer, and the other
    /// devices learn on reconnecting that the call is gone. See
    /// docs/adr/0005-deliver-then-acknowledge.md.
    async fn flush(&mut self, writer: &Writer) {
        let Batch {
            change,
            replies,
            logins,
            mut sfu,
        } = std::mem::take(&mut self.batch);
        if change.calls.is_empty() && replies.is_empty() && logins.is_empty() && sfu.is_empty() {
            return;
        }
        let number = self.watermark.announce();
        let mut push = HashMap::new();
        for call in &change.calls {
            if call.state == hotline_proto::CallState::Ended {
                self.metrics.calls_ended_total.fetch_add(1, Relaxed);
            }
            // Membership last: it is the state after the whole batch.
            if let Some(cmd) = self.membership_change(call) {
                sfu.push(cmd);
            }
            if let Some(p) = self.registry.offline_push(&call.call_id) {
                push.insert(call.call_id.clone(), p.clone());
            }
            self.push_ring_changes(call);
            let msg = ServerMsg::CallUpdate { call: call.clone() };
            let text = serde_json::to_string(&msg).expect("ServerMsg serialises");
            // Everyone ever invited hears every change: at most a few dozen
            // messages, and engines ignore calls they are not part of.
            for p in &call.participants {
                for d in self.devices.get(&p.user_id).into_iter().flatten() {
                    d.outbox.push(Outbound::Text(text.clone()));
                }
            }
        }
        if !change.calls.is_empty() {
            self.update_gauges();
        }
        writer
            .send(Persist {
                number,
                calls: change.calls,
                push,
                records: change.records,
                replies,
                logins,
                sfu,
            })
            .await;
    }

    /// Hand the push service who started or stopped ringing in this snapshot.
    fn push_ring_changes(&mut self, call: &CallInfo) {
        let Some((push, ringing)) = self.push.as_mut() else {
            return;
        };
        for change in ringing.update(call) {
            let (user_id, payload) = match change {
                RingChange::Ring {
                    user_id,
                    deadline_ms,
                } => {
                    let devices = self.devices.get(&user_id).map_or(&[][..], Vec::as_slice);
                    // A single-device login rings over its connection; other devices stay quiet.
                    if devices.iter().any(|d| !d.multi_device) {
                        continue;
                    }
                    let offline_push = self
                        .registry
                        .offline_push(&call.call_id)
                        .cloned()
                        .unwrap_or_default();
                    let invitees = call
                        .participants
                        .iter()
                        .filter(|p| p.user_id != call.caller_id && p.user_id != user_id)
                        .map(|p| p.user_id.clone())
                        .take(9)
                        .collect();
                    let kind = PushKind::Call {
                        caller_id: call.caller_id.clone(),
                        caller_nickname: String::new(),
                        caller_avatar: String::new(),
                        media_type: call.media_type,
                        is_group: call.is_group,
                        invitees,
                        server_url: String::new(),
                        title: offline_push.title,
                        desc: offline_push.desc,
                        ext: offline_push.ext,
                    };
                    (
                        user_id,
                        crate::push::payload(&call.call_id, deadline_ms, kind),
                    )
                }
                RingChange::Stop { user_id, reason } => {
                    let kind = PushKind::Cancel { reason };
                    let deadline_ms = unix_ms() + CANCEL_TTL_MS;
                    (
                        user_id,
                        crate::push::payload(&call.call_id, deadline_ms, kind),
                    )
                }
            };
            let connected_devices = self
                .devices
                .get(&user_id)
                .into_iter()
                .flatten()
                .map(|d| d.device_id.clone())
                .collect();
            push.submit(PushJob {
                user_id,
                connected_devices,
                payload,
                made_at: std::time::Instant::now(),
            });
        }
    }

    /// What the SFU must hear about a change of a call someone published
    /// media in: its new members, or that it ended.
    fn membership_change(&mut self, call: &CallInfo) -> Option<Cmd> {
        if !self.media_calls.contains(&call.call_id) {
            return None;
        }
        if call.state == hotline_proto::CallState::Ended {
            self.media_calls.remove(&call.call_id);
            return Some(Cmd::EndCall {
                call_id: call.call_id.clone(),
            });
        }
        let in_call = call
            .participants
            .iter()
            .filter(|p| p.state == hotline_proto::ParticipantState::InCall)
            .map(|p| (p.user_id.clone(), p.device_id.clone().unwrap_or_default()))
            .collect();
        Some(Cmd::Members {
            call_id: call.call_id.clone(),
            in_call,
        })
    }

    fn update_gauges(&self) {
        let (ringing, active) = self.registry.count_by_state();
        self.metrics.calls_ringing.store(ringing as i64, Relaxed);
        self.metrics.calls_active.store(active as i64, Relaxed);
        self.metrics
            .invitations_pending
            .store(self.registry.pending_invitations() as i64, Relaxed);
    }
}

/// A fresh random call ID (128 bits, hex).
pub fn new_call_id() -> String {
    format!("{:032x}", rand::thread_rng().gen::<u128>())
}
