//! Hotline's UniFFI bindings: the call engine for Kotlin and Swift.
//!
//! This crate is thin on purpose. It converts types between
//! [`hotline_engine`] and what UniFFI can carry, maps every failure to one
//! error ([`HotlineError`], `HotlineException` in Kotlin), and adapts the
//! engine's [`Event`](hotline_engine::Event) enum to one method per
//! TUICallEngine callback on [`CallObserver`]. There is no call logic here.
//!
//! Generated with the workspace's `uniffi-bindgen` in library mode; see
//! `scripts/bindings.sh` and `docs/bindings.md`.

use std::sync::Arc;

uniffi::setup_scaffolding!();

mod bench;
mod convert;
mod observer;
mod video;

pub use bench::{fire_test_events, push_test_frames, FramePushStats};
pub use convert::{CallParams, CallRecord, EngineConfig, OfflinePushInfo, RecordFilter};
pub use observer::CallObserver;
pub use video::{FrameBuffer, VideoFrame, VideoSink};

use hotline_engine::CallEngine;
pub use hotline_engine::{CallResult, EndReason, MediaType};

/// Audio only, or audio and video.
#[uniffi::remote(Enum)]
pub enum MediaType {
    /// Audio only.
    Audio,
    /// Audio and video.
    Video,
}

/// Why a call, or one participant's part in it, ended (TUICallEngine's reasons).
#[uniffi::remote(Enum)]
pub enum EndReason {
    /// No more specific reason.
    Unknown,
    /// Someone hung up.
    Hangup,
    /// The callee rejected the invitation.
    Reject,
    /// The callee did not answer before the invitation timed out.
    NoResponse,
    /// The participant went offline and did not come back in time.
    Offline,
    /// The callee was already in another call, or ignored the invitation.
    LineBusy,
    /// The caller cancelled the invitation before it was answered.
    Canceled,
    /// Another device of the same user accepted the invitation.
    OtherDeviceAccepted,
    /// Another device of the same user rejected the invitation.
    OtherDeviceReject,
    /// The server ended the call.
    EndByServer,
}

/// How a call went, from one user's point of view.
#[uniffi::remote(Enum)]
pub enum CallResult {
    /// An invitation the user never answered (or rejected).
    Missed,
    /// An invitation the user answered.
    Incoming,
    /// A call the user placed.
    Outgoing,
}

/// Every failure of the Hotline API (`HotlineException` in Kotlin,
/// `HotlineError` in Swift).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum HotlineError {
    /// A failed API call: a TUICallEngine-style `code` (for example -1203
    /// `REQUEST_REFUSED`, -1202 `PARAM_INVALID`, -1301 `NOT_LOGGED_IN`; see
    /// docs/protocol.md) and `msg`, why, for people (never for parsing).
    /// (`msg`, not `message`: Kotlin exceptions already have a `message`.)
    #[error("{code}: {msg}")]
    Api {
        /// The TUICallEngine-style error code, always negative.
        code: i32,
        /// Why, for people.
        msg: String,
    },
}

impl HotlineError {
    /// The TUICallEngine-style code.
    pub fn code(&self) -> i32 {
        match self {
            HotlineError::Api { code, .. } => *code,
        }
    }
}

impl From<hotline_engine::CallError> for HotlineError {
    fn from(e: hotline_engine::CallError) -> Self {
        HotlineError::Api {
            code: e.code.as_i32(),
            msg: e.message,
        }
    }
}

/// The call engine, shaped like TUICallEngine. One per logged-in user.
///
/// Methods may be called from any thread; the `suspend`/`async` ones finish
/// on the engine's own threads. Observer callbacks arrive on one engine event
/// thread, in order. Free it deterministically with `close()` (Kotlin,
/// `AutoCloseable`) or by dropping the last reference (Swift `deinit`); using
/// it after `close()` throws `IllegalStateException` in Kotlin.
#[derive(uniffi::Object)]
pub struct HotlineEngine {
    inner: Arc<CallEngine>,
}

