//! The APNs provider API: `POST /3/device/<token>` over HTTP/2.

use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{HeaderMap, Method, Request, Response, Version};
use serde_json::{json, Value};

use crate::answers::{Answer, AnswerBook};
use crate::apns_jwt::ProviderTokens;
use crate::http::{self, Body, BodyError};
use crate::ids;
use crate::record::Recorder;
use crate::serve::Handler;

/// Payload limits: VoIP pushes may be larger than the others.
const MAX_VOIP_PAYLOAD: usize = 5120;
const MAX_PAYLOAD: usize = 4096;
/// Bodies are read up to this much so an oversized one is refused, not held.
const READ_LIMIT: usize = 64 * 1024;
const MAX_COLLAPSE_ID: usize = 64;
/// Push types Apple documents for `apns-push-type`.
const PUSH_TYPES: &[&str] = &[
    "alert",
    "background",
    "voip",
    "location",
    "complication",
    "fileprovider",
    "mdm",
    "liveactivity",
    "pushtotalk",
    "widgets",
    "controls",
];
/// Headers APNs reads; sending one twice is refused.
const SINGLE_HEADERS: &[&str] = &[
    "authorization",
    "apns-id",
    "apns-push-type",
    "apns-topic",
    "apns-priority",
    "apns-expiration",
    "apns-collapse-id",
];

/// One request the APNs fake received.
#[derive(Debug, Clone)]
pub struct ApnsRequest {
    /// The `<device token>` of the path (empty when the path had none).
    pub device_token: String,
    /// Request headers, lowercase names, in the order sent.
    pub headers: Vec<(String, String)>,
    /// The payload; `Null` when empty, a JSON string of the raw text when
    /// it was not JSON.
    pub body: Value,
    /// Whether the provider token was accepted.
    pub jwt_ok: bool,
    /// The provider token's `iat`, when it could be read.
    pub jwt_iat: Option<u64>,
    /// The HTTP status answered.
    pub status: u16,
    /// When the request's body had been read.
    pub received_at: Instant,
    /// Whether it came over HTTP/2 (always so for APNs, which speaks nothing else).
    pub http2: bool,
}

impl ApnsRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The APNs fake's state.
pub(crate) struct Apns {
    pub(crate) tokens: ProviderTokens,
    pub(crate) answers: AnswerBook,
    pub(crate) log: Recorder<ApnsRequest>,
}

/// What to send back.
enum Reply {
    Refused { status: u16, reason: &'static str },
    Scripted(Answer),
}

impl Handler for Apns {
    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let body = http::read_body(body, READ_LIMIT).await;
        let received_at = Instant::now();
        if let Err(BodyError::Broken) = body {
            // The client gave up on the stream: nothing to answer or record.
            return http::empty(400);
        }
        let device_token = parts
            .uri
            .path()
            .strip_prefix("/3/device/")
            .unwrap_or("")
            .to_owned();
        let verdict = self.tokens.check(http::bearer(&parts.headers).or_else(|| {
            // A present but malformed authorization header is an invalid token, not a missing one.
            parts
                .headers
                .contains_key(hyper::header::AUTHORIZATION)
                .then_some("")
        }));
        let body_value = match &body {
            Ok(bytes) if bytes.is_empty() => Value::Null,
            Ok(bytes) => serde_json::from_slice(bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned())),
            Err(_) => Value::Null,
        };

        let reply = match refusal(
            &parts.method,
            parts.uri.path(),
            &parts.headers,
            verdict.refusal,
            &body,
        ) {
            Some((status, reason)) => Reply::Refused { status, reason },
            None => Reply::Scripted(self.answers.next(&device_token)),
        };
        let status = match &reply {
            Reply::Refused { status, .. } => *status,
            Reply::Scripted(Answer::Status { code, .. }) => *code,
            Reply::Scripted(_) => 200,
        };
        self.log.push(ApnsRequest {
            device_token,
            headers: http::header_pairs(&parts.headers),
            body: body_value,
            jwt_ok: verdict.refusal.is_none(),
            jwt_iat: verdict.iat,
            status,
            received_at,
            http2: parts.version == Version::HTTP_2,
        });

