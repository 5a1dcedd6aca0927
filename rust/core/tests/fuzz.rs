//! Seeded pseudo-random sequences of inputs, checked against invariants.
//!
//! A tiny simulated "world" holds calls whose snapshots evolve like the
//! server's (participants only move forward: Ringing → InCall → Gone), and
//! every step feeds the core one random input: a command, a push of any
//! version of any call (so duplicates and reordering happen all the time), a
//! response to any outstanding request (or a stray one), connects,
//! disconnects, kicks and ticks.
//!
//! Invariants: no panic; `poll_output` ends with a `Timeout` in the future;
//! nothing is sent while disconnected; per call at most one `CallReceived`
//! and, per episode, at most one `CallBegin` and one terminal event, with no
//! event after the terminal one (a new episode may start only after this
//! device asked to `Join` that call again); events of two calls never
//! interleave (one current call at a time); every command id completes
//! exactly once.

mod common;

use std::collections::{HashMap, HashSet};

use common::{dev, T0};
use hotline_core::{CallCore, CallParams, Command, CoreConfig, Event, Input, Output};
use hotline_proto::{
    CallInfo, CallState, ClientMsg, EndReason, ErrorCode, LoginResult, MediaType, Participant,
    ParticipantState, RecordFilter, ServerMsg,
};

const ME: &str = "me";
const OTHERS: [&str; 5] = ["a", "b", "c", "d", "e"];

/// xorshift64*.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// One call in the simulated server, with every version it ever had.
struct WorldCall {
    info: CallInfo,
    history: Vec<CallInfo>,
}

impl WorldCall {
    fn new(
        id: String,
        caller: &str,
        caller_device: Option<String>,
        callees: &[String],
        media: MediaType,
        rng: &mut Rng,
    ) -> WorldCall {
        let mut participants = vec![Participant {
            device_id: caller_device,
            joined_at_ms: Some(T0),
            ..Participant::new(caller, ParticipantState::InCall)
        }];
        for c in callees {
            let busy = rng.chance(15);
            participants.push(Participant {
                reason: busy.then_some(EndReason::LineBusy),
                inviter_id: caller.into(),
                ..Participant::new(
                    c,
                    if busy {
                        ParticipantState::Gone
                    } else {
                        ParticipantState::Ringing
                    },
                )
            });
        }
        let info = CallInfo {
            call_id: id.clone(),
            version: 1,
            room_id: format!("room-{id}"),
            caller_id: caller.into(),
            media_type: media,
            is_group: callees.len() > 1,
            state: CallState::Ringing,
            participants,
            timeout_s: 30,
            user_data: String::new(),
            chat_group_id: String::new(),
            created_at_ms: T0,
            began_at_ms: None,
            ended_at_ms: None,
            end_reason: None,
        };
        let mut call = WorldCall {
            history: vec![],
            info,
        };
        if call.info.count(ParticipantState::Ringing) == 0 {
            call.end_now(EndReason::LineBusy, 0);
        } else {
            call.history.push(call.info.clone());
        }
        call
    }

    fn commit(&mut self) -> CallInfo {
        self.info.version += 1;
        self.history.push(self.info.clone());
        self.info.clone()
    }

    fn end_now(&mut self, reason: EndReason, t: i64) {
        for p in self.info.participants.iter_mut() {
            if p.state != ParticipantState::Gone {
                let ringing = p.state == ParticipantState::Ringing;
                p.state = ParticipantState::Gone;
                p.reason = Some(if ringing && reason != EndReason::NoResponse {
                    EndReason::Canceled
                } else {
                    reason
                });
                p.left_at_ms = Some(t);
            }
        }
        self.info.state = CallState::Ended;
        self.info.ended_at_ms = Some(t);
        self.info.end_reason = Some(reason);
        self.info.version += 1;
        self.history.push(self.info.clone());
    }

    /// End the call if too few are left (like the server's `settle`).
    fn settle(&mut self, cause: EndReason, t: i64) -> CallInfo {
        let in_call = self.info.count(ParticipantState::InCall);
        let ringing = self.info.count(ParticipantState::Ringing);
        if self.info.state != CallState::Ended && (in_call + ringing < 2 || in_call == 0) {
            self.end_now(cause, t);
            return self.info.clone();
        }
        self.commit()
    }

