//! The core's error type: a wire [`ErrorCode`] plus a human-readable message.

use hotline_proto::ErrorCode;
use serde::Serialize;

/// Why a command or a login failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct CoreError {
    /// TUICallEngine-style code (for example [`ErrorCode::RequestRefused`]).
    pub code: ErrorCode,
    /// Why, for people.
    pub message: String,
}

impl CoreError {
    /// An error with the given code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> CoreError {
        CoreError {
            code,
            message: message.into(),
        }
    }

    /// An error from a response's numeric code (unknown codes become [`ErrorCode::Failed`]).
    pub fn from_wire(code: i32, message: &str) -> CoreError {
        let code = ErrorCode::try_from(code).unwrap_or(ErrorCode::Failed);
        CoreError {
            code,
            message: message.to_string(),
        }
    }
}
