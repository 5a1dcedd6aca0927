//! Google's OAuth2 token endpoint for service accounts (JWT-bearer grant),
//! and the access tokens it issues.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;
use serde_json::json;

use crate::credentials::ServiceAccount;
use crate::http::{self, Body};
use crate::serve::Handler;
use crate::{form, ids};

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Either scope lets a token send FCM messages.
const SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/firebase.messaging",
    "https://www.googleapis.com/auth/cloud-platform",
];
/// Google refuses assertions meant to live longer than an hour.
const MAX_ASSERTION_LIFETIME_S: u64 = 3600;
const CLOCK_SKEW_S: u64 = 60;
/// Google answers 3599 for the hour a token lives.
pub(crate) const DEFAULT_LIFETIME_S: u64 = 3599;
/// Issued tokens are forgotten past this many (expired ones first).
const MAX_TOKENS: usize = 100_000;
const READ_LIMIT: usize = 64 * 1024;
const JSON_UTF8: &str = "application/json; charset=utf-8";

/// Why an access token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenRefusal {
    /// Never issued here.
    Unknown,
    /// Issued, but its lifetime is over.
    Expired,
}

/// The token endpoint's state: the account it trusts and the tokens issued.
pub(crate) struct TokenEndpoint {
    account: ServiceAccount,
    token_uri: String,
    lifetime_s: AtomicU64,
    grants: AtomicUsize,
    issued: Mutex<HashMap<String, Instant>>,
}

#[derive(Deserialize)]
struct AssertionClaims {
    iss: Option<String>,
    scope: Option<String>,
    aud: Option<String>,
    iat: Option<u64>,
    exp: Option<u64>,
}

impl TokenEndpoint {
    pub(crate) fn new(account: ServiceAccount, token_uri: String) -> Self {
        TokenEndpoint {
            account,
            token_uri,
            lifetime_s: AtomicU64::new(DEFAULT_LIFETIME_S),
            grants: AtomicUsize::new(0),
            issued: Mutex::default(),
        }
    }

    pub(crate) fn account(&self) -> &ServiceAccount {
        &self.account
    }

    pub(crate) fn grants(&self) -> usize {
        self.grants.load(Ordering::Relaxed)
    }

    pub(crate) fn set_lifetime(&self, secs: u64) {
        self.lifetime_s.store(secs, Ordering::Relaxed);
    }

    /// Ends the life of every token issued so far.
    pub(crate) fn expire_all(&self) {
        let now = Instant::now();
        for expiry in self.issued.lock().unwrap().values_mut() {
            *expiry = now;
        }
    }

    /// Whether `token` is a live access token issued here.
    pub(crate) fn check(&self, token: &str) -> Result<(), TokenRefusal> {
        match self.issued.lock().unwrap().get(token) {
            None => Err(TokenRefusal::Unknown),
            Some(expiry) if Instant::now() >= *expiry => Err(TokenRefusal::Expired),
            Some(_) => Ok(()),
        }
    }

    fn issue(&self) -> (String, u64) {
        let lifetime = self.lifetime_s.load(Ordering::Relaxed);
        // Shaped like Google's service-account tokens.
        let token = format!("ya29.c.{}", ids::alphanumeric(120));
        let mut issued = self.issued.lock().unwrap();
        if issued.len() >= MAX_TOKENS {
            let now = Instant::now();
            issued.retain(|_, expiry| *expiry > now);
            if issued.len() >= MAX_TOKENS {
                issued.clear();
            }
        }
        issued.insert(
            token.clone(),
            Instant::now() + Duration::from_secs(lifetime),
        );
        self.grants.fetch_add(1, Ordering::Relaxed);
        (token, lifetime)
    }

    /// Verifies a JWT-bearer assertion; `Err((error, description))` as Google words them.
    fn verify(&self, assertion: &str) -> Result<(), (&'static str, String)> {
        let bad_signature = || ("invalid_grant", "Invalid JWT Signature.".to_owned());
        let header = jsonwebtoken::decode_header(assertion).map_err(|_| bad_signature())?;
        // The kid names the account key; without one Google tries them all.
        if header.alg != Algorithm::RS256
            || header
                .kid
                .as_deref()
                .is_some_and(|k| k != self.account.private_key_id)
        {
            return Err(bad_signature());
        }
        let mut validation = Validation::new(Algorithm::RS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        let claims =
            jsonwebtoken::decode::<AssertionClaims>(assertion, &self.account.verifier, &validation)
                .map_err(|_| bad_signature())?
                .claims;
        if claims.iss.as_deref() != Some(self.account.client_email.as_str()) {
            return Err((
                "invalid_grant",
                "Invalid grant: account not found".to_owned(),
            ));
        }
        if claims.aud.as_deref() != Some(self.token_uri.as_str()) {
            return Err((
                "invalid_grant",
                format!(
                    "Invalid JWT: Failed audience check. The right audience is {}",
                    self.token_uri
                ),
            ));
        }
        let now = http::unix_now();
        let timely = match (claims.iat, claims.exp) {
            (Some(iat), Some(exp)) => {
                iat <= now + CLOCK_SKEW_S
                    && exp + CLOCK_SKEW_S > now
                    && exp > iat
                    && exp - iat <= MAX_ASSERTION_LIFETIME_S
            }
            _ => false,
        };
        if !timely {
            return Err((
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. \
                 Check your iat and exp values in the JWT claim."
                    .to_owned(),
            ));
        }
        let scope = claims.scope.unwrap_or_default();
        if !scope.split_whitespace().any(|s| SCOPES.contains(&s)) {
            return Err((
                "invalid_scope",
                "Invalid OAuth scope or ID token audience provided.".to_owned(),
            ));
        }
        Ok(())
    }
}

fn oauth_error(status: u16, error: &str, description: &str) -> Response<Body> {
    http::json(
        status,
        &json!({ "error": error, "error_description": description }),
        JSON_UTF8,
    )
}

impl Handler for TokenEndpoint {
    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        let (parts, body) = req.into_parts();
        if parts.uri.path() != "/token" {
            return oauth_error(404, "invalid_request", "Not Found");
        }
        if parts.method != Method::POST {
            return oauth_error(405, "invalid_request", "Method Not Allowed");
        }
        let form_type = parts
            .headers
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        let Ok(bytes) = http::read_body(body, READ_LIMIT).await else {
            return oauth_error(400, "invalid_request", "Request body too large or broken");
        };
        let form = std::str::from_utf8(&bytes).unwrap_or("");
        let grant_type = form::field(form, "grant_type");
        if !form_type || grant_type.is_none() {
            return oauth_error(
                400,
                "invalid_request",
                "Missing required parameter: grant_type",
            );
        }
        if grant_type.as_deref() != Some(JWT_BEARER) {
            let description = format!("Invalid grant_type: {}", grant_type.unwrap_or_default());
            return oauth_error(400, "unsupported_grant_type", &description);
        }
        let Some(assertion) = form::field(form, "assertion").filter(|a| !a.is_empty()) else {
            return oauth_error(
                400,
                "invalid_request",
                "Missing required parameter: assertion",
            );
        };
        if let Err((error, description)) = self.verify(&assertion) {
            return oauth_error(400, error, &description);
        }
        let (access_token, expires_in) = self.issue();
        let body = json!({ "access_token": access_token, "expires_in": expires_in, "token_type": "Bearer" });
        http::json(200, &body, JSON_UTF8)
    }
}
