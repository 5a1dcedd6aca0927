//! One WebSocket connection: size and rate limits, parsing, login, idle
//! timeout, and the requests a session answers itself (ping, records,
//! profile). Call control goes to the hub.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use hotline_proto::push::{MAX_PUSH_APP_BYTES, MAX_PUSH_TOKEN_BYTES};
use hotline_proto::usersig::{self, UserSigError};
use hotline_proto::{
    user_id::validate_user_id, ClientFrame, ClientMsg, ErrorCode, RecordFilter, ServerMsg,
    MAX_MESSAGE_BYTES, PROTOCOL_VERSION,
};
use tokio::sync::{mpsc, oneshot, watch};

use crate::config::ServerConfig;
use crate::hub::{unix_ms, HubMsg, Outbound, Outbox, CLOSE_POLICY};
use crate::metrics::Metrics;
use crate::store::{PushToken, Store};
use crate::writer::Watermark;

/// What every session shares.
pub struct Shared {
    /// Server settings.
    pub config: ServerConfig,
    /// The hub's mailbox.
    pub hub: mpsc::Sender<HubMsg>,
    /// Storage for records and profiles.
    pub store: Store,
    /// How far the store writer has got; record reads wait for it.
    pub watermark: Watermark,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Flips to true when the server shuts down.
    pub shutdown: watch::Receiver<bool>,
    /// Source of connection IDs.
    pub next_conn_id: AtomicU64,
}

/// WebSocket close code for "message too big".
const CLOSE_TOO_BIG: u16 = 1009;
/// WebSocket close code for "going away" (server shutdown).
const CLOSE_GOING_AWAY: u16 = 1001;
/// After this many refused frames in a row beyond the rate limit, disconnect.
const RATE_VIOLATIONS_BEFORE_CLOSE: u32 = 20;
/// How long to wait for the client's side of the closing handshake.
const CLOSE_HANDSHAKE: Duration = Duration::from_secs(2);
/// Unauthenticated frames tolerated before login.
const FRAMES_BEFORE_LOGIN: u32 = 5;

/// A token bucket: `rate` tokens per second, at most `burst` saved.
struct RateLimit {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
    violations: u32,
}

impl RateLimit {
    fn new(rate: u32, burst: u32) -> RateLimit {
        RateLimit {
            tokens: burst as f64,
            rate: rate as f64,
            burst: burst as f64,
            last: Instant::now(),
            violations: 0,
        }
    }

    fn allow(&mut self) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.violations = 0;
            true
        } else {
            self.violations += 1;
            false
        }
    }
}

struct Login {
    user_id: String,
    device_id: String,
    sig_expires_at: Option<Instant>,
}

enum Flow {
    Continue,
    Close(u16, String),
}

