//! The signaling link: login, heartbeats, liveness and request tracking.
//!
//! States: `Down` → (connected) `LoggingIn` → (login ok) `Up` → (disconnected,
//! liveness or login timeout) `Down`; a fatal outcome (kicked, UserSig
//! expired, login refused) → `Stopped` until the next `connected`.
//!
//! Inputs, by source:
//! - IO layer: `connected`, `disconnected`, `tick` (time).
//! - Server: every frame (`received`, for liveness); responses (`take_answer` by seq).
//! - API: `submit` (a request for a command, or an internal one).
//!
//! Outputs: frames to send (login, pings, requests, queued requests after
//! login), requests that expired or lost their connection, and the decision
//! to drop the link.

use std::collections::VecDeque;

use hotline_proto::{ClientFrame, ClientMsg, ErrorCode};

use crate::error::CoreError;
use crate::{LIVENESS_SLACK_MS, MAX_QUEUED_COMMANDS, REQUEST_TIMEOUT_MS};

/// Where the link stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Link {
    /// No transport.
    Down,
    /// Login sent, waiting for its response.
    LoggingIn {
        seq: u64,
        deadline: u64,
        last_rx: u64,
    },
    /// Logged in.
    Up {
        interval_ms: u64,
        next_ping: u64,
        last_rx: u64,
    },
    /// Stopped for good after a fatal outcome; commands fail at once.
    Stopped,
}

/// A request to the server: sent (`seq` set) or queued for the next login.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Request {
    /// The command it serves (None for internal requests).
    pub cmd: Option<u64>,
    /// What is asked.
    pub msg: ClientMsg,
    /// Set once sent.
    pub seq: Option<u64>,
    /// When it times out (issue time + [`REQUEST_TIMEOUT_MS`]).
    pub deadline: u64,
}

/// What a response with a given seq answers.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // short-lived, never stored
pub(crate) enum Answer {
    /// The pending login.
    Login,
    /// A heartbeat.
    Ping,
    /// A request (removed from tracking).
    Request(Request),
    /// Nothing known (late, or never sent).
    Unknown,
}

/// Something a tick decided.
#[derive(Debug)]
pub(crate) enum TimerAction {
    /// Send this frame (a heartbeat).
    Send(ClientFrame),
    /// This request failed: timed out, or its connection was dropped.
    Failed(Request, &'static str),
    /// Drop the transport and reconnect (login timeout or silent server).
    Disconnect,
}

/// Login, heartbeat and request bookkeeping for one core.
#[derive(Debug)]
pub(crate) struct Connection {
    link: Link,
    next_seq: u64,
    last_ping_seq: Option<u64>,
    /// Sent and queued requests, in issue order.
    requests: VecDeque<Request>,
}

impl Connection {
    /// A connection that is down.
    pub fn new() -> Connection {
        Connection {
            link: Link::Down,
            next_seq: 1,
            last_ping_seq: None,
            requests: VecDeque::new(),
        }
    }

    fn seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    /// Whether requests go out at once.
    pub fn is_up(&self) -> bool {
        matches!(self.link, Link::Up { .. })
    }

    /// The transport opened: returns the login seq, and requests that were in
    /// flight on a previous transport the IO layer never reported lost.
    pub fn connected(&mut self, now: u64) -> (u64, Vec<Request>) {
        let lost = self.drop_in_flight();
        let seq = self.seq();
        self.link = Link::LoggingIn {
            seq,
            deadline: now + REQUEST_TIMEOUT_MS,
            last_rx: now,
        };
        (seq, lost)
    }

    /// The transport closed: returns the requests that were in flight.
    pub fn disconnected(&mut self) -> Vec<Request> {
        if self.link != Link::Stopped {
            self.link = Link::Down;
        }
        self.drop_in_flight()
    }

    /// Stop for good: returns every request (in flight and queued).
    pub fn stop(&mut self) -> Vec<Request> {
        self.link = Link::Stopped;
        self.requests.drain(..).collect()
    }

    fn drop_in_flight(&mut self) -> Vec<Request> {
        let (lost, kept): (Vec<Request>, Vec<Request>) =
            self.requests.drain(..).partition(|r| r.seq.is_some());
        self.requests = kept.into();
        lost
    }

    /// Something arrived from the server.
    pub fn received(&mut self, now: u64) {
        match &mut self.link {
            Link::LoggingIn { last_rx, .. } | Link::Up { last_rx, .. } => *last_rx = now,
            Link::Down | Link::Stopped => {}
        }
    }

    /// Which request a response answers.
    pub fn take_answer(&mut self, seq: u64) -> Answer {
        if matches!(self.link, Link::LoggingIn { seq: s, .. } if s == seq) {
            return Answer::Login;
        }
        if self.last_ping_seq == Some(seq) {
            self.last_ping_seq = None;
            return Answer::Ping;
        }
        match self.requests.iter().position(|r| r.seq == Some(seq)) {
            Some(i) => Answer::Request(self.requests.remove(i).expect("index is valid")),
            None => Answer::Unknown,
        }
    }

