//! The engine's actor: one task that owns the core and the WebSocket.
//!
//! It feeds the core commands, server frames, connection changes and timer
//! ticks, and carries out the core's outputs: frames to send, events to the
//! event thread, command results, disconnects and reconnects (with backoff).

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hotline_core::{CallCore, Command, CommandOk, CoreConfig, CoreError, Event, Input, Output};
use hotline_proto::ServerMsg;
use rand::Rng;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_rustls::rustls::ClientConfig;
use tokio_tungstenite::tungstenite::Message;

use crate::backoff::Backoff;
use crate::media::{ActorLink, Media, RelaySource};
use crate::websocket::{self, Socket};
use std::sync::Arc;

/// A message from the API to the actor.
pub(crate) enum ActorMsg {
    /// Run a command; answer on `reply`.
    Command {
        command: Command,
        reply: oneshot::Sender<Result<CommandOk, CoreError>>,
    },
    /// Feed this input (no answer): a call learned of from a push.
    Input(Input),
    /// The device's network changed: reconnect signaling now.
    NetworkChanged,
    /// Disconnect and stop.
    Stop(oneshot::Sender<()>),
}

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Spawn the actor; `login` hears the first login result. `before` is fed to
/// the core before it first connects (the push registration and pushed
/// calls the engine remembered); commands among them go unanswered.
#[allow(clippy::too_many_arguments)] // one caller, which names each part
pub(crate) fn spawn(
    runtime: &tokio::runtime::Handle,
    url: String,
    config: CoreConfig,
    before: Vec<Input>,
    events: std::sync::mpsc::Sender<Event>,
    login: oneshot::Sender<Result<(), CoreError>>,
    media: Arc<Media>,
    tls: Arc<ClientConfig>,
) -> mpsc::UnboundedSender<ActorMsg> {
    let (tx, rx) = mpsc::unbounded_channel();
    let link = ActorLink {
        me: config.user_id.clone(),
        server_host: websocket::host(&url),
        actor: tx.clone(),
        events: events.clone(),
        relays: RelaySource::new(tls.clone()),
    };
    let mut core = CallCore::new(config);
    for input in before {
        core.handle(input, 0);
    }
    let actor = Actor {
        media,
        link,
        url,
        tls,
        core,
        epoch: Instant::now(),
        socket: None,
        events,
        first_login: Some(login),
        pending: HashMap::new(),
        next_command: 1,
        reconnect_at: Some(Instant::now()),
        backoff: Backoff::new(Duration::from_millis(200), Duration::from_secs(5)),
        wake_at: None,
        stopped: false,
    };
    runtime.spawn(actor.run(rx));
    tx
}

