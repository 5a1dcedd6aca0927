//! Engines calling each other through a real server over loopback.

mod common;

use common::*;
use hotline_engine::{CallParams, EndReason, ErrorCode, Event, MediaType, RecordFilter};

fn video() -> MediaType {
    MediaType::Video
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_to_one_accept_then_hangup() {
    let s = TestServer::start().await;
    let alice = Phone::login(&s.url(), "alice").await;
    let bob = Phone::login(&s.url(), "bob").await;
    let call_id = alice.call(&["bob"]).await;
    let received = bob
        .wait("onCallReceived", |e| {
            matches!(e, Event::CallReceived { .. })
        })
        .await;
    let Event::CallReceived {
        call_id: got,
        caller_id,
        callee_ids,
        media_type,
        ..
    } = received
    else {
        unreachable!()
    };
    assert_eq!(
        (got.as_str(), caller_id.as_str(), callee_ids, media_type),
        (call_id.as_str(), "alice", vec!["bob".to_string()], video())
    );
    bob.engine.accept().await.unwrap();
    alice
        .wait("onCallBegin", |e| matches!(e, Event::CallBegin { .. }))
        .await;
    bob.wait("onCallBegin", |e| matches!(e, Event::CallBegin { .. }))
        .await;
    alice
        .wait(
            "onUserJoin bob",
            |e| matches!(e, Event::UserJoin { user_id, .. } if user_id == "bob"),
        )
        .await;
    alice.engine.hangup().await.unwrap();
    let end = bob
        .wait("onCallEnd", |e| matches!(e, Event::CallEnd { .. }))
        .await;
    assert!(
        matches!(
            end,
            Event::CallEnd {
                reason: EndReason::Hangup,
                ..
            }
        ),
        "{end:?}"
    );
    alice
        .wait("onCallEnd", |e| matches!(e, Event::CallEnd { .. }))
        .await;
    bob.wait(
        "onUserLeave alice",
        |e| matches!(e, Event::UserLeave { user_id, .. } if user_id == "alice"),
    )
    .await;
    assert_eq!(
        alice.events.count(|e| matches!(e, Event::UserLeave { .. })),
        0,
        "bob did not leave: alice ended the call"
    );
    let err = bob.engine.hangup().await.unwrap_err();
    assert_eq!(
        err.code,
        ErrorCode::RequestRefused,
        "nothing to hang up any more"
    );
    let records = alice
        .engine
        .query_recent_calls(RecordFilter::default())
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].call_id, call_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_reaches_the_caller() {
    let s = TestServer::start().await;
    let alice = Phone::login(&s.url(), "alice").await;
    let bob = Phone::login(&s.url(), "bob").await;
    alice
        .engine
        .calls(vec!["bob".into()], MediaType::Audio, CallParams::default())
        .await
        .unwrap();
    bob.ringing().await;
    bob.engine.reject().await.unwrap();
    alice
        .wait(
            "onUserReject",
            |e| matches!(e, Event::UserReject { user_id, .. } if user_id == "bob"),
        )
        .await;
    assert_eq!(alice.not_connected().await, EndReason::Reject);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignore_looks_like_a_busy_line_to_the_caller() {
    let s = TestServer::start().await;
    let alice = Phone::login(&s.url(), "alice").await;
    let bob = Phone::login(&s.url(), "bob").await;
    alice.call(&["bob"]).await;
    bob.ringing().await;
    bob.engine.ignore().await.unwrap();
    alice
        .wait(
            "onUserLineBusy",
            |e| matches!(e, Event::UserLineBusy { user_id, .. } if user_id == "bob"),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_calls_time_out_on_the_server() {
    let s = TestServer::start().await;
    let alice = Phone::login(&s.url(), "alice").await;
    let bob = Phone::login(&s.url(), "bob").await;
    let params = CallParams {
        timeout_s: 10,
        ..Default::default()
    };
    alice
        .engine
        .calls(vec!["bob".into()], video(), params)
        .await
        .unwrap();
    bob.ringing().await;
    alice
        .wait(
            "onUserNoResponse",
            |e| matches!(e, Event::UserNoResponse { user_id, .. } if user_id == "bob"),
        )
        .await;
    assert_eq!(bob.not_connected().await, EndReason::NoResponse);
    assert_eq!(
        bob.engine.accept().await.unwrap_err().code,
        ErrorCode::RequestRefused
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_callee_gives_line_busy() {
    let s = TestServer::start().await;
    let alice = Phone::login(&s.url(), "alice").await;
    let bob = Phone::login(&s.url(), "bob").await;
    let carol = Phone::login(&s.url(), "carol").await;
    carol.call(&["bob"]).await;
    bob.ringing().await;
    bob.engine.accept().await.unwrap();
    alice.call(&["bob"]).await;
    alice
        .wait(
            "onUserLineBusy",
            |e| matches!(e, Event::UserLineBusy { user_id, .. } if user_id == "bob"),
        )
        .await;
    assert_eq!(alice.not_connected().await, EndReason::LineBusy);
    assert_eq!(
        bob.events
            .count(|e| matches!(e, Event::CallReceived { .. })),
        1,
        "bob never hears alice's call"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_cancel_stops_the_ringing() {
    let s = TestServer::start().await;
    let alice = Phone::login(&s.url(), "alice").await;
    let bob = Phone::login(&s.url(), "bob").await;
    alice.call(&["bob"]).await;
    bob.ringing().await;
    alice.engine.hangup().await.unwrap();
    assert_eq!(bob.not_connected().await, EndReason::Canceled);
    let err = bob.engine.accept().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::RequestRefused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_call_with_reject_invite_timeout_and_join() {
    let s = TestServer::start().await;
    let alice = Phone::login(&s.url(), "alice").await;
    let bob = Phone::login(&s.url(), "bob").await;
    let carol = Phone::login(&s.url(), "carol").await;
    let dave = Phone::login(&s.url(), "dave").await;
    let erin = Phone::login(&s.url(), "erin").await;
    let params = CallParams {
        timeout_s: 10,
        ..Default::default()
    };
    let call_id = alice
        .engine
        .calls(
            vec!["bob".into(), "carol".into(), "dave".into()],
            video(),
            params,
        )
        .await
        .unwrap();
    for p in [&bob, &carol, &dave] {
        let r = p
            .wait("onCallReceived", |e| {
                matches!(e, Event::CallReceived { .. })
            })
            .await;
        assert!(
            matches!(r, Event::CallReceived { is_group: true, .. }),
            "{r:?}"
        );
    }
    bob.engine.accept().await.unwrap();
    carol.engine.reject().await.unwrap();
    alice
        .wait(
            "onUserReject carol",
            |e| matches!(e, Event::UserReject { user_id, .. } if user_id == "carol"),
        )
        .await;
    bob.wait("onCallBegin", |e| matches!(e, Event::CallBegin { .. }))
        .await;
    bob.engine
        .invite_user(vec!["erin".into()], 0)
        .await
        .unwrap();
    erin.ringing().await;
    erin.engine.accept().await.unwrap();
    for p in [&alice, &bob] {
        p.wait(
            "onUserJoin erin",
            |e| matches!(e, Event::UserJoin { user_id, .. } if user_id == "erin"),
        )
        .await;
    }
    alice
        .wait(
            "onUserNoResponse dave",
            |e| matches!(e, Event::UserNoResponse { user_id, .. } if user_id == "dave"),
        )
        .await;
    dave.wait("dave's onCallNotConnected", |e| {
        matches!(e, Event::CallNotConnected { .. })
    })
    .await;
    dave.engine.join(call_id.clone()).await.unwrap();
    dave.wait("onCallBegin", |e| matches!(e, Event::CallBegin { .. }))
        .await;
    for p in [&alice, &bob, &erin] {
        p.wait(
            "onUserJoin dave",
            |e| matches!(e, Event::UserJoin { user_id, .. } if user_id == "dave"),
        )
        .await;
    }
    bob.engine.hangup().await.unwrap();
    for p in [&alice, &erin, &dave] {
        p.wait(
            "onUserLeave bob",
            |e| matches!(e, Event::UserLeave { user_id, .. } if user_id == "bob"),
        )
        .await;
    }
    assert_eq!(
        alice.events.count(|e| matches!(e, Event::CallEnd { .. })),
        0,
        "three people are still in the call"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_video_to_audio_reaches_both_sides() {
    let s = TestServer::start().await;
    let alice = Phone::login(&s.url(), "alice").await;
    let bob = Phone::login(&s.url(), "bob").await;
    alice.call(&["bob"]).await;
    bob.ringing().await;
    bob.engine.accept().await.unwrap();
    alice
        .wait("onCallBegin", |e| matches!(e, Event::CallBegin { .. }))
        .await;
    assert_eq!(
        alice
            .engine
            .switch_call_media_type(MediaType::Video)
            .await
            .unwrap_err()
            .code,
        ErrorCode::ParamInvalid
    );
    alice
        .engine
        .switch_call_media_type(MediaType::Audio)
        .await
        .unwrap();
    let changed = bob
        .wait("onCallMediaTypeChanged", |e| {
            matches!(e, Event::CallMediaTypeChanged { .. })
        })
        .await;
    assert!(
        matches!(
            changed,
            Event::CallMediaTypeChanged {
                old: MediaType::Video,
                new: MediaType::Audio,
                ..
            }
        ),
        "{changed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_callee_gets_the_invitation_at_login() {
    let s = TestServer::start().await;
    let alice = Phone::login(&s.url(), "alice").await;
    let call_id = alice.call(&["bob"]).await;
    let bob = Phone::login(&s.url(), "bob").await;
    let r = bob
        .wait("onCallReceived", |e| {
            matches!(e, Event::CallReceived { .. })
        })
        .await;
    assert!(
        matches!(&r, Event::CallReceived { call_id: c, .. } if *c == call_id),
        "{r:?}"
    );
    bob.engine.accept().await.unwrap();
    alice
        .wait("onCallBegin", |e| matches!(e, Event::CallBegin { .. }))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_login_kicks_the_first() {
    let s = TestServer::start().await;
    let first = Phone::login(&s.url(), "bob").await;
    let _second = Phone::login(&s.url(), "bob").await;
    first
        .wait("onKickedOffline", |e| matches!(e, Event::KickedOffline))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_device_every_device_rings_and_the_first_answer_wins() {
    let s = TestServer::start().await;
    let alice = Phone::login(&s.url(), "alice").await;
    let phone = Phone::login_with(&s.url(), "bob", true).await;
    let tablet = Phone::login_with(&s.url(), "bob", true).await;
    alice.call(&["bob"]).await;
    phone
        .wait("ring", |e| matches!(e, Event::CallReceived { .. }))
        .await;
    tablet
        .wait("ring", |e| matches!(e, Event::CallReceived { .. }))
        .await;
    phone.engine.accept().await.unwrap();
    let nc = tablet
        .wait("other device accepted", |e| {
            matches!(e, Event::CallNotConnected { .. })
        })
        .await;
    assert!(
        matches!(
            nc,
            Event::CallNotConnected {
                reason: EndReason::OtherDeviceAccepted,
                ..
            }
        ),
        "{nc:?}"
    );
    phone.engine.hangup().await.unwrap();
    alice
        .wait("onCallEnd", |e| matches!(e, Event::CallEnd { .. }))
        .await;

    alice.call(&["bob"]).await;
    for device in [&phone, &tablet] {
        let ring = |e: &Event| matches!(e, Event::CallReceived { .. });
        let (first, _) = device.events.wait_from(0, "first ring", ring);
        device.events.wait_from(first + 1, "second ring", ring);
    }
    tablet.engine.reject().await.unwrap();
    let nc = phone
        .wait("other device rejected", |e| {
            matches!(
                e,
                Event::CallNotConnected {
                    reason: EndReason::OtherDeviceReject,
                    ..
                }
            )
        })
        .await;
    assert!(matches!(nc, Event::CallNotConnected { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glare_one_call_wins_and_the_other_caller_rings() {
    let s = TestServer::start().await;
    let alice = Phone::login(&s.url(), "alice").await;
    let bob = Phone::login(&s.url(), "bob").await;
    let (a, b) = tokio::join!(
        alice
            .engine
            .calls(vec!["bob".into()], video(), CallParams::default()),
        bob.engine
            .calls(vec!["alice".into()], video(), CallParams::default()),
    );
    assert!(
        a.is_ok() != b.is_ok(),
        "exactly one call goes through: {a:?} {b:?}"
    );
    let (winner, loser, err) = match (a, b) {
        (Ok(_), Err(e)) => (&alice, &bob, e),
        (Err(e), _) => (&bob, &alice, e),
        (Ok(_), Ok(_)) => unreachable!("checked above"),
    };
    assert_eq!(err.code, ErrorCode::RequestRefused);
    loser
        .wait("the winner's call rings", |e| {
            matches!(e, Event::CallReceived { .. })
        })
        .await;
    loser.engine.accept().await.unwrap();
    winner
        .wait("onCallBegin", |e| matches!(e, Event::CallBegin { .. }))
        .await;
}

/// Retry a request that fails with TIMEOUT while the engine is still
/// reconnecting (it may not have seen the old connection close yet), for up
/// to 30 s; any other error fails the test.
async fn until_reconnected<F, Fut>(what: &str, request: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), hotline_engine::CallError>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        match request().await {
            Ok(()) => return,
            Err(e) if e.code == ErrorCode::Timeout && std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_survive_a_server_restart() {
    let mut s = TestServer::start().await;
    let alice = Phone::login(&s.url(), "alice").await;
    let bob = Phone::login(&s.url(), "bob").await;
    alice.call(&["bob"]).await;
    bob.ringing().await;
    s.restart().await;
    // The engines reconnect by themselves; the call is still ringing.
    until_reconnected("accept after restart", || bob.engine.accept()).await;
    alice
        .wait("onCallBegin", |e| matches!(e, Event::CallBegin { .. }))
        .await;
    assert_eq!(
        bob.events
            .count(|e| matches!(e, Event::CallReceived { .. })),
        1,
        "no second ring after reconnecting"
    );
    s.restart().await;
    until_reconnected("hangup after restart", || alice.engine.hangup()).await;
    bob.wait("onCallEnd after a second restart", |e| {
        matches!(
            e,
            Event::CallEnd {
                reason: EndReason::Hangup,
                ..
            }
        )
    })
    .await;
}

/// Wait (up to 30 s) until the server has counted `n` logins.
async fn wait_logins(s: &TestServer, n: u64) {
    let metrics = s.handle.as_ref().expect("running").metrics.clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let seen = metrics
            .logins_total
            .load(std::sync::atomic::Ordering::Relaxed);
        if seen >= n {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{n} logins expected, the server saw {seen}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_change_reconnects_signaling_and_the_call_goes_on() {
    let s = TestServer::start().await;
    let alice = Phone::login(&s.url(), "alice").await;
    let bob = Phone::login(&s.url(), "bob").await;
    wait_logins(&s, 2).await;
    alice.call(&["bob"]).await;
    bob.ringing().await;
    bob.engine.accept().await.unwrap();
    alice
        .wait("onCallBegin", |e| matches!(e, Event::CallBegin { .. }))
        .await;

    alice.engine.notify_network_changed();
    // A new login on a new connection, without waiting for the old one to
    // time out (nothing is wrong with it, so only the notice can cause it).
    wait_logins(&s, 3).await;
    until_reconnected("hangup after the network change", || alice.engine.hangup()).await;
    bob.wait("onCallEnd from alice's hangup", |e| {
        matches!(
            e,
            Event::CallEnd {
                reason: EndReason::Hangup,
                ..
            }
        )
    })
    .await;
    alice
        .wait("alice's own onCallEnd", |e| {
            matches!(e, Event::CallEnd { .. })
        })
        .await;
    for (who, phone) in [("alice", &alice), ("bob", &bob)] {
        assert_eq!(
            phone.events.count(|e| matches!(e, Event::CallEnd { .. })),
            1,
            "{who}: the call ended once, by the hangup"
        );
    }
    assert_eq!(
        bob.events
            .count(|e| matches!(e, Event::CallReceived { .. })),
        1,
        "no second ring after alice reconnected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_change_before_init_does_nothing() {
    let engine = hotline_engine::CallEngine::new();
    engine.notify_network_changed();
    assert_eq!(engine.call_stats().await.map(|_| ()), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_tuicallengine_codes() {
    let s = TestServer::start().await;
    let alice = Phone::login(&s.url(), "alice").await;
    assert_eq!(
        alice.engine.accept().await.unwrap_err().code,
        ErrorCode::RequestRefused
    );
    let bad = alice
        .engine
        .calls(vec!["not valid!".into()], video(), CallParams::default())
        .await
        .unwrap_err();
    assert_eq!(bad.code, ErrorCode::ParamInvalid);
    let params = CallParams {
        timeout_s: 5,
        ..Default::default()
    };
    assert_eq!(
        alice
            .engine
            .calls(vec!["bob".into()], video(), params)
            .await
            .unwrap_err()
            .code,
        ErrorCode::ParamInvalid
    );
    let too_many: Vec<String> = (0..9).map(|i| format!("u{i}")).collect();
    assert_eq!(
        alice
            .engine
            .calls(too_many, video(), CallParams::default())
            .await
            .unwrap_err()
            .code,
        ErrorCode::ParamInvalid
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_usersig_fails_init_and_says_so() {
    let s = TestServer::start().await;
    let engine = hotline_engine::CallEngine::new();
    let rec = std::sync::Arc::new(Recorder::default());
    engine.add_observer(rec.clone());
    let old = hotline_proto::usersig::generate(APP, KEY, "alice", 10, now_s() - 3600);
    let config = hotline_engine::EngineConfig {
        server_url: s.url(),
        sdk_app_id: APP,
        user_id: "alice".into(),
        user_sig: old,
        trusted_ca_pem: None,
    };
    let err = engine.init(config).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::UserSigExpired);
    tokio::task::spawn_blocking(move || {
        rec.wait("onUserSigExpired", |e| matches!(e, Event::UserSigExpired))
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_info_observers_and_un_init() {
    let s = TestServer::start().await;
    let alice = Phone::login(&s.url(), "alice").await;
    let bob = Phone::login(&s.url(), "bob").await;
    alice
        .engine
        .set_self_info("Alice".into(), "https://example.com/a.png".into())
        .await
        .unwrap();
    let long = alice
        .engine
        .set_self_info("x".repeat(65), String::new())
        .await
        .unwrap_err();
    assert_eq!(long.code, ErrorCode::ParamInvalid);

    // A removed observer hears nothing more; the others still do.
    let extra = std::sync::Arc::new(Recorder::default());
    let id = bob.engine.add_observer(extra.clone());
    bob.engine.remove_observer(id);
    alice.call(&["bob"]).await;
    bob.ringing().await;
    assert!(extra.all().is_empty(), "{:?}", extra.all());

    bob.engine.un_init().await;
    assert_eq!(
        bob.engine.accept().await.unwrap_err().code,
        ErrorCode::NotLoggedIn
    );
    // The invitation waits for him on the server: after a new init it rings again and can be answered.
    let config = hotline_engine::EngineConfig {
        server_url: s.url(),
        sdk_app_id: APP,
        user_id: "bob".into(),
        user_sig: sig("bob"),
        trusted_ca_pem: None,
    };
    bob.engine.init(config).await.unwrap();
    bob.engine.accept().await.unwrap();
    alice
        .wait("onCallBegin", |e| matches!(e, Event::CallBegin { .. }))
        .await;
}
