//! Google API error bodies: `{"error":{"code","message","status","details"}}`.

use hyper::header::HeaderValue;
use hyper::Response;
use serde_json::{json, Value};

use crate::http::{self, Body};

const FCM_ERROR_TYPE: &str = "type.googleapis.com/google.firebase.fcm.v1.FcmError";
const BAD_REQUEST_TYPE: &str = "type.googleapis.com/google.rpc.BadRequest";
const ERROR_INFO_TYPE: &str = "type.googleapis.com/google.rpc.ErrorInfo";
const JSON_UTF8: &str = "application/json; charset=UTF-8";

/// FCM's `errorCode`s: the status each comes with and its usual message.
const FCM_ERROR_CODES: &[(&str, &str, &str)] = &[
    ("UNSPECIFIED_ERROR", "UNKNOWN", "Unknown error."),
    (
        "INVALID_ARGUMENT",
        "INVALID_ARGUMENT",
        "Request contains an invalid argument.",
    ),
    (
        "UNREGISTERED",
        "NOT_FOUND",
        "Requested entity was not found.",
    ),
    (
        "SENDER_ID_MISMATCH",
        "PERMISSION_DENIED",
        "SenderId mismatch",
    ),
    (
        "QUOTA_EXCEEDED",
        "RESOURCE_EXHAUSTED",
        "Quota exceeded for quota metric 'Send messages'.",
    ),
    (
        "UNAVAILABLE",
        "UNAVAILABLE",
        "The service is currently unavailable.",
    ),
    ("INTERNAL", "INTERNAL", "Internal error encountered."),
    (
        "THIRD_PARTY_AUTH_ERROR",
        "UNAUTHENTICATED",
        "Auth error from APNS or Web Push Service",
    ),
];

/// Canonical status names by HTTP code, with their usual messages.
const STATUSES: &[(u16, &str, &str)] = &[
    (
        400,
        "INVALID_ARGUMENT",
        "Request contains an invalid argument.",
    ),
    (
        401,
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials.",
    ),
    (
        403,
        "PERMISSION_DENIED",
        "The caller does not have permission",
    ),
    (404, "NOT_FOUND", "Requested entity was not found."),
    (409, "ABORTED", "The operation was aborted."),
    (
        429,
        "RESOURCE_EXHAUSTED",
        "Resource has been exhausted (e.g. check quota).",
    ),
    (500, "INTERNAL", "Internal error encountered."),
    (
        501,
        "UNIMPLEMENTED",
        "Operation is not implemented, or supported, or enabled.",
    ),
    (503, "UNAVAILABLE", "The service is currently unavailable."),
    (
        504,
        "DEADLINE_EXCEEDED",
        "The request deadline was exceeded.",
    ),
];

/// One Google API error reply.
#[derive(Debug, Clone)]
pub(crate) struct GoogleError {
    pub(crate) code: u16,
    status: String,
    message: String,
    details: Vec<Value>,
    retry_after_s: Option<u64>,
    www_authenticate: bool,
}

impl GoogleError {
    fn new(code: u16, status: &str, message: impl Into<String>) -> Self {
        GoogleError {
            code,
            status: status.to_owned(),
            message: message.into(),
            details: Vec::new(),
            retry_after_s: None,
            www_authenticate: false,
        }
    }

    fn with_detail(mut self, detail: Value) -> Self {
        self.details.push(detail);
        self
    }

    /// An FCM-level error with an `FcmError` detail.
    pub(crate) fn fcm(
        code: u16,
        status: &str,
        error_code: &str,
        message: impl Into<String>,
    ) -> Self {
        Self::new(code, status, message)
            .with_detail(json!({ "@type": FCM_ERROR_TYPE, "errorCode": error_code }))
    }