        // APNs echoes the client's apns-id, or makes one up.
        let apns_id = parts
            .headers
            .get("apns-id")
            .filter(|v| v.to_str().is_ok_and(ids::is_uuid))
            .cloned()
            .unwrap_or_else(|| {
                HeaderValue::from_str(&ids::uuid_v4()).expect("a UUID is a header value")
            });
        let mut resp = match reply {
            Reply::Refused { status, reason } => error(status, reason, None),
            Reply::Scripted(Answer::Status {
                code,
                reason,
                retry_after_s,
            }) => error(code, &reason, retry_after_s),
            Reply::Scripted(Answer::Delay(d)) => {
                tokio::time::sleep(d).await;
                http::empty(200)
            }
            Reply::Scripted(Answer::Ok) => http::empty(200),
        };
        resp.headers_mut().insert("apns-id", apns_id);
        resp
    }
}

/// An APNs error response: `{"reason": ...}`, with `timestamp` (ms) for 410.
fn error(status: u16, reason: &str, retry_after_s: Option<u64>) -> Response<Body> {
    let body = if status == 410 {
        json!({ "reason": reason, "timestamp": http::unix_now_ms() as u64 })
    } else {
        json!({ "reason": reason })
    };
    http::with_retry_after(http::json(status, &body, "application/json"), retry_after_s)
}

/// The APNs checks, in the order its documented errors suggest: request
/// line, authentication, headers, then payload. `None` when all pass.
fn refusal(
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    token_refusal: Option<&'static str>,
    body: &Result<hyper::body::Bytes, BodyError>,
) -> Option<(u16, &'static str)> {
    if method != Method::POST {
        return Some((405, "MethodNotAllowed"));
    }
    let Some(device_token) = path.strip_prefix("/3/device/") else {
        return Some((404, "BadPath"));
    };
    if device_token.is_empty() {
        return Some((400, "MissingDeviceToken"));
    }
    if SINGLE_HEADERS
        .iter()
        .any(|h| headers.get_all(*h).iter().count() > 1)
    {
        return Some((400, "DuplicateHeaders"));
    }
    if let Some(reason) = token_refusal {
        return Some((403, reason));
    }
    if !is_device_token(device_token) {
        return Some((400, "BadDeviceToken"));
    }
    let text = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let Some(topic) = text("apns-topic").filter(|t| !t.is_empty()) else {
        return Some((400, "MissingTopic"));
    };
    let push_type = text("apns-push-type");
    if push_type.is_some_and(|t| !PUSH_TYPES.contains(&t)) {
        return Some((400, "InvalidPushType"));
    }
    // VoIP pushes go to the app's `<bundle id>.voip` topic only.
    if push_type == Some("voip") && !topic.ends_with(".voip") {
        return Some((400, "DeviceTokenNotForTopic"));
    }
    if let Some(priority) = text("apns-priority") {
        if !matches!(priority, "1" | "5" | "10")
            || (push_type == Some("background") && priority == "10")
        {
            return Some((400, "BadPriority"));
        }
    }
    if text("apns-expiration").is_some_and(|e| e.parse::<u64>().is_err()) {
        return Some((400, "BadExpirationDate"));
    }
    if text("apns-id").is_some_and(|id| !ids::is_uuid(id)) {
        return Some((400, "BadMessageId"));
    }
    if text("apns-collapse-id").is_some_and(|c| c.len() > MAX_COLLAPSE_ID) {
        return Some((400, "BadCollapseId"));
    }
    let limit = if push_type == Some("voip") {
        MAX_VOIP_PAYLOAD
    } else {
        MAX_PAYLOAD
    };
    let bytes = match body {
        Ok(bytes) if bytes.len() <= limit => bytes,
        _ => return Some((413, "PayloadTooLarge")),
    };
    if bytes.is_empty() {
        return Some((400, "PayloadEmpty"));
    }
    // Not one of Apple's documented reasons: a payload that is not a JSON
    // object is a client bug the fake should surface rather than accept.
    if !serde_json::from_slice::<Value>(bytes).is_ok_and(|v| v.is_object()) {
        return Some((400, "BadPayload"));
    }
    None
}

