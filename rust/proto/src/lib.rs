//! Hotline's wire protocol, shared by the server, the engine and the web client.
//!
//! Nothing here knows about sockets, threads or clocks: times are passed in as
//! Unix milliseconds or seconds.
//!
//! - [`message`]: the JSON messages exchanged over the signaling WebSocket.
//! - [`call`]: the call snapshot the server sends on every change.
//! - [`code`]: error codes (TUICallEngine's, plus Hotline's signaling codes).
//! - [`usersig`]: the UserSig v2 codec (TLS-sig-api-v2 compatible).
//! - [`user_id`]: user ID validation.

pub mod call;
pub mod code;
pub mod message;
pub mod push;
pub mod user_id;
pub mod usersig;

pub use call::*;
pub use code::ErrorCode;
pub use message::*;

/// Version of the signaling protocol described in `docs/protocol.md`.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest signaling message (one WebSocket text frame) the server accepts, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// Default invitation timeout in seconds (TUICallEngine's).
pub const DEFAULT_INVITE_TIMEOUT_S: u32 = 30;
/// Smallest invitation timeout a caller may ask for, in seconds.
pub const MIN_INVITE_TIMEOUT_S: u32 = 10;
/// Largest invitation timeout a caller may ask for, in seconds.
pub const MAX_INVITE_TIMEOUT_S: u32 = 600;

/// Resolve a requested invitation timeout: 0 means the default, and anything
/// outside 10–600 s is invalid.
pub fn resolve_invite_timeout(requested_s: u32) -> Result<u32, ErrorCode> {
    match requested_s {
        0 => Ok(DEFAULT_INVITE_TIMEOUT_S),
        s if (MIN_INVITE_TIMEOUT_S..=MAX_INVITE_TIMEOUT_S).contains(&s) => Ok(s),
        _ => Err(ErrorCode::ParamInvalid),
    }
}
