//! Hotline's call engine, shaped like TUICallEngine.
//!
//! [`CallEngine`] owns a tokio runtime, the WebSocket signaling client and the
//! sans-IO [`hotline_core::CallCore`]. API methods send commands to one actor
//! task that drives the core; observer events are delivered on one dedicated
//! event thread, in order, with no lock held while an observer runs.
//!
//! ```no_run
//! # async fn demo() -> Result<(), hotline_engine::CallError> {
//! use hotline_engine::{CallEngine, EngineConfig, CallParams, MediaType};
//! let engine = CallEngine::new();
//! engine.init(EngineConfig {
//!     server_url: "ws://127.0.0.1:8080/ws".into(),
//!     sdk_app_id: 1400000000,
//!     user_id: "alice".into(),
//!     user_sig: "<from your backend>".into(),
//!     trusted_ca_pem: None,
//! }).await?;
//! let call_id = engine.calls(vec!["bob".into()], MediaType::Video, CallParams::default()).await?;
//! # let _ = call_id; Ok(()) }
//! ```
//!
//! Offline push: [`CallEngine::register_push_token`] registers the device's
//! push token (sent after every login), and [`CallEngine::handle_push_payload`]
//! reads a push before any network and makes the next login report its call.

mod actor;
mod backoff;
mod engine;
mod events;
pub mod media;
mod push;
mod tls;
mod websocket;

pub use engine::{CallEngine, CallError, EngineConfig, ObserverId};
pub use events::CallObserver;
pub use hotline_core::{CallParams, Event};
pub use hotline_proto::push::{CancelReason, PushEnvironment, PushProvider};
pub use hotline_proto::{
    CallRecord, CallResult, EndReason, ErrorCode, MediaType, OfflinePushInfo, RecordFilter,
    VideoStreamType,
};
pub use push::PushAction;
