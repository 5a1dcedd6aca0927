//! FCM HTTP v1: `POST /v1/projects/<project>/messages:send`.

use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, Version};
use serde_json::{json, Value};

use crate::answers::{Answer, AnswerBook};
use crate::fcm_message;
use crate::google_error::GoogleError;
use crate::http::{self, Body, BodyError};
use crate::ids;
use crate::oauth::{TokenEndpoint, TokenRefusal};
use crate::record::Recorder;
use crate::serve::Handler;

/// Google refuses request bodies past a megabyte.
const READ_LIMIT: usize = 1024 * 1024;
const JSON_UTF8: &str = "application/json; charset=UTF-8";

/// One request the FCM fake received.
#[derive(Debug, Clone)]
pub struct FcmRequest {
    /// The `<project>` of the path (empty when the path was not `messages:send`).
    pub project: String,
    /// Request headers, lowercase names, in the order sent.
    pub headers: Vec<(String, String)>,
    /// The request body; `Null` when empty, a JSON string of the raw text
    /// when it was not JSON.
    pub body: Value,
    /// Whether the bearer access token was one the OAuth fake issued and live.
    pub access_token_ok: bool,
    /// The HTTP status answered.
    pub status: u16,
    /// When the request's body had been read.
    pub received_at: Instant,
    /// Whether it came over HTTP/2.
    pub http2: bool,
}

impl FcmRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `message.token` of the body, when it has one.
    pub fn registration_token(&self) -> Option<&str> {
        self.body.pointer("/message/token")?.as_str()
    }

    /// `message.data` of the body, when it has one.
    pub fn data(&self) -> Option<&serde_json::Map<String, Value>> {
        self.body.pointer("/message/data")?.as_object()
    }
}

/// The FCM fake's state.
pub(crate) struct Fcm {
    pub(crate) project: &'static str,
    pub(crate) tokens: Arc<TokenEndpoint>,
    pub(crate) answers: AnswerBook,
    pub(crate) log: Recorder<FcmRequest>,
}

impl Handler for Fcm {
    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let body = http::read_body(body, READ_LIMIT).await;
        let received_at = Instant::now();
        if let Err(BodyError::Broken) = body {
            return http::empty(400);
        }
        let project = parts
            .uri
            .path()
            .strip_prefix("/v1/projects/")
            .and_then(|rest| rest.strip_suffix("/messages:send"))
            .filter(|p| !p.is_empty() && !p.contains('/'))
            .unwrap_or("")
            .to_owned();
        let token_check = match http::bearer(&parts.headers) {
            None => Err("CREDENTIALS_MISSING"),
            Some(token) => self.tokens.check(token).map_err(|r| match r {
                TokenRefusal::Expired => "ACCESS_TOKEN_EXPIRED",
                TokenRefusal::Unknown => "ACCESS_TOKEN_TYPE_UNSUPPORTED",
            }),
        };
        let body_value = match &body {
            Ok(bytes) if bytes.is_empty() => Value::Null,
            Ok(bytes) => serde_json::from_slice(bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned())),
            Err(_) => Value::Null,
        };

        // Google's order: routing, authentication, authorisation, then the body.
        let outcome = if parts.method != Method::POST || project.is_empty() {
            Err(GoogleError::no_such_method())
        } else if let Err(reason) = token_check {
            Err(GoogleError::unauthenticated(reason))
        } else if project != self.project {
            Err(GoogleError::permission_denied(&project))
        } else {
            match &body {
                Err(_) => Err(GoogleError::bad_json(
                    "",
                    format!("Request payload size exceeds the limit: {READ_LIMIT} bytes."),
                )),
                Ok(bytes) if serde_json::from_slice::<Value>(bytes).is_err() => Err(
                    GoogleError::bad_json("", "Invalid JSON payload received. Unexpected token."),
                ),
                Ok(_) => fcm_message::check(&body_value),
            }
        };
        let (status, reply) = match outcome {
            Err(err) => (err.code, Err(err)),
            Ok(accepted) => {
                let answer = self.answers.next(&accepted.target);
                let status = match &answer {
                    Answer::Status { code, .. } => *code,
                    _ => 200,
                };
                (status, Ok((accepted, answer)))
            }
        };
        self.log.push(FcmRequest {
            project: project.clone(),
            headers: http::header_pairs(&parts.headers),
            body: body_value,
            access_token_ok: token_check.is_ok(),
            status,
            received_at,
            http2: parts.version == Version::HTTP_2,
        });

        match reply {
            Err(err) => err.into_response(),
            Ok((
                _,
                Answer::Status {
                    code,
                    reason,
                    retry_after_s,
                },
            )) => GoogleError::scripted(code, &reason, retry_after_s).into_response(),
            Ok((accepted, answer)) => {
                if let Answer::Delay(d) = answer {
                    tokio::time::sleep(d).await;
                }
                // Real ids look like `0:1500415314455276%31bd1c9631bd1c96`;
                // validate_only gets Google's placeholder.
                let id = if accepted.validate_only {
                    "fake_message_id".to_owned()
                } else {
                    format!("0:{}%{}", http::unix_now_ms() * 1000, ids::hex(16))
                };
                http::json(
                    200,
                    &json!({ "name": format!("projects/{project}/messages/{id}") }),
                    JSON_UTF8,
                )
            }
        }
    }
}
