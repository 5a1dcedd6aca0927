//! Error codes carried by responses and error messages.
//!
//! The -1xxx codes in the 1200 range are TUICallEngine's; the 1300 range is
//! Hotline's signaling layer. `docs/protocol.md` lists every one.

use serde::{Deserialize, Serialize};

/// An error code on the wire (`"code": -1203`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "i32", try_from = "i32")]
pub enum ErrorCode {
    /// Generic failure (TUICallEngine `ERROR_FAILED`-style catch-all).
    Failed,
    /// A parameter is missing or out of range (-1202).
    ParamInvalid,
    /// The request is not allowed in the current state (-1203).
    RequestRefused,
    /// The same request was already made (-1204).
    RequestRepeated,
    /// The operation is not supported for this kind of call (-1205).
    SceneNotSupported,
    /// The engine has not been initialised / is not logged in (-1301).
    NotLoggedIn,
    /// The UserSig did not verify (-1302). The message says why.
    UserSigInvalid,
    /// The UserSig has expired (-1303).
    UserSigExpired,
    /// The frame is not valid JSON or misses a required field (-1311).
    MalformedMessage,
    /// The `type` field names no known message (-1312).
    UnknownMessage,
    /// The frame exceeds [`crate::MAX_MESSAGE_BYTES`] (-1313); the connection is closed.
    MessageTooLarge,
    /// The sender exceeds the message rate limit (-1314); the connection is closed.
    RateLimited,
    /// The request timed out or the connection was lost before an answer (-1315).
    Timeout,
    /// The server failed internally (-1316); nothing was changed.
    ServerError,
    /// The client speaks a protocol version the server does not (-1317).
    ProtocolVersion,
}

impl ErrorCode {
    /// Every code, for documentation and tests.
    pub const ALL: [ErrorCode; 15] = [
        ErrorCode::Failed,
        ErrorCode::ParamInvalid,
        ErrorCode::RequestRefused,
        ErrorCode::RequestRepeated,
        ErrorCode::SceneNotSupported,
        ErrorCode::NotLoggedIn,
        ErrorCode::UserSigInvalid,
        ErrorCode::UserSigExpired,
        ErrorCode::MalformedMessage,
        ErrorCode::UnknownMessage,
        ErrorCode::MessageTooLarge,
        ErrorCode::RateLimited,
        ErrorCode::Timeout,
        ErrorCode::ServerError,
        ErrorCode::ProtocolVersion,
    ];

    /// The numeric code.
    pub const fn as_i32(self) -> i32 {
        match self {
            ErrorCode::Failed => -1,
            ErrorCode::ParamInvalid => -1202,
            ErrorCode::RequestRefused => -1203,
            ErrorCode::RequestRepeated => -1204,
            ErrorCode::SceneNotSupported => -1205,
            ErrorCode::NotLoggedIn => -1301,
            ErrorCode::UserSigInvalid => -1302,
            ErrorCode::UserSigExpired => -1303,
            ErrorCode::MalformedMessage => -1311,
            ErrorCode::UnknownMessage => -1312,
            ErrorCode::MessageTooLarge => -1313,
            ErrorCode::RateLimited => -1314,
            ErrorCode::Timeout => -1315,
            ErrorCode::ServerError => -1316,
            ErrorCode::ProtocolVersion => -1317,
        }
    }

    /// The constant's name as documented (`REQUEST_REFUSED`).
    pub const fn name(self) -> &'static str {
        match self {
            ErrorCode::Failed => "FAILED",
            ErrorCode::ParamInvalid => "PARAM_INVALID",
            ErrorCode::RequestRefused => "REQUEST_REFUSED",
            ErrorCode::RequestRepeated => "REQUEST_REPEATED",
            ErrorCode::SceneNotSupported => "SCENE_NOT_SUPPORTED",
            ErrorCode::NotLoggedIn => "NOT_LOGGED_IN",
            ErrorCode::UserSigInvalid => "USERSIG_INVALID",
            ErrorCode::UserSigExpired => "USERSIG_EXPIRED",
            ErrorCode::MalformedMessage => "MALFORMED_MESSAGE",
            ErrorCode::UnknownMessage => "UNKNOWN_MESSAGE",
            ErrorCode::MessageTooLarge => "MESSAGE_TOO_LARGE",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::ServerError => "SERVER_ERROR",
            ErrorCode::ProtocolVersion => "PROTOCOL_VERSION",
        }
    }
}

impl From<ErrorCode> for i32 {
    fn from(c: ErrorCode) -> i32 {
        c.as_i32()
    }
}

impl TryFrom<i32> for ErrorCode {
    type Error = String;
    fn try_from(v: i32) -> Result<Self, String> {
        ErrorCode::ALL
            .into_iter()
            .find(|c| c.as_i32() == v)
            .ok_or_else(|| format!("unknown error code {v}"))
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name(), self.as_i32())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::try_from(c.as_i32()), Ok(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, c.as_i32().to_string());
        }
        let mut n: Vec<i32> = ErrorCode::ALL.iter().map(|c| c.as_i32()).collect();
        n.sort();
        n.dedup();
        assert_eq!(n.len(), ErrorCode::ALL.len());
        assert!(ErrorCode::try_from(7).is_err());
    }
}
