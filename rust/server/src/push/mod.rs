//! Offline push: a ring push to each device of an invited user that has a
//! push token and no connection, and a cancel push when it should stop
//! ringing (`docs/push.md`).
//!
//! The hub follows who rings ([`ringing`]) and hands each change to the push
//! service as a [`PushJob`] without waiting: the queue is bounded and a job
//! that does not fit is dropped and counted. The service looks up the
//! user's tokens, builds the payload for each provider within its size
//! limit, and sends, retrying 429s and 5xx with jittered backoff until the
//! invitation's deadline; a push that cannot go out before it is dropped,
//! never sent late. Tokens the provider calls dead are deleted.

pub mod apns;
pub mod fcm;
mod metrics;
pub mod ringing;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hotline_proto::push::{PushKind, PushPayload, PushProvider, PUSH_PAYLOAD_VERSION};
use rand::Rng;
use tokio::sync::{mpsc, Semaphore};

use crate::config::ServerConfig;
use crate::hub::unix_ms;
use crate::store::{PushToken, Store};
use apns::{Apns, ApnsConfig, ApnsKind};
use fcm::Fcm;
pub use metrics::{FailReason, PushMetrics};

/// Jobs waiting for the push service; beyond this many, new ones are dropped.
pub const QUEUE_LEN: usize = 8192;
/// Pushes in flight at once (HTTP/2 streams and token lookups).
const IN_FLIGHT: usize = 256;
/// How long a cancel stays worth delivering.
pub const CANCEL_TTL_MS: i64 = 30_000;
/// Largest APNs VoIP body, bytes.
pub const APNS_VOIP_LIMIT: usize = 5120;
/// Largest APNs alert or background body, and FCM data, bytes.
pub const APNS_ALERT_LIMIT: usize = 4096;
/// Largest FCM data payload (keys and values), bytes.
pub const FCM_DATA_LIMIT: usize = 4096;

/// Why push could not start.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// A setting or a credentials file is wrong.
    #[error("push: {0}")]
    Config(String),
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The provider took it.
    Sent,
    /// The token is dead; delete it.
    Dead(String),
    /// Try again (after the provider's `Retry-After`, if it gave one).
    Retry {
        /// The provider's wait.
        after: Option<Duration>,
        /// What went wrong.
        reason: String,
    },
    /// Refused for good.
    Failed(String),
}

/// A change of who rings, for one user: the hub's part of a push.
#[derive(Debug, Clone)]
pub struct PushJob {
    /// Whose devices.
    pub user_id: String,
    /// Devices of the user that are connected (they hear it over the
    /// WebSocket and are not pushed).
    pub connected_devices: Vec<String>,
    /// The call and the content: `kind` is a ring or a cancel; a ring's
    /// caller nickname, avatar and server URL are filled in by the service.
    pub payload: PushPayload,
    /// When the hub made the job (for the latency metric).
    pub made_at: Instant,
}

/// The hub's handle: submit jobs without waiting.
#[derive(Clone)]
pub struct Push {
    tx: mpsc::Sender<PushJob>,
    metrics: Arc<PushMetrics>,
}

impl Push {
    /// Queue a job; a full queue drops it (counted).
    pub fn submit(&self, job: PushJob) {
        if self.tx.try_send(job).is_err() {
            self.metrics.failed(None, FailReason::QueueFull);
        }
    }
}

/// The configured providers and what they share.
struct Providers {
    apns: Option<Apns>,
    fcm: Option<Fcm>,
    store: Store,
    metrics: Arc<PushMetrics>,
    server_url: String,
    /// Invitations a cancel was queued for (call ID, user), with when the
    /// entry may go: a ring still being retried for one of them stops.
    cancelled: Mutex<HashMap<(String, String), i64>>,
    /// When `cancelled` was last swept of entries past their time (Unix ms).
    swept_ms: AtomicI64,
}

