//! `hotline push send`: one test push with the server's credentials, to check
//! them against the real provider; prints what the provider answered.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use hotline_proto::push::{CancelReason, PushEnvironment, PushKind, PushProvider};
use hotline_proto::MediaType;
use hotline_server::push::apns::{Apns, ApnsConfig};
use hotline_server::push::fcm::Fcm;
use hotline_server::push::{build_request, http_client, payload, Outcome, Request};
use hotline_server::ServerConfig;

/// Offline push tools.
#[derive(Subcommand, Debug)]
pub enum PushCommand {
    /// Send one test push and print the provider's answer.
    Send(SendArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Provider {
    ApnsVoip,
    Apns,
    Fcm,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Environment {
    Production,
    Sandbox,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Kind {
    /// An incoming call from "hotline push test" that rings for 30 s (the app
    /// finds no such call when it logs in, and ends it).
    Ring,
    /// A cancel for a call that does not exist.
    Cancel,
}

/// One test push (the credential flags and variables are the server's).
#[derive(Args, Debug)]
pub struct SendArgs {
    /// Which provider the token belongs to.
    #[arg(long, value_enum)]
    provider: Provider,
    /// The device's push token.
    #[arg(long)]
    token: String,
    /// APNs environment the token belongs to (development builds: sandbox).
    #[arg(long, value_enum, default_value = "production")]
    environment: Environment,
    /// What to send.
    #[arg(long, value_enum, default_value = "ring")]
    kind: Kind,
    /// The server's push credentials.
    #[command(flatten)]
    credentials: PushCredentials,
    /// The server URL written into the payload.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    server_url: String,
}

/// The push credential flags, shared by `hotline server` and `hotline push send`.
#[derive(Args, Debug, Default)]
pub struct PushCredentials {
    /// APNs token-signing key (Apple's AuthKey_<key id>.p8). APNs is off
    /// unless the key file, key ID, team ID and topic are all given.
    #[arg(long, env = "HOTLINE_APNS_KEY_FILE")]
    apns_key_file: Option<PathBuf>,
    /// APNs key ID (10 characters).
    #[arg(long, env = "HOTLINE_APNS_KEY_ID")]
    apns_key_id: Option<String>,
    /// APNs team ID (10 characters).
    #[arg(long, env = "HOTLINE_APNS_TEAM_ID")]
    apns_team_id: Option<String>,
    /// The iOS app's bundle ID; VoIP pushes go to <topic>.voip.
    #[arg(long, env = "HOTLINE_APNS_TOPIC")]
    apns_topic: Option<String>,
    /// One APNs base URL for both environments instead of Apple's (tests, relays).
    #[arg(long, env = "HOTLINE_APNS_URL")]
    apns_url: Option<String>,
    /// FCM service account JSON key file. FCM is off without it.
    #[arg(long, env = "HOTLINE_FCM_SERVICE_ACCOUNT")]
    fcm_service_account: Option<PathBuf>,
    /// FCM base URL instead of https://fcm.googleapis.com (tests, relays).
    #[arg(long, env = "HOTLINE_FCM_URL")]
    fcm_url: Option<String>,
    /// PEM file of extra certificate authorities trusted for push connections.
    #[arg(long, env = "HOTLINE_PUSH_CA_FILE")]
    push_ca_file: Option<PathBuf>,
}

impl PushCredentials {
    /// Lay the flags given over `config`.
    pub fn apply(self, config: &mut ServerConfig) {
        macro_rules! optional {
            ($($field:ident),*) => { $(if self.$field.is_some() { config.$field = self.$field; })* };
        }
        optional!(
            apns_key_file,
            apns_key_id,
            apns_team_id,
            apns_topic,
            apns_url,
            fcm_service_account,
            fcm_url,
            push_ca_file
        );
    }
}

/// Run a push subcommand.
pub fn run(cmd: PushCommand) -> ExitCode {
    let PushCommand::Send(args) = cmd;
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    match rt.block_on(send(args)) {
        Ok(outcome) => {
            println!("{}", describe(&outcome));
            if outcome == Outcome::Sent {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Sent => "sent: the provider accepted the push".into(),
        Outcome::Dead(r) => format!("refused: {r} (the token is dead; the server would delete it)"),
        Outcome::Retry { reason, after } => format!(
            "not sent: {reason} (the server would retry{})",
            after.map_or(String::new(), |a| format!(" after {} s", a.as_secs()))
        ),
        Outcome::Failed(r) => format!("refused: {r}"),
    }
}

async fn send(args: SendArgs) -> Result<Outcome, String> {
    let provider = match args.provider {
        Provider::ApnsVoip => PushProvider::ApnsVoip,
        Provider::Apns => PushProvider::Apns,
        Provider::Fcm => PushProvider::Fcm,
    };
    let environment = match args.environment {
        Environment::Production => PushEnvironment::Production,
        Environment::Sandbox => PushEnvironment::Sandbox,
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let ttl = Duration::from_secs(30);
    let call_id = format!("push-test-{now_ms}");
    let kind = match args.kind {
        Kind::Ring => PushKind::Call {
            caller_id: "hotline-push-test".into(),
            caller_nickname: "hotline push test".into(),
            caller_avatar: String::new(),
            media_type: MediaType::Audio,
            is_group: false,
            invitees: vec![],
            server_url: args.server_url.clone(),
            title: "Hotline push test".into(),
            desc: "A test push from hotline push send".into(),
            ext: String::new(),
        },
        Kind::Cancel => PushKind::Cancel {
            reason: CancelReason::Canceled,
        },
    };
    let payload = payload(&call_id, now_ms + ttl.as_millis() as i64, kind);
    let mut config = ServerConfig::default();
    args.credentials.apply(&mut config);
    let http = http_client(&config).map_err(|e| e.to_string())?;
    let request = build_request(provider, &payload).ok_or("the test payload does not fit")?;
    match request {
        Request::Apns { kind, body } => {
            let need =
                |v: Option<String>, flag: &str| v.ok_or(format!("{flag} is required for APNs"));
            let key_file = config
                .apns_key_file
                .ok_or("--apns-key-file is required for APNs")?;
            let key_pem = std::fs::read_to_string(&key_file)
                .map_err(|e| format!("cannot read {}: {e}", key_file.display()))?;
            let apns = Apns::new(
                ApnsConfig {
                    key_pem,
                    key_id: need(config.apns_key_id, "--apns-key-id")?,
                    team_id: need(config.apns_team_id, "--apns-team-id")?,
                    topic: need(config.apns_topic, "--apns-topic")?,
                    url: config.apns_url,
                },
                http,
            )
            .map_err(|e| e.to_string())?;
            let expiration_s = payload.deadline_ms / 1000;
            Ok(apns
                .send(
                    &args.token,
                    environment,
                    kind,
                    &body,
                    expiration_s,
                    &call_id,
                )
                .await)
        }
        Request::Fcm { data } => {
            let file = config
                .fcm_service_account
                .ok_or("--fcm-service-account is required for FCM")?;
            let json = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let fcm = Fcm::new(&json, config.fcm_url, http).map_err(|e| e.to_string())?;
            Ok(fcm.send(&args.token, &data, ttl).await)
        }
    }
}
