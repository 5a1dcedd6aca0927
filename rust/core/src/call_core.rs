//! [`CallCore`]: the engine's sans-IO state machine.
//!
//! States: the link (`connection`: down / logging in / up / stopped), the
//! calls (`call_view`: at most one current call), and the push registration
//! to send after every login (a token, or a request to forget it).
//!
//! Inputs, by source:
//! - IO layer: `Connected`, `Disconnected`, `Tick` (every input also carries `now_ms`).
//! - Server: `Frame` (responses, call updates, kicked offline, UserSig expired, errors).
//! - API: `Command`, `PushedCall`.
//!
//! Outputs: `Send` frames, observer `Event`s, `CommandDone` (exactly once per
//! command), `LoginDone`, `Disconnect`, and finally `Timeout` when nothing
//! more is pending.

use std::collections::VecDeque;

use hotline_proto::{
    CallInfo, CallRecord, ClientFrame, ClientMsg, ErrorCode, IceServer, LoginResult, ServerMsg,
    PROTOCOL_VERSION,
};

use crate::call_view::{Applied, CallView, Origin};
use crate::commands;
use crate::connection::{Answer, Connection, Request, TimerAction};
use crate::error::CoreError;
use crate::event::Event;
use crate::input::{Command, CoreConfig, Input};
use crate::output::{CommandOk, Output};
use crate::IDLE_TICK_MS;

/// The call engine's state machine for one logged-in user. See the crate docs.
#[derive(Debug)]
pub struct CallCore {
    config: CoreConfig,
    conn: Connection,
    view: CallView,
    out: VecDeque<Output>,
    now: u64,
    /// `register_push` or `unregister_push`, sent after every login.
    push: Option<ClientMsg>,
    /// The TURN relays the last login listed.
    ice_servers: Vec<IceServer>,
}

impl CallCore {
    /// A core that is not connected yet; feed [`Input::Connected`] once the transport is open.
    pub fn new(config: CoreConfig) -> CallCore {
        let view = CallView::new(&config.user_id, &config.device_id);
        CallCore {
            config,
            conn: Connection::new(),
            view,
            out: VecDeque::new(),
            now: 0,
            push: None,
            ice_servers: Vec::new(),
        }
    }

    /// Feed one input at `now_ms` (a monotonic millisecond clock; earlier
    /// values than before are treated as the latest one). Then drain
    /// [`poll_output`](Self::poll_output).
    pub fn handle(&mut self, input: Input, now_ms: u64) {
        let now = now_ms.max(self.now);
        self.now = now;
        match input {
            Input::Connected => {
                let (seq, lost) = self.conn.connected(now);
                self.fail_all(lost, ErrorCode::Timeout, "connection lost");
                log::debug!(
                    "connected; logging in as {} (seq {seq})",
                    self.config.user_id
                );
                let login = ClientMsg::Login {
                    protocol_version: PROTOCOL_VERSION,
                    sdk_app_id: self.config.sdk_app_id,
                    user_id: self.config.user_id.clone(),
                    user_sig: self.config.user_sig.clone(),
                    device_id: self.config.device_id.clone(),
                    multi_device: self.config.multi_device,
                    known_calls: self.view.known_calls(),
                };
                self.out
                    .push_back(Output::Send(ClientFrame { seq, msg: login }));
            }
            Input::Disconnected => {
                log::debug!("disconnected");
                let lost = self.conn.disconnected();
                self.fail_all(lost, ErrorCode::Timeout, "connection lost");
            }
            Input::Frame(msg) => {
                self.conn.received(now);
                self.on_frame(msg, now);
            }
            Input::Command { id, command } => self.on_command(id, command, now),
            Input::PushedCall {
                call_id,
                media_type,
            } => {
                log::debug!("call {call_id} came by push");
                self.view.pushed(call_id, media_type);
            }
            Input::Tick => {}
        }
        // After the input: a frame arriving late still counts as a sign of
        // life, and nothing is sent on a transport just reported gone.
        self.run_timers(now);
    }

    /// The next output; [`Output::Timeout`] when there is nothing more for now.
    pub fn poll_output(&mut self) -> Output {
        match self.out.pop_front() {
            Some(o) => {
                if let Output::Send(f) = &o {
                    // Never log the frame itself: a login carries the UserSig.
                    log::trace!("send {} (seq {})", f.msg.type_name(), f.seq);
                }
                o
            }
            None => Output::Timeout(self.conn.next_deadline().unwrap_or(self.now + IDLE_TICK_MS)),
        }
    }

    /// The current call's newest snapshot (the call ringing here or in progress), if any.
    pub fn current_call(&self) -> Option<CallInfo> {
        self.view.current().cloned()
    }

    /// Whether the core is logged in (requests go out at once).
    pub fn is_logged_in(&self) -> bool {
        self.conn.is_up()
    }

    fn event(&mut self, e: Event) {
        log::debug!("event {}", e.name());
        self.out.push_back(Output::Event(e));
    }