/// Start the push service if any provider is configured; `None` (and a log
/// line saying so) when push is off.
pub fn start(
    config: &ServerConfig,
    store: Store,
    metrics: Arc<PushMetrics>,
    server_url: String,
) -> Result<Option<Push>, PushError> {
    let http = http_client(config)?;
    let apns = match (
        &config.apns_key_file,
        &config.apns_key_id,
        &config.apns_team_id,
        &config.apns_topic,
    ) {
        (Some(file), Some(key_id), Some(team_id), Some(topic)) => {
            let key_pem = std::fs::read_to_string(file).map_err(|e| {
                PushError::Config(format!("cannot read apns_key_file {}: {e}", file.display()))
            })?;
            let config = ApnsConfig {
                key_pem,
                key_id: key_id.clone(),
                team_id: team_id.clone(),
                topic: topic.clone(),
                url: config.apns_url.clone(),
            };
            Some(Apns::new(config, http.clone())?)
        }
        _ => None,
    };
    let fcm = match &config.fcm_service_account {
        Some(file) => {
            let json = std::fs::read_to_string(file).map_err(|e| {
                PushError::Config(format!(
                    "cannot read fcm_service_account {}: {e}",
                    file.display()
                ))
            })?;
            Some(Fcm::new(&json, config.fcm_url.clone(), http)?)
        }
        None => None,
    };
    match (&apns, &fcm) {
        (None, None) => {
            log::info!("push is off: no APNs key or FCM service account configured");
            return Ok(None);
        }
        _ => log::info!(
            "push is on: APNs {}, FCM {}",
            apns.as_ref()
                .map_or("off".into(), |a| format!("for {}", a.topic())),
            fcm.as_ref()
                .map_or("off".into(), |f| format!("for project {}", f.project())),
        ),
    }
    let (tx, rx) = mpsc::channel(QUEUE_LEN);
    let providers = Arc::new(Providers {
        apns,
        fcm,
        store,
        metrics: metrics.clone(),
        server_url,
        cancelled: Mutex::new(HashMap::new()),
        swept_ms: AtomicI64::new(0),
    });
    tokio::spawn(run(providers, rx));
    Ok(Some(Push { tx, metrics }))
}

/// One HTTP client for every provider: HTTP/2 over rustls, the system's
/// roots plus `push_ca_file`'s.
pub fn http_client(config: &ServerConfig) -> Result<reqwest::Client, PushError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_secs(600));
    if let Some(file) = &config.push_ca_file {
        let pem = std::fs::read(file).map_err(|e| {
            PushError::Config(format!("cannot read push_ca_file {}: {e}", file.display()))
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| PushError::Config(format!("push_ca_file {}: {e}", file.display())))?;
        builder = builder.tls_certs_merge(certs);
    }
    builder
        .build()
        .map_err(|e| PushError::Config(format!("cannot build the push HTTP client: {e}")))
}

async fn run(providers: Arc<Providers>, mut rx: mpsc::Receiver<PushJob>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(job) = rx.recv().await {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            break;
        };
        let providers = providers.clone();
        tokio::spawn(async move {
            providers.deliver_job(job).await;
            drop(permit);
        });
    }
}

impl Providers {
    async fn deliver_job(&self, mut job: PushJob) {
        if matches!(job.payload.kind, PushKind::Cancel { .. }) {
            self.note_cancel(&job);
        }
        // A ring also needs the caller's profile. Both reads go to the store
        // at once: issued one after the other, each waited on its own behind
        // the hub's writes on the store's single connection
        // (docs/benchmarks.md, offline push).
        let profile = async {
            match &job.payload.kind {
                PushKind::Call { caller_id, .. } => Some(self.store.profile(caller_id).await),
                PushKind::Cancel { .. } => None,
            }
        };
        let (tokens, profile) = tokio::join!(self.store.push_tokens(&job.user_id), profile);
        let tokens = match tokens {
            Ok(t) => t,
            Err(e) => {
                log::error!("push: reading {}'s tokens: {e}", job.user_id);
                self.metrics.failed(None, FailReason::Error);
                return;
            }
        };
        let tokens: Vec<PushToken> = tokens
            .into_iter()
            .filter(|t| !job.connected_devices.contains(&t.device_id))
            .collect();
        if tokens.is_empty() {
            return;
        }
        if let PushKind::Call {
            caller_id,
            caller_nickname,
            caller_avatar,
            server_url,
            ..
        } = &mut job.payload.kind
        {
            *server_url = self.server_url.clone();
            match profile {
                Some(Ok((nickname, avatar))) => {
                    (*caller_nickname, *caller_avatar) = (nickname, avatar)
                }
                Some(Err(e)) => log::warn!("push: reading {caller_id}'s profile: {e}"),
                None => {}
            }
        }
        let sends = tokens.iter().map(|t| self.deliver(t, &job));
        futures_util::future::join_all(sends).await;
    }

