//! What the IO layer feeds into [`crate::CallCore::handle`].

use hotline_proto::push::{PushEnvironment, PushProvider};
use hotline_proto::{MediaType, OfflinePushInfo, RecordFilter, ServerMsg, VideoStreamType};

/// Who this core logs in as. `Debug` hides the UserSig.
#[derive(Clone, PartialEq, Eq)]
pub struct CoreConfig {
    /// The application's SDKAppID.
    pub sdk_app_id: u64,
    /// The user this core logs in as.
    pub user_id: String,
    /// The user's UserSig (never logged).
    pub user_sig: String,
    /// Stable ID of this device / engine instance.
    pub device_id: String,
    /// Let several devices of the user stay online and all ring.
    pub multi_device: bool,
}

impl std::fmt::Debug for CoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoreConfig")
            .field("sdk_app_id", &self.sdk_app_id)
            .field("user_id", &self.user_id)
            .field("user_sig", &"<hidden>")
            .field("device_id", &self.device_id)
            .field("multi_device", &self.multi_device)
            .finish()
    }
}

/// One input to the state machine.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// The transport (WebSocket) is open; the core logs in.
    Connected,
    /// The transport is gone (closed, failed, or dropped after [`crate::Output::Disconnect`]).
    Disconnected,
    /// A message from the server.
    Frame(ServerMsg),
    /// An API call. `id` is chosen by the caller and echoed in exactly one
    /// [`crate::Output::CommandDone`].
    Command {
        /// Caller-chosen identifier.
        id: u64,
        /// What to do.
        command: Command,
    },
    /// Time advanced (for example the [`crate::Output::Timeout`] instant was reached).
    Tick,
    /// The app learned of this call from a push (the device had no
    /// connection when it was invited). The next login names it in
    /// `known_calls`, so its snapshot comes back even if it ended meanwhile,
    /// and the core reports it: `CallReceived` if it still rings for this
    /// user, else `CallNotConnected` with the snapshot's reason (`Unknown`
    /// if the server does not know the call). Calls this core already holds
    /// are left as they are.
    PushedCall {
        /// The call, from the push.
        call_id: String,
        /// Its media type, from the push (for a call the server does not know).
        media_type: MediaType,
    },
}

/// Optional parameters of [`Command::Calls`] (TUICallEngine's `TUICallParams`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallParams {
    /// Media room; empty lets the server choose.
    pub room_id: String,
    /// Invitation timeout in seconds (0 = 30 s; allowed 10–600).
    pub timeout_s: u32,
    /// Opaque data delivered to callees.
    pub user_data: String,
    /// The chat group the call belongs to; makes it a group call.
    pub chat_group_id: String,
    /// Treat even a single callee as a group call.
    pub is_group: bool,
    /// Content of the offline push for callees that are not online.
    pub offline_push: Option<OfflinePushInfo>,
}

/// An API command (TUICallEngine's methods). Accept, Reject, Ignore, Hangup,
/// InviteUser and SwitchCallMediaType act on the current call.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Place a call to one user (1v1) or several (group).
    Calls {
        /// Callees (1 to [`crate::MAX_CALLEES`], not oneself, no duplicates).
        user_ids: Vec<String>,
        /// Audio or video.
        media_type: MediaType,
        /// Optional parameters.
        params: CallParams,
    },
    /// Answer the ringing call.
    Accept,
    /// Decline the ringing call.
    Reject,
    /// Stop ringing without answering; the caller sees a busy line.
    Ignore,
    /// Leave the current call (the caller cancels it while it rings; a
    /// ringing callee rejects it).
    Hangup,
    /// Invite more users into the current call.
    InviteUser {
        /// Users to invite.
        user_ids: Vec<String>,
        /// Invitation timeout in seconds (0 = 30 s; allowed 10–600).
        timeout_s: u32,
    },
    /// Join an ongoing group call.
    Join {
        /// The call.
        call_id: String,
    },
    /// Switch the current call's media type (only video → audio).
    SwitchCallMediaType {
        /// The new media type.
        media_type: MediaType,
    },
    /// Set one's nickname and avatar.
    SetSelfInfo {
        /// Display name.
        nickname: String,
        /// Avatar URL.
        avatar_url: String,
    },
    /// Turn multi-device ringing on or off (now, and for later logins).
    EnableMultiDeviceAbility {
        /// The new setting.
        enabled: bool,
    },
    /// List one's call records, newest first.
    QueryRecentCalls {
        /// Which records.
        filter: RecordFilter,
    },
    /// Delete some of one's call records.
    DeleteRecordCalls {
        /// Record IDs.
        record_ids: Vec<String>,
    },
    /// Offer the publisher connection to the SFU (the engine's media layer;
    /// the answer SDP comes back in [`crate::CommandOk::sdp`]).
    MediaPublish {
        /// The current call.
        call_id: String,
        /// The SDP offer.
        sdp: String,
        /// The offer restarts ICE on the existing connections.
        ice_restart: bool,
    },
    /// Answer the SFU's subscriber offer ([`crate::Output::MediaOffer`]).
    MediaAnswer {
        /// The current call.
        call_id: String,
        /// The offer's revision.
        revision: u64,
        /// The SDP answer.
        sdp: String,
    },
    /// Register this device's push token: remembered, and sent after every
    /// login from now on. Sent at once when logged in (the command finishes
    /// with the server's answer); otherwise it finishes at once and the
    /// token goes out after the next login.
    RegisterPush {
        /// Who delivers the pushes.
        provider: PushProvider,
        /// The token the platform gave the app (1–512 bytes).
        token: String,
        /// The iOS bundle ID or the FCM project ID (1–155 bytes).
        app: String,
        /// APNs only: which endpoint the token belongs to.
        environment: PushEnvironment,
    },
    /// Forget this device's push token: no longer sent after logins, and
    /// `unregister_push` goes out now when logged in (the command finishes
    /// with the server's answer), otherwise after the next login.
    UnregisterPush,
    /// Tell the others whether this user's microphone and camera are sending.
    MediaState {
        /// The current call.
        call_id: String,
        /// Audio is being sent.
        audio: bool,
        /// Video is being sent.
        video: bool,
    },
    /// Which of a user's video streams to receive (big or small).
    MediaView {
        /// The current call.
        call_id: String,
        /// Whose video.
        user_id: String,
        /// Which stream.
        stream_type: VideoStreamType,
    },
}

impl Command {
    /// The TUICallEngine method name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Calls { .. } => "calls",
            Command::Accept => "accept",
            Command::Reject => "reject",
            Command::Ignore => "ignore",
            Command::Hangup => "hangup",
            Command::InviteUser { .. } => "inviteUser",
            Command::Join { .. } => "join",
            Command::SwitchCallMediaType { .. } => "switchCallMediaType",
            Command::SetSelfInfo { .. } => "setSelfInfo",
            Command::EnableMultiDeviceAbility { .. } => "enableMultiDeviceAbility",
            Command::QueryRecentCalls { .. } => "queryRecentCalls",
            Command::DeleteRecordCalls { .. } => "deleteRecordCalls",
            Command::MediaPublish { .. } => "mediaPublish",
            Command::MediaAnswer { .. } => "mediaAnswer",
            Command::MediaState { .. } => "mediaState",
            Command::MediaView { .. } => "mediaView",
            Command::RegisterPush { .. } => "registerPushToken",
            Command::UnregisterPush => "unregisterPushToken",
        }
    }
}
