//! Offline push: how a device registers for pushes, and the payload a push
//! carries, which a phone reads before it has any network.
//!
//! The server builds a [`PushPayload`] for each invitation to a device that
//! has a push token and no live connection, and a cancel when that device
//! should stop ringing. Providers wrap it differently (`docs/push.md`): APNs
//! as the `hotline` key of the JSON body, FCM as the string value of the data
//! key `hotline`. [`PushPayload::parse`] reads any of those forms.

use serde::{Deserialize, Serialize};

use crate::call::MediaType;

/// Version of the payload format ([`PushPayload`]'s `v`).
pub const PUSH_PAYLOAD_VERSION: u32 = 1;

/// Longest push token accepted, in bytes (APNs tokens are 64 hex digits,
/// FCM registration tokens about 160 characters).
pub const MAX_PUSH_TOKEN_BYTES: usize = 512;

/// Longest `app` (bundle ID or FCM project ID), in bytes.
pub const MAX_PUSH_APP_BYTES: usize = 155;

/// Who delivers the pushes of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushProvider {
    /// Apple's VoIP pushes (PushKit), reported to CallKit.
    ApnsVoip,
    /// Apple's ordinary (alert) pushes, for apps that may not use CallKit.
    Apns,
    /// Firebase Cloud Messaging (Android).
    Fcm,
}

impl PushProvider {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PushProvider::ApnsVoip => "apns_voip",
            PushProvider::Apns => "apns",
            PushProvider::Fcm => "fcm",
        }
    }

    /// Whether Apple delivers it (and `environment` applies).
    pub fn is_apns(self) -> bool {
        matches!(self, PushProvider::ApnsVoip | PushProvider::Apns)
    }
}

/// Which APNs endpoint a token belongs to (development builds get sandbox tokens).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushEnvironment {
    /// `api.push.apple.com`.
    #[default]
    Production,
    /// `api.sandbox.push.apple.com`.
    Sandbox,
}

impl PushEnvironment {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            PushEnvironment::Production => "production",
            PushEnvironment::Sandbox => "sandbox",
        }
    }
}

/// Why a device should stop ringing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// The caller hung up before anyone answered (or the call ended).
    Canceled,
    /// The invitation timed out.
    NoResponse,
    /// The user answered on another device.
    AnsweredElsewhere,
    /// The user rejected (or ignored) on another device.
    RejectedElsewhere,
}

/// What a push says: ring, or stop ringing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PushKind {
    /// An incoming call: everything needed to show it before any network.
    Call {
        /// Who is calling.
        caller_id: String,
        /// The caller's nickname (`set_self_info`), possibly empty.
        #[serde(default)]
        caller_nickname: String,
        /// The caller's avatar URL, possibly empty.
        #[serde(default)]
        caller_avatar: String,
        /// Audio or video.
        media_type: MediaType,
        /// Whether it is a group call.
        is_group: bool,
        /// Everyone else invited (the caller and this user excluded), at most 9.
        #[serde(default)]
        invitees: Vec<String>,
        /// The WebSocket URL of the server to log in to.
        server_url: String,
        /// The caller's `offline_push.title`.
        #[serde(default)]
        title: String,
        /// The caller's `offline_push.desc`.
        #[serde(default)]
        desc: String,
        /// The caller's `offline_push.ext`.
        #[serde(default)]
        ext: String,
    },
    /// Stop ringing.
    Cancel {
        /// Why.
        reason: CancelReason,
    },
}

/// One push's content (the `hotline` object).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushPayload {
    /// [`PUSH_PAYLOAD_VERSION`].
    pub v: u32,
    /// The call.
    pub call_id: String,
    /// Unix ms after which the invitation no longer rings (for a cancel: after
    /// which the cancel no longer matters).
    pub deadline_ms: i64,
    /// Ring or cancel.
    #[serde(flatten)]
    pub kind: PushKind,
}

/// Why a push could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Hotline push: {0}")]
pub struct PushParseError(pub String);

impl PushPayload {
    /// Serialise to at most `limit` bytes of JSON, cutting the caller's
    /// free-form fields when they do not fit, in this order: `ext`, `desc`,
    /// `title`, the avatar URL, the nickname, then invitees from the end.
    /// `None` if even the rest does not fit.
    pub fn to_json_within(&self, limit: usize) -> Option<String> {
        let mut p = self.clone();
        loop {
            let json = serde_json::to_string(&p).expect("payload serialises");
            if json.len() <= limit {
                return Some(json);
            }
            let over = json.len() - limit;
            let PushKind::Call {
                caller_nickname,
                caller_avatar,
                invitees,
                title,
                desc,
                ext,
                ..
            } = &mut p.kind
            else {
                return None;
            };
            let cut = [ext, desc, title, caller_avatar, caller_nickname]
                .into_iter()
                .find(|f| !f.is_empty());
            match cut {
                Some(field) => truncate_utf8(field, field.len().saturating_sub(over)),
                None if invitees.pop().is_some() => {}
                None => return None,
            }
        }
    }

