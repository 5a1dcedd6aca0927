//! Local fakes of the push providers Hotline's server talks to, speaking
//! the real protocols over TLS on 127.0.0.1:
//!
//! - APNs provider API (HTTP/2 only), with ES256 provider-token checks;
//! - Google's OAuth2 token endpoint for service accounts (JWT-bearer grant);
//! - FCM HTTP v1 `messages:send`, accepting only tokens the OAuth fake issued.
//!
//! [`FakeProviders::start`] runs all three with a fresh CA; clients trust
//! [`FakeProviders::ca_pem`]. Every request is recorded, and tests script
//! per-token answers with [`FakeProviders::answer_apns`] and
//! [`FakeProviders::answer_fcm`]. Dropping the value stops the servers.

mod answers;
mod apns;
mod apns_jwt;
mod credentials;
mod fcm;
mod fcm_message;
mod form;
mod google_error;
mod http;
mod ids;
mod oauth;
mod record;
mod serve;
mod tls;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

pub use answers::Answer;
pub use apns::ApnsRequest;
pub use fcm::FcmRequest;

use crate::answers::AnswerBook;
use crate::apns::Apns;
use crate::apns_jwt::ProviderTokens;
use crate::credentials::{ApnsKey, ServiceAccount};
use crate::fcm::Fcm;
use crate::oauth::TokenEndpoint;
use crate::record::{Recorder, MAX_RECORDED};
use crate::serve::{spawn_server, Executor, Protocols};
use crate::tls::TestPki;

/// The three fake providers, started together on loopback ports.
pub struct FakeProviders {
    ca_pem: String,
    apns_addr: SocketAddr,
    fcm_addr: SocketAddr,
    oauth_addr: SocketAddr,
    apns_key_pem: String,
    apns: Arc<Apns>,
    fcm: Arc<Fcm>,
    oauth: Arc<TokenEndpoint>,
    apns_connections: Arc<AtomicUsize>,
    fcm_connections: Arc<AtomicUsize>,
    // Every server task watches this; dropping it stops them all.
    _shutdown: watch::Sender<bool>,
}

impl FakeProviders {
    /// The APNs auth key id, 10 characters like Apple's.
    pub const APNS_KEY_ID: &'static str = "ABC123DEFG";
    /// The Apple developer team id the key belongs to.
    pub const APNS_TEAM_ID: &'static str = "DEF123GHIJ";
    /// The Firebase project the service account belongs to.
    pub const FCM_PROJECT: &'static str = "hotline-test";
    /// The service account's email (`client_email`, the assertion's `iss`).
    pub const FCM_CLIENT_EMAIL: &'static str =
        "firebase-adminsdk-fbsvc@hotline-test.iam.gserviceaccount.com";

    /// Makes a CA, a server certificate and the providers' keys, binds
    /// 127.0.0.1:0 for each fake and starts serving. Needs a Tokio runtime.
    pub async fn start() -> io::Result<FakeProviders> {
        let pki = TestPki::generate().map_err(io::Error::other)?;
        let apns_key = ApnsKey::generate().map_err(io::Error::other)?;
        let account = ServiceAccount::generate(Self::FCM_PROJECT, Self::FCM_CLIENT_EMAIL)
            .map_err(io::Error::other)?;

        let apns_listener = TcpListener::bind("127.0.0.1:0").await?;
        let fcm_listener = TcpListener::bind("127.0.0.1:0").await?;
        let oauth_listener = TcpListener::bind("127.0.0.1:0").await?;
        let (apns_addr, fcm_addr, oauth_addr) = (
            apns_listener.local_addr()?,
            fcm_listener.local_addr()?,
            oauth_listener.local_addr()?,
        );

        let apns = Arc::new(Apns {
            tokens: ProviderTokens::new(apns_key.verifier, Self::APNS_KEY_ID, Self::APNS_TEAM_ID),
            answers: AnswerBook::default(),
            log: Recorder::new(MAX_RECORDED),
        });
        let oauth = Arc::new(TokenEndpoint::new(account, token_uri(oauth_addr)));
        let fcm = Arc::new(Fcm {
            project: Self::FCM_PROJECT,
            tokens: oauth.clone(),
            answers: AnswerBook::default(),
            log: Recorder::new(MAX_RECORDED),
        });

        let (shutdown, stop) = watch::channel(false);
        let exec = Executor::new(stop);
        // APNs is HTTP/2 only; Google's front ends take either version.
        let h2_only = pki.acceptor(&[b"h2"])?;
        let either = pki.acceptor(&[b"h2", b"http/1.1"])?;
        let (apns_connections, fcm_connections) = (Arc::default(), Arc::default());
        spawn_server(
            apns_listener,
            h2_only,
            Protocols::Http2Only,
            exec.clone(),
            apns.clone(),
            Arc::clone(&apns_connections),
        );
        spawn_server(
            fcm_listener,
            either.clone(),
            Protocols::Auto,
            exec.clone(),
            fcm.clone(),
            Arc::clone(&fcm_connections),
        );
        spawn_server(
            oauth_listener,
            either,
            Protocols::Auto,
            exec,
            oauth.clone(),
            Arc::default(),
        );

        Ok(FakeProviders {
            ca_pem: pki.ca_pem,
            apns_addr,
            fcm_addr,
            oauth_addr,
            apns_key_pem: apns_key.private_pem,
            apns,
            fcm,
            oauth,
            apns_connections,
            fcm_connections,
            _shutdown: shutdown,
        })
    }

