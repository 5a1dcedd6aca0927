//! HTTP routes: the signaling WebSocket, health and metrics, and (from
//! [`crate::web`]) the web client, `/config.json` and `/dev/usersig`.

use std::sync::Arc;

use axum::extract::{State, WebSocketUpgrade};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::session::{self, Shared};

/// Path of the signaling WebSocket.
pub const WS_PATH: &str = "/ws";

/// Frames larger than this are refused by the WebSocket layer itself (the
/// protocol's own, smaller limit is answered with MESSAGE_TOO_LARGE first).
const TRANSPORT_MAX_MESSAGE: usize = 64 * 1024;

/// The router.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(WS_PATH, get(ws))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(crate::web::router())
        .with_state(shared)
}

async fn ws(upgrade: WebSocketUpgrade, State(shared): State<Arc<Shared>>) -> Response {
    upgrade
        .max_message_size(TRANSPORT_MAX_MESSAGE)
        .max_frame_size(TRANSPORT_MAX_MESSAGE)
        // Small buffers keep an idle connection cheap.
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| session::serve(socket, shared))
}

async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    match shared.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("database unavailable: {e}\n"),
        )
            .into_response(),
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        shared.metrics.render(),
    )
        .into_response()
}
