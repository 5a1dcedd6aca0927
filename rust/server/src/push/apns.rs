//! Apple Push Notification service: HTTP/2 `POST /3/device/<token>` with
//! token authentication (an ES256 JWT from the team's .p8 key).
//!
//! One `reqwest` client holds one HTTP/2 connection per host (production
//! and sandbox) and sends every push as a stream on it. The JWT is reused
//! for up to 50 minutes (Apple refuses tokens older than an hour and
//! throttles refreshing them more than every 20) and made anew at once when
//! Apple answers `403 ExpiredProviderToken`.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hotline_proto::push::PushEnvironment;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

use super::{Outcome, PushError};

/// Apple's production endpoint.
pub const PRODUCTION_URL: &str = "https://api.push.apple.com";
/// Apple's sandbox (development builds) endpoint.
pub const SANDBOX_URL: &str = "https://api.sandbox.push.apple.com";
/// How long one provider token is used.
const JWT_LIFETIME: Duration = Duration::from_secs(50 * 60);

/// What kind of push, which decides the `apns-push-type` and priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApnsKind {
    /// PushKit VoIP (`<topic>.voip`), priority 10.
    Voip,
    /// A visible alert, priority 10.
    Alert,
    /// `content-available` for a running app, priority 5.
    Background,
}

/// Credentials and endpoints.
pub struct ApnsConfig {
    /// The .p8 key's PEM text.
    pub key_pem: String,
    /// Its key ID.
    pub key_id: String,
    /// The team ID.
    pub team_id: String,
    /// The app's bundle ID.
    pub topic: String,
    /// One base URL for both environments, instead of Apple's.
    pub url: Option<String>,
}

/// An APNs sender.
pub struct Apns {
    http: reqwest::Client,
    key: EncodingKey,
    key_id: String,
    team_id: String,
    topic: String,
    url: Option<String>,
    jwt: Mutex<Option<(String, Instant)>>,
}

impl Apns {
    /// Check the key and build the client.
    pub fn new(config: ApnsConfig, http: reqwest::Client) -> Result<Apns, PushError> {
        let key = EncodingKey::from_ec_pem(config.key_pem.as_bytes()).map_err(|e| {
            PushError::Config(format!("apns_key_file is not an ES256 .p8 key: {e}"))
        })?;
        let apns = Apns {
            http,
            key,
            key_id: config.key_id,
            team_id: config.team_id,
            topic: config.topic,
            url: config.url,
            jwt: Mutex::new(None),
        };
        apns.provider_token()?;
        Ok(apns)
    }

    /// The app's bundle ID.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The current provider token, made anew when it is 50 minutes old.
    fn provider_token(&self) -> Result<String, PushError> {
        let mut slot = self.jwt.lock().expect("apns jwt");
        if let Some((jwt, made)) = slot.as_ref() {
            if made.elapsed() < JWT_LIFETIME {
                return Ok(jwt.clone());
            }
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        let iat = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let claims = serde_json::json!({ "iss": self.team_id, "iat": iat });
        let jwt = jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| PushError::Config(format!("cannot sign an APNs provider token: {e}")))?;
        *slot = Some((jwt.clone(), Instant::now()));
        Ok(jwt)
    }

    /// Forget the provider token (Apple said it expired), unless another
    /// request already replaced `stale`.
    fn expire(&self, stale: &str) {
        let mut slot = self.jwt.lock().expect("apns jwt");
        if slot.as_ref().is_some_and(|(jwt, _)| jwt == stale) {
            *slot = None;
        }
    }

    /// Send one push. `expiration_s` is the Unix time after which Apple
    /// should drop it undelivered.
    pub async fn send(
        &self,
        device_token: &str,
        environment: PushEnvironment,
        kind: ApnsKind,
        body: &str,
        expiration_s: i64,
        collapse_id: &str,
    ) -> Outcome {
        // One retry at once when the provider token turns out expired.
        for _ in 0..2 {
            let jwt = match self.provider_token() {
                Ok(j) => j,
                Err(e) => return Outcome::Failed(e.to_string()),
            };
            let outcome = self
                .send_once(
                    &jwt,
                    device_token,
                    environment,
                    kind,
                    body,
                    expiration_s,
                    collapse_id,
                )
                .await;
            if let Outcome::Failed(reason) = &outcome {
                if reason == "ExpiredProviderToken" {
                    log::info!("APNs provider token expired; signing a new one");
                    self.expire(&jwt);
                    continue;
                }
            }
            return outcome;
        }
        Outcome::Failed("ExpiredProviderToken".into())
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_once(
        &self,
        jwt: &str,
        device_token: &str,
        environment: PushEnvironment,
        kind: ApnsKind,
        body: &str,
        expiration_s: i64,
        collapse_id: &str,
    ) -> Outcome {
        let base = self.url.as_deref().unwrap_or(match environment {
            PushEnvironment::Production => PRODUCTION_URL,
            PushEnvironment::Sandbox => SANDBOX_URL,
        });
        let (push_type, topic, priority) = match kind {
            ApnsKind::Voip => ("voip", format!("{}.voip", self.topic), "10"),
            ApnsKind::Alert => ("alert", self.topic.clone(), "10"),
            ApnsKind::Background => ("background", self.topic.clone(), "5"),
        };
        let request = self
            .http
            .post(format!("{base}/3/device/{device_token}"))
            .header("authorization", format!("bearer {jwt}"))
            .header("apns-push-type", push_type)
            .header("apns-topic", topic)
            .header("apns-priority", priority)
            .header("apns-expiration", expiration_s.max(0).to_string())
            .header("apns-collapse-id", collapse_id)
            .header("content-type", "application/json")
            .body(body.to_string());
        let response = match request.send().await {
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
        let reason = response
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|v| v["reason"].as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("HTTP {status}"));
        match status {
            // The token is gone for good: the app was uninstalled, or it is
            // not a token of this environment. (DeviceTokenNotForTopic is
            // more likely a wrong --apns-topic here: the token is kept.)
            410 => Outcome::Dead(reason),
            400 if reason == "BadDeviceToken" => Outcome::Dead(reason),
            429 | 500 | 503 => Outcome::Retry {
                after: retry_after,
                reason,
            },
            _ => Outcome::Failed(reason),
        }
    }
}
