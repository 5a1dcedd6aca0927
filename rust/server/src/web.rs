//! The web client's files, `/config.json`, and the development-only UserSig
//! endpoint.
//!
//! The client (the repository's top-level `web/` folder) is embedded in the
//! binary, so operators run one file. With `web_dir` set, the same names are
//! read from that directory on every request instead (for working on the
//! client without rebuilding, or shipping a customised one). Only the names in
//! [`FILES`] are ever served, so no request can reach another file.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::http::WS_PATH;
use crate::session::Shared;

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// One file of the web client: its name (served at `/<name>`), content type,
/// and the embedded content.
pub type WebFile = (&'static str, &'static str, &'static str);

macro_rules! web_file {
    ($name:literal, $content_type:expr) => {
        (
            $name,
            $content_type,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/", $name)),
        )
    };
}

/// The web client's files. Adding a file is one line here.
pub const FILES: &[WebFile] = &[
    web_file!("index.html", HTML),
    web_file!("style.css", CSS),
    web_file!("app.js", JS),
    web_file!("signaling.js", JS),
    web_file!("calls.js", JS),
    web_file!("media.js", JS),
    web_file!("ui.js", JS),
];

/// The file served at `/`.
const INDEX: usize = 0;

/// Path of the development UserSig endpoint.
pub const DEV_USERSIG_PATH: &str = "/dev/usersig";

/// How long a development UserSig is valid, in seconds (one day).
pub const DEV_USERSIG_EXPIRE_S: u64 = 86400;

/// What the server logs (and the CLI prints) when the endpoint is on.
pub const DEV_USERSIG_WARNING: &str = "--dev-usersig is on: anyone who can reach this server can obtain a UserSig for any user. Development only.";

const DEV_USERSIG_OFF: &str = "the development UserSig endpoint is off; start the server with --dev-usersig (development only) or have your backend issue UserSigs";

/// The web client's routes, `/config.json` and `/dev/usersig`.
pub fn router() -> Router<Arc<Shared>> {
    let mut router = Router::new()
        .route("/", get(|s: State<Arc<Shared>>| file(s, INDEX)))
        .route("/config.json", get(config_json))
        .route(DEV_USERSIG_PATH, get(dev_usersig));
    for (i, (name, _, _)) in FILES.iter().enumerate() {
        router = router.route(
            &format!("/{name}"),
            get(move |s: State<Arc<Shared>>| file(s, i)),
        );
    }
    router
}

async fn file(State(shared): State<Arc<Shared>>, i: usize) -> Response {
    let (name, content_type, embedded) = FILES[i];
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CACHE_CONTROL, "no-cache"),
    ];
    match &shared.config.web_dir {
        None => (headers, embedded).into_response(),
        Some(dir) => match tokio::fs::read(dir.join(name)).await {
            Ok(body) => (headers, body).into_response(),
            Err(e) => {
                if e.kind() != std::io::ErrorKind::NotFound {
                    log::warn!("cannot read {}: {e}", dir.join(name).display());
                }
                StatusCode::NOT_FOUND.into_response()
            }
        },
    }
}

async fn config_json(State(shared): State<Arc<Shared>>) -> Response {
    (
        [(header::CACHE_CONTROL, "no-cache")],
        Json(json!({
            "ws_path": WS_PATH,
            "dev_usersig": shared.config.dev_usersig,
            "sdk_app_id": shared.config.sdk_app_id,
            "protocol_version": hotline_proto::PROTOCOL_VERSION,
        })),
    )
        .into_response()
}

#[derive(Deserialize)]
struct UserSigQuery {
    #[serde(default)]
    user_id: String,
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn dev_usersig(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<UserSigQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let config = &shared.config;
    if !config.dev_usersig {
        return error(StatusCode::NOT_FOUND, DEV_USERSIG_OFF);
    }
    let user_id = match query {
        Ok(Query(q)) => q.user_id,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.body_text()),
    };
    if let Err(reason) = hotline_proto::user_id::validate_user_id(&user_id) {
        return error(StatusCode::BAD_REQUEST, &reason);
    }
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let user_sig = hotline_proto::usersig::generate(
        config.sdk_app_id,
        &config.secret_key,
        &user_id,
        DEV_USERSIG_EXPIRE_S,
        now_s,
    );
    log::info!("issued a development UserSig for {user_id:?}");
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "sdk_app_id": config.sdk_app_id,
            "user_id": user_id,
            "user_sig": user_sig,
            "expire_s": DEV_USERSIG_EXPIRE_S,
        })),
    )
        .into_response()
}
