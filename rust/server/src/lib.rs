//! Hotline's server: signaling over WebSocket, server-authoritative call
//! control, SQLite storage and Prometheus metrics.
//!
//! ```text
//! session (one task per connection) ──HubMsg──▶ hub (one task) ──▶ registry (sans-IO)
//!        ▲                                        │                      │
//!        └──────────── Outbox (bounded) ◀─────────┘                store (SQLite)
//! ```
//!
//! Media goes over UDP to the SFU ([`sfu`]), one thread that owns every
//! call's str0m connections; the hub checks media requests against the
//! registry and hands them to it.
//!
//! Start it with [`start`]; it prints nothing itself, the CLI does.

pub mod config;
pub mod http;
pub mod hub;
pub mod metrics;
pub mod push;
pub mod registry;
pub mod session;
pub mod sfu;
pub mod store;
pub mod turn;
pub mod web;
pub mod writer;

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use config::{ConfigError, ServerConfig};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Push credentials could not be loaded.
    #[error(transparent)]
    Push(#[from] push::PushError),
    /// The database could not be opened or migrated.
    #[error("cannot open database: {0}")]
    Store(#[from] store::StoreError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The SFU's UDP socket could not be set up.
    #[error(transparent)]
    Media(#[from] sfu::SfuError),
}

/// A running server.
pub struct ServerHandle {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
    hub_task: JoinHandle<()>,
    media: SocketAddr,
    media_candidate: SocketAddr,
    media_tcp: Option<SocketAddr>,
    sfu: sfu::Sfu,
    /// The server's metrics (for tests and benchmarks).
    pub metrics: Arc<metrics::Metrics>,
}

impl ServerHandle {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The UDP address the SFU is bound to.
    pub fn media_addr(&self) -> SocketAddr {
        self.media
    }

    /// The address the SFU writes into SDP candidates (`media_public_addr`, else [`Self::media_addr`]).
    pub fn media_candidate_addr(&self) -> SocketAddr {
        self.media_candidate
    }

    /// The TCP address the SFU's ICE-TCP listener is bound to (none when
    /// `media_tcp` is off).
    pub fn media_tcp_addr(&self) -> Option<SocketAddr> {
        self.media_tcp
    }

    /// How many SFU workers there are.
    pub fn sfu_workers(&self) -> usize {
        self.sfu.workers()
    }

    /// Which SFU worker carries a call's media, if any does.
    pub fn sfu_worker_of(&self, call_id: &str) -> Option<usize> {
        self.sfu.worker_of(call_id)
    }

    /// Fault injection for tests: make the SFU worker carrying `call_id` panic.
    #[doc(hidden)]
    pub fn fail_sfu_worker_of(&self, call_id: &str) {
        self.sfu.send(sfu::Cmd::Fail {
            call_id: call_id.into(),
        });
    }

    /// The URL clients connect to.
    pub fn ws_url(&self) -> String {
        format!("ws://{}{}", self.addr, http::WS_PATH)
    }

    /// Close every connection, stop accepting, and flush the database.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
        let _ = self.hub_task.await;
    }
}

/// Open the store, restore unfinished calls, bind, and start serving.
pub async fn start(config: ServerConfig) -> Result<ServerHandle, StartError> {
    config.validate()?;
    if config.dev_usersig {
        log::warn!(
            "{} (GET {})",
            web::DEV_USERSIG_WARNING,
            web::DEV_USERSIG_PATH
        );
    }
    let store = store::Store::open(&config.db).await?;
    let limits = registry::Limits {
        max_participants: config.max_participants,
        reconnect_grace_ms: i64::from(config.reconnect_grace_s) * 1000,
        ..Default::default()
    };
    let mut registry = registry::Registry::new(limits);
    let unfinished = store.unfinished_calls().await?;
    if !unfinished.is_empty() {
        log::info!(
            "resuming {} unfinished call(s) from {}",
            unfinished.len(),
            config.db.display()
        );
    }
    registry.restore(unfinished, hub::unix_ms());
    let metrics = Arc::new(metrics::Metrics::default());
    let (hub_tx, hub_rx) = mpsc::channel(4096);
    let sfu = sfu::start(
        config.media_listen,
        config.media_public_addr,
        config.media_tcp.then_some(config.media_tcp_port),
        config.sfu_workers,
        config.sfu_batch_io,
        metrics.clone(),
        hub_tx.downgrade(),
    )?;
    let (media, media_candidate) = (sfu.local_addr(), sfu.candidate_addr());
    let media_tcp = sfu.tcp_addr();
    let (watermark, committed) = writer::Watermark::new();
    let hub = hub::Hub::new(
        registry,
        store.clone(),
        watermark.clone(),
        metrics.clone(),
        config.heartbeat_interval_s,
        config.idle_timeout_s,
    )
    .with_sfu(sfu.clone());
    let hub =
        match turn::TurnCredentials::new(&config.turn_urls, &config.turn_secret, config.turn_ttl_s)
        {
            Some(turn) => {
                log::info!(
                    "logins list the TURN relays {:?}, with credentials valid {} s",
                    config.turn_urls,
                    config.turn_ttl_s
                );
                hub.with_turn(turn)
            }
            None => hub,
        };

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen,
        source,
    })?;
    let server_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("ws://{addr}{}", http::WS_PATH));
    let hub = match push::start(&config, store.clone(), metrics.push.clone(), server_url)? {
        Some(push) => hub.with_push(push),
        None => hub,
    };
    let hub_task = tokio::spawn(hub.run(hub_rx, committed));
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let shared = Arc::new(session::Shared {
        config,
        hub: hub_tx,
        store,
        watermark,
        metrics: metrics.clone(),
        shutdown: shutdown_rx.clone(),
        next_conn_id: AtomicU64::new(1),
    });
    let app = http::router(shared);
    let mut stop = shutdown_rx;
    let task = tokio::spawn(async move {
        // Signaling messages are small and latency-bound: no Nagle delay.
        use axum::serve::ListenerExt;
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                log::debug!("TCP_NODELAY not set: {e}");
            }
        });
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        });
        if let Err(e) = serve.await {
            log::error!("server stopped: {e}");
        }
    });
    Ok(ServerHandle {
        addr,
        shutdown: shutdown_tx,
        task,
        hub_task,
        media,
        media_candidate,
        media_tcp,
        sfu,
        metrics,
    })
}