    /// Send one job to one token, retrying until its deadline.
    async fn deliver(&self, token: &PushToken, job: &PushJob) {
        let provider = token.provider;
        let Some(request) = self.request(token, &job.payload) else {
            return;
        };
        let mut attempt = 0u32;
        loop {
            let left_ms = job.payload.deadline_ms - unix_ms();
            if left_ms <= 0 {
                self.metrics.failed(Some(provider), FailReason::Deadline);
                return;
            }
            if attempt > 0 && self.was_cancelled(job) {
                // A ring retried past its cancel would ring a call that is over.
                self.metrics.failed(Some(provider), FailReason::Cancelled);
                return;
            }
            let outcome = self
                .send(
                    token,
                    &request,
                    &job.payload,
                    Duration::from_millis(left_ms as u64),
                )
                .await;
            match outcome {
                Outcome::Sent => {
                    self.metrics.sent(provider, job.made_at.elapsed());
                    return;
                }
                Outcome::Dead(reason) => {
                    log::info!(
                        "push: {} token of {}/{} is dead ({reason}); deleting it",
                        provider.as_str(),
                        token.user_id,
                        token.device_id
                    );
                    self.metrics.failed(Some(provider), FailReason::DeadToken);
                    match self
                        .store
                        .delete_dead_push_token(provider, &token.token)
                        .await
                    {
                        Ok(true) => self.metrics.token_deleted(),
                        Ok(false) => {}
                        Err(e) => log::error!("push: deleting a dead token: {e}"),
                    }
                    return;
                }
                Outcome::Failed(reason) => {
                    log::warn!(
                        "push: {} refused a push to {}/{}: {reason}",
                        provider.as_str(),
                        token.user_id,
                        token.device_id
                    );
                    self.metrics.failed(Some(provider), FailReason::Refused);
                    return;
                }
                Outcome::Retry { after, reason } => {
                    attempt += 1;
                    let wait = after.unwrap_or_else(|| backoff(attempt));
                    if unix_ms() + wait.as_millis() as i64 >= job.payload.deadline_ms {
                        log::info!(
                            "push: {} to {}/{} gave up at the deadline: {reason}",
                            provider.as_str(),
                            token.user_id,
                            token.device_id
                        );
                        self.metrics.failed(Some(provider), FailReason::Deadline);
                        return;
                    }
                    self.metrics.retried(provider);
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Remember that this invitation was cancelled, until its ring's deadline
    /// could have passed, forgetting entries that are past theirs.
    fn note_cancel(&self, job: &PushJob) {
        let now = unix_ms();
        let mut cancelled = self.cancelled.lock().expect("cancelled");
        // At most once a second: a sweep visits every entry, and at 500
        // cancels a second they number 300,000 (docs/benchmarks.md).
        if now - self.swept_ms.load(Ordering::Relaxed) >= 1000 {
            cancelled.retain(|_, until| *until > now);
            self.swept_ms.store(now, Ordering::Relaxed);
        }
        // A ring's deadline is at most 600 s away (the longest invitation).
        let until = now + i64::from(hotline_proto::MAX_INVITE_TIMEOUT_S) * 1000;
        cancelled.insert((job.payload.call_id.clone(), job.user_id.clone()), until);
    }

    fn was_cancelled(&self, job: &PushJob) -> bool {
        matches!(job.payload.kind, PushKind::Call { .. })
            && self
                .cancelled
                .lock()
                .expect("cancelled")
                .contains_key(&(job.payload.call_id.clone(), job.user_id.clone()))
    }

    /// The body for this token's provider, or `None` (counted) when the
    /// provider is off, the token is for another app, or it cannot fit.
    fn request(&self, token: &PushToken, payload: &PushPayload) -> Option<Request> {
        let provider = token.provider;
        let app_matches = match provider {
            PushProvider::ApnsVoip | PushProvider::Apns => {
                self.apns.as_ref().map(|a| a.topic() == token.app)
            }
            PushProvider::Fcm => self.fcm.as_ref().map(|f| f.project() == token.app),
        };
        match app_matches {
            None => {
                self.metrics.failed(Some(provider), FailReason::ProviderOff);
                return None;
            }
            Some(false) => {
                self.metrics.failed(Some(provider), FailReason::AppMismatch);
                return None;
            }
            Some(true) => {}
        }
        let request = build_request(provider, payload);
        if request.is_none() {
            self.metrics.failed(Some(provider), FailReason::TooLarge);
        }
        request
    }

    async fn send(
        &self,
        token: &PushToken,
        request: &Request,
        payload: &PushPayload,
        left: Duration,
    ) -> Outcome {
        match request {
            Request::Apns { kind, body } => {
                let apns = self.apns.as_ref().expect("checked in request()");
                let expiration_s = payload.deadline_ms.div_euclid(1000);
                apns.send(
                    &token.token,
                    token.environment,
                    *kind,
                    body,
                    expiration_s,
                    &payload.call_id,
                )
                .await
            }
            Request::Fcm { data } => {
                let fcm = self.fcm.as_ref().expect("checked in request()");
                fcm.send(&token.token, data, left).await
            }
        }
    }
}

/// A push ready for its provider.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// An APNs body and its push type.
    Apns {
        /// VoIP, alert or background.
        kind: ApnsKind,
        /// The JSON body.
        body: String,
    },
    /// The `hotline` value of FCM's data map.
    Fcm {
        /// The payload's JSON.
        data: String,
    },
}

/// Wrap a payload for `provider` within its size limit: a VoIP push for
/// `apns_voip` (rings and cancels alike: PushKit delivers nothing else to a
/// VoIP token), an alert (ring) or background push (cancel) for `apns`, a
/// data message for FCM. `None` if it cannot fit.
pub fn build_request(provider: PushProvider, payload: &PushPayload) -> Option<Request> {
    const WRAP: usize = r#"{"hotline":}"#.len();
    match provider {
        PushProvider::ApnsVoip => {
            let inner = payload.to_json_within(APNS_VOIP_LIMIT - WRAP)?;
            Some(Request::Apns {
                kind: ApnsKind::Voip,
                body: format!(r#"{{"hotline":{inner}}}"#),
            })
        }
        PushProvider::Apns => {
            let (kind, aps) = match &payload.kind {
                PushKind::Call {
                    caller_id,
                    caller_nickname,
                    title,
                    desc,
                    media_type,
                    ..
                } => {
                    let who = if caller_nickname.is_empty() {
                        caller_id
                    } else {
                        caller_nickname
                    };
                    let title = if title.is_empty() {
                        format!("{who} is calling")
                    } else {
                        title.clone()
                    };
                    let body = if desc.is_empty() {
                        format!("Incoming {} call", media_type.as_str())
                    } else {
                        desc.clone()
                    };
                    let aps = serde_json::json!({ "alert": { "title": title, "body": body }, "sound": "default" });
                    (ApnsKind::Alert, aps)
                }
                PushKind::Cancel { .. } => (
                    ApnsKind::Background,
                    serde_json::json!({ "content-available": 1 }),
                ),
            };
            let aps = aps.to_string();
            let overhead = r#"{"aps":,"hotline":}"#.len() + aps.len();
            let inner = payload.to_json_within(APNS_ALERT_LIMIT.checked_sub(overhead)?)?;
            Some(Request::Apns {
                kind,
                body: format!(r#"{{"aps":{aps},"hotline":{inner}}}"#),
            })
        }
        PushProvider::Fcm => {
            // The data map is {"hotline": "<json>"}; the value is a string,
            // so its quotes are escaped: budget for the worst case of the
            // escaped form by measuring it.
            let mut limit = FCM_DATA_LIMIT - "hotline".len();
            loop {
                let inner = payload.to_json_within(limit)?;
                let escaped = serde_json::to_string(&inner)
                    .expect("string serialises")
                    .len();
                if escaped <= FCM_DATA_LIMIT - "hotline".len() {
                    return Some(Request::Fcm { data: inner });
                }
                limit = limit.checked_sub(escaped - (FCM_DATA_LIMIT - "hotline".len()))?;
            }
        }
    }
}

/// Jittered exponential backoff: about 100 ms, 200 ms, … up to 5 s.
fn backoff(attempt: u32) -> Duration {
    let base = 100u64.saturating_mul(1 << attempt.min(6)).min(5_000);
    let jitter = rand::thread_rng().gen_range(0.5..1.5);
    Duration::from_millis((base as f64 * jitter) as u64)
}

/// A `Retry-After` header in seconds.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// A payload for a new job (ring or cancel), before the service fills in
/// the caller's profile and the server URL.
pub fn payload(call_id: &str, deadline_ms: i64, kind: PushKind) -> PushPayload {
    PushPayload {
        v: PUSH_PAYLOAD_VERSION,
        call_id: call_id.to_string(),
        deadline_ms,
        kind,
    }
}
