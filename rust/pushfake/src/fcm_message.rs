//! Checking an FCM v1 `messages:send` request body the way FCM does: its
//! JSON shape first (proto3 JSON rules), then what the message means.

use serde_json::{Map, Value};

use crate::google_error::GoogleError;

/// FCM data payloads (keys and values) may not exceed this.
const MAX_DATA_BYTES: usize = 4096;
/// The longest Android TTL FCM keeps a message: four weeks.
const MAX_TTL_S: f64 = 2_419_200.0;
/// Data keys FCM keeps for itself; keys starting `google` or `gcm` too.
const RESERVED_DATA_KEYS: &[&str] = &["from", "notification", "message_type"];

const REQUEST_FIELDS: &[&str] = &["message", "validate_only", "validateOnly"];
const MESSAGE_FIELDS: &[&str] = &[
    "name",
    "data",
    "notification",
    "android",
    "webpush",
    "apns",
    "fcm_options",
    "fcmOptions",
    "token",
    "topic",
    "condition",
];
const ANDROID_FIELDS: &[&str] = &[
    "collapse_key",
    "collapseKey",
    "priority",
    "ttl",
    "restricted_package_name",
    "restrictedPackageName",
    "data",
    "notification",
    "fcm_options",
    "fcmOptions",
    "direct_boot_ok",
    "directBootOk",
    "bandwidth_constrained_ok",
    "bandwidthConstrainedOk",
    "restricted_satellite_ok",
    "restrictedSatelliteOk",
];

/// A request that FCM would accept.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Accepted {
    /// The registration token, topic or condition the message goes to.
    pub(crate) target: String,
    /// `validate_only`: check, but send nothing.
    pub(crate) validate_only: bool,
}

/// Checks a parsed request body.
pub(crate) fn check(body: &Value) -> Result<Accepted, GoogleError> {
    let request = object(body, "")?;
    known_fields(request, "", REQUEST_FIELDS)?;
    let validate_only = match field(request, &["validate_only", "validateOnly"]) {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => return Err(invalid_value("validate_only", "TYPE_BOOL", v)),
    };
    let Some(message) = request.get("message") else {
        return Err(GoogleError::invalid_argument(
            "Request contains an invalid argument.",
        ));
    };
    let message = object(message, "message")?;
    known_fields(message, "message", MESSAGE_FIELDS)?;

    let mut targets = Vec::new();
    for name in ["token", "topic", "condition"] {
        if let Some(v) = message.get(name) {
            let s = v
                .as_str()
                .ok_or_else(|| invalid_value(&format!("message.{name}"), "TYPE_STRING", v))?;
            if !targets.is_empty() {
                return Err(GoogleError::bad_json(
                    "message",
                    format!("Invalid JSON payload received. Oneof field 'target' is already set. Cannot set '{name}'"),
                ));
            }
            targets.push((name, s));
        }
    }
    let Some((kind, target)) = targets.pop() else {
        return Err(GoogleError::invalid_argument(
            "Recipient of the message is not set.",
        ));
    };
    if kind == "token" && (target.is_empty() || target.contains(char::is_whitespace)) {
        return Err(GoogleError::invalid_argument(
            "The registration token is not a valid FCM registration token",
        )
        .with_field("message.token", "Invalid registration token"));
    }

    let mut data_bytes = 0;
    if let Some(data) = message.get("data") {
        data_bytes += string_map(data, "message.data")?;
    }
    if let Some(android) = message.get("android") {
        let android = object(android, "message.android")?;
        known_fields(android, "message.android", ANDROID_FIELDS)?;
        if let Some(p) = android.get("priority") {
            if !matches!(p.as_str(), Some("HIGH" | "NORMAL")) {
                let ty = "type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority";
                return Err(invalid_value("message.android.priority", ty, p));
            }
        }
        if let Some(ttl) = android.get("ttl") {
            let secs = duration_secs(ttl).ok_or_else(|| {
                invalid_value(
                    "message.android.ttl",
                    "type.googleapis.com/google.protobuf.Duration",
                    ttl,
                )
            })?;
            if secs > MAX_TTL_S {
                return Err(GoogleError::invalid_argument(
                    "Invalid value for android.ttl: must be at most 4 weeks",
                )
                .with_field("message.android.ttl", "TTL exceeds 4 weeks"));
            }
        }
        if let Some(data) = android.get("data") {
            data_bytes += string_map(data, "message.android.data")?;
        }
        if let Some(key) = android
            .get("collapse_key")
            .or_else(|| android.get("collapseKey"))
        {
            key.as_str()
                .ok_or_else(|| invalid_value("message.android.collapse_key", "TYPE_STRING", key))?;
        }
    }
    for name in ["notification", "webpush", "apns"] {
        if let Some(v) = message.get(name) {
            object(v, &format!("message.{name}"))?;
        }
    }
    if data_bytes > MAX_DATA_BYTES {
        return Err(GoogleError::invalid_argument("Android message is too big"));
    }
    Ok(Accepted {
        target: target.to_owned(),
        validate_only,
    })
}

