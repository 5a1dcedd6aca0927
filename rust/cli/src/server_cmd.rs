//! `hotline server`: flags over `HOTLINE_*` environment variables over a
//! TOML file (`--config`), over safe defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use hotline_server::ServerConfig;

use crate::push_cmd::PushCredentials;

/// Run the signaling server.
#[derive(Args, Debug)]
pub struct ServerArgs {
    /// TOML file with any of the settings below (snake_case keys).
    #[arg(long, env = "HOTLINE_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on (HTTP and WebSocket). Default 127.0.0.1:8080.
    #[arg(long, env = "HOTLINE_LISTEN")]
    listen: Option<SocketAddr>,
    /// SQLite database file. Default ./hotline.db.
    #[arg(long, env = "HOTLINE_DB")]
    db: Option<PathBuf>,
    /// The application's SDKAppID (required).
    #[arg(long, env = "HOTLINE_SDK_APP_ID")]
    sdk_app_id: Option<u64>,
    /// The secret key that signs UserSigs (required; prefer the env variable).
    #[arg(long, env = "HOTLINE_SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    /// Most participants per call, caller included. Default 9.
    #[arg(long, env = "HOTLINE_MAX_PARTICIPANTS")]
    max_participants: Option<usize>,
    /// Seconds between client heartbeats. Default 10.
    #[arg(long, env = "HOTLINE_HEARTBEAT_INTERVAL")]
    heartbeat_interval: Option<u32>,
    /// Seconds of silence before a connection is closed. Default 30.
    #[arg(long, env = "HOTLINE_IDLE_TIMEOUT")]
    idle_timeout: Option<u32>,
    /// Seconds someone in a call may stay disconnected before leaving it. Default 30.
    #[arg(long, env = "HOTLINE_RECONNECT_GRACE")]
    reconnect_grace: Option<u32>,
    /// Messages per second per connection, sustained. Default 20.
    #[arg(long, env = "HOTLINE_RATE_LIMIT")]
    rate_limit: Option<u32>,
    /// Messages per connection in a burst. Default 40.
    #[arg(long, env = "HOTLINE_RATE_BURST")]
    rate_burst: Option<u32>,
    /// UDP address the SFU listens on for media. Default 127.0.0.1:0 (a free port).
    #[arg(long, env = "HOTLINE_MEDIA_LISTEN")]
    media_listen: Option<SocketAddr>,
    /// Address written into SDP candidates, for servers behind NAT (port 0 = the bound port).
    #[arg(long, env = "HOTLINE_MEDIA_PUBLIC_ADDR")]
    media_public_addr: Option<SocketAddr>,
    /// Also accept media over ICE-TCP, for networks that block UDP: true or
    /// false. Default true.
    #[arg(long, env = "HOTLINE_MEDIA_TCP")]
    media_tcp: Option<bool>,
    /// TCP port for ICE-TCP on the media IP; must differ from the UDP port.
    /// Default 0 (a free port).
    #[arg(long, env = "HOTLINE_MEDIA_TCP_PORT")]
    media_tcp_port: Option<u16>,
    /// SFU worker threads, each carrying whole calls on its own socket of
    /// the one media port. Default 0 (one per core).
    #[arg(long, env = "HOTLINE_SFU_WORKERS")]
    sfu_workers: Option<usize>,
    /// SFU workers send and read many datagrams per system call
    /// (sendmmsg/recvmmsg): true or false. Default true.
    #[arg(long, env = "HOTLINE_SFU_BATCH_IO")]
    sfu_batch_io: Option<bool>,
    /// A TURN relay handed to clients at login with a time-limited credential,
    /// e.g. turns:turn.example.com:443?transport=tcp. Repeat for several;
    /// the environment variable takes a comma-separated list.
    #[arg(long = "turn-url", env = "HOTLINE_TURN_URLS", value_delimiter = ',')]
    turn_urls: Vec<String>,
    /// The TURN server's shared secret (coturn's static-auth-secret).
    #[arg(long, env = "HOTLINE_TURN_SECRET")]
    turn_secret: Option<String>,
    /// Seconds a TURN credential stays valid. Default 86400.
    #[arg(long, env = "HOTLINE_TURN_TTL_S")]
    turn_ttl: Option<u32>,
    /// Serve GET /dev/usersig?user_id=ID, which hands a UserSig for any user to
    /// anyone who can reach the server. Development only; off by default.
    #[arg(long, env = "HOTLINE_DEV_USERSIG")]
    dev_usersig: bool,
    /// Serve the web client from this directory (read per request) instead of
    /// the copy built into the binary.
    #[arg(long, env = "HOTLINE_WEB_DIR")]
    web_dir: Option<PathBuf>,
    /// WebSocket URL phones log in to, written into push payloads (behind a
    /// proxy or TLS terminator). Default: ws://<listen>/ws.
    #[arg(long, env = "HOTLINE_PUBLIC_URL")]
    public_url: Option<String>,
    /// Offline push credentials.
    #[command(flatten)]
    push: PushCredentials,
}

impl ServerArgs {
    /// Merge the layers into one configuration.
    pub fn resolve(self) -> Result<ServerConfig, String> {
        let mut c = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                ServerConfig::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => ServerConfig::default(),
        };
        macro_rules! layer {
            ($($field:ident <- $arg:ident),*) => { $(if let Some(v) = self.$arg { c.$field = v; })* };
        }
        layer!(listen <- listen, db <- db, sdk_app_id <- sdk_app_id, secret_key <- secret_key,
            max_participants <- max_participants, heartbeat_interval_s <- heartbeat_interval,
            idle_timeout_s <- idle_timeout, reconnect_grace_s <- reconnect_grace,
            rate_limit_per_s <- rate_limit, rate_limit_burst <- rate_burst, media_listen <- media_listen,
            media_tcp <- media_tcp, media_tcp_port <- media_tcp_port, turn_secret <- turn_secret,
            sfu_workers <- sfu_workers, sfu_batch_io <- sfu_batch_io,
            turn_ttl_s <- turn_ttl);
        if !self.turn_urls.is_empty() {
            c.turn_urls = self.turn_urls;
        }
        if let Some(addr) = self.media_public_addr {
            c.media_public_addr = Some(addr);
        }
        macro_rules! optional {
            ($($field:ident),*) => { $(if self.$field.is_some() { c.$field = self.$field; })* };
        }
        optional!(web_dir, public_url);
        self.push.apply(&mut c);
        // A flag can only turn the endpoint on; the file's `true` stays.
        if self.dev_usersig {
            c.dev_usersig = true;
        }
        c.validate().map_err(|e| e.to_string())?;
        Ok(c)
    }
}

/// Run until SIGINT or SIGTERM, then shut down gracefully.
pub fn run(args: ServerArgs) -> ExitCode {
    let config = match args.resolve() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if config.dev_usersig {
        eprintln!("warning: {}", hotline_server::web::DEV_USERSIG_WARNING);
    }
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(async move {
        let db = config.db.clone();
        let server = match hotline_server::start(config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!(
            "hotline server listening on {} (database {}, media UDP {}{}, web client http://{}/)",
            server.ws_url(),
            db.display(),
            server.media_candidate_addr(),
            server
                .media_tcp_addr()
                .map(|t| format!(", TCP port {}", t.port()))
                .unwrap_or_default(),
            server.local_addr()
        );
        let _ = std::io::Write::flush(&mut std::io::stdout());
        wait_for_signal().await;
        log::info!("shutting down");
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