    fn enter(&mut self, user: &str, device: String, t: i64) {
        if self.info.participant(user).is_none() {
            self.info
                .participants
                .push(Participant::new(user, ParticipantState::Ringing));
            self.info.is_group = true;
        }
        let p = self.info.participant_mut(user).expect("just added");
        p.state = ParticipantState::InCall;
        p.device_id = Some(device);
        p.joined_at_ms = Some(t);
        if self.info.state == CallState::Ringing {
            self.info.state = CallState::Active;
            self.info.began_at_ms = Some(t);
        }
    }

    /// One random forward step; None when the call is over.
    fn step(&mut self, rng: &mut Rng, t: i64) -> Option<CallInfo> {
        if self.info.state == CallState::Ended {
            return None;
        }
        match rng.below(10) {
            0 => {
                self.end_now(
                    *rng.pick(&[
                        EndReason::Hangup,
                        EndReason::Canceled,
                        EndReason::NoResponse,
                        EndReason::EndByServer,
                    ]),
                    t,
                );
                return Some(self.info.clone());
            }
            1 if self.info.media_type == MediaType::Video => {
                self.info.media_type = MediaType::Audio;
                return Some(self.commit());
            }
            2 => {
                let user = *rng.pick(&OTHERS);
                if self.info.participant(user).is_none() {
                    self.info.participants.push(Participant {
                        inviter_id: self.info.caller_id.clone(),
                        ..Participant::new(user, ParticipantState::Ringing)
                    });
                    self.info.is_group = true;
                    return Some(self.commit());
                }
            }
            _ => {}
        }
        let live: Vec<String> = self
            .info
            .participants
            .iter()
            .filter(|p| p.state != ParticipantState::Gone)
            .map(|p| p.user_id.clone())
            .collect();
        if live.is_empty() {
            self.end_now(EndReason::Unknown, t);
            return Some(self.info.clone());
        }
        let user = rng.pick(&live).clone();
        let device = if user == ME {
            if rng.chance(70) {
                dev(ME)
            } else {
                "me-tablet".to_string()
            }
        } else {
            dev(&user)
        };
        let state = self.info.participant(&user).expect("live").state;
        match state {
            ParticipantState::Ringing if rng.chance(50) => {
                self.enter(&user, device, t);
                Some(self.settle(EndReason::Hangup, t))
            }
            ParticipantState::Ringing => {
                let reason = *rng.pick(&[
                    EndReason::Reject,
                    EndReason::NoResponse,
                    EndReason::LineBusy,
                    EndReason::Canceled,
                ]);
                let p = self.info.participant_mut(&user).expect("live");
                p.state = ParticipantState::Gone;
                p.reason = Some(reason);
                if reason != EndReason::NoResponse {
                    p.device_id = Some(device);
                }
                p.left_at_ms = Some(t);
                Some(self.settle(reason, t))
            }
            _ => {
                let p = self.info.participant_mut(&user).expect("live");
                p.state = ParticipantState::Gone;
                p.reason = Some(EndReason::Hangup);
                p.left_at_ms = Some(t);
                Some(self.settle(EndReason::Hangup, t))
            }
        }
    }

    /// Apply `me`'s answer from this device, if it is valid now.
    fn my_action(&mut self, msg: &ClientMsg, t: i64) -> Option<CallInfo> {
        let me = self.info.participant(ME)?.clone();
        if self.info.state == CallState::Ended {
            return None;
        }
        match (msg, me.state) {
            (ClientMsg::Accept { .. }, ParticipantState::Ringing) => {
                self.enter(ME, dev(ME), t);
                Some(self.settle(EndReason::Hangup, t))
            }
            (
                ClientMsg::Reject { .. } | ClientMsg::Ignore { .. } | ClientMsg::Hangup { .. },
                ParticipantState::Ringing,
            ) => {
                let reason = if matches!(msg, ClientMsg::Ignore { .. }) {
                    EndReason::LineBusy
                } else {
                    EndReason::Reject
                };
                let p = self.info.participant_mut(ME).expect("me");
                p.state = ParticipantState::Gone;
                p.reason = Some(reason);
                p.device_id = Some(dev(ME));
                p.left_at_ms = Some(t);
                Some(self.settle(reason, t))
            }
            (ClientMsg::Hangup { .. }, ParticipantState::InCall) => {
                if self.info.caller_id == ME && self.info.state == CallState::Ringing {
                    self.end_now(EndReason::Canceled, t);
                    return Some(self.info.clone());
                }
                let p = self.info.participant_mut(ME).expect("me");
                p.state = ParticipantState::Gone;
                p.reason = Some(EndReason::Hangup);
                p.left_at_ms = Some(t);
                Some(self.settle(EndReason::Hangup, t))
            }
            (ClientMsg::SwitchMedia { .. }, _) if self.info.media_type == MediaType::Video => {
                self.info.media_type = MediaType::Audio;
                Some(self.commit())
            }
            _ => None,
        }
    }
}