fn field<'a>(obj: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|n| obj.get(*n))
}

fn object<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>, GoogleError> {
    v.as_object().ok_or_else(|| {
        let description = if at.is_empty() {
            format!("Invalid JSON payload received. Expected an object, got {v}")
        } else {
            format!("Invalid JSON payload received. Expected an object at '{at}', got {v}")
        };
        GoogleError::bad_json(at, description)
    })
}

fn known_fields(obj: &Map<String, Value>, at: &str, allowed: &[&str]) -> Result<(), GoogleError> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => {
            let place = if at.is_empty() {
                String::new()
            } else {
                format!(" at '{at}'")
            };
            Err(GoogleError::bad_json(
                at,
                format!("Invalid JSON payload received. Unknown name \"{k}\"{place}: Cannot find field."),
            ))
        }
    }
}

fn invalid_value(at: &str, ty: &str, v: &Value) -> GoogleError {
    GoogleError::bad_json(at, format!("Invalid value at '{at}' ({ty}), {v}"))
}

/// A `map<string, string>`: returns its size in bytes (keys and values).
fn string_map(v: &Value, at: &str) -> Result<usize, GoogleError> {
    let Some(map) = v.as_object() else {
        return Err(invalid_value(
            at,
            "type.googleapis.com/google.protobuf.Struct",
            v,
        ));
    };
    let mut bytes = 0;
    for (i, (key, value)) in map.iter().enumerate() {
        let Some(value) = value.as_str() else {
            return Err(invalid_value(
                &format!("{at}[{i}].value"),
                "TYPE_STRING",
                value,
            ));
        };
        let lower = key.to_ascii_lowercase();
        if RESERVED_DATA_KEYS.contains(&lower.as_str())
            || lower.starts_with("google")
            || lower.starts_with("gcm")
        {
            return Err(
                GoogleError::invalid_argument(format!("Invalid data payload key: {key}"))
                    .with_field(at, &format!("Invalid data payload key: {key}")),
            );
        }
        bytes += key.len() + value.len();
    }
    Ok(bytes)
}

/// Seconds of a proto3 JSON `Duration` such as `"30s"` or `"3.5s"`.
fn duration_secs(v: &Value) -> Option<f64> {
    let digits = v.as_str()?.strip_suffix('s')?;
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = !whole.is_empty()
        && whole.bytes().all(|c| c.is_ascii_digit())
        && frac.len() <= 9
        && frac.bytes().all(|c| c.is_ascii_digit())
        && !(digits.contains('.') && frac.is_empty());
    ok.then(|| digits.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refused_status(body: &Value) -> u16 {
        check(body).unwrap_err().into_response().status().as_u16()
    }

    #[test]
    fn accepts_a_data_message() {
        let body = json!({"message": {"token": "abc:123", "data": {"k": "v"},
            "android": {"priority": "HIGH", "ttl": "30s", "collapse_key": "call"}}});
        assert_eq!(
            check(&body).unwrap(),
            Accepted {
                target: "abc:123".into(),
                validate_only: false
            }
        );
        let body = json!({"validate_only": true, "message": {"topic": "news"}});
        assert_eq!(
            check(&body).unwrap(),
            Accepted {
                target: "news".into(),
                validate_only: true
            }
        );
    }

    #[test]
    fn refuses_bad_shapes() {
        for body in [
            json!({"message": {"token": "t", "data": {"k": 1}}}),
            json!({"message": {"token": "t", "data": {"from": "x"}}}),
            json!({"message": {"token": "t", "android": {"priority": "high"}}}),
            json!({"message": {"token": "t", "android": {"ttl": "60"}}}),
            json!({"message": {"token": "t", "android": {"ttl": "9999999s"}}}),
            json!({"message": {"token": "t", "bogus": 1}}),
            json!({"message": {"token": "t", "topic": "x"}}),
            json!({"message": {"data": {"k": "v"}}}),
            json!({"message": {"token": ""}}),
            json!({"message": {"token": "t", "data": {"k": "v".repeat(5000)}}}),
            json!({"msg": {}}),
            json!([1]),
        ] {
            assert_eq!(refused_status(&body), 400, "{body}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration_secs(&json!("30s")), Some(30.0));
        assert_eq!(duration_secs(&json!("3.5s")), Some(3.5));
        assert_eq!(duration_secs(&json!("3.s")), None);
        assert_eq!(duration_secs(&json!("s")), None);
        assert_eq!(duration_secs(&json!(30)), None);
    }
}
