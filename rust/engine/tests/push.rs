//! Offline push on the engine side, against a real server: reading pushes
//! without a network, the token registered after every login, and calls
//! learned of from a push reported after `init`.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use hotline_engine::{
    CallEngine, CancelReason, EndReason, EngineConfig, ErrorCode, Event, MediaType, PushAction,
    PushEnvironment, PushProvider,
};
use hotline_proto::push::{PushKind, PushPayload, PUSH_PAYLOAD_VERSION};
use hotline_server::store::{PushToken, Store};

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The push the server would send `bob` for `call_id`, ringing until `deadline_ms`.
fn call_push(call_id: &str, deadline_ms: i64, server_url: &str) -> PushPayload {
    PushPayload {
        v: PUSH_PAYLOAD_VERSION,
        call_id: call_id.into(),
        deadline_ms,
        kind: PushKind::Call {
            caller_id: "alice".into(),
            caller_nickname: "Alice".into(),
            caller_avatar: "https://example.com/alice.png".into(),
            media_type: MediaType::Video,
            is_group: false,
            invitees: vec![],
            server_url: server_url.into(),
            title: "Alice".into(),
            desc: "is calling".into(),
            ext: "{\"k\":1}".into(),
        },
    }
}

/// An engine with a recorder, not initialised yet.
fn engine_for(user: &str) -> Phone {
    let engine = Arc::new(CallEngine::new());
    let events = Arc::new(Recorder::default());
    engine.add_observer(events.clone());
    Phone {
        user: user.into(),
        engine,
        events,
    }
}

async fn init(phone: &Phone, url: &str) {
    phone
        .engine
        .init(EngineConfig {
            server_url: url.into(),
            sdk_app_id: APP,
            user_id: phone.user.clone(),
            user_sig: sig(&phone.user),
            trusted_ca_pem: None,
        })
        .await
        .unwrap_or_else(|e| panic!("{} logs in: {e}", phone.user));
}

/// The push tokens the server stores for `user`.
async fn tokens(s: &TestServer, user: &str) -> Vec<PushToken> {
    let store = Store::open(&s.config.db).await.expect("the database opens");
    store.push_tokens(user).await.expect("tokens load")
}

