//! Records that cross the FFI, and their conversions to the engine's types.
//!
//! These mirror `hotline_engine`/`hotline_proto` types field for field; they
//! exist so the core crates need no UniFFI and so Kotlin/Swift get defaults.

use crate::{CallResult, MediaType};

/// What `init` needs.
#[derive(Debug, Clone, uniffi::Record)]
pub struct EngineConfig {
    /// The WebSocket URL the server printed, e.g. `ws://host:port/ws`.
    pub server_url: String,
    /// The application's SDKAppID.
    pub sdk_app_id: u64,
    /// Who this engine logs in as.
    pub user_id: String,
    /// The user's UserSig (issued by your backend; never logged).
    pub user_sig: String,
    /// PEM certificates to trust, besides the built-in roots, for `turns:`
    /// relays with a private or self-signed certificate.
    #[uniffi(default = None)]
    pub trusted_ca_pem: Option<String>,
}

impl From<EngineConfig> for hotline_engine::EngineConfig {
    fn from(c: EngineConfig) -> Self {
        hotline_engine::EngineConfig {
            server_url: c.server_url,
            sdk_app_id: c.sdk_app_id,
            user_id: c.user_id,
            user_sig: c.user_sig,
            trusted_ca_pem: c.trusted_ca_pem,
        }
    }
}

/// Content of the offline push sent to callees that are not online.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct OfflinePushInfo {
    /// Notification title.
    #[uniffi(default = "")]
    pub title: String,
    /// Notification body.
    #[uniffi(default = "")]
    pub desc: String,
    /// Opaque extra data for the app.
    #[uniffi(default = "")]
    pub ext: String,
}

/// Optional parameters of `calls` (TUICallEngine's `TUICallParams`).
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct CallParams {
    /// Media room; empty lets the server choose.
    #[uniffi(default = "")]
    pub room_id: String,
    /// Invitation timeout in seconds (0 = 30 s; allowed 10–600).
    #[uniffi(default = 0)]
    pub timeout_s: u32,
    /// Opaque data delivered to callees (at most 4 KiB).
    #[uniffi(default = "")]
    pub user_data: String,
    /// The chat group the call belongs to; makes it a group call.
    #[uniffi(default = "")]
    pub chat_group_id: String,
    /// Treat even a single callee as a group call.
    #[uniffi(default = false)]
    pub is_group: bool,
    /// Content of the offline push for callees that are not online.
    #[uniffi(default = None)]
    pub offline_push: Option<OfflinePushInfo>,
}

impl From<CallParams> for hotline_engine::CallParams {
    fn from(p: CallParams) -> Self {
        hotline_engine::CallParams {
            room_id: p.room_id,
            timeout_s: p.timeout_s,
            user_data: p.user_data,
            chat_group_id: p.chat_group_id,
            is_group: p.is_group,
            offline_push: p.offline_push.map(|o| hotline_engine::OfflinePushInfo {
                title: o.title,
                desc: o.desc,
                ext: o.ext,
            }),
        }
    }
}

/// Which call records `query_recent_calls` returns.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct RecordFilter {
    /// Only this media type.
    #[uniffi(default = None)]
    pub media_type: Option<MediaType>,
    /// Only this result.
    #[uniffi(default = None)]
    pub result: Option<CallResult>,
    /// Only records that began before this time (Unix ms), for paging.
    #[uniffi(default = None)]
    pub before_ms: Option<i64>,
    /// At most this many records (1–100; 0 means 50).
    #[uniffi(default = 0)]
    pub count: u32,
}

impl From<RecordFilter> for hotline_engine::RecordFilter {
    fn from(f: RecordFilter) -> Self {
        hotline_engine::RecordFilter {
            media_type: f.media_type,
            result: f.result,
            before_ms: f.before_ms,
            count: f.count,
        }
    }
}

/// One call, as one user's record.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CallRecord {
    /// ID to pass to `delete_record_calls`.
    pub record_id: String,
    /// Whose record this is.
    pub user_id: String,
    /// The call.
    pub call_id: String,
    /// Who placed it.
    pub caller_id: String,
    /// Everyone the call invited (the caller excluded).
    pub callee_ids: Vec<String>,
    /// Media type at the end of the call.
    pub media_type: MediaType,
    /// Whether it was a group call.
    pub is_group: bool,
    /// Missed, incoming or outgoing.
    pub result: CallResult,
    /// When the call was placed (Unix ms).
    pub begin_time_ms: i64,
    /// Seconds this user spent in the connected call.
    pub total_time_s: u64,
}

