//! The call snapshot: the server's authoritative view of one call.
//!
//! The server sends a whole [`CallInfo`] to every online device of every
//! participant whenever the call changes, with a `version` that grows by one
//! on each change. Engines keep the newest snapshot per call and derive their
//! observer events by comparing it with the previous one, so duplicated or
//! reordered snapshots are harmless: anything not newer is ignored.

use serde::{Deserialize, Serialize};

/// Audio-only or audio and video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaType {
    /// Audio only.
    Audio,
    /// Audio and video.
    Video,
}

impl MediaType {
    /// `"audio"` or `"video"`.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Audio => "audio",
            MediaType::Video => "video",
        }
    }
}

/// Why a call, or one participant's part in it, ended (TUICallEngine's reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

/// Where the call as a whole stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// Invitations are out; no callee has accepted yet.
    Ringing,
    /// At least one callee accepted; media flows between those in the call.
    Active,
    /// The call is over.
    Ended,
}

/// Where one participant stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantState {
    /// Invited and not yet answered.
    Ringing,
    /// In the call (the caller is in the call from the start).
    InCall,
    /// No longer part of the call; `reason` says why.
    Gone,
}

/// One participant of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// The participant's user ID.
    pub user_id: String,
    /// Where the participant stands.
    pub state: ParticipantState,
    /// Why the participant is `Gone` (None otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<EndReason>,
    /// The device that answered, rejected or joined, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// Who invited this participant (empty for the caller).
    #[serde(default)]
    pub inviter_id: String,
    /// When the current invitation times out (Unix ms), while `Ringing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<i64>,
    /// When the participant entered the call (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_at_ms: Option<i64>,
    /// When the participant became `Gone` (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_at_ms: Option<i64>,
    /// The participant's microphone is sending (see `media_state`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub audio_available: bool,
    /// The participant's camera is sending (see `media_state`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub video_available: bool,
}

impl Participant {
    /// A participant in `state` with nothing else known yet; set the other
    /// fields with struct-update syntax.
    pub fn new(user_id: impl Into<String>, state: ParticipantState) -> Participant {
        Participant {
            user_id: user_id.into(),
            state,
            reason: None,
            device_id: None,
            inviter_id: String::new(),
            deadline_ms: None,
            joined_at_ms: None,
            left_at_ms: None,
            audio_available: false,
            video_available: false,
        }
    }
}

/// Push content for callees that are offline (stored now, delivered by the push service).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflinePushInfo {
    /// Notification title.
    #[serde(default)]
    pub title: String,
    /// Notification body.
    #[serde(default)]
    pub desc: String,
    /// Opaque extra data for the app.
    #[serde(default)]
    pub ext: String,
}

/// The server's snapshot of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallInfo {
    /// Server-assigned call ID.
    pub call_id: String,
    /// Grows by one on every change; engines ignore anything not newer.
    pub version: u64,
    /// The media room (the caller's choice, or one the server made up).
    pub room_id: String,
    /// Who placed the call.
    pub caller_id: String,
    /// Current media type (can switch from video to audio).
    pub media_type: MediaType,
    /// Whether this is a group call (more than one callee, a chat group, or
    /// someone invited later). A 1v1 call ends when either side leaves.
    pub is_group: bool,
    /// Where the call stands.
    pub state: CallState,
    /// Everyone ever invited, caller first.
    pub participants: Vec<Participant>,
    /// The invitation timeout, in seconds.
    pub timeout_s: u32,
    /// Opaque data from the caller.
    #[serde(default)]
    pub user_data: String,
    /// The chat group this call belongs to, if any.
    #[serde(default)]
    pub chat_group_id: String,
    /// When the call was placed (Unix ms).
    pub created_at_ms: i64,
    /// When the first callee accepted (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub began_at_ms: Option<i64>,
    /// When the call ended (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at_ms: Option<i64>,
    /// Why the call ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<EndReason>,
}

impl CallInfo {
    /// The participant entry for `user_id`, if they were ever invited.
    pub fn participant(&self, user_id: &str) -> Option<&Participant> {
        self.participants.iter().find(|p| p.user_id == user_id)
    }

    /// Mutable participant entry for `user_id`.
    pub fn participant_mut(&mut self, user_id: &str) -> Option<&mut Participant> {
        self.participants.iter_mut().find(|p| p.user_id == user_id)
    }

    /// Everyone except the caller who was ever invited.
    pub fn callee_ids(&self) -> Vec<String> {
        self.participants
            .iter()
            .filter(|p| p.user_id != self.caller_id)
            .map(|p| p.user_id.clone())
            .collect()
    }

    /// How many participants are in the given state.
    pub fn count(&self, state: ParticipantState) -> usize {
        self.participants
            .iter()
            .filter(|p| p.state == state)
            .count()
    }
}