    /// PEM of the CA that signed the fakes' certificate.
    pub fn ca_pem(&self) -> String {
        self.ca_pem.clone()
    }

    /// Base URL of the APNs fake, `https://127.0.0.1:<port>`.
    pub fn apns_url(&self) -> String {
        format!("https://{}", self.apns_addr)
    }

    /// Base URL of the FCM fake, `https://127.0.0.1:<port>`.
    pub fn fcm_url(&self) -> String {
        format!("https://{}", self.fcm_addr)
    }

    /// The OAuth token endpoint, `https://127.0.0.1:<port>/token`.
    pub fn token_uri(&self) -> String {
        token_uri(self.oauth_addr)
    }

    /// The APNs auth key as PKCS#8 PEM, like Apple's `AuthKey_<key id>.p8`.
    pub fn apns_key_pem(&self) -> String {
        self.apns_key_pem.clone()
    }

    /// A service-account key file as Google issues it, naming [`Self::token_uri`].
    pub fn service_account_json(&self) -> String {
        self.oauth.account().key_file_json(&self.token_uri())
    }

    /// Every APNs request received (up to the newest 100 000), in arrival order.
    pub fn apns_requests(&self) -> Vec<ApnsRequest> {
        self.apns.log.snapshot()
    }

    /// Every FCM request received (up to the newest 100 000), in arrival order.
    pub fn fcm_requests(&self) -> Vec<FcmRequest> {
        self.fcm.log.snapshot()
    }

    /// How many access tokens the OAuth fake has granted.
    pub fn oauth_grants(&self) -> usize {
        self.oauth.grants()
    }

    /// How many TLS connections the APNs fake has accepted: a client that
    /// keeps one connection and multiplexes streams shows 1.
    pub fn apns_connections(&self) -> usize {
        self.apns_connections.load(Ordering::Relaxed)
    }

    /// How many TLS connections the FCM fake has accepted.
    pub fn fcm_connections(&self) -> usize {
        self.fcm_connections.load(Ordering::Relaxed)
    }

    /// Waits until at least `n` APNs requests were received, or `within`
    /// passed; returns those received either way.
    pub async fn wait_for_apns(&self, n: usize, within: Duration) -> Vec<ApnsRequest> {
        self.apns.log.wait_for(n, within).await
    }

    /// Waits until at least `n` FCM requests were received, or `within`
    /// passed; returns those received either way.
    pub async fn wait_for_fcm(&self, n: usize, within: Duration) -> Vec<FcmRequest> {
        self.fcm.log.wait_for(n, within).await
    }

    /// Queues answers for pushes to `device_token`, after any already queued.
    pub fn answer_apns(&self, device_token: &str, answers: Vec<Answer>) {
        self.apns.answers.script(device_token, answers);
    }

    /// Queues answers for messages to `registration_token` (or topic or
    /// condition), after any already queued.
    pub fn answer_fcm(&self, registration_token: &str, answers: Vec<Answer>) {
        self.fcm.answers.script(registration_token, answers);
    }

    /// The provider token last accepted gets 403 `ExpiredProviderToken` from
    /// now on; a newly signed one is accepted.
    pub fn expire_apns_provider_token(&self) {
        self.apns.tokens.expire_current();
    }

    /// Lifetime of access tokens granted from now on (`expires_in`, and
    /// when FCM starts refusing them). Default 3599 s.
    pub fn set_fcm_access_token_lifetime(&self, secs: u64) {
        self.oauth.set_lifetime(secs);
    }

    /// Every access token granted so far gets 401 from FCM from now on.
    pub fn expire_fcm_access_tokens(&self) {
        self.oauth.expire_all();
    }
}

fn token_uri(addr: SocketAddr) -> String {
    format!("https://{addr}/token")
}
