//! Signaling messages: one JSON object per WebSocket text frame.
//!
//! Clients send [`ClientFrame`]s: a `seq` chosen by the client plus a
//! [`ClientMsg`] tagged by `type`. The server answers every frame that has a
//! `seq` with exactly one [`ServerMsg::Response`] carrying the same `seq`, and
//! pushes [`ServerMsg::CallUpdate`] and the other unsolicited messages at any
//! time. `docs/protocol.md` is the reference.

use serde::{Deserialize, Serialize};

use crate::call::{CallInfo, MediaType, OfflinePushInfo};
use crate::code::ErrorCode;
use crate::push::{PushEnvironment, PushProvider};

/// A client request: a sequence number and a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientFrame {
    /// Chosen by the client; echoed in the response.
    pub seq: u64,
    /// The request.
    #[serde(flatten)]
    pub msg: ClientMsg,
}

/// Every request a client can make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// Must be the first message on a connection.
    Login {
        /// [`crate::PROTOCOL_VERSION`] of the client.
        protocol_version: u32,
        /// The application's SDKAppID.
        sdk_app_id: u64,
        /// Who is logging in.
        user_id: String,
        /// UserSig for `user_id`.
        user_sig: String,
        /// Stable ID of this device / engine instance; a reconnect from the
        /// same device replaces its old connection without a kick.
        device_id: String,
        /// Let several devices of the user stay online and all ring.
        #[serde(default)]
        multi_device: bool,
        /// Calls the client still holds; the login result includes their
        /// current snapshots (even if they ended meanwhile).
        #[serde(default)]
        known_calls: Vec<String>,
    },
    /// Heartbeat; the server answers with a response (no payload).
    Ping,
    /// Place a call to one or more users.
    Call {
        /// Callees (the caller must not be among them).
        user_ids: Vec<String>,
        /// Audio or video.
        media_type: MediaType,
        /// Media room; empty lets the server choose.
        #[serde(default)]
        room_id: String,
        /// Invitation timeout in seconds (0 = 30 s; allowed 10–600).
        #[serde(default)]
        timeout_s: u32,
        /// Opaque data delivered to callees.
        #[serde(default)]
        user_data: String,
        /// The chat group the call belongs to; makes it a group call.
        #[serde(default)]
        chat_group_id: String,
        /// Treat even a single callee as a group call.
        #[serde(default)]
        group: bool,
        /// Content of the offline push for callees that are not online.
        #[serde(default)]
        offline_push: Option<OfflinePushInfo>,
    },
    /// Answer an invitation.
    Accept {
        /// The call.
        call_id: String,
    },
    /// Decline an invitation.
    Reject {
        /// The call.
        call_id: String,
    },
    /// Stop ringing without answering; the caller sees a busy line.
    Ignore {
        /// The call.
        call_id: String,
    },
    /// Leave a call; the caller hanging up while ringing cancels it.
    Hangup {
        /// The call.
        call_id: String,
    },
    /// Invite more users into a group call one is in.
    Invite {
        /// The call.
        call_id: String,
        /// Users to invite.
        user_ids: Vec<String>,
        /// Invitation timeout in seconds (0 = 30 s; allowed 10–600).
        #[serde(default)]
        timeout_s: u32,
    },
    /// Join an ongoing group call one belongs to (for example after a
    /// timeout, or from another group member's notice).
    Join {
        /// The call.
        call_id: String,
    },
    /// Switch the call's media type (only video → audio).
    SwitchMedia {
        /// The call.
        call_id: String,
        /// The new media type.
        media_type: MediaType,
    },
    /// Set one's nickname and avatar.
    SetSelfInfo {
        /// Display name.
        #[serde(default)]
        nickname: String,
        /// Avatar URL.
        #[serde(default)]
        avatar_url: String,
    },
    /// Turn multi-device ringing on or off for this connection.
    SetMultiDevice {
        /// The new setting.
        enabled: bool,
    },
    /// List one's own call records, newest first.
    QueryRecords {
        /// Which records.
        #[serde(default)]
        filter: RecordFilter,
    },
    /// Delete some of one's own call records.
    DeleteRecords {
        /// Record IDs from [`CallRecord::record_id`].
        record_ids: Vec<String>,
    },
    /// Offer the publisher connection's SDP (sendonly audio and video) to the
    /// SFU; the response carries the answer in `sdp`. Only while in an active call.
    MediaPublish {
        /// The call.
        call_id: String,
        /// The SDP offer.
        sdp: String,
        /// The offer restarts ICE on the sender's existing connections (its
        /// network changed): the SFU keeps both connections, applies the
        /// offer to the publisher and restarts ICE on the subscriber too (a
        /// new `media_offer`). Without connections it is a plain publish.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        ice_restart: bool,
    },
    /// Answer the SFU's latest [`ServerMsg::MediaOffer`] for the subscriber connection.
    MediaAnswer {
        /// The call.
        call_id: String,
        /// The offer's revision being answered.
        revision: u64,
        /// The SDP answer.
        sdp: String,
    },
    /// Register this device's push token, so that invitations reach it while
    /// it has no connection (`docs/push.md`). Replaces the device's previous
    /// token; a token another user registered moves to this user.
    RegisterPush {
        /// Who delivers the pushes.
        provider: PushProvider,
        /// The token the platform gave the app.
        token: String,
        /// The iOS bundle ID, or the FCM project ID.
        app: String,
        /// APNs only: which endpoint the token belongs to (default production).
        #[serde(default)]
        environment: PushEnvironment,
    },
    /// Forget this device's push token (logging out, notifications off).
    UnregisterPush,
    /// Tell everyone whether one's microphone and camera are sending.
    MediaState {
        /// The call.
        call_id: String,
        /// Audio is being sent.
        audio: bool,
        /// Video is being sent.
        video: bool,
    },
    /// Which of a user's video streams to receive (TRTC's big/small stream):
    /// `small` for a thumbnail, `big` (the default) for the best the
    /// subscriber's link can take. Applies to the user's current and later
    /// video in the call; publishers that send one layer are unaffected.
    MediaView {
        /// The call.
        call_id: String,
        /// Whose video.
        user_id: String,
        /// Which stream.
        stream_type: VideoStreamType,
    },
}