impl From<hotline_engine::CallRecord> for CallRecord {
    fn from(r: hotline_engine::CallRecord) -> Self {
        CallRecord {
            record_id: r.record_id,
            user_id: r.user_id,
            call_id: r.call_id,
            caller_id: r.caller_id,
            callee_ids: r.callee_ids,
            media_type: r.media_type,
            is_group: r.is_group,
            result: r.result,
            begin_time_ms: r.begin_time_ms,
            total_time_s: r.total_time_s,
        }
    }
}

/// Who delivers a device's pushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PushProvider {
    /// Apple's VoIP pushes (PushKit), reported to CallKit. The token is
    /// PushKit's VoIP token as hex.
    ApnsVoip,
    /// Apple's ordinary (alert) pushes, for apps that do not use CallKit.
    Apns,
    /// Firebase Cloud Messaging (Android): the FCM registration token.
    Fcm,
}

impl From<PushProvider> for hotline_engine::PushProvider {
    fn from(p: PushProvider) -> Self {
        match p {
            PushProvider::ApnsVoip => hotline_engine::PushProvider::ApnsVoip,
            PushProvider::Apns => hotline_engine::PushProvider::Apns,
            PushProvider::Fcm => hotline_engine::PushProvider::Fcm,
        }
    }
}

/// Which APNs endpoint a token belongs to (ignored for FCM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PushEnvironment {
    /// App Store, TestFlight and ad-hoc builds.
    Production,
    /// Development builds run from Xcode.
    Sandbox,
}

impl From<PushEnvironment> for hotline_engine::PushEnvironment {
    fn from(e: PushEnvironment) -> Self {
        match e {
            PushEnvironment::Production => hotline_engine::PushEnvironment::Production,
            PushEnvironment::Sandbox => hotline_engine::PushEnvironment::Sandbox,
        }
    }
}

/// Why a push tells the app to stop showing a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PushCancelReason {
    /// The caller hung up before anyone answered (or the call ended).
    Canceled,
    /// The invitation timed out.
    NoResponse,
    /// The user answered on another device.
    AnsweredElsewhere,
    /// The user rejected (or ignored) the call on another device.
    RejectedElsewhere,
}

impl From<hotline_engine::CancelReason> for PushCancelReason {
    fn from(r: hotline_engine::CancelReason) -> Self {
        match r {
            hotline_engine::CancelReason::Canceled => PushCancelReason::Canceled,
            hotline_engine::CancelReason::NoResponse => PushCancelReason::NoResponse,
            hotline_engine::CancelReason::AnsweredElsewhere => PushCancelReason::AnsweredElsewhere,
            hotline_engine::CancelReason::RejectedElsewhere => PushCancelReason::RejectedElsewhere,
        }
    }
}

/// What a push asks the app to do (`handle_push_payload`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
#[allow(clippy::large_enum_variant)] // one per push, passed by value to Kotlin and Swift
pub enum PushAction {
    /// An incoming call: show it now (iOS: report it to CallKit; Android: a
    /// full-screen incoming-call notification), then `init`: the engine
    /// reports the call as usual, `onCallReceived` if it still rings, or
    /// `onCallNotConnected` with the reason if it ended meanwhile.
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
        /// The WebSocket URL of the server that sent it (for `EngineConfig`).
        server_url: String,
        /// The caller's `OfflinePushInfo.title`.
        title: String,
        /// The caller's `OfflinePushInfo.desc`.
        desc: String,
        /// The caller's `OfflinePushInfo.ext`.
        ext: String,
    },
    /// Stop showing the call (end the CallKit call, remove the notification).
    Cancel {
        /// The call.
        call_id: String,
        /// Why.
        reason: PushCancelReason,
    },
    /// A call push that arrived after its invitation stopped ringing: show
    /// nothing (iOS: PushKit requires every VoIP push to be reported, so
    /// report it to CallKit and end it at once).
    Expired {
        /// The call.
        call_id: String,
    },
}

impl From<hotline_engine::PushAction> for PushAction {
    fn from(a: hotline_engine::PushAction) -> Self {
        use hotline_engine::PushAction as A;
        match a {
            A::IncomingCall {
                call_id,
                caller_id,
                caller_nickname,
                caller_avatar,
                media_type,
                is_group,
                invitees,
                deadline_ms,
                server_url,
                title,
                desc,
                ext,
            } => PushAction::IncomingCall {
                call_id,
                caller_id,
                caller_nickname,
                caller_avatar,
                media_type,
                is_group,
                invitees,
                deadline_ms,
                server_url,
                title,
                desc,
                ext,
            },
            A::Cancel { call_id, reason } => PushAction::Cancel {
                call_id,
                reason: reason.into(),
            },
            A::Expired { call_id } => PushAction::Expired { call_id },
        }
    }
}
