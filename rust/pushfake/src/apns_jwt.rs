//! Checking APNs provider tokens: ES256 JWTs signed with the team's auth key.

use std::collections::HashSet;
use std::sync::Mutex;

use jsonwebtoken::{self as jwt, Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::http::unix_now;

/// Apple refuses provider tokens older than an hour.
const MAX_TOKEN_AGE_S: u64 = 3600;
/// Tolerated clock skew for an `iat` slightly in the future.
const FUTURE_SKEW_S: u64 = 60;

/// The verdict on one request's provider token.
pub(crate) struct Verdict {
    /// `None` when the token is good; else the APNs 403 reason.
    pub(crate) refusal: Option<&'static str>,
    /// The token's `iat` when its claims could be read at all.
    pub(crate) iat: Option<u64>,
}

#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    iat: Option<u64>,
}

/// Verifies provider tokens for one key id and team.
pub(crate) struct ProviderTokens {
    key: DecodingKey,
    key_id: &'static str,
    team_id: &'static str,
    memory: Mutex<Memory>,
}

#[derive(Default)]
struct Memory {
    /// The last token accepted, with its `iat`: the one a client is using.
    current: Option<(String, u64)>,
    /// Tokens declared stale by the test.
    expired: HashSet<String>,
}

impl ProviderTokens {
    pub(crate) fn new(key: DecodingKey, key_id: &'static str, team_id: &'static str) -> Self {
        ProviderTokens {
            key,
            key_id,
            team_id,
            memory: Mutex::default(),
        }
    }

    /// Checks the bearer token of a request (`None` when it has none).
    pub(crate) fn check(&self, bearer: Option<&str>) -> Verdict {
        let Some(token) = bearer else {
            return Verdict {
                refusal: Some("MissingProviderToken"),
                iat: None,
            };
        };
        // Clients reuse one token for many pushes: verify its signature once,
        // as a benchmark would otherwise measure ECDSA here.
        let known = self
            .memory
            .lock()
            .unwrap()
            .current
            .as_ref()
            .filter(|(t, _)| t == token)
            .map(|(_, iat)| *iat);
        let (signed, iat) = match known {
            Some(iat) => (Ok(iat), Some(iat)),
            // Read without verifying, only to report what the client sent.
            None => (
                self.verify(token),
                jwt::dangerous::insecure_decode_claims::<Claims>(token)
                    .ok()
                    .and_then(|c| c.iat),
            ),
        };
        let refusal = match signed {
            Err(reason) => Some(reason),
            Ok(iat) => self.timeliness(token, iat),
        };
        if refusal.is_none() {
            self.memory.lock().unwrap().current = Some((token.to_owned(), iat.unwrap_or_default()));
        }
        Verdict { refusal, iat }
    }

    /// Checks header, signature and issuer; returns `iat`.
    fn verify(&self, token: &str) -> Result<u64, &'static str> {
        const INVALID: &str = "InvalidProviderToken";
        let header = jwt::decode_header(token).map_err(|_| INVALID)?;
        if header.alg != Algorithm::ES256 || header.kid.as_deref() != Some(self.key_id) {
            return Err(INVALID);
        }
        // Apple's tokens carry no exp/aud: their age is judged from iat.
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        let claims = jwt::decode::<Claims>(token, &self.key, &validation)
            .map_err(|_| INVALID)?
            .claims;
        match (claims.iss, claims.iat) {
            (Some(iss), Some(iat)) if iss == self.team_id => Ok(iat),
            _ => Err(INVALID),
        }
    }

    /// Refuses tokens from the future, older than an hour, or made stale.
    fn timeliness(&self, token: &str, iat: u64) -> Option<&'static str> {
        let now = unix_now();
        if iat > now + FUTURE_SKEW_S {
            return Some("InvalidProviderToken");
        }
        if now.saturating_sub(iat) > MAX_TOKEN_AGE_S
            || self.memory.lock().unwrap().expired.contains(token)
        {
            return Some("ExpiredProviderToken");
        }
        None
    }

    /// Makes the token in use stale: it gets `ExpiredProviderToken` from now on.
    pub(crate) fn expire_current(&self) {
        let mut memory = self.memory.lock().unwrap();
        if let Some((token, _)) = memory.current.take() {
            memory.expired.insert(token);
        }
    }
}