    /// The login succeeded: start heartbeats and send the queued requests.
    pub fn logged_in(&mut self, now: u64, heartbeat_interval_s: u32) -> Vec<ClientFrame> {
        let interval_ms = u64::from(heartbeat_interval_s.max(1)) * 1000;
        self.link = Link::Up {
            interval_ms,
            next_ping: now + interval_ms,
            last_rx: now,
        };
        let mut frames = Vec::new();
        for i in 0..self.requests.len() {
            if self.requests[i].seq.is_none() {
                let seq = self.seq();
                let r = &mut self.requests[i];
                r.seq = Some(seq);
                frames.push(ClientFrame {
                    seq,
                    msg: r.msg.clone(),
                });
            }
        }
        frames
    }

    /// The login failed but the IO layer may retry: back to `Down`.
    pub fn login_failed(&mut self) {
        self.link = Link::Down;
    }

    /// Track a request: returns the frame to send now, None when queued until
    /// the next login, or an error when the link is stopped or the queue is full.
    pub fn submit(
        &mut self,
        cmd: Option<u64>,
        msg: ClientMsg,
        now: u64,
    ) -> Result<Option<ClientFrame>, CoreError> {
        let deadline = now + REQUEST_TIMEOUT_MS;
        match self.link {
            Link::Stopped => Err(CoreError::new(
                ErrorCode::NotLoggedIn,
                "not logged in (kicked, UserSig expired or login refused)",
            )),
            Link::Up { .. } => {
                let seq = self.seq();
                self.requests.push_back(Request {
                    cmd,
                    msg: msg.clone(),
                    seq: Some(seq),
                    deadline,
                });
                Ok(Some(ClientFrame { seq, msg }))
            }
            Link::Down | Link::LoggingIn { .. } => {
                if self.requests.iter().filter(|r| r.seq.is_none()).count() >= MAX_QUEUED_COMMANDS {
                    return Err(CoreError::new(
                        ErrorCode::RequestRefused,
                        "too many commands waiting for the connection",
                    ));
                }
                self.requests.push_back(Request {
                    cmd,
                    msg,
                    seq: None,
                    deadline,
                });
                Ok(None)
            }
        }
    }

    /// Every request not yet answered (sent or queued).
    pub fn pending(&self) -> impl Iterator<Item = &ClientMsg> {
        self.requests.iter().map(|r| &r.msg)
    }

    /// Time advanced to `now`: expire requests, send heartbeats, check liveness.
    pub fn tick(&mut self, now: u64) -> Vec<TimerAction> {
        let mut actions = Vec::new();
        let (expired, kept): (Vec<Request>, Vec<Request>) =
            self.requests.drain(..).partition(|r| r.deadline <= now);
        self.requests = kept.into();
        actions.extend(
            expired
                .into_iter()
                .map(|r| TimerAction::Failed(r, "request timed out")),
        );
        let dead = match &mut self.link {
            Link::LoggingIn { deadline, .. } if *deadline <= now => {
                log::info!("no login response within {REQUEST_TIMEOUT_MS} ms; reconnecting");
                true
            }
            Link::Up {
                interval_ms,
                last_rx,
                ..
            } if *last_rx + 2 * *interval_ms + LIVENESS_SLACK_MS <= now => {
                log::info!("nothing heard from the server since {last_rx} ms; reconnecting");
                true
            }
            Link::Up {
                interval_ms,
                next_ping,
                ..
            } if *next_ping <= now => {
                // Skip missed beats instead of sending a burst.
                while *next_ping <= now {
                    *next_ping += *interval_ms;
                }
                let seq = self.next_seq;
                self.next_seq += 1;
                self.last_ping_seq = Some(seq);
                actions.push(TimerAction::Send(ClientFrame {
                    seq,
                    msg: ClientMsg::Ping,
                }));
                false
            }
            _ => false,
        };
        if dead {
            self.link = Link::Down;
            actions.extend(
                self.drop_in_flight()
                    .into_iter()
                    .map(|r| TimerAction::Failed(r, "connection lost")),
            );
            actions.push(TimerAction::Disconnect);
        }
        actions
    }

    /// The earliest time something is due, if anything is.
    pub fn next_deadline(&self) -> Option<u64> {
        let link = match &self.link {
            Link::LoggingIn { deadline, .. } => Some(*deadline),
            Link::Up {
                interval_ms,
                next_ping,
                last_rx,
            } => Some((*next_ping).min(*last_rx + 2 * *interval_ms + LIVENESS_SLACK_MS)),
            Link::Down | Link::Stopped => None,
        };
        self.requests.iter().map(|r| r.deadline).chain(link).min()
    }
}