    /// Read a push as a phone received it: the `hotline` object itself, a
    /// whole APNs body (`{"aps": …, "hotline": {…}}`), or FCM's data map
    /// (`{"hotline": "<the object as a JSON string>"}`).
    pub fn parse(text: &str) -> Result<PushPayload, PushParseError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| PushParseError(format!("not JSON: {e}")))?;
        let inner = match value.get("hotline") {
            Some(serde_json::Value::String(s)) => serde_json::from_str(s)
                .map_err(|e| PushParseError(format!("\"hotline\" is not JSON: {e}")))?,
            Some(v) => v.clone(),
            None => value,
        };
        let payload: PushPayload = serde_json::from_value(inner)
            .map_err(|e| PushParseError(format!("bad payload: {e}")))?;
        if payload.v != PUSH_PAYLOAD_VERSION {
            return Err(PushParseError(format!(
                "payload version {} (this SDK reads {PUSH_PAYLOAD_VERSION})",
                payload.v
            )));
        }
        Ok(payload)
    }
}

/// Cut `s` to at most `max` bytes at a character boundary.
fn truncate_utf8(s: &mut String, max: usize) {
    if s.len() <= max {
        return;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(ext: &str) -> PushPayload {
        PushPayload {
            v: PUSH_PAYLOAD_VERSION,
            call_id: "c1".into(),
            deadline_ms: 1_700_000_030_000,
            kind: PushKind::Call {
                caller_id: "alice".into(),
                caller_nickname: "Alice".into(),
                caller_avatar: "https://example.com/a.png".into(),
                media_type: MediaType::Video,
                is_group: true,
                invitees: vec!["carol".into(), "dave".into()],
                server_url: "wss://calls.example.com/ws".into(),
                title: "Alice is calling".into(),
                desc: "Video call".into(),
                ext: ext.into(),
            },
        }
    }

    #[test]
    fn every_wrapping_parses_to_the_same_payload() {
        let p = call("{\"k\":1}");
        let inner = serde_json::to_string(&p).unwrap();
        let apns = format!(r#"{{"aps":{{}},"hotline":{inner}}}"#);
        let fcm = serde_json::json!({ "hotline": inner }).to_string();
        for text in [&inner, &apns, &fcm] {
            assert_eq!(PushPayload::parse(text).unwrap(), p, "{text}");
        }
        let cancel = PushPayload {
            v: 1,
            call_id: "c1".into(),
            deadline_ms: 5,
            kind: PushKind::Cancel {
                reason: CancelReason::AnsweredElsewhere,
            },
        };
        let text = serde_json::to_string(&cancel).unwrap();
        assert_eq!(
            text,
            r#"{"v":1,"call_id":"c1","deadline_ms":5,"type":"cancel","reason":"answered_elsewhere"}"#
        );
        assert_eq!(PushPayload::parse(&text).unwrap(), cancel);
    }

    #[test]
    fn strangers_and_other_versions_are_refused() {
        for bad in [
            "",
            "[]",
            r#"{"aps":{}}"#,
            r#"{"hotline":"{"}"#,
            r#"{"v":2,"call_id":"c","deadline_ms":1,"type":"cancel","reason":"canceled"}"#,
        ] {
            assert!(PushPayload::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn long_fields_are_cut_ext_first_and_the_rest_kept() {
        let p = call(&"é".repeat(3000));
        let full = serde_json::to_string(&p).unwrap().len();
        let json = p.to_json_within(1000).unwrap();
        assert!(json.len() <= 1000 && full > 6000, "{}", json.len());
        let back = PushPayload::parse(&json).unwrap();
        let PushKind::Call {
            ext,
            desc,
            title,
            invitees,
            ..
        } = back.kind
        else {
            panic!()
        };
        assert!(ext.chars().all(|c| c == 'é') && !ext.is_empty());
        assert_eq!(
            (desc.as_str(), title.as_str(), invitees.len()),
            ("Video call", "Alice is calling", 2)
        );
        // With almost no room, every free-form field goes, then invitees.
        let json = p.to_json_within(260).unwrap();
        let PushKind::Call {
            ext,
            title,
            caller_nickname,
            invitees,
            ..
        } = PushPayload::parse(&json).unwrap().kind
        else {
            panic!()
        };
        assert!(
            ext.is_empty() && title.is_empty() && caller_nickname.is_empty() && invitees.len() < 2,
            "{json}"
        );
        assert_eq!(p.to_json_within(50), None);
    }
}