/// A remote user's video stream to receive (`media_view`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VideoStreamType {
    /// The largest layer the subscriber's link can take.
    #[default]
    Big,
    /// The smallest layer (a thumbnail's).
    Small,
}

impl ClientMsg {
    /// A `call` with default parameters (30 s timeout, server-chosen room).
    pub fn call_with_defaults(user_ids: Vec<String>, media_type: MediaType) -> ClientMsg {
        ClientMsg::Call {
            user_ids,
            media_type,
            room_id: String::new(),
            timeout_s: 0,
            user_data: String::new(),
            chat_group_id: String::new(),
            group: false,
            offline_push: None,
        }
    }

    /// Every `type` value a client may send.
    pub const TYPES: [&'static str; 21] = [
        "login",
        "ping",
        "call",
        "accept",
        "reject",
        "ignore",
        "hangup",
        "invite",
        "join",
        "switch_media",
        "set_self_info",
        "set_multi_device",
        "query_records",
        "delete_records",
        "media_publish",
        "media_answer",
        "media_state",
        "media_view",
        "register_push",
        "unregister_push",
        // Reserved so old servers answer UNKNOWN_MESSAGE consistently.
        "logout",
    ];

    /// The message's `type` tag.
    pub fn type_name(&self) -> &'static str {
        match self {
            ClientMsg::Login { .. } => "login",
            ClientMsg::Ping => "ping",
            ClientMsg::Call { .. } => "call",
            ClientMsg::Accept { .. } => "accept",
            ClientMsg::Reject { .. } => "reject",
            ClientMsg::Ignore { .. } => "ignore",
            ClientMsg::Hangup { .. } => "hangup",
            ClientMsg::Invite { .. } => "invite",
            ClientMsg::Join { .. } => "join",
            ClientMsg::SwitchMedia { .. } => "switch_media",
            ClientMsg::SetSelfInfo { .. } => "set_self_info",
            ClientMsg::SetMultiDevice { .. } => "set_multi_device",
            ClientMsg::QueryRecords { .. } => "query_records",
            ClientMsg::DeleteRecords { .. } => "delete_records",
            ClientMsg::MediaPublish { .. } => "media_publish",
            ClientMsg::MediaAnswer { .. } => "media_answer",
            ClientMsg::MediaState { .. } => "media_state",
            ClientMsg::MediaView { .. } => "media_view",
            ClientMsg::RegisterPush { .. } => "register_push",
            ClientMsg::UnregisterPush => "unregister_push",
        }
    }
}

/// Why a client frame could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    /// The frame's `seq`, when it could be read, so the error can be a response.
    pub seq: Option<u64>,
    /// [`ErrorCode::MalformedMessage`] or [`ErrorCode::UnknownMessage`].
    pub code: ErrorCode,
    /// A human-readable reason.
    pub message: String,
}