/// Serve one connection until it closes.
pub async fn serve(mut socket: WebSocket, shared: Arc<Shared>) {
    let conn_id = shared.next_conn_id.fetch_add(1, Relaxed);
    shared.metrics.connections.fetch_add(1, Relaxed);
    let (outbox, mut outbound, kill) = Outbox::new();
    let mut shutdown = shared.shutdown.clone();
    let mut login: Option<Login> = None;
    let mut limit = RateLimit::new(
        shared.config.rate_limit_per_s,
        shared.config.rate_limit_burst,
    );
    let mut strangers_frames = 0u32;
    let idle = Duration::from_secs(shared.config.idle_timeout_s as u64);
    let login_timeout = Duration::from_secs(shared.config.login_timeout_s as u64);
    let mut idle_deadline = tokio::time::Instant::now() + login_timeout.min(idle);
    let close = loop {
        let sig_expiry = login.as_ref().and_then(|l| l.sig_expires_at);
        tokio::select! {
            biased;
            _ = shutdown.changed() => break Some((CLOSE_GOING_AWAY, "server shutting down".to_string())),
            _ = kill.notified() => break Some((CLOSE_POLICY, "too slow to receive messages".to_string())),
            out = outbound.recv() => match out {
                Some(Outbound::Text(text)) => {
                    if socket.send(Message::Text(text.into())).await.is_err() { break None; }
                }
                Some(Outbound::Close(code, reason)) => break Some((code, reason)),
                None => break None,
            },
            _ = tokio::time::sleep_until(idle_deadline) => {
                let why = if login.is_some() { "idle timeout: no message received" } else { "login timeout" };
                send(&mut socket, &ServerMsg::Error { code: ErrorCode::Timeout.as_i32(), message: why.into() }).await;
                break Some((CLOSE_POLICY, why.to_string()));
            }
            _ = sleep_until_opt(sig_expiry) => {
                send(&mut socket, &ServerMsg::UserSigExpired).await;
                break Some((CLOSE_POLICY, "UserSig expired".to_string()));
            }
            frame = socket.recv() => {
                let Some(Ok(frame)) = frame else { break None };
                // Any frame is a sign of life; before login only the login deadline counts.
                if login.is_some() {
                    idle_deadline = tokio::time::Instant::now() + idle;
                }
                let text = match frame {
                    Message::Text(t) => t,
                    Message::Binary(_) => {
                        reply_error(&mut socket, &shared, None, ErrorCode::MalformedMessage, "binary frames are not supported; send JSON text").await;
                        continue;
                    }
                    Message::Close(_) => break None,
                    _ => continue, // ping/pong frames: the library answers pings
                };
                shared.metrics.frames_total.fetch_add(1, Relaxed);
                // Refusals before parsing still answer the frame's `seq` when it can be read.
                if !limit.allow() {
                    let seq = ClientFrame::peek_seq(&text);
                    reply_error(&mut socket, &shared, seq, ErrorCode::RateLimited, "too many messages; slow down").await;
                    if limit.violations >= RATE_VIOLATIONS_BEFORE_CLOSE {
                        break Some((CLOSE_POLICY, "rate limit exceeded".to_string()));
                    }
                    continue;
                }
                if text.len() > MAX_MESSAGE_BYTES {
                    let m = format!("message is {} bytes; the limit is {MAX_MESSAGE_BYTES}", text.len());
                    reply_error(&mut socket, &shared, ClientFrame::peek_seq(&text), ErrorCode::MessageTooLarge, &m).await;
                    break Some((CLOSE_TOO_BIG, "message too large".to_string()));
                }
                let frame = match ClientFrame::parse(&text) {
                    Ok(f) => f,
                    Err(e) => {
                        reply_error(&mut socket, &shared, e.seq, e.code, &e.message).await;
                        continue;
                    }
                };
                let flow = match &login {
                    None => {
                        match handle_login(&mut socket, &shared, conn_id, &outbox, frame).await {
                            Ok(Some(l)) => {
                                login = Some(l);
                                idle_deadline = tokio::time::Instant::now() + idle;
                                Flow::Continue
                            }
                            Ok(None) => {
                                strangers_frames += 1;
                                if strangers_frames >= FRAMES_BEFORE_LOGIN {
                                    Flow::Close(CLOSE_POLICY, "log in first".into())
                                } else { Flow::Continue }
                            }
                            Err(reason) => Flow::Close(CLOSE_POLICY, reason),
                        }
                    }
                    Some(l) => handle_request(&mut socket, &shared, conn_id, l, frame).await,
                };
                if let Flow::Close(code, reason) = flow { break Some((code, reason)); }
            }
        }
    };
    if let Some((code, reason)) = close {
        // Flush what the hub queued (for example the kick notice) before closing.
        while let Ok(Outbound::Text(text)) = outbound.try_recv() {
            let _ = socket.send(Message::Text(text.into())).await;
        }
        let _ = socket
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
        // Finish the closing handshake: read (and drop) what the client still
        // sends until it answers our Close. Dropping a socket with unread
        // input would reset the connection and destroy our last replies.
        let _ = tokio::time::timeout(CLOSE_HANDSHAKE, async {
            while let Some(Ok(frame)) = socket.recv().await {
                if matches!(frame, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
    if let Some(l) = login {
        let _ = shared
            .hub
            .send(HubMsg::Closed {
                conn_id,
                user_id: l.user_id,
            })
            .await;
    }
    shared.metrics.connections.fetch_sub(1, Relaxed);
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

async fn send(socket: &mut WebSocket, msg: &ServerMsg) {
    let text = serde_json::to_string(msg).expect("ServerMsg serialises");
    let _ = socket.send(Message::Text(text.into())).await;
}

async fn reply_error(
    socket: &mut WebSocket,
    shared: &Shared,
    seq: Option<u64>,
    code: ErrorCode,
    message: &str,
) {
    shared.metrics.error(code);
    let msg = match seq {
        Some(seq) => ServerMsg::err(seq, code, message),
        None => ServerMsg::Error {
            code: code.as_i32(),
            message: message.to_string(),
        },
    };
    send(socket, &msg).await;
}

/// Handle a frame before login. `Ok(Some)` logged in, `Ok(None)` refused but
/// the connection stays, `Err` refused and the connection closes.
async fn handle_login(
    socket: &mut WebSocket,
    shared: &Shared,
    conn_id: u64,
    outbox: &Outbox,
    frame: ClientFrame,
) -> Result<Option<Login>, String> {
    let seq = frame.seq;
    let ClientMsg::Login {
        protocol_version,
        sdk_app_id,
        user_id,
        user_sig,
        device_id,
        multi_device,
        known_calls,
    } = frame.msg
    else {
        reply_error(
            socket,
            shared,
            Some(seq),
            ErrorCode::NotLoggedIn,
            "log in first",
        )
        .await;
        return Ok(None);
    };
    let fail = |code: ErrorCode, message: String| (code, message);
    let checked = (|| {
        if protocol_version != PROTOCOL_VERSION {
            return Err(fail(ErrorCode::ProtocolVersion, format!("protocol version {protocol_version} is not supported; this server speaks {PROTOCOL_VERSION}")));
        }
        validate_user_id(&user_id).map_err(|e| fail(ErrorCode::ParamInvalid, e))?;
        if device_id.is_empty() || device_id.len() > 64 {
            return Err(fail(
                ErrorCode::ParamInvalid,
                "device_id must be 1 to 64 bytes".into(),
            ));
        }
        if sdk_app_id != shared.config.sdk_app_id {
            return Err(fail(
                ErrorCode::UserSigInvalid,
                format!("unknown sdk_app_id {sdk_app_id}"),
            ));
        }
        let now_s = (unix_ms() / 1000) as u64;
        usersig::verify_for_user(
            sdk_app_id,
            &shared.config.secret_key,
            &user_sig,
            &user_id,
            now_s,
        )
        .map_err(|e| match e {
            UserSigError::Expired { .. } => fail(ErrorCode::UserSigExpired, e.to_string()),
            _ => fail(ErrorCode::UserSigInvalid, e.to_string()),
        })
    })();
    let claims = match checked {
        Ok(c) => c,
        Err((code, message)) => {
            reply_error(socket, shared, Some(seq), code, &message).await;
            return Err(format!("login failed: {}", code.name()));
        }
    };
    let (reply, result) = oneshot::channel();
    let msg = HubMsg::Login {
        conn_id,
        user_id: user_id.clone(),
        device_id: device_id.clone(),
        multi_device,
        known_calls,
        outbox: outbox.clone(),
        reply,
    };
    if shared.hub.send(msg).await.is_err() {
        return Err("server shutting down".into());
    }
    let Ok(result) = result.await else {
        return Err("server shutting down".into());
    };
    // Capped so an absurd (but authentic) expiry cannot overflow the clock.
    let expires_in_s = claims
        .expires_at()
        .saturating_sub((unix_ms() / 1000) as u64)
        .min(10 * 365 * 86400);
    let response = ServerMsg::Response {
        seq,
        code: 0,
        message: String::new(),
        login: Some(result),
        call: None,
        records: None,
        sdp: None,
    };
    send(socket, &response).await;
    Ok(Some(Login {
        user_id,
        device_id,
        sig_expires_at: Some(Instant::now() + Duration::from_secs(expires_in_s)),
    }))
}

async fn handle_request(
    socket: &mut WebSocket,
    shared: &Shared,
    conn_id: u64,
    login: &Login,
    frame: ClientFrame,
) -> Flow {
    let seq = frame.seq;
    let user = &login.user_id;
    let reply = match frame.msg {
        ClientMsg::Ping => ServerMsg::ok(seq),
        ClientMsg::Login { .. } => {
            ServerMsg::err(seq, ErrorCode::RequestRepeated, "already logged in")
        }
        ClientMsg::SetSelfInfo {
            nickname,
            avatar_url,
        } => {
            if nickname.len() > 64 || avatar_url.len() > 1024 {
                ServerMsg::err(
                    seq,
                    ErrorCode::ParamInvalid,
                    "nickname is limited to 64 bytes and avatar_url to 1024",
                )
            } else {
                match shared.store.set_profile(user, &nickname, &avatar_url).await {
                    Ok(()) => ServerMsg::ok(seq),
                    Err(e) => store_failure(seq, e),
                }
            }
        }
        // Records of a call that just ended may still be on their way to
        // the database: wait for what this user may already have seen.
        ClientMsg::QueryRecords { filter } if filter.count > RecordFilter::MAX_COUNT => {
            ServerMsg::err(
                seq,
                ErrorCode::ParamInvalid,
                format!(
                    "count must be 1 to {} (0 means {})",
                    RecordFilter::MAX_COUNT,
                    RecordFilter::DEFAULT_COUNT
                ),
            )
        }
        ClientMsg::QueryRecords { filter } => {
            match settled(shared).await.records(user, &filter).await {
                Ok(records) => ServerMsg::Response {
                    seq,
                    code: 0,
                    message: String::new(),
                    login: None,
                    call: None,
                    records: Some(records),
                    sdp: None,
                },
                Err(e) => store_failure(seq, e),
            }
        }
        ClientMsg::RegisterPush {
            provider,
            token,
            app,
            environment,
        } => match check_push_registration(&token, &app) {
            Err(why) => ServerMsg::err(seq, ErrorCode::ParamInvalid, why),
            Ok(()) => {
                let token = PushToken {
                    user_id: user.clone(),
                    device_id: login.device_id.clone(),
                    provider,
                    token,
                    app,
                    environment,
                };
                match shared.store.set_push_token(&token, unix_ms()).await {
                    Ok(()) => ServerMsg::ok(seq),
                    Err(e) => store_failure(seq, e),
                }
            }
        },
        ClientMsg::UnregisterPush => {
            match shared.store.delete_push_token(user, &login.device_id).await {
                Ok(_) => ServerMsg::ok(seq),
                Err(e) => store_failure(seq, e),
            }
        }
        ClientMsg::DeleteRecords { record_ids } => {
            if record_ids.is_empty() || record_ids.len() > 100 {
                ServerMsg::err(seq, ErrorCode::ParamInvalid, "give 1 to 100 record IDs")
            } else {
                match settled(shared)
                    .await
                    .delete_records(user, &record_ids)
                    .await
                {
                    Ok(_) => ServerMsg::ok(seq),
                    Err(e) => store_failure(seq, e),
                }
            }
        }
        msg => {
            let req = HubMsg::Request {
                conn_id,
                user_id: user.clone(),
                device_id: login.device_id.clone(),
                seq,
                msg,
            };
            if shared.hub.send(req).await.is_err() {
                return Flow::Close(CLOSE_GOING_AWAY, "server shutting down".into());
            }
            return Flow::Continue;
        }
    };
    if let ServerMsg::Response { code, .. } = &reply {
        if let Ok(c) = ErrorCode::try_from(*code) {
            shared.metrics.error(c);
        }
    }
    send(socket, &reply).await;
    Flow::Continue
}

/// A push token and app as `register_push` allows them: tokens are 1 to
/// [`MAX_PUSH_TOKEN_BYTES`] of letters, digits and `_-:.` (APNs tokens are
/// hex, FCM's use the rest), apps 1 to [`MAX_PUSH_APP_BYTES`] of letters,
/// digits and `.-_` (bundle IDs and project IDs).
fn check_push_registration(token: &str, app: &str) -> Result<(), String> {
    let token_char = |c: char| c.is_ascii_alphanumeric() || "_-:.".contains(c);
    let app_char = |c: char| c.is_ascii_alphanumeric() || ".-_".contains(c);
    if token.is_empty() || token.len() > MAX_PUSH_TOKEN_BYTES || !token.chars().all(token_char) {
        return Err(format!(
            "token must be 1 to {MAX_PUSH_TOKEN_BYTES} letters, digits or '_-:.'"
        ));
    }
    if app.is_empty() || app.len() > MAX_PUSH_APP_BYTES || !app.chars().all(app_char) {
        return Err(format!(
            "app must be a bundle ID or project ID: 1 to {MAX_PUSH_APP_BYTES} letters, digits or '.-_'"
        ));
    }
    Ok(())
}

/// The store, once every call change announced so far is in it.
async fn settled(shared: &Shared) -> &Store {
    shared.watermark.settled().await;
    &shared.store
}

fn store_failure(seq: u64, e: crate::store::StoreError) -> ServerMsg {
    log::error!("store: {e}");
    ServerMsg::err(
        seq,
        ErrorCode::ServerError,
        "storage failed; nothing was changed",
    )
}
