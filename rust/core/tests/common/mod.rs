//! Test harness: a [`CallCore`] driven with simulated time, no IO.
//!
//! [`Phone`] feeds inputs at given times and returns everything the core put
//! out (up to its `Timeout`). [`Snap`] builds server snapshots step by step,
//! the way the server would change them.
#![allow(dead_code)]

use hotline_core::{CallCore, Command, CommandOk, CoreConfig, CoreError, Event, Input, Output};
use hotline_proto::{
    CallInfo, CallState, ClientFrame, ClientMsg, EndReason, ErrorCode, LoginResult, MediaType,
    Participant, ParticipantState, ServerMsg,
};

/// Heartbeat interval the simulated server announces, in seconds.
pub const HEARTBEAT_S: u32 = 20;
/// A Unix-ms base for snapshot timestamps.
pub const T0: i64 = 1_700_000_000_000;

/// The device ID the harness gives `user`.
pub fn dev(user: &str) -> String {
    format!("{user}-dev1")
}

/// A core under test with its simulated clock.
pub struct Phone {
    pub core: CallCore,
    pub user: String,
    pub now: u64,
    /// The last `Timeout` the core asked for.
    pub wake_at: u64,
    next_cmd: u64,
    /// Every output so far, with the time it came out.
    pub log: Vec<(u64, Output)>,
}

impl Phone {
    /// A phone for `user` on device [`dev`]`(user)`, not connected.
    pub fn new(user: &str) -> Phone {
        Phone::with_config(CoreConfig {
            sdk_app_id: 1400000001,
            user_id: user.into(),
            user_sig: "secret-sig".into(),
            device_id: dev(user),
            multi_device: false,
        })
    }

    /// A phone with an explicit config.
    pub fn with_config(config: CoreConfig) -> Phone {
        let user = config.user_id.clone();
        Phone {
            core: CallCore::new(config),
            user,
            now: 0,
            wake_at: 0,
            next_cmd: 1,
            log: vec![],
        }
    }

    /// A phone for `user` that is connected and logged in (at time 0).
    pub fn online(user: &str) -> Phone {
        let mut p = Phone::new(user);
        p.login(vec![]);
        p
    }

    /// Feed `input` at time `at` and drain the outputs (without the final Timeout).
    pub fn input_at(&mut self, input: Input, at: u64) -> Vec<Output> {
        assert!(at >= self.now, "time goes forward");
        self.now = at;
        self.core.handle(input, at);
        let mut outs = vec![];
        for _ in 0..10_000 {
            match self.core.poll_output() {
                Output::Timeout(t) => {
                    self.wake_at = t;
                    return outs;
                }
                o => {
                    self.log.push((at, o.clone()));
                    outs.push(o);
                }
            }
        }
        panic!("poll_output never returned Timeout");
    }

    /// Feed `input` now.
    pub fn input(&mut self, input: Input) -> Vec<Output> {
        self.input_at(input, self.now)
    }

    /// Let time pass until `t`, ticking at every Timeout on the way.
    pub fn advance_to(&mut self, t: u64) -> Vec<Output> {
        let mut outs = vec![];
        while self.wake_at <= t && self.wake_at >= self.now {
            let at = self.wake_at;
            outs.extend(self.input_at(Input::Tick, at));
            if self.wake_at == at {
                break;
            }
        }
        outs.extend(self.input_at(Input::Tick, t));
        outs
    }

    /// Let `ms` pass.
    pub fn advance(&mut self, ms: u64) -> Vec<Output> {
        self.advance_to(self.now + ms)
    }

    /// Connect; returns the login frame's seq and the outputs.
    pub fn connect(&mut self) -> (u64, Vec<Output>) {
        let outs = self.input(Input::Connected);
        let login = sent(&outs)
            .into_iter()
            .find(|f| matches!(f.msg, ClientMsg::Login { .. }))
            .expect("a login is sent");
        (login.seq, outs)
    }

    /// Connect and answer the login with success and `calls`; returns the outputs after the login answer.
    pub fn login(&mut self, calls: Vec<CallInfo>) -> Vec<Output> {
        let (seq, _) = self.connect();
        self.input(Input::Frame(login_ok(seq, calls)))
    }

