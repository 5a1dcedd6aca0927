//! The public, TUICallEngine-shaped API.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use hotline_core::{CallParams, Command, CommandOk, CoreConfig, CoreError, Event};
use hotline_proto::{user_id::validate_user_id, CallRecord, ErrorCode, MediaType, RecordFilter};
use rand::Rng;
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};

use crate::actor::{self, ActorMsg};
use crate::events::{spawn_event_thread, CallObserver, Observers};

/// What `init` needs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The WebSocket URL the server printed, e.g. `ws://host:port/ws`.
    pub server_url: String,
    /// The application's SDKAppID.
    pub sdk_app_id: u64,
    /// Who this engine logs in as.
    pub user_id: String,
    /// The user's UserSig (issued by your backend).
    pub user_sig: String,
}

/// An API failure: a TUICallEngine-style code and a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct CallError {
    /// The code (for example [`ErrorCode::RequestRefused`], -1203).
    pub code: ErrorCode,
    /// Why, for people.
    pub message: String,
}

impl From<CoreError> for CallError {
    fn from(e: CoreError) -> CallError {
        CallError { code: e.code, message: e.message }
    }
}

fn error(code: ErrorCode, message: &str) -> CallError {
    CallError { code, message: message.to_string() }
}

/// Identifies an observer for [`CallEngine::remove_observer`].
pub type ObserverId = u64;

/// The call engine. One per logged-in user; cheap to share behind an `Arc`.
pub struct CallEngine {
    runtime: Option<Runtime>,
    actor: Mutex<Option<mpsc::UnboundedSender<ActorMsg>>>,
    observers: Observers,
    events: std::sync::mpsc::Sender<Event>,
    next_observer: AtomicU64,
    multi_device: AtomicBool,
    device_id: String,
}

impl Default for CallEngine {
    fn default() -> Self {
        CallEngine::new()
    }
}

impl CallEngine {
    /// A new engine with its own runtime and event thread. Call [`init`](Self::init) next.
    pub fn new() -> CallEngine {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("hotline-engine")
            .enable_all()
            .build()
            .expect("tokio runtime");
        let observers: Observers = Arc::default();
        let events = spawn_event_thread(observers.clone());
        CallEngine {
            runtime: Some(runtime),
            actor: Mutex::new(None),
            observers,
            events,
            next_observer: AtomicU64::new(1),
            multi_device: AtomicBool::new(false),
            device_id: format!("{:016x}", rand::thread_rng().gen::<u64>()),
        }
    }