impl ClientFrame {
    /// The `seq` of a frame that is refused before it is parsed (for its
    /// rate or its size), so the refusal can still be that frame's response.
    /// One pass over the text that keeps nothing but `seq`; `None` when the
    /// text is not a JSON object with an unsigned integer `seq`.
    pub fn peek_seq(text: &str) -> Option<u64> {
        #[derive(Deserialize)]
        struct SeqOnly {
            seq: Option<u64>,
        }
        // Serde would also read a struct from an array (`[7]`).
        if !text.trim_start().starts_with('{') {
            return None;
        }
        serde_json::from_str::<SeqOnly>(text).ok()?.seq
    }

    /// Parse one text frame, telling malformed frames from unknown types.
    pub fn parse(text: &str) -> Result<ClientFrame, FrameError> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| FrameError {
            seq: None,
            code: ErrorCode::MalformedMessage,
            message: format!("not a JSON object: {e}"),
        })?;
        let seq = value.get("seq").and_then(|s| s.as_u64());
        let malformed = |message: String| FrameError {
            seq,
            code: ErrorCode::MalformedMessage,
            message,
        };
        if !value.is_object() {
            return Err(malformed("a message must be a JSON object".into()));
        }
        let Some(kind) = value
            .get("type")
            .and_then(|t| t.as_str())
            .map(str::to_owned)
        else {
            return Err(malformed("missing string field \"type\"".into()));
        };
        if !ClientMsg::TYPES.contains(&kind.as_str()) || kind == "logout" {
            return Err(FrameError {
                seq,
                code: ErrorCode::UnknownMessage,
                message: format!(
                    "unknown message type \"{}\"",
                    kind.chars().take(64).collect::<String>()
                ),
            });
        }
        if seq.is_none() {
            return Err(malformed("missing unsigned integer field \"seq\"".into()));
        }
        serde_json::from_value(value)
            .map_err(|e| malformed(format!("invalid \"{kind}\" message: {e}")))
    }
}

/// Which call records to return.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordFilter {
    /// Only this media type.
    #[serde(default)]
    pub media_type: Option<MediaType>,
    /// Only this result.
    #[serde(default)]
    pub result: Option<CallResult>,
    /// Only records that began before this time (Unix ms), for paging.
    #[serde(default)]
    pub before_ms: Option<i64>,
    /// At most this many records (1–100; 0 means 50), plus any others that
    /// began in the same millisecond as the last one (see `docs/protocol.md`).
    #[serde(default)]
    pub count: u32,
}

impl RecordFilter {
    /// The largest `count` a query may ask for.
    pub const MAX_COUNT: u32 = 100;
    /// The `count` used when a query gives 0.
    pub const DEFAULT_COUNT: u32 = 50;
}

/// How a call went, from one user's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallResult {
    /// An invitation the user never answered (or rejected).
    Missed,
    /// An invitation the user answered.
    Incoming,
    /// A call the user placed.
    Outgoing,
}

/// One call, as one user's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// ID to pass to `delete_records`.
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

/// One remote track in a [`ServerMsg::MediaOffer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaTrack {
    /// The SDP media ID.
    pub mid: String,
    /// Whose track it is.
    pub user_id: String,
    /// `"audio"` or `"video"`.
    pub kind: String,
}

/// What a successful login returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResult {
    /// The server's clock (Unix ms), for display offsets.
    pub server_time_ms: i64,
    /// How often the client should send `ping`, in seconds.
    pub heartbeat_interval_s: u32,
    /// The server closes connections silent for this long, in seconds.
    pub idle_timeout_s: u32,
    /// Snapshots of every unfinished call the user belongs to, plus the
    /// `known_calls` the client asked about.
    pub calls: Vec<CallInfo>,
    /// TURN relays the client may use for media, with credentials for this
    /// user that expire (empty or absent: the server has none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ice_servers: Vec<IceServer>,
}

/// A TURN relay and its time-limited credential, in the shape of WebRTC's
/// `RTCIceServer`: a browser can pass it to `RTCPeerConnection` as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    /// `turn:` or `turns:` URLs (RFC 7065), e.g. `turns:turn.example.com:443?transport=tcp`.
    pub urls: Vec<String>,
    /// `<expiry unix seconds>:<user ID>`, coturn's REST-API username.
    pub username: String,
    /// Base64 of HMAC-SHA1(shared secret, username).
    pub credential: String,
}