    /// Issue a command; returns its id and the outputs.
    pub fn command(&mut self, command: Command) -> (u64, Vec<Output>) {
        let id = self.next_cmd;
        self.next_cmd += 1;
        let outs = self.input(Input::Command { id, command });
        (id, outs)
    }

    /// Issue a command that must be sent at once; returns its id and frame.
    pub fn send_command(&mut self, command: Command) -> (u64, ClientFrame) {
        let (id, outs) = self.command(command);
        let frames = sent(&outs);
        assert_eq!(frames.len(), 1, "one frame expected, got {outs:?}");
        (id, frames[0].clone())
    }

    /// Feed a server message now.
    pub fn frame(&mut self, msg: ServerMsg) -> Vec<Output> {
        self.input(Input::Frame(msg))
    }

    /// Push a call update now; returns the events it caused.
    pub fn update(&mut self, call: CallInfo) -> Vec<Event> {
        events(&self.frame(ServerMsg::CallUpdate { call }))
    }

    /// Every event so far.
    pub fn all_events(&self) -> Vec<Event> {
        self.log
            .iter()
            .filter_map(|(_, o)| {
                if let Output::Event(e) = o {
                    Some(e.clone())
                } else {
                    None
                }
            })
            .collect()
    }
}

/// A successful login response.
pub fn login_ok(seq: u64, calls: Vec<CallInfo>) -> ServerMsg {
    ServerMsg::Response {
        seq,
        code: 0,
        message: String::new(),
        login: Some(LoginResult {
            server_time_ms: T0,
            heartbeat_interval_s: HEARTBEAT_S,
            idle_timeout_s: 60,
            calls,
            ice_servers: vec![],
        }),
        call: None,
        records: None,
        sdp: None,
    }
}

/// The frames in `outs`.
pub fn sent(outs: &[Output]) -> Vec<ClientFrame> {
    outs.iter()
        .filter_map(|o| {
            if let Output::Send(f) = o {
                Some(f.clone())
            } else {
                None
            }
        })
        .collect()
}

/// The events in `outs`.
pub fn events(outs: &[Output]) -> Vec<Event> {
    outs.iter()
        .filter_map(|o| {
            if let Output::Event(e) = o {
                Some(e.clone())
            } else {
                None
            }
        })
        .collect()
}

/// The command results in `outs`.
pub fn dones(outs: &[Output]) -> Vec<(u64, Result<CommandOk, CoreError>)> {
    outs.iter()
        .filter_map(|o| {
            if let Output::CommandDone { id, result } = o {
                Some((*id, result.clone()))
            } else {
                None
            }
        })
        .collect()
}

/// The single result in `outs` for command `id`.
pub fn done_for(outs: &[Output], id: u64) -> Result<CommandOk, CoreError> {
    let d: Vec<_> = dones(outs).into_iter().filter(|(i, _)| *i == id).collect();
    assert_eq!(
        d.len(),
        1,
        "exactly one CommandDone for {id} expected in {outs:?}"
    );
    d[0].1.clone()
}

/// The error code command `id` failed with.
pub fn err_code(outs: &[Output], id: u64) -> ErrorCode {
    done_for(outs, id).expect_err("command should fail").code
}

/// Event names, for compact assertions.
pub fn names(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.name()).collect()
}

/// Builds call snapshots step by step; every change bumps the version.
#[derive(Debug, Clone)]
pub struct Snap {
    pub info: CallInfo,
}

impl Snap {
    /// Version 1 of a ringing call from `caller` (on its harness device) to `callees`.
    pub fn new(call_id: &str, caller: &str, callees: &[&str], media_type: MediaType) -> Snap {
        let mut participants = vec![Participant {
            device_id: Some(dev(caller)),
            joined_at_ms: Some(T0),
            ..Participant::new(caller, ParticipantState::InCall)
        }];
        for c in callees {
            participants.push(Participant {
                inviter_id: caller.into(),
                deadline_ms: Some(T0 + 30_000),
                ..Participant::new(*c, ParticipantState::Ringing)
            });
        }
        Snap {
            info: CallInfo {
                call_id: call_id.into(),
                version: 1,
                room_id: format!("room-{call_id}"),
                caller_id: caller.into(),
                media_type,
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
            },
        }
    }

    /// Mark it a group call (no version bump: use before the first snapshot is sent).
    pub fn group(mut self) -> Snap {
        self.info.is_group = true;
        self
    }