#[uniffi::export]
impl HotlineEngine {
    /// A new engine with its own runtime and event thread. Call `init` next.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(HotlineEngine {
            inner: Arc::new(CallEngine::new()),
        })
    }

    /// Connect and log in. Returns when the first login succeeded, or throws
    /// (for example -1302 `USERSIG_INVALID`). Afterwards the engine reconnects
    /// by itself.
    pub async fn init(&self, config: EngineConfig) -> Result<(), HotlineError> {
        Ok(self.inner.init(config.into()).await?)
    }

    /// Log out and disconnect. Observers stay registered.
    pub async fn un_init(&self) {
        self.inner.un_init().await
    }

    /// Register an observer. Returns an ID for `remove_observer`.
    pub fn add_observer(&self, observer: Arc<dyn CallObserver>) -> u64 {
        self.inner
            .add_observer(Arc::new(observer::Adapter(observer)))
    }

    /// Stop delivering events to an observer (and release it).
    pub fn remove_observer(&self, id: u64) {
        self.inner.remove_observer(id)
    }

    /// Call one user (1v1) or several (group). Returns the call ID.
    pub async fn calls(
        &self,
        user_ids: Vec<String>,
        media_type: MediaType,
        params: CallParams,
    ) -> Result<String, HotlineError> {
        Ok(self
            .inner
            .calls(user_ids, media_type, params.into())
            .await?)
    }

    /// Answer the ringing call.
    pub async fn accept(&self) -> Result<(), HotlineError> {
        Ok(self.inner.accept().await?)
    }

    /// Decline the ringing call.
    pub async fn reject(&self) -> Result<(), HotlineError> {
        Ok(self.inner.reject().await?)
    }

    /// Stop ringing without answering; the caller sees a busy line.
    pub async fn ignore(&self) -> Result<(), HotlineError> {
        Ok(self.inner.ignore().await?)
    }

    /// Leave the current call (the caller cancels it while it rings).
    pub async fn hangup(&self) -> Result<(), HotlineError> {
        Ok(self.inner.hangup().await?)
    }

    /// Invite more users into the current call (it becomes a group call).
    /// `timeout_s`: 0 means 30 s; otherwise 10–600.
    pub async fn invite_user(
        &self,
        user_ids: Vec<String>,
        timeout_s: u32,
    ) -> Result<(), HotlineError> {
        Ok(self.inner.invite_user(user_ids, timeout_s).await?)
    }

    /// Join an ongoing group call one was invited to.
    pub async fn join(&self, call_id: String) -> Result<(), HotlineError> {
        Ok(self.inner.join(call_id).await?)
    }

    /// Switch the current call's media type (only video to audio).
    pub async fn switch_call_media_type(&self, media_type: MediaType) -> Result<(), HotlineError> {
        Ok(self.inner.switch_call_media_type(media_type).await?)
    }

    /// Set one's nickname and avatar.
    pub async fn set_self_info(
        &self,
        nickname: String,
        avatar_url: String,
    ) -> Result<(), HotlineError> {
        Ok(self.inner.set_self_info(nickname, avatar_url).await?)
    }

    /// Let every logged-in device of this user ring (off by default: a new
    /// login kicks the old one). Takes effect at once, and for later logins.
    pub async fn enable_multi_device_ability(&self, enabled: bool) -> Result<(), HotlineError> {
        Ok(self.inner.enable_multi_device_ability(enabled).await?)
    }

    /// This user's call records, newest first.
    pub async fn query_recent_calls(
        &self,
        filter: RecordFilter,
    ) -> Result<Vec<CallRecord>, HotlineError> {
        Ok(self
            .inner
            .query_recent_calls(filter.into())
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Delete some of this user's call records (IDs from `CallRecord.record_id`).
    pub async fn delete_record_calls(&self, record_ids: Vec<String>) -> Result<(), HotlineError> {
        Ok(self.inner.delete_record_calls(record_ids).await?)
    }

    /// This engine's device ID (random, stable for the engine's life).
    pub fn device_id(&self) -> String {
        self.inner.device_id().to_string()
    }
}

/// FOR DEVELOPMENT AND TESTS ONLY: sign a UserSig on the device. In a real
/// app the secret key never leaves your backend, which issues UserSigs.
/// Valid for `expire_s` seconds from now.
#[uniffi::export]
pub fn gen_user_sig(sdk_app_id: u64, secret_key: String, user_id: String, expire_s: u64) -> String {
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    hotline_proto::usersig::generate(sdk_app_id, &secret_key, &user_id, expire_s, now_s)
}