/// Per-call bookkeeping of the events seen.
#[derive(Default)]
struct CallLog {
    received: u32,
    begun: bool,
    terminated: bool,
    rejoin_allowed: bool,
    media_changed: bool,
    /// Other participants as this device's events describe them.
    users: HashMap<String, ParticipantState>,
}

struct Run {
    rng: Rng,
    core: CallCore,
    now: u64,
    connected: bool,
    login_seq: Option<u64>,
    outstanding: Vec<(u64, ClientMsg)>,
    world: Vec<WorldCall>,
    next_call: u32,
    next_cmd: u64,
    issued: HashSet<u64>,
    completed: HashSet<u64>,
    calls: HashMap<String, CallLog>,
    open: Option<String>,
    trace: Vec<String>,
}

impl Run {
    fn new(seed: u64) -> Run {
        let core = CallCore::new(CoreConfig {
            sdk_app_id: 1,
            user_id: ME.into(),
            user_sig: "sig".into(),
            device_id: dev(ME),
            multi_device: seed & 1 == 0,
        });
        Run {
            rng: Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
            core,
            now: 0,
            connected: false,
            login_seq: None,
            outstanding: vec![],
            world: vec![],
            next_call: 0,
            next_cmd: 1,
            issued: HashSet::new(),
            completed: HashSet::new(),
            calls: HashMap::new(),
            open: None,
            trace: vec![],
        }
    }

