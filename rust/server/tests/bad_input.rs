//! Bad input: each kind gets a clear error, the sender is disconnected where
//! that is right, and everyone else keeps being served.

mod common;

use common::*;
use hotline_proto::{ClientMsg, ErrorCode, ServerMsg, MAX_MESSAGE_BYTES};

fn is_error(m: &ServerMsg, expected: ErrorCode) -> bool {
    matches!(m, ServerMsg::Error { code, .. } | ServerMsg::Response { code, .. } if *code == expected.as_i32())
}

async fn still_serves(url: &str, user: &str) {
    let mut c = Client::login(url, user).await;
    assert_eq!(code(&c.request(ClientMsg::Ping).await), 0);
}

#[tokio::test]
async fn malformed_json_gets_an_error_and_the_connection_stays() {
    let s = server().await;
    let mut c = Client::login(&s.url(), "alice").await;
    c.send_text("{this is not json").await;
    let m = c.recv().await.unwrap();
    assert!(is_error(&m, ErrorCode::MalformedMessage), "{m:?}");
    c.send_text(r#"{"seq":5,"type":"accept"}"#).await;
    let m = c.recv().await.unwrap();
    assert!(
        matches!(&m, ServerMsg::Response { seq: 5, code: -1311, message, .. } if message.contains("call_id")),
        "{m:?}"
    );
    assert_eq!(code(&c.request(ClientMsg::Ping).await), 0);
}

#[tokio::test]
async fn unknown_message_types_are_named_in_the_error() {
    let s = server().await;
    let mut c = Client::login(&s.url(), "alice").await;
    c.send_text(r#"{"seq":9,"type":"teleport"}"#).await;
    let m = c.recv().await.unwrap();
    assert!(
        matches!(&m, ServerMsg::Response { seq: 9, code: -1312, message, .. } if message.contains("teleport")),
        "{m:?}"
    );
    assert_eq!(code(&c.request(ClientMsg::Ping).await), 0);
}

#[tokio::test]
async fn binary_frames_are_refused() {
    let s = server().await;
    let mut c = Client::login(&s.url(), "alice").await;
    use futures_util::SinkExt;
    c.ws.send(tokio_tungstenite::tungstenite::Message::Binary(
        vec![1u8, 2, 3].into(),
    ))
    .await
    .unwrap();
    assert!(is_error(
        &c.recv().await.unwrap(),
        ErrorCode::MalformedMessage
    ));
    assert_eq!(code(&c.request(ClientMsg::Ping).await), 0);
}

#[tokio::test]
async fn oversized_messages_close_the_connection_but_not_the_server() {
    let s = server().await;
    let mut c = Client::login(&s.url(), "alice").await;
    let big = format!(
        r#"{{"seq":1,"type":"set_self_info","nickname":"{}"}}"#,
        "x".repeat(MAX_MESSAGE_BYTES + 1)
    );
    c.send_text(big).await;
    let seen = c.until_closed().await;
    // The frame's seq is read without parsing the rest, so the refusal is its response.
    assert!(
        seen.iter().any(|m| matches!(
            m,
            ServerMsg::Response {
                seq: 1,
                code: -1313,
                ..
            }
        )),
        "{seen:?}"
    );
    still_serves(&s.url(), "bob").await;
}

/// A frame refused by the rate limit is still answered once, as the response
/// to its own `seq`, so a client waiting for that `seq` learns why.
#[tokio::test]
async fn a_rate_limited_frame_gets_a_response_with_its_seq() {
    let s = server_with(|c| {
        c.rate_limit_per_s = 1;
        c.rate_limit_burst = 3;
    })
    .await;
    let mut c = Client::login(&s.url(), "alice").await;
    // Sent back to back: the bucket (3, one more per second) cannot keep up
    // with eight, however slow the machine.
    let mut seqs = vec![];
    for _ in 0..8 {
        seqs.push(c.send(ClientMsg::Ping).await);
    }
    let mut limited = 0;
    for seq in seqs {
        match c.response(seq).await {
            ServerMsg::Response { code: 0, .. } => {}
            ServerMsg::Response { code: -1314, .. } => limited += 1,
            other => panic!("seq {seq}: {other:?}"),
        }
    }
    assert!(limited >= 3, "{limited} of 8 pings were refused");
}

#[tokio::test]
async fn garbage_usersig_is_refused_and_closed() {
    let s = server().await;
    let mut c = Client::connect(&s.url()).await;
    c.send(login_msg("alice", "definitely-not-a-usersig", "d"))
        .await;
    let seen = c.until_closed().await;
    assert!(
        seen.iter().any(|m| is_error(m, ErrorCode::UserSigInvalid)),
        "{seen:?}"
    );
}

#[tokio::test]
async fn expired_usersig_is_refused_with_its_own_code() {
    let s = server().await;
    let mut c = Client::connect(&s.url()).await;
    let old = hotline_proto::usersig::generate(APP, KEY, "alice", 10, now_s() - 3600);
    c.send(login_msg("alice", &old, "d")).await;
    let seen = c.until_closed().await;
    assert!(
        seen.iter().any(|m| is_error(m, ErrorCode::UserSigExpired)),
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_usersig_for_someone_else_or_another_key_is_refused() {
    let s = server().await;
    for (user, user_sig) in [
        ("alice", sig("mallory")),
        (
            "alice",
            hotline_proto::usersig::generate(
                APP,
                "another-secret-key-0123456789",
                "alice",
                3600,
                now_s(),
            ),
        ),
        (
            "alice",
            hotline_proto::usersig::generate(APP + 1, KEY, "alice", 3600, now_s()),
        ),
    ] {
        let mut c = Client::connect(&s.url()).await;
        c.send(login_msg(user, &user_sig, "d")).await;
        let seen = c.until_closed().await;
        assert!(
            seen.iter().any(|m| is_error(m, ErrorCode::UserSigInvalid)),
            "{seen:?}"
        );
    }
}

#[tokio::test]
async fn invalid_user_ids_are_refused() {
    let s = server().await;
    for bad in ["", "has space", "ünïcode", &"x".repeat(33)] {
        let mut c = Client::connect(&s.url()).await;
        c.send(login_msg(bad, &sig("alice"), "d")).await;
        let seen = c.until_closed().await;
        assert!(
            seen.iter().any(|m| is_error(m, ErrorCode::ParamInvalid)),
            "{bad:?}: {seen:?}"
        );
    }
}

#[tokio::test]
async fn wrong_protocol_version_is_refused() {
    let s = server().await;
    let mut c = Client::connect(&s.url()).await;
    let mut msg = login_msg("alice", &sig("alice"), "d");
    if let ClientMsg::Login {
        protocol_version, ..
    } = &mut msg
    {
        *protocol_version = 99;
    }
    c.send(msg).await;
    let seen = c.until_closed().await;
    assert!(
        seen.iter().any(|m| is_error(m, ErrorCode::ProtocolVersion)),
        "{seen:?}"
    );
}

#[tokio::test]
async fn requests_before_login_are_refused_then_disconnected() {
    let s = server().await;
    let mut c = Client::connect(&s.url()).await;
    let r = c.request(ClientMsg::Ping).await;
    assert_eq!(code(&r), ErrorCode::NotLoggedIn.as_i32());
    for _ in 0..4 {
        c.send(ClientMsg::Ping).await;
    }
    let seen = c.until_closed().await;
    assert_eq!(seen.len(), 4, "{seen:?}");
}

#[tokio::test]
async fn strangers_cannot_touch_a_call_and_it_carries_on() {
    let s = server().await;
    let mut alice = Client::login(&s.url(), "alice").await;
    let mut bob = Client::login(&s.url(), "bob").await;
    let mut mallory = Client::login(&s.url(), "mallory").await;
    let ServerMsg::Response {
        call: Some(call), ..
    } = alice.request(call_msg(&["bob"])).await
    else {
        panic!()
    };
    for msg in [
        ClientMsg::Accept {
            call_id: call.call_id.clone(),
        },
        ClientMsg::Hangup {
            call_id: call.call_id.clone(),
        },
        ClientMsg::Join {
            call_id: call.call_id.clone(),
        },
        ClientMsg::Invite {
            call_id: call.call_id.clone(),
            user_ids: vec!["eve".into()],
            timeout_s: 0,
        },
        ClientMsg::Accept {
            call_id: "no-such-call".into(),
        },
    ] {
        let r = mallory.request(msg).await;
        assert_eq!(code(&r), ErrorCode::ParamInvalid.as_i32(), "{r:?}");
    }
    let r = bob
        .request(ClientMsg::Accept {
            call_id: call.call_id.clone(),
        })
        .await;
    let ServerMsg::Response {
        code: 0,
        call: Some(now),
        ..
    } = r
    else {
        panic!("{r:?}")
    };
    assert_eq!(now.state, hotline_proto::CallState::Active);
}

#[tokio::test]
async fn floods_are_throttled_then_cut_off_while_others_are_served() {
    // One token a second: the 20 refusals in a row that cut the flooder off
    // cannot be interrupted by a refill however slowly the flood is sent.
    let s = server_with(|c| {
        c.rate_limit_per_s = 1;
        c.rate_limit_burst = 10;
    })
    .await;
    let mut flooder = Client::login(&s.url(), "flooder").await;
    for seq in 0..200 {
        let frame = format!(r#"{{"seq":{seq},"type":"ping"}}"#);
        // The server may hang up mid-flood; later sends then fail, which is fine.
        if futures_util::SinkExt::send(
            &mut flooder.ws,
            tokio_tungstenite::tungstenite::Message::Text(frame.into()),
        )
        .await
        .is_err()
        {
            break;
        }
    }
    let seen = flooder.until_closed().await;
    let limited = seen
        .iter()
        .filter(|m| is_error(m, ErrorCode::RateLimited))
        .count();
    assert!(limited >= 20, "expected RATE_LIMITED errors, got {seen:?}");
    assert!(seen.len() < 200, "the flooder should have been cut off");
    still_serves(&s.url(), "bystander").await;
    let metrics = http_get(&s.http("/metrics")).await;
    assert!(
        metrics.contains("hotline_errors_total{code=\"-1314\",name=\"RATE_LIMITED\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn bad_input_leaves_stored_calls_intact_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = hotline_server::start(config(dir.path())).await.unwrap();
    let mut alice = Client::login(&server.ws_url(), "alice").await;
    let ServerMsg::Response {
        call: Some(call), ..
    } = alice.request(call_msg(&["bob"])).await
    else {
        panic!()
    };
    let mut mallory = Client::login(&server.ws_url(), "mallory").await;
    for junk in [
        "{".to_string(),
        r#"{"seq":1,"type":"accept","call_id":7}"#.to_string(),
        format!(
            r#"{{"seq":2,"type":"hangup","call_id":"{}"}}"#,
            call.call_id
        ),
        format!(
            r#"{{"seq":3,"type":"switch_media","call_id":"{}","media_type":"audio"}}"#,
            call.call_id
        ),
        r#"{"seq":4,"type":"call","user_ids":["alice"],"media_type":"hologram"}"#.to_string(),
    ] {
        mallory.send_text(junk).await;
        let reply = mallory.recv().await.expect("an answer, not a disconnect");
        assert_ne!(code(&reply), 0, "{reply:?}");
    }
    drop((alice, mallory));
    server.shutdown().await;

    let server = hotline_server::start(config(dir.path())).await.unwrap();
    let mut bob = Client::connect(&server.ws_url()).await;
    let ServerMsg::Response {
        login: Some(login), ..
    } = bob.request(login_msg("bob", &sig("bob"), "d")).await
    else {
        panic!()
    };
    assert_eq!(login.calls.len(), 1);
    assert_eq!(
        login.calls[0], call,
        "the stored call is exactly as the caller left it"
    );
    server.shutdown().await;
}