/// Wait until the server stores `want` tokens for `user` (the ones sent
/// after a login go out after `init` returns).
async fn wait_tokens(s: &TestServer, user: &str, what: &str, want: usize) -> Vec<PushToken> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = tokens(s, user).await;
        if got.len() == want {
            return got;
        }
        assert!(Instant::now() < deadline, "{what}: tokens now {got:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Retry `request` while the engine is still reconnecting (TIMEOUT).
async fn until_reconnected<F, Fut>(what: &str, request: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), hotline_engine::CallError>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match request().await {
            Ok(()) => return,
            Err(e) if e.code == ErrorCode::Timeout && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_are_read_without_a_network() {
    let engine = CallEngine::new();
    let deadline = unix_ms() + 30_000;
    let push = call_push("c1", deadline, "ws://calls.example.com/ws");
    let inner = serde_json::to_string(&push).unwrap();
    let apns = format!(r#"{{"aps":{{"content-available":1}},"hotline":{inner}}}"#);
    let fcm = serde_json::json!({ "hotline": inner }).to_string();
    let want = PushAction::IncomingCall {
        call_id: "c1".into(),
        caller_id: "alice".into(),
        caller_nickname: "Alice".into(),
        caller_avatar: "https://example.com/alice.png".into(),
        media_type: MediaType::Video,
        is_group: false,
        invitees: vec![],
        deadline_ms: deadline,
        server_url: "ws://calls.example.com/ws".into(),
        title: "Alice".into(),
        desc: "is calling".into(),
        ext: "{\"k\":1}".into(),
    };
    for text in [&inner, &apns, &fcm] {
        assert_eq!(engine.handle_push_payload(text).unwrap(), want, "{text}");
    }

    // A call push read after its deadline rings no more.
    let late = serde_json::to_string(&call_push("c2", unix_ms() - 1, "ws://h/ws")).unwrap();
    assert_eq!(
        engine.handle_push_payload(&late).unwrap(),
        PushAction::Expired {
            call_id: "c2".into()
        }
    );

    // A cancel is a cancel, however late.
    let cancel = PushPayload {
        v: PUSH_PAYLOAD_VERSION,
        call_id: "c1".into(),
        deadline_ms: unix_ms() - 60_000,
        kind: PushKind::Cancel {
            reason: CancelReason::AnsweredElsewhere,
        },
    };
    let cancel = serde_json::json!({ "hotline": serde_json::to_string(&cancel).unwrap() });
    assert_eq!(
        engine.handle_push_payload(&cancel.to_string()).unwrap(),
        PushAction::Cancel {
            call_id: "c1".into(),
            reason: CancelReason::AnsweredElsewhere
        }
    );

    for bad in [
        "",
        "not json",
        r#"{"aps":{"alert":"hello"}}"#,
        r#"{"hotline":"{}"}"#,
    ] {
        let e = engine.handle_push_payload(bad).unwrap_err();
        assert_eq!(e.code, ErrorCode::ParamInvalid, "{bad}");
        assert!(
            e.message.contains("not a Hotline push"),
            "{bad}: {}",
            e.message
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_refused_before_any_network() {
    let engine = CallEngine::new();
    for (token, app) in [
        ("", "com.example"),
        ("aa", ""),
        (&*"a".repeat(513), "com.example"),
    ] {
        let e = engine
            .register_push_token(
                PushProvider::Fcm,
                token.into(),
                app.into(),
                PushEnvironment::Production,
            )
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::ParamInvalid, "{token:?} {app:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_token_is_registered_again_after_every_login() {
    let mut s = TestServer::start().await;
    let bob = engine_for("bob");
    // Before init: remembered, sent after the login.
    bob.engine
        .register_push_token(
            PushProvider::ApnsVoip,
            "a1".repeat(32),
            "com.example.app".into(),
            PushEnvironment::Sandbox,
        )
        .await
        .expect("remembered before init");
    init(&bob, &s.url()).await;
    let got = wait_tokens(&s, "bob", "registered after the first login", 1).await;
    assert_eq!(
        got[0],
        PushToken {
            user_id: "bob".into(),
            device_id: bob.engine.device_id().into(),
            provider: PushProvider::ApnsVoip,
            token: "a1".repeat(32),
            app: "com.example.app".into(),
            environment: PushEnvironment::Sandbox,
        }
    );

    // The server loses it (a restored backup, say) and restarts: the engine
    // reconnects and registers again.
    Store::open(&s.config.db)
        .await
        .unwrap()
        .delete_push_token("bob", bob.engine.device_id())
        .await
        .unwrap();
    s.restart().await;
    wait_tokens(&s, "bob", "registered again after reconnecting", 1).await;

    // Logged in: a new token waits for the server's answer.
    let fcm = "fcm-token:".to_string() + &"x".repeat(150);
    until_reconnected("a new token", || {
        bob.engine.register_push_token(
            PushProvider::Fcm,
            fcm.clone(),
            "example-project".into(),
            PushEnvironment::Production,
        )
    })
    .await;
    let got = tokens(&s, "bob").await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].provider, got[0].token.as_str()),
        (PushProvider::Fcm, fcm.as_str())
    );

    // Unregistering forgets it, also for later logins.
    bob.engine
        .unregister_push_token()
        .await
        .expect("unregistered");
    assert!(tokens(&s, "bob").await.is_empty());
    s.restart().await;
    until_reconnected("logged in again", || {
        bob.engine.set_self_info("Bob".into(), String::new())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(tokens(&s, "bob").await.is_empty(), "not registered again");
    assert_eq!(
        bob.events.count(|e| matches!(e, Event::Error { .. })),
        0,
        "{:?}",
        bob.events.all()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn un_init_keeps_the_token_registered() {
    let s = TestServer::start().await;
    let bob = Phone::login(&s.url(), "bob").await;
    bob.engine
        .register_push_token(
            PushProvider::Fcm,
            "fcm-token-1".into(),
            "example-project".into(),
            PushEnvironment::Production,
        )
        .await
        .expect("registered");
    bob.engine.un_init().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        tokens(&s, "bob").await.len(),
        1,
        "a phone going offline keeps its pushes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_call_cancelled_before_login_is_not_connected_after_init() {
    let s = TestServer::start().await;
    let alice = Phone::login(&s.url(), "alice").await;
    let call_id = alice.call(&["bob"]).await;

    // Bob's phone is woken by the push and shows the call before any network.
    let bob = engine_for("bob");
    let push = serde_json::to_string(&call_push(&call_id, unix_ms() + 30_000, &s.url())).unwrap();
    assert!(matches!(
        bob.engine.handle_push_payload(&push).unwrap(),
        PushAction::IncomingCall { call_id: ref id, .. } if *id == call_id
    ));
    // Alice gives up before Bob's phone is online.
    alice.engine.hangup().await.expect("alice cancels");
    alice.not_connected().await;

    init(&bob, &s.url()).await;
    let ended = bob
        .wait("onCallNotConnected", |e| {
            matches!(e, Event::CallNotConnected { .. })
        })
        .await;
    assert_eq!(
        ended,
        Event::CallNotConnected {
            call_id: call_id.clone(),
            media_type: MediaType::Video,
            reason: EndReason::Canceled,
        }
    );
    assert_eq!(bob.names(), vec!["onCallNotConnected"], "nothing rang");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_call_still_ringing_rings_once_after_init() {
    let s = TestServer::start().await;
    let alice = Phone::login(&s.url(), "alice").await;
    let call_id = alice.call(&["bob"]).await;

    let bob = engine_for("bob");
    let push = serde_json::to_string(&call_push(&call_id, unix_ms() + 30_000, &s.url())).unwrap();
    bob.engine.handle_push_payload(&push).unwrap();
    init(&bob, &s.url()).await;
    match bob.ringing().await {
        Event::CallReceived {
            call_id: got,
            caller_id,
            ..
        } => {
            assert_eq!(
                (got.as_str(), caller_id.as_str()),
                (call_id.as_str(), "alice")
            );
        }
        other => unreachable!("{other:?}"),
    }
    // The same push again (providers may deliver twice) rings no more.
    bob.engine.handle_push_payload(&push).unwrap();
    bob.engine.accept().await.expect("bob answers");
    alice
        .wait("onCallBegin", |e| matches!(e, Event::CallBegin { .. }))
        .await;
    bob.wait("onCallBegin", |e| matches!(e, Event::CallBegin { .. }))
        .await;
    assert_eq!(
        bob.events
            .count(|e| matches!(e, Event::CallReceived { .. })),
        1
    );
    alice.engine.hangup().await.unwrap();
}