    fn fail(&self, why: String) -> ! {
        let tail: Vec<&String> = self
            .trace
            .iter()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        panic!(
            "{why}\n--- last steps ---\n{}",
            tail.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    fn t(&self) -> i64 {
        T0 + self.now as i64
    }

    fn feed(&mut self, input: Input) {
        self.trace.push(format!("@{} {input:?}", self.now));
        if let Input::Command {
            command: Command::Join { call_id },
            ..
        } = &input
        {
            self.calls
                .entry(call_id.clone())
                .or_default()
                .rejoin_allowed = true;
        }
        match &input {
            Input::Connected => self.connected = true,
            Input::Disconnected => {
                self.connected = false;
                self.outstanding.clear();
                self.login_seq = None;
            }
            _ => {}
        }
        self.core.handle(input, self.now);
        let mut n = 0;
        loop {
            n += 1;
            if n > 10_000 {
                self.fail("poll_output never returned Timeout".into());
            }
            match self.core.poll_output() {
                Output::Timeout(at) => {
                    if at <= self.now {
                        self.fail(format!("Timeout({at}) is not after now ({})", self.now));
                    }
                    return;
                }
                o => self.output(o),
            }
        }
    }

    fn output(&mut self, o: Output) {
        self.trace.push(format!("   -> {o:?}"));
        match o {
            Output::Send(f) => {
                if !self.connected {
                    self.fail(format!("sent {:?} while disconnected", f.msg.type_name()));
                }
                if let ClientMsg::Login { .. } = f.msg {
                    self.login_seq = Some(f.seq);
                } else {
                    self.outstanding.push((f.seq, f.msg));
                }
            }
            Output::MediaOffer { revision, .. } => {
                self.fail(format!("media offer {revision} that the server never sent"));
            }
            Output::CommandDone { id, .. } => {
                if !self.issued.contains(&id) {
                    self.fail(format!("CommandDone for unknown id {id}"));
                }
                if !self.completed.insert(id) {
                    self.fail(format!("command {id} completed twice"));
                }
            }
            Output::Disconnect { .. } => {
                if self.connected {
                    self.feed(Input::Disconnected);
                }
            }
            Output::LoginDone(_) | Output::IceServers(_) => {}
            Output::Event(e) => self.event(e),
            Output::Timeout(_) => unreachable!("handled by feed"),
        }
    }

    fn event(&mut self, e: Event) {
        let Some(call_id) = e.call_id().map(str::to_string) else {
            return;
        };
        if let Some(open) = &self.open {
            if *open != call_id {
                self.fail(format!(
                    "event {} for {call_id} while {open} is open",
                    e.name()
                ));
            }
        }
        let log = self.calls.entry(call_id.clone()).or_default();
        if log.terminated {
            if !log.rejoin_allowed {
                let why = format!("event {} for {call_id} after its terminal event", e.name());
                self.fail(why);
            }
            // A new episode after joining again.
            log.terminated = false;
            log.begun = false;
            log.rejoin_allowed = false;
            log.media_changed = false;
            log.users.clear();
        }
        // Other participants' events must follow Ringing → InCall → Gone.
        let user_move = match &e {
            Event::UserInviting { user_id, .. } => Some((user_id, ParticipantState::Ringing)),
            Event::UserJoin { user_id, .. } => Some((user_id, ParticipantState::InCall)),
            Event::UserLeave { user_id, .. }
            | Event::UserReject { user_id, .. }
            | Event::UserNoResponse { user_id, .. }
            | Event::UserLineBusy { user_id, .. } => Some((user_id, ParticipantState::Gone)),
            _ => None,
        };
        if let Some((user, to)) = user_move {
            let from = log.users.get(user).copied();
            let ok = match (&e, from, to) {
                (_, None, _) => true,
                (Event::UserLeave { .. }, Some(ParticipantState::InCall), _) => true,
                (Event::UserLeave { .. }, _, _) => false,
                (
                    _,
                    Some(ParticipantState::Ringing),
                    ParticipantState::InCall | ParticipantState::Gone,
                ) => true,
                _ => false,
            };
            let ok = ok && !(matches!(e, Event::UserLeave { .. }) && from.is_none());
            if !ok {
                let why = format!("{} for {user} in {call_id} after {from:?}", e.name());
                self.fail(why);
            }
            log.users.insert(user.clone(), to);
        }
        if let Event::CallMediaTypeChanged { .. } = e {
            if log.media_changed {
                self.fail(format!("second media change in {call_id}"));
            }
            log.media_changed = true;
        }
        match &e {
            Event::CallReceived { .. } => {
                log.received += 1;
                if log.received > 1 {
                    self.fail(format!("second CallReceived for {call_id}"));
                }
            }
            Event::CallBegin { .. } => {
                if log.begun {
                    self.fail(format!("second CallBegin for {call_id}"));
                }
                log.begun = true;
            }
            _ => {}
        }
        if e.is_terminal() {
            let log = self.calls.get_mut(&call_id).expect("exists");
            log.terminated = true;
            self.open = None;
        } else {
            self.open = Some(call_id);
        }
    }

    fn new_call_id(&mut self) -> String {
        self.next_call += 1;
        format!("c{}", self.next_call)
    }

    fn random_command(&mut self) -> Command {
        let r = &mut self.rng;
        let users: Vec<String> = (0..r.below(4))
            .map(|_| r.pick(&["a", "b", "c", "me", "bad id", "d"]).to_string())
            .collect();
        match r.below(12) {
            0 | 1 => Command::Calls {
                user_ids: users,
                media_type: *r.pick(&[MediaType::Audio, MediaType::Video]),
                params: CallParams {
                    timeout_s: *r.pick(&[0, 0, 5, 30]),
                    is_group: r.chance(30),
                    ..Default::default()
                },
            },
            2 => Command::Accept,
            3 => Command::Reject,
            4 => Command::Ignore,
            5 => Command::Hangup,
            6 => Command::InviteUser {
                user_ids: users,
                timeout_s: 0,
            },
            7 => {
                let id = if !self.world.is_empty() && r.chance(80) {
                    self.world[r.below(self.world.len() as u64) as usize]
                        .info
                        .call_id
                        .clone()
                } else {
                    "nope".into()
                };
                Command::Join { call_id: id }
            }
            8 => Command::SwitchCallMediaType {
                media_type: *r.pick(&[MediaType::Audio, MediaType::Video]),
            },
            9 => Command::EnableMultiDeviceAbility {
                enabled: r.chance(50),
            },
            10 => Command::QueryRecentCalls {
                filter: RecordFilter::default(),
            },
            _ => Command::SetSelfInfo {
                nickname: "n".into(),
                avatar_url: String::new(),
            },
        }
    }

    /// Answer one outstanding request (or a stray seq).
    fn respond(&mut self) {
        if self.outstanding.is_empty() || self.rng.chance(5) {
            let seq = self.rng.below(1000);
            self.feed(Input::Frame(ServerMsg::ok(seq)));
            return;
        }
        let i = self.rng.below(self.outstanding.len() as u64) as usize;
        let (seq, msg) = if self.rng.chance(10) {
            self.outstanding[i].clone()
        } else {
            self.outstanding.remove(i)
        };
        let t = self.t();
        let fail = self.rng.chance(20);
        let err = |code: ErrorCode| ServerMsg::err(seq, code, "no");
        let reply = match &msg {
            ClientMsg::Call {
                user_ids,
                media_type,
                ..
            } if !fail => {
                let id = self.new_call_id();
                let device = if self.rng.chance(70) {
                    Some(dev(ME))
                } else {
                    None
                };
                let call = WorldCall::new(id, ME, device, user_ids, *media_type, &mut self.rng);
                let snap = call.info.clone();
                self.world.push(call);
                ServerMsg::ok_call(seq, snap)
            }
            ClientMsg::Join { call_id }
            | ClientMsg::Accept { call_id }
            | ClientMsg::Reject { call_id }
            | ClientMsg::Ignore { call_id }
            | ClientMsg::Hangup { call_id }
            | ClientMsg::SwitchMedia { call_id, .. }
                if !fail =>
            {
                let Some(call) = self.world.iter_mut().find(|c| &c.info.call_id == call_id) else {
                    self.feed(Input::Frame(err(ErrorCode::RequestRefused)));
                    return;
                };
                let snap = if let ClientMsg::Join { .. } = msg {
                    let me_gone = call
                        .info
                        .participant(ME)
                        .is_some_and(|p| p.state == ParticipantState::Gone);
                    if call.info.state == CallState::Ended || me_gone {
                        None
                    } else {
                        call.enter(ME, dev(ME), t);
                        Some(call.settle(EndReason::Hangup, t))
                    }
                } else {
                    call.my_action(&msg, t)
                };
                match snap {
                    Some(s) => ServerMsg::ok_call(seq, s),
                    None => ServerMsg::Response {
                        seq,
                        code: ErrorCode::RequestRefused.as_i32(),
                        message: "no".into(),
                        login: None,
                        call: Some(call.info.clone()),
                        records: None,
                        sdp: None,
                    },
                }
            }
            _ if fail => err(*self.rng.pick(&[
                ErrorCode::RequestRefused,
                ErrorCode::ServerError,
                ErrorCode::ParamInvalid,
            ])),
            _ => ServerMsg::ok(seq),
        };
        self.feed(Input::Frame(reply));
    }

    fn push_update(&mut self) {
        let r = self.rng.below(10);
        if r < 2 || self.world.is_empty() {
            // A new call.
            let id = self.new_call_id();
            let caller = *self.rng.pick(&OTHERS);
            let mut callees: Vec<String> = vec![];
            if self.rng.chance(85) {
                callees.push(ME.into());
            }
            for u in OTHERS {
                if u != caller && self.rng.chance(25) {
                    callees.push(u.into());
                }
            }
            if callees.is_empty() {
                callees.push(if caller == "a" {
                    "b".into()
                } else {
                    "a".into()
                });
            }
            let media = *self.rng.pick(&[MediaType::Audio, MediaType::Video]);
            let call = WorldCall::new(
                id,
                caller,
                Some(dev(caller)),
                &callees,
                media,
                &mut self.rng,
            );
            let snap = call.info.clone();
            self.world.push(call);
            self.feed(Input::Frame(ServerMsg::CallUpdate { call: snap }));
            return;
        }
        let i = self.rng.below(self.world.len() as u64) as usize;
        let t = self.t();
        let snap = if r < 7 {
            let call = &mut self.world[i];
            match call.step(&mut self.rng, t) {
                Some(s) => s,
                None => call.info.clone(),
            }
        } else {
            // Any older version: duplicates and reordering.
            let call = &self.world[i];
            call.history[self.rng.below(call.history.len() as u64) as usize].clone()
        };
        self.feed(Input::Frame(ServerMsg::CallUpdate { call: snap }));
    }

    fn answer_login(&mut self) {
        let Some(seq) = self.login_seq.take() else {
            return;
        };
        let msg = match self.rng.below(20) {
            0 => ServerMsg::err(seq, ErrorCode::UserSigExpired, "expired"),
            1 => ServerMsg::err(seq, ErrorCode::ServerError, "busy"),
            2 => ServerMsg::err(seq, ErrorCode::UserSigInvalid, "bad"),
            _ => {
                let calls: Vec<CallInfo> = self
                    .world
                    .iter()
                    .filter(|c| self.rng.chance(60) && c.info.participant(ME).is_some())
                    .map(|c| c.info.clone())
                    .collect();
                ServerMsg::Response {
                    seq,
                    code: 0,
                    message: String::new(),
                    login: Some(LoginResult {
                        server_time_ms: self.t(),
                        heartbeat_interval_s: *self.rng.pick(&[1, 5, 20]),
                        idle_timeout_s: 60,
                        calls,
                        ice_servers: vec![],
                    }),
                    call: None,
                    records: None,
                    sdp: None,
                }
            }
        };
        self.feed(Input::Frame(msg));
    }

    fn step(&mut self) {
        match self.rng.below(100) {
            0..=9 => {
                self.now += self.rng.below(12_000);
                self.feed(Input::Tick);
            }
            10..=14 => {
                if !self.connected || self.rng.chance(20) {
                    self.feed(Input::Connected);
                }
            }
            15..=17 => {
                if self.connected {
                    self.feed(Input::Disconnected);
                }
            }
            18..=25 => self.answer_login(),
            26..=45 => {
                let id = self.next_cmd;
                self.next_cmd += 1;
                self.issued.insert(id);
                let command = self.random_command();
                self.feed(Input::Command { id, command });
            }
            46..=70 => {
                if self.connected {
                    self.respond();
                }
            }
            71..=97 => {
                if self.connected {
                    self.push_update();
                }
            }
            _ => {
                let msg = match self.rng.below(3) {
                    0 => ServerMsg::KickedOffline {
                        message: "elsewhere".into(),
                    },
                    1 => ServerMsg::UserSigExpired,
                    _ => ServerMsg::Error {
                        code: -1,
                        message: "x".into(),
                    },
                };
                if self.connected && self.rng.chance(30) {
                    self.feed(Input::Frame(msg));
                }
            }
        }
        self.now += self.rng.below(300);
    }

    fn finish(&mut self) {
        // Let every request time out.
        for _ in 0..3 {
            self.now += 30_000;
            self.feed(Input::Tick);
        }
        let missing: Vec<&u64> = self.issued.difference(&self.completed).collect();
        if !missing.is_empty() {
            self.fail(format!("commands never completed: {missing:?}"));
        }
    }
}

#[test]
fn random_sequences_keep_the_invariants() {
    let runs: u64 = std::env::var("HOTLINE_FUZZ_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let mut stats = HashMap::<&'static str, u64>::new();
    for seed in 1..=runs {
        let mut run = Run::new(seed);
        let steps = 50 + run.rng.below(250);
        for _ in 0..steps {
            run.step();
        }
        run.finish();
        for line in &run.trace {
            for name in [
                "CallReceived",
                "CallBegin",
                "CallEnd",
                "CallNotConnected",
                "UserJoin",
                "UserLeave",
                "OtherDevice",
                "UserLineBusy",
            ] {
                if line.starts_with("   -> Event(") && line.contains(name) {
                    *stats.entry(name).or_default() += 1;
                }
            }
        }
    }
    // The generator must actually reach the interesting paths.
    for name in [
        "CallReceived",
        "CallBegin",
        "CallEnd",
        "CallNotConnected",
        "UserJoin",
        "UserLeave",
        "OtherDevice",
        "UserLineBusy",
    ] {
        assert!(
            stats.get(name).copied().unwrap_or(0) > 0,
            "no {name} in {runs} runs: {stats:?}"
        );
    }
    eprintln!("event counts over {runs} runs: {stats:?}");
}