    /// A semantically invalid message (FCM `INVALID_ARGUMENT`).
    pub(crate) fn invalid_argument(message: impl Into<String>) -> Self {
        Self::fcm(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", message)
    }

    /// Adds a `BadRequest` field violation, as Google does for a bad field.
    pub(crate) fn with_field(self, field: &str, description: &str) -> Self {
        self.with_detail(json!({
            "@type": BAD_REQUEST_TYPE,
            "fieldViolations": [{ "field": field, "description": description }],
        }))
    }

    /// A request body that does not parse as the API's JSON: only a
    /// `BadRequest` detail, no `FcmError`, as from Google's JSON layer.
    pub(crate) fn bad_json(field: &str, description: impl Into<String>) -> Self {
        let description = description.into();
        Self::new(400, "INVALID_ARGUMENT", description.clone()).with_field(field, &description)
    }

    /// 401 for a missing, unknown or expired access token.
    pub(crate) fn unauthenticated(reason: &str) -> Self {
        let message = if reason == "CREDENTIALS_MISSING" {
            "Request is missing required authentication credential. Expected OAuth 2 access token, \
             login cookie or other valid authentication credential. \
             See https://developers.google.com/identity/sign-in/web/devconsole-project."
        } else {
            "Request had invalid authentication credentials. Expected OAuth 2 access token, \
             login cookie or other valid authentication credential. \
             See https://developers.google.com/identity/sign-in/web/devconsole-project."
        };
        let mut err = Self::new(401, "UNAUTHENTICATED", message).with_detail(json!({
            "@type": ERROR_INFO_TYPE,
            "reason": reason,
            "domain": "googleapis.com",
            "metadata": {
                "service": "fcm.googleapis.com",
                "method": "google.firebase.fcm.v1.FcmService.SendMessage",
            },
        }));
        err.www_authenticate = true;
        err
    }

    /// 403 for a project the service account may not send for.
    pub(crate) fn permission_denied(project: &str) -> Self {
        Self::new(
            403,
            "PERMISSION_DENIED",
            format!(
                "Permission 'cloudmessaging.messages.create' denied on resource \
                 '//cloudresourcemanager.googleapis.com/projects/{project}' (or it may not exist)."
            ),
        )
    }

    /// 404 for a path that is no API method.
    pub(crate) fn no_such_method() -> Self {
        Self::new(404, "NOT_FOUND", "Method not found.")
    }

    /// A scripted error: `reason` is an FCM `errorCode` (gets an `FcmError`
    /// detail) or else a status name; `code` is sent as given.
    pub(crate) fn scripted(code: u16, reason: &str, retry_after_s: Option<u64>) -> Self {
        let mut err = if let Some((error_code, status, message)) =
            FCM_ERROR_CODES.iter().find(|(c, _, _)| *c == reason)
        {
            Self::fcm(code, status, error_code, *message)
        } else if let Some((_, status, message)) = STATUSES.iter().find(|(_, s, _)| *s == reason) {
            Self::new(code, status, *message)
        } else {
            let (status, message) = STATUSES
                .iter()
                .find(|(c, _, _)| *c == code)
                .map(|(_, s, m)| (*s, *m))
                .unwrap_or(("UNKNOWN", "Unknown error."));
            Self::fcm(code, status, reason, message)
        };
        err.retry_after_s = retry_after_s;
        err
    }

    pub(crate) fn into_response(self) -> Response<Body> {
        let mut error =
            json!({ "code": self.code, "message": self.message, "status": self.status });
        if !self.details.is_empty() {
            error["details"] = Value::Array(self.details);
        }
        let mut resp = http::json(self.code, &json!({ "error": error }), JSON_UTF8);
        if self.www_authenticate {
            resp.headers_mut().insert(
                "www-authenticate",
                HeaderValue::from_static(
                    "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"",
                ),
            );
        }
        http::with_retry_after(resp, self.retry_after_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(err: GoogleError) -> Value {
        let json = json!({ "error": {
            "code": err.code, "message": err.message, "status": err.status, "details": err.details,
        }});
        json
    }

    #[test]
    fn scripted_error_codes_get_their_status() {
        let b = body_of(GoogleError::scripted(404, "UNREGISTERED", None));
        assert_eq!(b["error"]["status"], "NOT_FOUND");
        assert_eq!(b["error"]["message"], "Requested entity was not found.");
        assert_eq!(b["error"]["details"][0]["errorCode"], "UNREGISTERED");
        assert_eq!(b["error"]["details"][0]["@type"], FCM_ERROR_TYPE);

        let b = body_of(GoogleError::scripted(429, "QUOTA_EXCEEDED", Some(5)));
        assert_eq!(b["error"]["status"], "RESOURCE_EXHAUSTED");

        let b = body_of(GoogleError::scripted(503, "UNAVAILABLE", None));
        assert_eq!(b["error"]["status"], "UNAVAILABLE");
        assert_eq!(b["error"]["details"][0]["errorCode"], "UNAVAILABLE");

        let b = body_of(GoogleError::scripted(404, "NOT_FOUND", None));
        assert_eq!(b["error"]["status"], "NOT_FOUND");
        assert_eq!(b["error"]["details"], json!([]));
    }
}