    fn done(&mut self, req: &Request, result: Result<CommandOk, CoreError>) {
        if let Some(id) = req.cmd {
            if let Err(e) = &result {
                log::debug!("command {id} ({}) failed: {e}", req.msg.type_name());
            }
            self.out.push_back(Output::CommandDone { id, result });
        }
    }

    fn fail_all(&mut self, reqs: Vec<Request>, code: ErrorCode, message: &str) {
        for r in reqs {
            self.done(&r, Err(CoreError::new(code, message)));
        }
    }

    fn run_timers(&mut self, now: u64) {
        for action in self.conn.tick(now) {
            match action {
                TimerAction::Send(frame) => self.out.push_back(Output::Send(frame)),
                TimerAction::Failed(req, why) => {
                    self.done(&req, Err(CoreError::new(ErrorCode::Timeout, why)))
                }
                TimerAction::Disconnect => {
                    self.out.push_back(Output::Disconnect { reconnect: true })
                }
            }
        }
    }

    /// Stop for good (kicked, UserSig expired, login refused).
    fn stop(&mut self, why: &str) {
        log::info!("signaling stopped: {why}");
        let reqs = self.conn.stop();
        self.fail_all(reqs, ErrorCode::NotLoggedIn, why);
        self.out.push_back(Output::Disconnect { reconnect: false });
    }

    fn apply(&mut self, call: CallInfo, origin: Origin) -> Applied {
        let mut events = Vec::new();
        let applied = self.view.apply(call, origin, &mut events);
        for e in events {
            self.event(e);
        }
        applied
    }

    fn on_frame(&mut self, msg: ServerMsg, now: u64) {
        match msg {
            ServerMsg::Response {
                seq,
                code,
                message,
                login,
                call,
                records,
                sdp,
            } => match self.conn.take_answer(seq) {
                Answer::Login => self.on_login(code, &message, login, now),
                Answer::Ping => {}
                Answer::Request(req) => self.on_response(req, code, &message, call, records, sdp),
                Answer::Unknown => {
                    log::debug!("response to unknown seq {seq} (late or never sent)");
                    if let Some(call) = call {
                        self.apply(call, Origin::Update);
                    }
                }
            },
            ServerMsg::CallUpdate { call } => {
                self.apply(call, Origin::Update);
            }
            ServerMsg::KickedOffline { message } => {
                self.event(Event::KickedOffline);
                self.stop(&format!("kicked offline: {message}"));
            }
            ServerMsg::UserSigExpired => {
                self.event(Event::UserSigExpired);
                self.stop("the UserSig expired");
            }
            ServerMsg::Error { code, message } => {
                let e = CoreError::from_wire(code, &message);
                self.event(Event::Error {
                    code: e.code,
                    message: e.message,
                });
            }
            ServerMsg::MediaOffer {
                call_id,
                revision,
                sdp,
                tracks,
            } => {
                // Only the current call's media matters; an offer for a call
                // that already ended here is late.
                if self.view.current().is_some_and(|c| c.call_id == call_id) {
                    self.out.push_back(Output::MediaOffer {
                        call_id,
                        revision,
                        sdp,
                        tracks,
                    });
                } else {
                    log::debug!(
                        "ignoring media offer {revision} for call {call_id}: not the current call"
                    );
                }
            }
        }
    }

    fn on_login(&mut self, code: i32, message: &str, login: Option<LoginResult>, now: u64) {
        let result = match (code, login) {
            (0, Some(result)) => result,
            (0, None) => {
                log::warn!("login response without a login result; reconnecting");
                self.conn.login_failed();
                let lost = self.conn.disconnected();
                self.fail_all(lost, ErrorCode::Timeout, "connection lost");
                self.out.push_back(Output::LoginDone(Err(CoreError::new(
                    ErrorCode::ServerError,
                    "login response without a result",
                ))));
                self.out.push_back(Output::Disconnect { reconnect: true });
                return;
            }
            (code, _) => {
                let e = CoreError::from_wire(code, message);
                log::info!("login failed: {e}");
                match e.code {
                    ErrorCode::UserSigExpired => {
                        self.event(Event::UserSigExpired);
                        self.out.push_back(Output::LoginDone(Err(e)));
                        self.stop("the UserSig expired");
                    }
                    // Transient: let the IO layer retry with backoff.
                    ErrorCode::ServerError | ErrorCode::RateLimited | ErrorCode::Timeout => {
                        self.event(Event::Error {
                            code: e.code,
                            message: e.message.clone(),
                        });
                        self.out.push_back(Output::LoginDone(Err(e)));
                        self.conn.login_failed();
                        self.out.push_back(Output::Disconnect { reconnect: true });
                    }
                    _ => {
                        self.event(Event::Error {
                            code: e.code,
                            message: e.message.clone(),
                        });
                        self.out.push_back(Output::LoginDone(Err(e)));
                        self.stop("login refused");
                    }
                }
                return;
            }
        };
        log::debug!(
            "logged in; heartbeat every {} s, {} call(s)",
            result.heartbeat_interval_s,
            result.calls.len()
        );
        let queued = self.conn.logged_in(now, result.heartbeat_interval_s);
        if result.ice_servers != self.ice_servers {
            self.ice_servers = result.ice_servers.clone();
            self.out
                .push_back(Output::IceServers(result.ice_servers.clone()));
        }
        self.out.push_back(Output::LoginDone(Ok(())));
        if let Some(cur) = self.view.current().map(|c| c.call_id.clone()) {
            if !result.calls.iter().any(|c| c.call_id == cur) {
                let mut events = Vec::new();
                self.view.forget_current(result.server_time_ms, &mut events);
                for e in events {
                    self.event(e);
                }
            }
        }
        let mut pushed = self.view.take_pushed();
        for call in result.calls {
            let origin = match pushed.iter().position(|(id, _)| *id == call.call_id) {
                Some(i) => {
                    pushed.remove(i);
                    Origin::Pushed
                }
                None => Origin::Login,
            };
            self.apply(call, origin);
        }
        for (call_id, media_type) in pushed {
            let mut events = Vec::new();
            self.view.pushed_unknown(&call_id, media_type, &mut events);
            for e in events {
                self.event(e);
            }
        }
        for frame in queued {
            self.out.push_back(Output::Send(frame));
        }
        if let Some(msg) = self.push.clone() {
            log::debug!("sending {} after login", msg.type_name());
            if let Ok(Some(frame)) = self.conn.submit(None, msg, now) {
                self.out.push_back(Output::Send(frame));
            }
        }
    }

