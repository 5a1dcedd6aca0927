//! Hotline's sans-IO call state machine: the client side of the engine.
//!
//! [`CallCore`] owns no sockets, threads or clocks. The IO layer feeds it
//! [`Input`]s (connection changes, server frames, API commands, time ticks)
//! together with a monotonic millisecond clock `now_ms`, then drains
//! [`CallCore::poll_output`] until it returns [`Output::Timeout`]:
//!
//! ```
//! use hotline_core::{CallCore, CoreConfig, Input, Output};
//!
//! let mut core = CallCore::new(CoreConfig {
//!     sdk_app_id: 1400000001,
//!     user_id: "alice".into(),
//!     user_sig: "sig".into(),
//!     device_id: "phone-1".into(),
//!     multi_device: false,
//! });
//! core.handle(Input::Connected, 0);
//! loop {
//!     match core.poll_output() {
//!         Output::Send(frame) => { /* write serde_json::to_string(&frame) to the WebSocket */ let _ = frame; }
//!         Output::Timeout(at_ms) => { /* call core.handle(Input::Tick, at_ms) then */ let _ = at_ms; break; }
//!         _ => {}
//!     }
//! }
//! ```
//!
//! The server is authoritative: it sends a full [`hotline_proto::CallInfo`]
//! snapshot on every change, and the core turns snapshot differences into
//! TUICallEngine-style observer [`Event`]s.
//!
//! Modules, one job each:
//! - [`input`] / [`output`]: what goes in and what comes out.
//! - [`event`]: the observer events.
//! - [`error`]: the error type, a code and a message.
//! - `connection`: login, heartbeats, liveness and request tracking.
//! - `call_view`: snapshots per call, and snapshot differences → events.
//! - `commands`: local validation of API commands → client frames.
//!
//! Offline push: [`Command::RegisterPush`] is remembered and sent after every
//! login; [`Input::PushedCall`] names a call the app learned of from a push
//! in the next login's `known_calls`, so that it is reported even if it
//! ended before the device came online.
//! - `call_core`: [`CallCore`], gluing the above together.

mod call_core;
mod call_view;
mod commands;
mod connection;
pub mod error;
pub mod event;
pub mod input;
pub mod output;

pub use call_core::CallCore;
pub use commands::validate_push_registration;
pub use error::CoreError;
pub use event::{Event, NetworkQuality, UserNetworkQuality, UserVolume};
pub use input::{CallParams, Command, CoreConfig, Input};
pub use output::{CommandOk, Output};

/// How long a request (or a login) may wait for its response, in ms.
pub const REQUEST_TIMEOUT_MS: u64 = 10_000;
/// How many commands may wait for a connection at once; more fail with REQUEST_REFUSED.
pub const MAX_QUEUED_COMMANDS: usize = 32;
/// Extra slack on top of two heartbeat intervals before the link is declared dead, in ms.
pub const LIVENESS_SLACK_MS: u64 = 5_000;
/// Largest number of callees one `Calls` may name.
pub const MAX_CALLEES: usize = 8;
/// How many call IDs a login's `known_calls` carries at most (the server
/// reads no more): the current call, then calls learned of from pushes.
pub const MAX_KNOWN_CALLS: usize = 8;
/// When nothing is scheduled, `poll_output` asks for a tick this far ahead, in ms.
pub const IDLE_TICK_MS: u64 = 60_000;