/// Every message the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// The answer to the client frame with the same `seq`.
    Response {
        /// The request's `seq`.
        seq: u64,
        /// 0 on success, else an [`ErrorCode`] value.
        code: i32,
        /// Empty on success, else why it failed.
        #[serde(default)]
        message: String,
        /// For `login`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        login: Option<LoginResult>,
        /// For `call`, `accept`, `invite`, `join`, ...: the call after the change.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call: Option<CallInfo>,
        /// For `query_records`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        records: Option<Vec<CallRecord>>,
        /// For `media_publish`: the SFU's SDP answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sdp: Option<String>,
    },
    /// A call the user belongs to changed.
    CallUpdate {
        /// The new snapshot.
        call: CallInfo,
    },
    /// Another login of the same user replaced this connection; it will close.
    KickedOffline {
        /// Why.
        message: String,
    },
    /// The UserSig this connection logged in with has expired; it will close.
    UserSigExpired,
    /// The SFU's SDP offer for the subscriber connection (recvonly), sent
    /// whenever the set of remote tracks changes; answer with `media_answer`.
    MediaOffer {
        /// The call.
        call_id: String,
        /// Grows with each offer; answers to older revisions are refused.
        revision: u64,
        /// The SDP offer.
        sdp: String,
        /// Which remote user and kind each offered `mid` carries.
        tracks: Vec<MediaTrack>,
    },
    /// An error not tied to a request (for example a frame without `seq`).
    Error {
        /// An [`ErrorCode`] value.
        code: i32,
        /// Why.
        message: String,
    },
}

impl ServerMsg {
    /// A successful response with no payload.
    pub fn ok(seq: u64) -> ServerMsg {
        ServerMsg::Response {
            seq,
            code: 0,
            message: String::new(),
            login: None,
            call: None,
            records: None,
            sdp: None,
        }
    }

    /// A failed response.
    pub fn err(seq: u64, code: ErrorCode, message: impl Into<String>) -> ServerMsg {
        ServerMsg::Response {
            seq,
            code: code.as_i32(),
            message: message.into(),
            login: None,
            call: None,
            records: None,
            sdp: None,
        }
    }

    /// A successful response carrying a call snapshot.
    pub fn ok_call(seq: u64, call: CallInfo) -> ServerMsg {
        ServerMsg::Response {
            seq,
            code: 0,
            message: String::new(),
            login: None,
            call: Some(call),
            records: None,
            sdp: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let f = ClientFrame {
            seq: 7,
            msg: ClientMsg::Accept {
                call_id: "c1".into(),
            },
        };
        let text = serde_json::to_string(&f).unwrap();
        assert_eq!(text, r#"{"seq":7,"type":"accept","call_id":"c1"}"#);
        assert_eq!(ClientFrame::parse(&text).unwrap(), f);
        let ping = ClientFrame::parse(r#"{"type":"ping","seq":1}"#).unwrap();
        assert_eq!(ping.msg, ClientMsg::Ping);
    }

    #[test]
    fn every_type_name_is_listed() {
        let m = ClientMsg::SetMultiDevice { enabled: true };
        assert!(ClientMsg::TYPES.contains(&m.type_name()));
    }

    #[test]
    fn parse_tells_malformed_from_unknown() {
        let e = ClientFrame::parse("{nope").unwrap_err();
        assert_eq!((e.code, e.seq), (ErrorCode::MalformedMessage, None));
        let e = ClientFrame::parse(r#"[1,2]"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::MalformedMessage);
        let e = ClientFrame::parse(r#"{"seq":3,"type":"teleport"}"#).unwrap_err();
        assert_eq!((e.code, e.seq), (ErrorCode::UnknownMessage, Some(3)));
        let e = ClientFrame::parse(r#"{"seq":4,"type":"accept"}"#).unwrap_err();
        assert_eq!((e.code, e.seq), (ErrorCode::MalformedMessage, Some(4)));
        assert!(e.message.contains("call_id"), "{}", e.message);
        let e = ClientFrame::parse(r#"{"type":"ping"}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::MalformedMessage);
        let e = ClientFrame::parse(r#"{"seq":-1,"type":"ping"}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::MalformedMessage);
    }

    #[test]
    fn peek_seq_reads_only_an_unsigned_seq() {
        let big = format!(
            r#"{{"type":"call","user_data":"{}","nested":{{"seq":1}},"seq":12}}"#,
            "x".repeat(20_000)
        );
        assert_eq!(ClientFrame::peek_seq(&big), Some(12));
        assert_eq!(
            ClientFrame::peek_seq(r#"{"seq":5,"type":"teleport"}"#),
            Some(5)
        );
        for unreadable in [
            "{nope",
            "[1]",
            r#"{"type":"ping"}"#,
            r#"{"seq":-1}"#,
            r#"{"seq":"7"}"#,
        ] {
            assert_eq!(ClientFrame::peek_seq(unreadable), None, "{unreadable}");
        }
    }

    #[test]
    fn server_messages_round_trip() {
        let m = ServerMsg::err(9, ErrorCode::RequestRefused, "not ringing");
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(
            text,
            r#"{"type":"response","seq":9,"code":-1203,"message":"not ringing"}"#
        );
        assert_eq!(serde_json::from_str::<ServerMsg>(&text).unwrap(), m);
    }
}
