//! Deadlines the server enforces on connections.

mod common;

use std::time::{Duration, Instant};

use common::*;
use hotline_proto::{ErrorCode, ServerMsg};

fn fast() -> impl FnOnce(&mut hotline_server::ServerConfig) {
    |c| {
        c.heartbeat_interval_s = 1;
        c.idle_timeout_s = 2;
        c.login_timeout_s = 1;
    }
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_idle_timeout() {
    let s = server_with(fast()).await;
    let mut c = Client::login(&s.url(), "alice").await;
    let started = Instant::now();
    let seen = c.until_closed().await;
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "closed too early: {:?}",
        started.elapsed()
    );
    assert!(seen.iter().any(|m| matches!(m, ServerMsg::Error { code, message } if *code == ErrorCode::Timeout.as_i32() && message.contains("idle"))), "{seen:?}");
}

#[tokio::test]
async fn heartbeats_keep_a_connection_open() {
    let s = server_with(fast()).await;
    let mut c = Client::login(&s.url(), "alice").await;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(code(&c.request(hotline_proto::ClientMsg::Ping).await), 0);
    }
}

#[tokio::test]
async fn a_connection_that_never_logs_in_is_closed() {
    let s = server_with(fast()).await;
    let mut c = Client::connect(&s.url()).await;
    let seen = c.until_closed().await;
    assert!(
        seen.iter().any(
            |m| matches!(m, ServerMsg::Error { message, .. } if message.contains("login timeout"))
        ),
        "{seen:?}"
    );
}

#[tokio::test]
async fn the_session_ends_when_its_usersig_expires() {
    let s = server().await;
    let mut c = Client::connect(&s.url()).await;
    // Signed 1 h ago, valid for 1 h + 2 s: expires two seconds from now.
    let sig = hotline_proto::usersig::generate(APP, KEY, "alice", 3602, now_s() - 3600);
    assert_eq!(code(&c.request(login_msg("alice", &sig, "d")).await), 0);
    let seen = c.until_closed().await;
    assert!(
        seen.iter().any(|m| matches!(m, ServerMsg::UserSigExpired)),
        "{seen:?}"
    );
}
