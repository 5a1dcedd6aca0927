//! Firebase Cloud Messaging HTTP v1: `POST /v1/projects/<id>/messages:send`
//! with an OAuth2 access token from a service account (the JWT-bearer grant,
//! RS256, against the `token_uri` in the account's key file).
//!
//! The access token is cached until a minute before it expires, and fetched
//! anew when FCM answers 401.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;

use super::{Outcome, PushError};

/// Google's FCM endpoint.
pub const FCM_URL: &str = "https://fcm.googleapis.com";
/// The OAuth scope FCM wants.
const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// Refresh an access token this long before it expires.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// The fields of a service account's JSON key file that matter here.
#[derive(Deserialize)]
pub struct ServiceAccount {
    /// The Firebase project.
    pub project_id: String,
    /// The account's address (the JWT's issuer).
    pub client_email: String,
    /// Its RSA key, PEM.
    pub private_key: String,
    /// The key's ID (the JWT's `kid`).
    #[serde(default)]
    pub private_key_id: String,
    /// Where access tokens come from.
    pub token_uri: String,
}

/// An FCM sender.
pub struct Fcm {
    http: reqwest::Client,
    account: ServiceAccount,
    key: EncodingKey,
    url: String,
    access: Mutex<Option<(String, Instant)>>,
}

impl Fcm {
    /// Read the service account's key file text and build the client.
    pub fn new(
        account_json: &str,
        url: Option<String>,
        http: reqwest::Client,
    ) -> Result<Fcm, PushError> {
        let account: ServiceAccount = serde_json::from_str(account_json).map_err(|e| {
            PushError::Config(format!(
                "fcm_service_account is not a service account key file: {e}"
            ))
        })?;
        let key = EncodingKey::from_rsa_pem(account.private_key.as_bytes()).map_err(|e| {
            PushError::Config(format!(
                "fcm_service_account's private_key is not an RSA key: {e}"
            ))
        })?;
        Ok(Fcm {
            http,
            account,
            key,
            url: url.unwrap_or_else(|| FCM_URL.to_string()),
            access: Mutex::new(None),
        })
    }

    /// The Firebase project pushed to.
    pub fn project(&self) -> &str {
        &self.account.project_id
    }

    /// A valid access token: the cached one, or a new grant.
    async fn access_token(&self) -> Result<String, Outcome> {
        if let Some((token, expires)) = self.access.lock().expect("fcm token").as_ref() {
            if Instant::now() + EXPIRY_MARGIN < *expires {
                return Ok(token.clone());
            }
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut header = Header::new(Algorithm::RS256);
        if !self.account.private_key_id.is_empty() {
            header.kid = Some(self.account.private_key_id.clone());
        }
        let claims = serde_json::json!({
            "iss": self.account.client_email,
            "scope": SCOPE,
            "aud": self.account.token_uri,
            "iat": now,
            "exp": now + 3600,
        });
        let assertion = jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| Outcome::Failed(format!("cannot sign the OAuth assertion: {e}")))?;
        let form = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"
        );
        let response = self
            .http
            .post(&self.account.token_uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(|e| Outcome::Retry {
                after: None,
                reason: format!("OAuth connection: {e}"),
            })?;
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let (Some(token), 200) = (body["access_token"].as_str(), status) else {
            let why = body["error"].as_str().unwrap_or("no access_token");
            return Err(if status >= 500 || status == 429 {
                Outcome::Retry {
                    after: None,
                    reason: format!("OAuth HTTP {status}: {why}"),
                }
            } else {
                Outcome::Failed(format!("OAuth HTTP {status}: {why}"))
            });
        };
        let lifetime = Duration::from_secs(body["expires_in"].as_u64().unwrap_or(3600));
        let token = token.to_string();
        *self.access.lock().expect("fcm token") = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }

    /// Send a data-only, high-priority message that lives `ttl` at most.
    pub async fn send(&self, registration_token: &str, data_json: &str, ttl: Duration) -> Outcome {
        let access = match self.access_token().await {
            Ok(t) => t,
            Err(outcome) => return outcome,
        };
        let message = serde_json::json!({
            "message": {
                "token": registration_token,
                "data": { "hotline": data_json },
                "android": { "priority": "HIGH", "ttl": format!("{}s", ttl.as_secs().max(1)) },
            }
        });
        let url = format!(
            "{}/v1/projects/{}/messages:send",
            self.url, self.account.project_id
        );
        let response = match self
            .http
            .post(url)
            .bearer_auth(&access)
            .json(&message)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Retry {
                    after: None,
                    reason: format!("connection: {e}"),
                }
            }
        };
        let status = response.status().as_u16();
        if status == 200 {
            return Outcome::Sent;
        }
        let retry_after = super::retry_after(response.headers());
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let error = &body["error"];
        let code = error["details"]
            .as_array()
            .and_then(|d| d.iter().find_map(|x| x["errorCode"].as_str()))
            .or_else(|| error["status"].as_str())
            .unwrap_or("")
            .to_string();
        let reason = if code.is_empty() {
            format!("HTTP {status}")
        } else {
            code.clone()
        };
        match (status, code.as_str()) {
            (_, "UNREGISTERED") => Outcome::Dead(reason),
            // An INVALID_ARGUMENT names the token when the token is malformed.
            (400, "INVALID_ARGUMENT")
                if error["message"].as_str().unwrap_or("").contains("token") =>
            {
                Outcome::Dead(reason)
            }
            (401, _) => {
                *self.access.lock().expect("fcm token") = None;
                Outcome::Retry {
                    after: Some(Duration::ZERO),
                    reason,
                }
            }
            (429 | 500 | 503, _) => Outcome::Retry {
                after: retry_after,
                reason,
            },
            _ => Outcome::Failed(reason),
        }
    }
}