struct Actor {
    media: Arc<Media>,
    link: ActorLink,
    url: String,
    /// Trust settings for `wss://`.
    tls: Arc<ClientConfig>,
    core: CallCore,
    epoch: Instant,
    socket: Option<Socket>,
    events: std::sync::mpsc::Sender<Event>,
    first_login: Option<oneshot::Sender<Result<(), CoreError>>>,
    pending: HashMap<u64, oneshot::Sender<Result<CommandOk, CoreError>>>,
    next_command: u64,
    /// When to try connecting next (None while connected or stopped).
    reconnect_at: Option<Instant>,
    backoff: Backoff,
    /// When the core wants a tick.
    wake_at: Option<Instant>,
    stopped: bool,
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn next_frame(
    socket: &mut Option<Socket>,
) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
    match socket {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

impl Actor {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn at(&self, ms: u64) -> Instant {
        self.epoch + Duration::from_millis(ms)
    }

    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<ActorMsg>) {
        let mut stop_reply = None;
        while !self.stopped {
            self.drain().await;
            if self.stopped {
                break;
            }
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(ActorMsg::Command { command, reply }) => {
                        let id = self.next_command;
                        self.next_command += 1;
                        self.pending.insert(id, reply);
                        self.feed(Input::Command { id, command });
                    }
                    Some(ActorMsg::Input(input)) => self.feed(input),
                    Some(ActorMsg::NetworkChanged) => self.network_changed(),
                    Some(ActorMsg::Stop(reply)) => { stop_reply = Some(reply); break; }
                    None => break,
                },
                frame = next_frame(&mut self.socket) => self.on_frame(frame),
                _ = sleep_until_opt(self.wake_at) => { self.wake_at = None; self.feed(Input::Tick); }
                _ = sleep_until_opt(self.reconnect_at) => self.connect().await,
            }
        }
        self.media.stop_all();
        if let Some(mut s) = self.socket.take() {
            let _ = s.close(None).await;
        }
        if let Some(r) = stop_reply {
            let _ = r.send(());
        }
    }

    fn feed(&mut self, input: Input) {
        let now = self.now_ms();
        self.core.handle(input, now);
    }

    fn on_frame(&mut self, frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>) {
        match frame {
            Some(Ok(Message::Text(text))) => match serde_json::from_str::<ServerMsg>(&text) {
                Ok(msg) => self.feed(Input::Frame(msg)),
                Err(e) => {
                    log::warn!("ignoring a server message the engine does not understand: {e}")
                }
            },
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => self.lost(),
            Some(Ok(_)) => {}
        }
    }

    /// The transport is gone: tell the core and plan a reconnect.
    fn lost(&mut self) {
        if self.socket.take().is_some() {
            log::info!("signaling connection lost; reconnecting");
            self.feed(Input::Disconnected);
            self.schedule_reconnect();
        }
    }

    /// The old path may be gone without a FIN ever arriving (Wi-Fi to
    /// cellular), and a backoff planned while offline may be seconds away:
    /// drop the connection and reconnect at once. The server keeps the
    /// user's calls through its reconnect grace, so no call ends. A session
    /// the server ended (kicked, UserSig expired) stays down. The call's
    /// media restarts ICE over the new path (its request waits for the new
    /// login).
    fn network_changed(&mut self) {
        self.media.network_changed();
        self.backoff.reset();
        if self.socket.take().is_some() {
            log::info!("network changed; reconnecting signaling");
            self.feed(Input::Disconnected);
            self.reconnect_at = Some(Instant::now());
        } else if self.reconnect_at.is_some() {
            log::info!("network changed; reconnecting signaling now");
            self.reconnect_at = Some(Instant::now());
        }
    }

    fn schedule_reconnect(&mut self) {
        let delay = self.backoff.next_delay(rand::thread_rng().gen());
        self.reconnect_at = Some(Instant::now() + delay);
    }

    async fn connect(&mut self) {
        self.reconnect_at = None;
        match tokio::time::timeout(CONNECT_TIMEOUT, websocket::open(&self.url, &self.tls)).await {
            Ok(Ok(socket)) => {
                self.socket = Some(socket);
                self.feed(Input::Connected);
            }
            Ok(Err(e)) => {
                log::info!("{e}");
                self.schedule_reconnect();
            }
            Err(_) => {
                log::info!("connecting to {} timed out", self.url);
                self.schedule_reconnect();
            }
        }
    }

    /// Carry out everything the core has to say.
    async fn drain(&mut self) {
        loop {
            match self.core.poll_output() {
                Output::Send(frame) => {
                    let text = serde_json::to_string(&frame).expect("ClientFrame serialises");
                    if let Some(s) = self.socket.as_mut() {
                        if s.send(Message::Text(text.into())).await.is_err() {
                            self.lost();
                        }
                    }
                }
                Output::Event(event) => {
                    self.media.on_event(&event, &self.link);
                    let _ = self.events.send(event);
                }
                Output::MediaOffer {
                    call_id,
                    revision,
                    sdp,
                    tracks,
                } => {
                    self.media.on_offer(&call_id, revision, sdp, tracks);
                }
                Output::CommandDone { id, result } => {
                    if let Some(reply) = self.pending.remove(&id) {
                        let _ = reply.send(result);
                    }
                }
                Output::IceServers(servers) => self.link.relays.set(servers),
                Output::LoginDone(result) => {
                    if result.is_ok() {
                        self.backoff.reset();
                    }
                    if let Some(first) = self.first_login.take() {
                        let _ = first.send(result);
                    }
                }
                Output::Disconnect { reconnect } => {
                    if let Some(mut s) = self.socket.take() {
                        let _ = s.close(None).await;
                        self.feed(Input::Disconnected);
                    }
                    if reconnect {
                        self.schedule_reconnect();
                    } else {
                        // Kicked, UserSig expired or login refused: stay down
                        // until the app calls init again.
                        self.reconnect_at = None;
                    }
                }
                Output::Timeout(at) => {
                    self.wake_at = Some(self.at(at));
                    return;
                }
            }
        }
    }
}