    /// This engine's device ID (random, stable for the engine's life).
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// Connect and log in. Resolves when the first login succeeds or fails;
    /// afterwards the engine reconnects by itself.
    pub async fn init(&self, config: EngineConfig) -> Result<(), CallError> {
        validate_user_id(&config.user_id).map_err(|m| error(ErrorCode::ParamInvalid, &m))?;
        if !(config.server_url.starts_with("ws://") || config.server_url.starts_with("wss://")) {
            return Err(error(ErrorCode::ParamInvalid, "server_url must start with ws:// or wss://"));
        }
        let (login_tx, login_rx) = oneshot::channel();
        {
            let mut slot = self.actor.lock().expect("actor slot");
            if slot.is_some() {
                return Err(error(ErrorCode::RequestRepeated, "already initialised; call un_init first"));
            }
            let core_config = CoreConfig {
                sdk_app_id: config.sdk_app_id,
                user_id: config.user_id.clone(),
                user_sig: config.user_sig.clone(),
                device_id: self.device_id.clone(),
                multi_device: self.multi_device.load(Relaxed),
            };
            let runtime = self.runtime.as_ref().expect("runtime lives as long as the engine");
            let tx = actor::spawn(runtime.handle(), config.server_url.clone(), core_config, self.events.clone(), login_tx);
            *slot = Some(tx);
        }
        match login_rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.un_init().await;
                Err(e.into())
            }
            Err(_) => Err(error(ErrorCode::Failed, "engine stopped during login")),
        }
    }

    /// Log out and disconnect. Observers stay registered.
    pub async fn un_init(&self) {
        let tx = self.actor.lock().expect("actor slot").take();
        if let Some(tx) = tx {
            let (done_tx, done_rx) = oneshot::channel();
            if tx.send(ActorMsg::Stop(done_tx)).is_ok() {
                let _ = done_rx.await;
            }
        }
    }

    /// Register an observer; returns an ID for [`remove_observer`](Self::remove_observer).
    pub fn add_observer(&self, observer: Arc<dyn CallObserver>) -> ObserverId {
        let id = self.next_observer.fetch_add(1, Relaxed);
        self.observers.lock().expect("observer list").push((id, observer));
        id
    }

    /// Stop delivering events to an observer.
    pub fn remove_observer(&self, id: ObserverId) {
        self.observers.lock().expect("observer list").retain(|(i, _)| *i != id);
    }

    async fn run(&self, command: Command) -> Result<CommandOk, CallError> {
        let tx = self.actor.lock().expect("actor slot").clone();
        let Some(tx) = tx else { return Err(error(ErrorCode::NotLoggedIn, "call init first")) };
        let (reply, result) = oneshot::channel();
        tx.send(ActorMsg::Command { command, reply }).map_err(|_| error(ErrorCode::NotLoggedIn, "engine stopped"))?;
        result.await.map_err(|_| error(ErrorCode::NotLoggedIn, "engine stopped"))?.map_err(CallError::from)
    }

    /// Call one user (1v1) or several (group). Returns the call ID.
    pub async fn calls(&self, user_ids: Vec<String>, media_type: MediaType, params: CallParams) -> Result<String, CallError> {
        let ok = self.run(Command::Calls { user_ids, media_type, params }).await?;
        ok.call_id.ok_or_else(|| error(ErrorCode::Failed, "the server returned no call"))
    }

    /// Answer the ringing call.
    pub async fn accept(&self) -> Result<(), CallError> {
        self.run(Command::Accept).await.map(drop)
    }

    /// Decline the ringing call.
    pub async fn reject(&self) -> Result<(), CallError> {
        self.run(Command::Reject).await.map(drop)
    }

    /// Stop ringing without answering; the caller sees a busy line.
    pub async fn ignore(&self) -> Result<(), CallError> {
        self.run(Command::Ignore).await.map(drop)
    }

    /// Leave the current call (the caller cancels it while it rings).
    pub async fn hangup(&self) -> Result<(), CallError> {
        self.run(Command::Hangup).await.map(drop)
    }

    /// Invite more users into the current call (it becomes a group call).
    pub async fn invite_user(&self, user_ids: Vec<String>, timeout_s: u32) -> Result<(), CallError> {
        self.run(Command::InviteUser { user_ids, timeout_s }).await.map(drop)
    }

    /// Join an ongoing group call one was invited to.
    pub async fn join(&self, call_id: String) -> Result<(), CallError> {
        self.run(Command::Join { call_id }).await.map(drop)
    }

    /// Switch the current call from video to audio.
    pub async fn switch_call_media_type(&self, media_type: MediaType) -> Result<(), CallError> {
        self.run(Command::SwitchCallMediaType { media_type }).await.map(drop)
    }

    /// Set one's nickname and avatar.
    pub async fn set_self_info(&self, nickname: String, avatar_url: String) -> Result<(), CallError> {
        self.run(Command::SetSelfInfo { nickname, avatar_url }).await.map(drop)
    }

    /// Let every logged-in device of this user ring (off by default: a new
    /// login kicks the old one). Takes effect at once, and for later logins.
    pub async fn enable_multi_device_ability(&self, enabled: bool) -> Result<(), CallError> {
        self.multi_device.store(enabled, Relaxed);
        if self.actor.lock().expect("actor slot").is_none() {
            return Ok(());
        }
        self.run(Command::EnableMultiDeviceAbility { enabled }).await.map(drop)
    }

    /// This user's call records, newest first.
    pub async fn query_recent_calls(&self, filter: RecordFilter) -> Result<Vec<CallRecord>, CallError> {
        Ok(self.run(Command::QueryRecentCalls { filter }).await?.records)
    }

    /// Delete some of this user's call records.
    pub async fn delete_record_calls(&self, record_ids: Vec<String>) -> Result<(), CallError> {
        self.run(Command::DeleteRecordCalls { record_ids }).await.map(drop)
    }
}

impl Drop for CallEngine {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            // Safe from any thread, including inside another runtime.
            rt.shutdown_background();
        }
    }
}
