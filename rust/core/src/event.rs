//! Observer events: TUICallEngine's `TUICallObserver` callbacks.
//!
//! Serialised (serde) with the callback name in an `event` field and the
//! fields in snake_case, e.g. `{"event":"onCallBegin","call_id":"c1",...}`.

use hotline_proto::{EndReason, ErrorCode, MediaType};
use serde::Serialize;

/// One observer callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event")]
pub enum Event {
    /// An invitation arrived (`onCallReceived`).
    #[serde(rename = "onCallReceived")]
    CallReceived {
        /// The call.
        call_id: String,
        /// Who is calling.
        caller_id: String,
        /// Everyone invited (the caller excluded), including this user.
        callee_ids: Vec<String>,
        /// Audio or video.
        media_type: MediaType,
        /// Opaque data from the caller.
        user_data: String,
        /// Whether it is a group call.
        is_group: bool,
        /// The chat group, if any.
        chat_group_id: String,
    },
    /// The call connected for this user (`onCallBegin`): start media.
    #[serde(rename = "onCallBegin")]
    CallBegin {
        /// The call.
        call_id: String,
        /// The media room to enter.
        room_id: String,
        /// Audio or video.
        media_type: MediaType,
        /// Whether it is a group call.
        is_group: bool,
    },
    /// A connected call ended for this user (`onCallEnd`).
    #[serde(rename = "onCallEnd")]
    CallEnd {
        /// The call.
        call_id: String,
        /// Media type at the end.
        media_type: MediaType,
        /// Why it ended.
        reason: EndReason,
        /// Whole seconds this user spent in the connected call.
        total_time_s: u64,
    },
    /// A call ended for this user before it connected (`onCallNotConnected`).
    #[serde(rename = "onCallNotConnected")]
    CallNotConnected {
        /// The call.
        call_id: String,
        /// Media type at the end.
        media_type: MediaType,
        /// Why it did not connect.
        reason: EndReason,
    },
    /// The call's media type changed (`onCallMediaTypeChanged`).
    #[serde(rename = "onCallMediaTypeChanged")]
    CallMediaTypeChanged {
        /// The call.
        call_id: String,
        /// Before.
        old: MediaType,
        /// After.
        new: MediaType,
    },
    /// Someone is being invited (`onUserInviting`).
    #[serde(rename = "onUserInviting")]
    UserInviting {
        /// The call.
        call_id: String,
        /// The invitee.
        user_id: String,
    },
    /// An invitee rejected (`onUserReject`).
    #[serde(rename = "onUserReject")]
    UserReject {
        /// The call.
        call_id: String,
        /// The invitee.
        user_id: String,
    },
    /// An invitee did not answer in time (`onUserNoResponse`).
    #[serde(rename = "onUserNoResponse")]
    UserNoResponse {
        /// The call.
        call_id: String,
        /// The invitee.
        user_id: String,
    },
    /// An invitee was busy or ignored the call (`onUserLineBusy`).
    #[serde(rename = "onUserLineBusy")]
    UserLineBusy {
        /// The call.
        call_id: String,
        /// The invitee.
        user_id: String,
    },
    /// Someone entered the call (`onUserJoin`).
    #[serde(rename = "onUserJoin")]
    UserJoin {
        /// The call.
        call_id: String,
        /// Who joined.
        user_id: String,
    },
    /// Someone left the call (`onUserLeave`).
    #[serde(rename = "onUserLeave")]
    UserLeave {
        /// The call.
        call_id: String,
        /// Who left.
        user_id: String,
    },
    /// Someone in the call turned their camera on or off (`onUserVideoAvailable`).
    #[serde(rename = "onUserVideoAvailable")]
    UserVideoAvailable {
        /// The call.
        call_id: String,
        /// Whose camera.
        user_id: String,
        /// Whether their video is being sent.
        available: bool,
    },
    /// Someone in the call turned their microphone on or off (`onUserAudioAvailable`).
    #[serde(rename = "onUserAudioAvailable")]
    UserAudioAvailable {
        /// The call.
        call_id: String,
        /// Whose microphone.
        user_id: String,
        /// Whether their audio is being sent.
        available: bool,
    },
    /// Speaking levels of everyone in the call, a few times per second
    /// (`onUserVoiceVolumeChanged`). This user's own level is listed too.
    #[serde(rename = "onUserVoiceVolumeChanged")]
    UserVoiceVolumeChanged {
        /// The call.
        call_id: String,
        /// Levels, 0 (silent) to 100.
        volumes: Vec<UserVolume>,
    },
    /// Link quality per user, every two seconds (`onUserNetworkQualityChanged`).
    /// This user's own uplink is listed with their own ID.
    #[serde(rename = "onUserNetworkQualityChanged")]
    UserNetworkQualityChanged {
        /// The call.
        call_id: String,
        /// One entry per user.
        qualities: Vec<UserNetworkQuality>,
    },
    /// Another login of this user replaced this one (`onKickedOffline`).
    #[serde(rename = "onKickedOffline")]
    KickedOffline,
    /// The UserSig expired (`onUserSigExpired`).
    #[serde(rename = "onUserSigExpired")]
    UserSigExpired,
    /// An error not tied to a command (`onError`).
    #[serde(rename = "onError")]
    Error {
        /// The code.
        code: ErrorCode,
        /// Why.
        message: String,
    },
}