/// Device tokens are hexadecimal: 32 bytes today, possibly longer later.
fn is_device_token(token: &str) -> bool {
    (64..=200).contains(&token.len())
        && token.len().is_multiple_of(2)
        && token.bytes().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    const PATH: &str = "/3/device/00fc13adff785122b4ad28809a3420982341241421348097878e577c991de8f0";

    fn check(
        method: Method,
        path: &str,
        pairs: &[(&'static str, &str)],
        body: &str,
    ) -> Option<(u16, &'static str)> {
        let body = Ok(hyper::body::Bytes::from(body.to_owned()));
        refusal(&method, path, &headers(pairs), None, &body)
    }

    #[test]
    fn header_checks() {
        let voip = [("apns-topic", "app.voip"), ("apns-push-type", "voip")];
        assert_eq!(check(Method::POST, PATH, &voip, "{}"), None);
        assert_eq!(
            check(Method::GET, PATH, &voip, "{}"),
            Some((405, "MethodNotAllowed"))
        );
        assert_eq!(
            check(Method::POST, "/3/other", &voip, "{}"),
            Some((404, "BadPath"))
        );
        assert_eq!(
            check(Method::POST, "/3/device/", &voip, "{}"),
            Some((400, "MissingDeviceToken"))
        );
        assert_eq!(
            check(Method::POST, "/3/device/xyz", &voip, "{}"),
            Some((400, "BadDeviceToken"))
        );
        assert_eq!(
            check(Method::POST, PATH, &[("apns-push-type", "voip")], "{}"),
            Some((400, "MissingTopic"))
        );
        assert_eq!(
            check(
                Method::POST,
                PATH,
                &[("apns-topic", "app.voip"), ("apns-push-type", "call")],
                "{}"
            ),
            Some((400, "InvalidPushType"))
        );
        assert_eq!(
            check(
                Method::POST,
                PATH,
                &[("apns-topic", "app"), ("apns-push-type", "voip")],
                "{}"
            ),
            Some((400, "DeviceTokenNotForTopic"))
        );
        let with = |name: &'static str, value: &str| {
            let mut h: Vec<(&'static str, &str)> = voip.to_vec();
            h.push((name, value));
            check(Method::POST, PATH, &h, "{}")
        };
        assert_eq!(with("apns-priority", "7"), Some((400, "BadPriority")));
        assert_eq!(
            with("apns-expiration", "soon"),
            Some((400, "BadExpirationDate"))
        );
        assert_eq!(with("apns-id", "123"), Some((400, "BadMessageId")));
        assert_eq!(
            with("apns-collapse-id", &"c".repeat(65)),
            Some((400, "BadCollapseId"))
        );
        assert_eq!(
            with("apns-topic", "app.voip"),
            Some((400, "DuplicateHeaders"))
        );
        assert_eq!(with("apns-priority", "10"), None);
    }

    #[test]
    fn payload_checks() {
        let voip = [("apns-topic", "app.voip"), ("apns-push-type", "voip")];
        let alert = [("apns-topic", "app"), ("apns-push-type", "alert")];
        let big = format!("{{\"x\":\"{}\"}}", "a".repeat(4500));
        assert_eq!(check(Method::POST, PATH, &voip, &big), None);
        assert_eq!(
            check(Method::POST, PATH, &alert, &big),
            Some((413, "PayloadTooLarge"))
        );
        let huge = format!("{{\"x\":\"{}\"}}", "a".repeat(5200));
        assert_eq!(
            check(Method::POST, PATH, &voip, &huge),
            Some((413, "PayloadTooLarge"))
        );
        assert_eq!(
            check(Method::POST, PATH, &voip, ""),
            Some((400, "PayloadEmpty"))
        );
        assert_eq!(
            check(Method::POST, PATH, &voip, "not json"),
            Some((400, "BadPayload"))
        );
    }
}