    fn on_response(
        &mut self,
        req: Request,
        code: i32,
        message: &str,
        call: Option<CallInfo>,
        records: Option<Vec<CallRecord>>,
        sdp: Option<String>,
    ) {
        if let ClientMsg::RegisterPush { .. } | ClientMsg::UnregisterPush = req.msg {
            if code == 0
                && req.msg == ClientMsg::UnregisterPush
                && self.push == Some(req.msg.clone())
            {
                // The server forgot the token: nothing more to send after logins.
                self.push = None;
            }
            if code != 0 && req.cmd.is_none() {
                // Sent after a login, not by the app: say so through onError.
                let e = CoreError::from_wire(code, message);
                log::warn!("{} after login failed: {e}", req.msg.type_name());
                self.event(Event::Error {
                    code: e.code,
                    message: format!("{} failed: {}", req.msg.type_name(), e.message),
                });
                return;
            }
        }
        let call_id = call.as_ref().map(|c| c.call_id.clone());
        let origin = match (&req.msg, code) {
            (ClientMsg::Call { .. }, 0) => Origin::MyCalls,
            (ClientMsg::Join { .. }, 0) => Origin::MyJoin,
            _ => Origin::Update,
        };
        let applied = call.map(|c| self.apply(c, origin));
        if code != 0 {
            self.done(&req, Err(CoreError::from_wire(code, message)));
            return;
        }
        if applied == Some(Applied::Busy) && origin != Origin::Update {
            // Glare: another call became current while this one was being
            // placed or joined. Keep the current one and leave this one.
            let call_id = call_id.clone().unwrap_or_default();
            log::info!("leaving call {call_id}: another call became current first");
            if let Ok(Some(frame)) = self
                .conn
                .submit(None, ClientMsg::Hangup { call_id }, self.now)
            {
                self.out.push_back(Output::Send(frame));
            }
            self.done(
                &req,
                Err(CoreError::new(
                    ErrorCode::RequestRefused,
                    "another call became current first",
                )),
            );
            return;
        }
        if origin != Origin::Update && call_id.is_none() {
            log::warn!("{} response without a call", req.msg.type_name());
        }
        self.done(
            &req,
            Ok(CommandOk {
                call_id,
                records: records.unwrap_or_default(),
                sdp,
            }),
        );
    }

    fn on_command(&mut self, id: u64, command: Command, now: u64) {
        log::debug!("command {id}: {}", command.name());
        let msg = commands::to_msg(
            &command,
            &self.config.user_id,
            self.view.current(),
            self.conn.pending(),
        );
        if let (Command::RegisterPush { .. } | Command::UnregisterPush, Ok(msg)) = (&command, &msg)
        {
            // Remembered for every later login; sent now only when logged in.
            self.push = Some(msg.clone());
            if !self.conn.is_up() {
                log::debug!(
                    "command {id} ({}): sent after the next login",
                    command.name()
                );
                self.out.push_back(Output::CommandDone {
                    id,
                    result: Ok(CommandOk::default()),
                });
                return;
            }
        }
        let result = msg.and_then(|msg| {
            if let Command::EnableMultiDeviceAbility { enabled } = command {
                // Also for every later login.
                self.config.multi_device = enabled;
            }
            self.conn.submit(Some(id), msg, now)
        });
        match result {
            Ok(Some(frame)) => self.out.push_back(Output::Send(frame)),
            Ok(None) => log::debug!("command {id} queued until logged in"),
            Err(e) => {
                log::debug!("command {id} ({}) refused: {e}", command.name());
                self.out
                    .push_back(Output::CommandDone { id, result: Err(e) });
            }
        }
    }
}
