//! Offline push on the phone: what a push asks the app to do.
//!
//! A push reaches an app that may have no connection and no engine logged
//! in. [`PushAction::from_payload`] reads it ([`PushPayload::parse`]) without
//! any network and says what to show at once; the engine then logs in and
//! reports the call as usual (see [`crate::CallEngine::handle_push_payload`]).

use hotline_proto::push::{CancelReason, PushKind, PushPayload};
use hotline_proto::{ErrorCode, MediaType};

use crate::CallError;

/// What a push asks the app to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // one per push; boxing would only show in the bindings
pub enum PushAction {
    /// An incoming call: show it now (CallKit, a full-screen notification),
    /// then log in; the engine reports it (`CallReceived`, or
    /// `CallNotConnected` if it ended meanwhile).
    IncomingCall {
        /// The call.
        call_id: String,
        /// Who is calling.
        caller_id: String,
        /// The caller's nickname, possibly empty.
        caller_nickname: String,
        /// The caller's avatar URL, possibly empty.
        caller_avatar: String,
        /// Audio or video.
        media_type: MediaType,
        /// Whether it is a group call.
        is_group: bool,
        /// Everyone else invited (the caller and this user excluded).
        invitees: Vec<String>,
        /// Unix ms after which the invitation no longer rings.
        deadline_ms: i64,
        /// The WebSocket URL of the server that sent it.
        server_url: String,
        /// The caller's offline-push title (`OfflinePushInfo.title`).
        title: String,
        /// The caller's offline-push text (`OfflinePushInfo.desc`).
        desc: String,
        /// The caller's offline-push extra data (`OfflinePushInfo.ext`).
        ext: String,
    },
    /// Stop showing a call that came by push.
    Cancel {
        /// The call.
        call_id: String,
        /// Why.
        reason: CancelReason,
    },
    /// An incoming call whose invitation stopped ringing before the push was
    /// read: nothing rings. (iOS: a VoIP push must still be reported to
    /// CallKit; report it and end it at once.)
    Expired {
        /// The call.
        call_id: String,
    },
}

impl PushAction {
    /// Read a push as the phone received it (the `hotline` object, a whole
    /// APNs body, or FCM's data map as JSON) at `now_ms` (Unix ms). An
    /// unreadable push is `PARAM_INVALID` with the reason.
    pub fn from_payload(payload: &str, now_ms: i64) -> Result<PushAction, CallError> {
        let p = PushPayload::parse(payload).map_err(|e| CallError {
            code: ErrorCode::ParamInvalid,
            message: e.to_string(),
        })?;
        Ok(match p.kind {
            PushKind::Cancel { reason } => PushAction::Cancel {
                call_id: p.call_id,
                reason,
            },
            PushKind::Call { .. } if p.deadline_ms <= now_ms => {
                PushAction::Expired { call_id: p.call_id }
            }
            PushKind::Call {
                caller_id,
                caller_nickname,
                caller_avatar,
                media_type,
                is_group,
                invitees,
                server_url,
                title,
                desc,
                ext,
            } => PushAction::IncomingCall {
                call_id: p.call_id,
                caller_id,
                caller_nickname,
                caller_avatar,
                media_type,
                is_group,
                invitees,
                deadline_ms: p.deadline_ms,
                server_url,
                title,
                desc,
                ext,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALL: &str = r#"{"v":1,"call_id":"c1","deadline_ms":2000,"type":"call","caller_id":"alice","media_type":"video","is_group":false,"server_url":"ws://h/ws"}"#;

    #[test]
    fn calls_ring_until_their_deadline() {
        match PushAction::from_payload(CALL, 1999).unwrap() {
            PushAction::IncomingCall {
                call_id,
                caller_id,
                caller_nickname,
                deadline_ms,
                invitees,
                ..
            } => {
                assert_eq!((call_id.as_str(), caller_id.as_str()), ("c1", "alice"));
                assert_eq!((caller_nickname.as_str(), deadline_ms), ("", 2000));
                assert!(invitees.is_empty());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            PushAction::from_payload(CALL, 2000).unwrap(),
            PushAction::Expired {
                call_id: "c1".into()
            }
        );
    }

    #[test]
    fn cancels_are_cancels_whatever_the_time() {
        let cancel = r#"{"hotline":"{\"v\":1,\"call_id\":\"c1\",\"deadline_ms\":5,\"type\":\"cancel\",\"reason\":\"no_response\"}"}"#;
        assert_eq!(
            PushAction::from_payload(cancel, 10).unwrap(),
            PushAction::Cancel {
                call_id: "c1".into(),
                reason: CancelReason::NoResponse
            }
        );
    }

    #[test]
    fn strangers_are_param_invalid_with_the_reason() {
        let e = PushAction::from_payload(r#"{"aps":{"alert":"hi"}}"#, 0).unwrap_err();
        assert_eq!(e.code, ErrorCode::ParamInvalid);
        assert!(e.message.contains("not a Hotline push"), "{}", e.message);
    }
}