    /// The current snapshot.
    pub fn get(&self) -> CallInfo {
        self.info.clone()
    }

    fn p(&mut self, user: &str) -> &mut Participant {
        self.info
            .participant_mut(user)
            .unwrap_or_else(|| panic!("{user} is not a participant"))
    }

    fn bump(&mut self) -> CallInfo {
        self.info.version += 1;
        self.info.clone()
    }

    /// `user` accepts on `device` at `T0 + at_ms`.
    pub fn accept(&mut self, user: &str, device: &str, at_ms: i64) -> CallInfo {
        let t = T0 + at_ms;
        let p = self.p(user);
        p.state = ParticipantState::InCall;
        p.device_id = Some(device.into());
        p.deadline_ms = None;
        p.joined_at_ms = Some(t);
        if self.info.state == CallState::Ringing {
            self.info.state = CallState::Active;
            self.info.began_at_ms = Some(t);
        }
        self.bump()
    }

    /// `user` joins (not invited before, or gone) on `device` at `T0 + at_ms`.
    pub fn join(&mut self, user: &str, device: &str, at_ms: i64) -> CallInfo {
        if self.info.participant(user).is_none() {
            self.info
                .participants
                .push(Participant::new(user, ParticipantState::Ringing));
        }
        self.info.is_group = true;
        self.accept(user, device, at_ms)
    }

    /// `inviter` invites `user` at `T0 + at_ms` (the call becomes a group call).
    pub fn invite(&mut self, user: &str, inviter: &str, at_ms: i64) -> CallInfo {
        let p = Participant {
            inviter_id: inviter.into(),
            deadline_ms: Some(T0 + at_ms + 30_000),
            ..Participant::new(user, ParticipantState::Ringing)
        };
        match self.info.participant_mut(user) {
            Some(old) => *old = p,
            None => self.info.participants.push(p),
        }
        self.info.is_group = true;
        self.bump()
    }

    /// `user` becomes Gone with `reason` (from `device`, if given) at `T0 + at_ms`.
    pub fn gone(
        &mut self,
        user: &str,
        reason: EndReason,
        device: Option<&str>,
        at_ms: i64,
    ) -> CallInfo {
        let p = self.p(user);
        p.state = ParticipantState::Gone;
        p.reason = Some(reason);
        if let Some(d) = device {
            p.device_id = Some(d.into());
        }
        p.deadline_ms = None;
        p.left_at_ms = Some(T0 + at_ms);
        self.bump()
    }

    /// `user` leaves without ending the call (group calls).
    pub fn leave(&mut self, user: &str, at_ms: i64) -> CallInfo {
        let d = self
            .info
            .participant(user)
            .and_then(|p| p.device_id.clone());
        self.gone(user, EndReason::Hangup, d.as_deref(), at_ms)
    }

    /// The call ends with `reason` at `T0 + at_ms`: everyone left goes Gone
    /// (the ringing ones with Canceled, unless the reason is NoResponse).
    pub fn end(&mut self, reason: EndReason, at_ms: i64) -> CallInfo {
        let t = T0 + at_ms;
        for p in self.info.participants.iter_mut() {
            if p.state != ParticipantState::Gone {
                let ringing = p.state == ParticipantState::Ringing;
                p.state = ParticipantState::Gone;
                p.reason = Some(if ringing && reason != EndReason::NoResponse {
                    EndReason::Canceled
                } else {
                    reason
                });
                p.deadline_ms = None;
                p.left_at_ms = Some(t);
            }
        }
        self.info.state = CallState::Ended;
        self.info.ended_at_ms = Some(t);
        self.info.end_reason = Some(reason);
        self.bump()
    }

    /// One participant leaves with `reason` and the call ends with it (1v1).
    pub fn gone_and_end(
        &mut self,
        user: &str,
        reason: EndReason,
        device: Option<&str>,
        at_ms: i64,
    ) -> CallInfo {
        let p = self.p(user);
        p.state = ParticipantState::Gone;
        p.reason = Some(reason);
        if let Some(d) = device {
            p.device_id = Some(d.into());
        }
        p.deadline_ms = None;
        p.left_at_ms = Some(T0 + at_ms);
        self.end(reason, at_ms)
    }

    /// Switch the media type.
    pub fn media(&mut self, media_type: MediaType) -> CallInfo {
        self.info.media_type = media_type;
        self.bump()
    }
}