/// One user's speaking level in [`Event::UserVoiceVolumeChanged`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserVolume {
    /// Who.
    pub user_id: String,
    /// 0 (silent) to 100.
    pub volume: u8,
}

/// TUICallEngine's network quality grades, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum NetworkQuality {
    /// Unknown yet (no statistics).
    Unknown,
    /// Excellent.
    Excellent,
    /// Good.
    Good,
    /// Poor.
    Poor,
    /// Bad.
    Bad,
    /// Very bad.
    VeryBad,
    /// No media is arriving.
    Down,
}

/// One user's link in [`Event::UserNetworkQualityChanged`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserNetworkQuality {
    /// Who.
    pub user_id: String,
    /// The grade.
    pub quality: NetworkQuality,
}

impl Event {
    /// The TUICallEngine callback name, e.g. `"onCallReceived"`.
    pub fn name(&self) -> &'static str {
        match self {
            Event::CallReceived { .. } => "onCallReceived",
            Event::CallBegin { .. } => "onCallBegin",
            Event::CallEnd { .. } => "onCallEnd",
            Event::CallNotConnected { .. } => "onCallNotConnected",
            Event::CallMediaTypeChanged { .. } => "onCallMediaTypeChanged",
            Event::UserInviting { .. } => "onUserInviting",
            Event::UserReject { .. } => "onUserReject",
            Event::UserNoResponse { .. } => "onUserNoResponse",
            Event::UserLineBusy { .. } => "onUserLineBusy",
            Event::UserJoin { .. } => "onUserJoin",
            Event::UserLeave { .. } => "onUserLeave",
            Event::UserVideoAvailable { .. } => "onUserVideoAvailable",
            Event::UserAudioAvailable { .. } => "onUserAudioAvailable",
            Event::UserVoiceVolumeChanged { .. } => "onUserVoiceVolumeChanged",
            Event::UserNetworkQualityChanged { .. } => "onUserNetworkQualityChanged",
            Event::KickedOffline => "onKickedOffline",
            Event::UserSigExpired => "onUserSigExpired",
            Event::Error { .. } => "onError",
        }
    }

    /// The call the event is about, if any.
    pub fn call_id(&self) -> Option<&str> {
        match self {
            Event::CallReceived { call_id, .. }
            | Event::CallBegin { call_id, .. }
            | Event::CallEnd { call_id, .. }
            | Event::CallNotConnected { call_id, .. }
            | Event::CallMediaTypeChanged { call_id, .. }
            | Event::UserInviting { call_id, .. }
            | Event::UserReject { call_id, .. }
            | Event::UserNoResponse { call_id, .. }
            | Event::UserLineBusy { call_id, .. }
            | Event::UserJoin { call_id, .. }
            | Event::UserLeave { call_id, .. }
            | Event::UserVideoAvailable { call_id, .. }
            | Event::UserAudioAvailable { call_id, .. }
            | Event::UserVoiceVolumeChanged { call_id, .. }
            | Event::UserNetworkQualityChanged { call_id, .. } => Some(call_id),
            Event::KickedOffline | Event::UserSigExpired | Event::Error { .. } => None,
        }
    }

    /// Whether this is a call's terminal event (`CallEnd` or `CallNotConnected`).
    pub fn is_terminal(&self) -> bool {
        matches!(self, Event::CallEnd { .. } | Event::CallNotConnected { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_with_the_callback_name() {
        let e = Event::UserJoin {
            call_id: "c1".into(),
            user_id: "bob".into(),
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"event": "onUserJoin", "call_id": "c1", "user_id": "bob"})
        );
        assert_eq!(e.name(), "onUserJoin");
        let v = serde_json::to_value(Event::KickedOffline).unwrap();
        assert_eq!(v, serde_json::json!({"event": "onKickedOffline"}));
    }
}
