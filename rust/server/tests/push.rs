//! Offline push against local providers that speak APNs' and FCM's real
//! protocols over HTTP/2 and TLS (`hotline-pushfake`): who is pushed, what
//! the push says, cancels, dead tokens, retries and deadlines.

mod common;

use std::time::Duration;

use common::*;
use hotline_proto::push::{CancelReason, PushEnvironment, PushKind, PushPayload, PushProvider};
use hotline_proto::{ClientMsg, ErrorCode, ServerMsg};
use hotline_pushfake::{Answer, ApnsRequest, FakeProviders};

const TOPIC: &str = "io.hotline.demo";
/// A VoIP token's shape: 64 hex digits.
const BOB_IPHONE: &str = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";
const BOB_PIXEL: &str = "bob-pixel:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx";
/// Time for a push that should come.
const SOON: Duration = Duration::from_secs(5);

/// A configuration whose push providers are the fakes, with its database
/// and credential files in `dir`.
fn push_config(fakes: &FakeProviders, dir: &std::path::Path) -> hotline_server::ServerConfig {
    let key = dir.join("AuthKey.p8");
    let account = dir.join("service-account.json");
    let ca = dir.join("ca.pem");
    std::fs::write(&key, fakes.apns_key_pem()).unwrap();
    std::fs::write(&account, fakes.service_account_json()).unwrap();
    std::fs::write(&ca, fakes.ca_pem()).unwrap();
    let mut c = config(dir);
    c.apns_key_file = Some(key);
    c.apns_key_id = Some(FakeProviders::APNS_KEY_ID.into());
    c.apns_team_id = Some(FakeProviders::APNS_TEAM_ID.into());
    c.apns_topic = Some(TOPIC.into());
    c.apns_url = Some(fakes.apns_url());
    c.fcm_service_account = Some(account);
    c.fcm_url = Some(fakes.fcm_url());
    c.push_ca_file = Some(ca);
    c
}

/// A server whose push providers are the fakes.
async fn push_server(fakes: &FakeProviders) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let handle = hotline_server::start(push_config(fakes, dir.path()))
        .await
        .expect("server starts");
    TestServer { handle, dir }
}

fn register(provider: PushProvider, token: &str) -> ClientMsg {
    let app = match provider {
        PushProvider::Fcm => FakeProviders::FCM_PROJECT,
        _ => TOPIC,
    };
    ClientMsg::RegisterPush {
        provider,
        token: token.into(),
        app: app.into(),
        environment: PushEnvironment::Sandbox,
    }
}

/// Log `user` in on `device`, register a token, and go away (a locked phone).
async fn register_and_leave(
    url: &str,
    user: &str,
    device: &str,
    provider: PushProvider,
    token: &str,
) {
    let mut c = Client::connect(url).await;
    let r = c.request(login_msg(user, &sig(user), device)).await;
    assert_eq!(code(&r), 0, "{r:?}");
    let r = c.request(register(provider, token)).await;
    assert_eq!(code(&r), 0, "{r:?}");
    drop(c);
}

fn placed(r: ServerMsg) -> hotline_proto::CallInfo {
    match r {
        ServerMsg::Response {
            code: 0,
            call: Some(call),
            ..
        } => call,
        other => panic!("call not placed: {other:?}"),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn payload_of_apns(r: &ApnsRequest) -> PushPayload {
    PushPayload::parse(&r.body.to_string()).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

/// A closed connection reaches the hub a moment later; wait (bounded) until
/// nobody is logged in, so that a call finds the callees offline.
async fn until_nobody_online(s: &TestServer) {
    for _ in 0..500 {
        if http_get(&s.http("/metrics"))
            .await
            .contains("hotline_users_online 0\n")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "users still online: {}",
        http_get(&s.http("/metrics"))
            .await
            .lines()
            .filter(
                |l| l.starts_with("hotline_users_online") || l.starts_with("hotline_connections")
            )
            .collect::<Vec<_>>()
            .join(", ")
    );
}

#[tokio::test]
async fn an_offline_callee_gets_a_voip_push_then_logs_in_rings_and_answers() {
    let fakes = FakeProviders::start().await.unwrap();
    let s = push_server(&fakes).await;
    register_and_leave(
        &s.url(),
        "bob",
        "iphone",
        PushProvider::ApnsVoip,
        BOB_IPHONE,
    )
    .await;
    until_nobody_online(&s).await;
    let mut alice = Client::login(&s.url(), "alice").await;
    let r = alice
        .request(ClientMsg::SetSelfInfo {
            nickname: "Alice A.".into(),
            avatar_url: "https://a.example/alice.png".into(),
        })
        .await;
    assert_eq!(code(&r), 0);
    let mut call = call_msg(&["bob"]);
    if let ClientMsg::Call { offline_push, .. } = &mut call {
        *offline_push = Some(hotline_proto::OfflinePushInfo {
            title: "Alice".into(),
            desc: "is calling you".into(),
            ext: "{\"room\":7}".into(),
        });
    }
    let call = placed(alice.request(call).await);

    let pushes = fakes.wait_for_apns(1, SOON).await;
    assert_eq!(pushes.len(), 1, "{pushes:?}");
    let p = &pushes[0];
    let deadline_ms = call.participant("bob").unwrap().deadline_ms.unwrap();
    assert!(p.jwt_ok && p.http2 && p.status == 200, "{p:?}");
    assert_eq!(p.device_token, BOB_IPHONE);
    assert_eq!(p.header("apns-push-type"), Some("voip"));
    assert_eq!(p.header("apns-topic"), Some("io.hotline.demo.voip"));
    assert_eq!(p.header("apns-priority"), Some("10"));
    assert_eq!(
        p.header("apns-expiration"),
        Some((deadline_ms / 1000).to_string().as_str())
    );
    assert_eq!(p.header("apns-collapse-id"), Some(call.call_id.as_str()));
    let payload = payload_of_apns(p);
    assert_eq!(
        (payload.call_id.as_str(), payload.deadline_ms),
        (call.call_id.as_str(), deadline_ms)
    );
    let PushKind::Call {
        caller_id,
        caller_nickname,
        caller_avatar,
        media_type,
        is_group,
        invitees,
        server_url,
        title,
        desc,
        ext,
    } = payload.kind
    else {
        panic!("not a ring: {payload:?}")
    };
    assert_eq!(
        (caller_id.as_str(), caller_nickname.as_str()),
        ("alice", "Alice A.")
    );
    assert_eq!(caller_avatar, "https://a.example/alice.png");
    assert_eq!(
        (media_type, is_group, invitees.len()),
        (hotline_proto::MediaType::Video, false, 0)
    );
    assert_eq!(server_url, s.url());
    assert_eq!(
        (title.as_str(), desc.as_str(), ext.as_str()),
        ("Alice", "is calling you", "{\"room\":7}")
    );
    let text = p.body.to_string();
    assert!(
        !text.contains("TLS.") && !text.contains(KEY),
        "no UserSig or secret in a push: {text}"
    );

    // Woken by the push, bob's phone logs in, finds the call ringing, answers.
    let mut bob = Client::connect(&s.url()).await;
    let login = match bob.request(login_msg("bob", &sig("bob"), "iphone")).await {
        ServerMsg::Response {
            code: 0,
            login: Some(l),
            ..
        } => l,
        other => panic!("{other:?}"),
    };
    assert!(
        login.calls.iter().any(|c| c.call_id == call.call_id),
        "{login:?}"
    );
    let r = bob
        .request(ClientMsg::Accept {
            call_id: call.call_id.clone(),
        })
        .await;
    assert_eq!(code(&r), 0, "{r:?}");
    assert_eq!(
        fakes.apns_requests().len(),
        1,
        "answered by the phone that was pushed: no cancel"
    );
}

#[tokio::test]
async fn fcm_gets_a_high_priority_data_message_and_a_cancel_when_the_caller_hangs_up() {
    let fakes = FakeProviders::start().await.unwrap();
    let s = push_server(&fakes).await;
    register_and_leave(&s.url(), "bob", "pixel", PushProvider::Fcm, BOB_PIXEL).await;
    until_nobody_online(&s).await;
    let mut alice = Client::login(&s.url(), "alice").await;
    let call = placed(alice.request(call_msg(&["bob"])).await);
    let ring = fakes.wait_for_fcm(1, SOON).await;
    assert_eq!(ring.len(), 1);
    let r = &ring[0];
    assert!(r.access_token_ok && r.http2 && r.status == 200, "{r:?}");
    assert_eq!(r.project, FakeProviders::FCM_PROJECT);
    assert_eq!(r.registration_token(), Some(BOB_PIXEL));
    assert_eq!(
        r.body
            .pointer("/message/android/priority")
            .and_then(|v| v.as_str()),
        Some("HIGH")
    );
    let ttl: u64 = r
        .body
        .pointer("/message/android/ttl")
        .and_then(|v| v.as_str())
        .unwrap()
        .trim_end_matches('s')
        .parse()
        .unwrap();
    assert!((25..=30).contains(&ttl), "the ring time left: {ttl}");
    let data = serde_json::Value::Object(r.data().unwrap().clone()).to_string();
    let payload = PushPayload::parse(&data).unwrap();
    assert_eq!(payload.call_id, call.call_id);
    assert!(matches!(payload.kind, PushKind::Call { .. }));

    let r = alice
        .request(ClientMsg::Hangup {
            call_id: call.call_id.clone(),
        })
        .await;
    assert_eq!(code(&r), 0);
    let both = fakes.wait_for_fcm(2, SOON).await;
    assert_eq!(both.len(), 2);
    let data = serde_json::Value::Object(both[1].data().unwrap().clone()).to_string();
    let cancel = PushPayload::parse(&data).unwrap();
    assert_eq!(cancel.call_id, call.call_id);
    assert_eq!(
        cancel.kind,
        PushKind::Cancel {
            reason: CancelReason::Canceled
        }
    );
}

#[tokio::test]
async fn a_group_pushes_each_offline_invitee_and_a_timeout_cancels() {
    let fakes = FakeProviders::start().await.unwrap();
    let s = push_server(&fakes).await;
    let tokens = ["c".repeat(64), "d".repeat(64), "e".repeat(64)];
    for (user, token) in ["carol", "dave", "erin"].iter().zip(&tokens) {
        register_and_leave(&s.url(), user, "phone", PushProvider::ApnsVoip, token).await;
    }
    until_nobody_online(&s).await;
    let mut alice = Client::login(&s.url(), "alice").await;
    let mut call = call_msg(&["carol", "dave", "erin"]);
    if let ClientMsg::Call { timeout_s, .. } = &mut call {
        *timeout_s = 10;
    }
    let call = placed(alice.request(call).await);
    let rings = fakes.wait_for_apns(3, SOON).await;
    let mut pushed: Vec<&str> = rings.iter().map(|r| r.device_token.as_str()).collect();
    pushed.sort();
    assert_eq!(
        pushed,
        tokens.iter().map(String::as_str).collect::<Vec<_>>()
    );
    for r in &rings {
        let PushKind::Call {
            invitees, is_group, ..
        } = payload_of_apns(r).kind
        else {
            panic!()
        };
        assert!(is_group);
        assert_eq!(invitees.len(), 2, "the two others: {invitees:?}");
    }
    // Nobody answers: at the deadline each phone is told to stop.
    let all = fakes.wait_for_apns(6, Duration::from_secs(20)).await;
    assert_eq!(all.len(), 6, "{all:?}");
    for r in &all[3..] {
        let p = payload_of_apns(r);
        assert_eq!(
            (p.call_id.as_str(), p.kind.clone()),
            (
                call.call_id.as_str(),
                PushKind::Cancel {
                    reason: CancelReason::NoResponse
                }
            )
        );
        assert_eq!(
            r.header("apns-push-type"),
            Some("voip"),
            "a VoIP token takes only VoIP pushes"
        );
    }
}

#[tokio::test]
async fn with_multi_device_only_the_device_without_a_connection_is_pushed() {
    let fakes = FakeProviders::start().await.unwrap();
    let s = push_server(&fakes).await;
    register_and_leave(
        &s.url(),
        "bob",
        "iphone",
        PushProvider::ApnsVoip,
        BOB_IPHONE,
    )
    .await;
    // Bob's tablet is online with multi-device ringing.
    let mut tablet = Client::connect(&s.url()).await;
    let mut login = login_msg("bob", &sig("bob"), "tablet");
    if let ClientMsg::Login { multi_device, .. } = &mut login {
        *multi_device = true;
    }
    assert_eq!(code(&tablet.request(login).await), 0);
    let r = tablet
        .request(register(PushProvider::ApnsVoip, &"7".repeat(64)))
        .await;
    assert_eq!(code(&r), 0);
    let mut alice = Client::login(&s.url(), "alice").await;
    let call = placed(alice.request(call_msg(&["bob"])).await);
    let pushes = fakes.wait_for_apns(1, SOON).await;
    assert_eq!(
        pushes
            .iter()
            .map(|p| p.device_token.as_str())
            .collect::<Vec<_>>(),
        [BOB_IPHONE]
    );
    // The tablet answers: the iPhone is told it was answered elsewhere.
    let r = tablet
        .request(ClientMsg::Accept {
            call_id: call.call_id.clone(),
        })
        .await;
    assert_eq!(code(&r), 0);
    let pushes = fakes.wait_for_apns(2, SOON).await;
    assert_eq!(pushes.len(), 2);
    assert_eq!(pushes[1].device_token, BOB_IPHONE);
    assert_eq!(
        payload_of_apns(&pushes[1]).kind,
        PushKind::Cancel {
            reason: CancelReason::AnsweredElsewhere
        }
    );

    // A device logged in without multi-device rings over its connection; no push at all.
    let mut carol_phone = Client::login(&s.url(), "carol").await;
    let r = carol_phone
        .request(register(PushProvider::ApnsVoip, &"c".repeat(64)))
        .await;
    assert_eq!(code(&r), 0);
    let mut dave = Client::login(&s.url(), "dave").await;
    placed(dave.request(call_msg(&["carol"])).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        fakes.apns_requests().len(),
        2,
        "carol is online: nothing pushed"
    );
}

#[tokio::test]
async fn a_dead_token_is_deleted_and_never_pushed_again() {
    let fakes = FakeProviders::start().await.unwrap();
    let s = push_server(&fakes).await;
    register_and_leave(
        &s.url(),
        "bob",
        "iphone",
        PushProvider::ApnsVoip,
        BOB_IPHONE,
    )
    .await;
    until_nobody_online(&s).await;
    fakes.answer_apns(BOB_IPHONE, vec![Answer::status(410, "Unregistered")]);
    let mut alice = Client::login(&s.url(), "alice").await;
    let call = placed(alice.request(call_msg(&["bob"])).await);
    assert_eq!(fakes.wait_for_apns(1, SOON).await.len(), 1);
    assert_eq!(
        code(
            &alice
                .request(ClientMsg::Hangup {
                    call_id: call.call_id
                })
                .await
        ),
        0
    );
    // Deleted: neither the cancel nor a second call pushes it again.
    placed(alice.request(call_msg(&["bob"])).await);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        fakes.apns_requests().len(),
        1,
        "{:?}",
        fakes.apns_requests()
    );
    let metrics = http_get(&s.http("/metrics")).await;
    assert!(
        metrics.contains("hotline_push_tokens_deleted_total 1"),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("hotline_push_failed_total{provider=\"apns_voip\",reason=\"dead_token\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn throttling_is_retried_and_an_expired_provider_token_is_replaced() {
    let fakes = FakeProviders::start().await.unwrap();
    let s = push_server(&fakes).await;
    register_and_leave(
        &s.url(),
        "bob",
        "iphone",
        PushProvider::ApnsVoip,
        BOB_IPHONE,
    )
    .await;
    register_and_leave(&s.url(), "carol", "pixel", PushProvider::Fcm, BOB_PIXEL).await;
    until_nobody_online(&s).await;
    fakes.answer_apns(
        BOB_IPHONE,
        vec![Answer::retry_after(429, "TooManyRequests", 1)],
    );
    fakes.answer_fcm(BOB_PIXEL, vec![Answer::status(503, "UNAVAILABLE")]);
    let mut alice = Client::login(&s.url(), "alice").await;
    let call = placed(alice.request(call_msg(&["bob", "carol"])).await);
    let apns = fakes.wait_for_apns(2, SOON).await;
    assert_eq!(
        apns.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 200]
    );
    assert!(
        apns[1].received_at - apns[0].received_at >= Duration::from_millis(900),
        "Retry-After was honoured"
    );
    let fcm = fakes.wait_for_fcm(2, SOON).await;
    assert_eq!(fcm.iter().map(|r| r.status).collect::<Vec<_>>(), [503, 200]);

    // Apple says the provider token expired: a new one is signed and used.
    fakes.expire_apns_provider_token();
    assert_eq!(
        code(
            &alice
                .request(ClientMsg::Hangup {
                    call_id: call.call_id
                })
                .await
        ),
        0
    );
    let apns = fakes.wait_for_apns(4, SOON).await;
    let statuses: Vec<u16> = apns.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 200, 403, 200], "{apns:?}");
    assert!(apns[3].jwt_ok);
    assert_ne!(
        apns[2].header("authorization"),
        apns[3].header("authorization")
    );
}

/// A ring waiting to be retried when its invitation is cancelled is given
/// up: it would otherwise reach the phone after the cancel.
#[tokio::test]
async fn a_ring_still_being_retried_is_dropped_when_its_cancel_comes() {
    let fakes = FakeProviders::start().await.unwrap();
    let s = push_server(&fakes).await;
    register_and_leave(
        &s.url(),
        "bob",
        "iphone",
        PushProvider::ApnsVoip,
        BOB_IPHONE,
    )
    .await;
    until_nobody_online(&s).await;
    fakes.answer_apns(
        BOB_IPHONE,
        vec![Answer::retry_after(503, "ServiceUnavailable", 3)],
    );
    let mut alice = Client::login(&s.url(), "alice").await;
    let call = placed(alice.request(call_msg(&["bob"])).await);
    assert_eq!(fakes.wait_for_apns(1, SOON).await.len(), 1);
    assert_eq!(
        code(
            &alice
                .request(ClientMsg::Hangup {
                    call_id: call.call_id
                })
                .await
        ),
        0
    );
    let pushes = fakes.wait_for_apns(2, SOON).await;
    assert_eq!(
        payload_of_apns(&pushes[1]).kind,
        PushKind::Cancel {
            reason: CancelReason::Canceled
        }
    );
    // Past the ring's Retry-After: it did not go out again.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        fakes.apns_requests().len(),
        2,
        "{:?}",
        fakes.apns_requests()
    );
    let metrics = http_get(&s.http("/metrics")).await;
    assert!(
        metrics
            .contains("hotline_push_failed_total{provider=\"apns_voip\",reason=\"cancelled\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_provider_that_stays_down_is_given_up_at_the_deadline() {
    let fakes = FakeProviders::start().await.unwrap();
    let s = push_server(&fakes).await;
    register_and_leave(
        &s.url(),
        "bob",
        "iphone",
        PushProvider::ApnsVoip,
        BOB_IPHONE,
    )
    .await;
    until_nobody_online(&s).await;
    fakes.answer_apns(
        BOB_IPHONE,
        vec![Answer::status(503, "ServiceUnavailable"); 1000],
    );
    let mut alice = Client::login(&s.url(), "alice").await;
    let mut call = call_msg(&["bob"]);
    if let ClientMsg::Call { timeout_s, .. } = &mut call {
        *timeout_s = 10;
    }
    let call = placed(alice.request(call).await);
    let left_ms = call.participant("bob").unwrap().deadline_ms.unwrap() - now_ms();
    let deadline = std::time::Instant::now() + Duration::from_millis(left_ms.max(0) as u64);
    // Past the deadline and then some.
    tokio::time::sleep_until((deadline + Duration::from_secs(2)).into()).await;
    let rings = |all: Vec<ApnsRequest>| -> Vec<ApnsRequest> {
        all.into_iter()
            .filter(|r| matches!(payload_of_apns(r).kind, PushKind::Call { .. }))
            .collect()
    };
    let tried = rings(fakes.apns_requests());
    assert!(tried.len() >= 3, "retried meanwhile: {}", tried.len());
    // A request sent just before the deadline arrives a moment after it.
    let late = Duration::from_millis(200);
    assert!(
        tried.iter().all(|r| r.received_at <= deadline + late),
        "a ring push went out after the deadline"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        rings(fakes.apns_requests()).len(),
        tried.len(),
        "no ring push after the deadline"
    );
    let metrics = http_get(&s.http("/metrics")).await;
    assert!(
        metrics.contains("hotline_push_failed_total{provider=\"apns_voip\",reason=\"deadline\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_restart_with_a_pending_invitation_does_not_push_it_again() {
    let fakes = FakeProviders::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = push_config(&fakes, dir.path());
    let s = hotline_server::start(config.clone()).await.unwrap();
    let s = TestServer {
        handle: s,
        dir: tempfile::tempdir().unwrap(),
    };
    register_and_leave(
        &s.url(),
        "bob",
        "iphone",
        PushProvider::ApnsVoip,
        BOB_IPHONE,
    )
    .await;
    until_nobody_online(&s).await;
    let mut alice = Client::login(&s.url(), "alice").await;
    let call = placed(alice.request(call_msg(&["bob"])).await);
    assert_eq!(fakes.wait_for_apns(1, SOON).await.len(), 1);
    drop(alice);
    // The same database, a new server: the invitation still rings.
    s.handle.shutdown().await;
    let s = TestServer {
        handle: hotline_server::start(config).await.unwrap(),
        dir: s.dir,
    };
    let mut alice = Client::login(&s.url(), "alice").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        fakes.apns_requests().len(),
        1,
        "not pushed again after the restart"
    );
    // Its cancel still reaches the phone.
    assert_eq!(
        code(
            &alice
                .request(ClientMsg::Hangup {
                    call_id: call.call_id
                })
                .await
        ),
        0
    );
    let pushes = fakes.wait_for_apns(2, SOON).await;
    assert_eq!(
        payload_of_apns(&pushes[1]).kind,
        PushKind::Cancel {
            reason: CancelReason::Canceled
        }
    );
}

#[tokio::test]
async fn bad_registrations_get_clear_errors_and_a_token_moves_to_its_new_user() {
    let fakes = FakeProviders::start().await.unwrap();
    let s = push_server(&fakes).await;
    // Before login.
    let mut c = Client::connect(&s.url()).await;
    let r = c
        .request(register(PushProvider::ApnsVoip, BOB_IPHONE))
        .await;
    assert_eq!(code(&r), ErrorCode::NotLoggedIn.as_i32());
    let mut bob = Client::login(&s.url(), "bob").await;
    for (token, app) in [
        ("", TOPIC),
        (&"x".repeat(513)[..], TOPIC),
        ("has space", TOPIC),
        (BOB_IPHONE, ""),
        (BOB_IPHONE, "bad/app"),
    ] {
        let r = bob
            .request(ClientMsg::RegisterPush {
                provider: PushProvider::ApnsVoip,
                token: token.into(),
                app: app.into(),
                environment: PushEnvironment::Production,
            })
            .await;
        assert_eq!(
            code(&r),
            ErrorCode::ParamInvalid.as_i32(),
            "{token:?} {app:?}: {r:?}"
        );
    }
    bob.send_text(
        r#"{"seq":90,"type":"register_push","provider":"pigeon","token":"abc","app":"x"}"#,
    )
    .await;
    let r = bob.response(90).await;
    assert_eq!(code(&r), ErrorCode::MalformedMessage.as_i32(), "{r:?}");
    // The phone changes hands: carol registers bob's old token on it.
    assert_eq!(
        code(
            &bob.request(register(PushProvider::ApnsVoip, BOB_IPHONE))
                .await
        ),
        0
    );
    drop(bob);
    until_nobody_online(&s).await;
    register_and_leave(
        &s.url(),
        "carol",
        "iphone",
        PushProvider::ApnsVoip,
        BOB_IPHONE,
    )
    .await;
    until_nobody_online(&s).await;
    let mut alice = Client::login(&s.url(), "alice").await;
    placed(alice.request(call_msg(&["bob"])).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        fakes.apns_requests().is_empty(),
        "bob's old phone is carol's now"
    );
    drop(alice);
    // Unregistered: nothing more.
    let mut carol = Client::connect(&s.url()).await;
    assert_eq!(
        code(
            &carol
                .request(login_msg("carol", &sig("carol"), "iphone"))
                .await
        ),
        0
    );
    assert_eq!(code(&carol.request(ClientMsg::UnregisterPush).await), 0);
    drop(carol);
    until_nobody_online(&s).await;
    let mut dave = Client::login(&s.url(), "dave").await;
    placed(dave.request(call_msg(&["carol"])).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(fakes.apns_requests().is_empty());
}

#[tokio::test]
async fn a_flood_of_registrations_is_throttled_and_answered() {
    let fakes = FakeProviders::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = push_config(&fakes, dir.path());
    // One a second after a burst of five: fifteen at once cannot all pass,
    // however slowly they are sent.
    (config.rate_limit_per_s, config.rate_limit_burst) = (1, 5);
    let s = TestServer {
        handle: hotline_server::start(config).await.unwrap(),
        dir,
    };
    let mut flooder = Client::login(&s.url(), "flooder").await;
    let mut seqs = vec![];
    for i in 0..15 {
        seqs.push(
            flooder
                .send(register(PushProvider::ApnsVoip, &format!("{i:064x}")))
                .await,
        );
    }
    let mut limited = 0;
    for seq in seqs {
        match code(&flooder.response(seq).await) {
            0 => {}
            -1314 => limited += 1,
            other => panic!("seq {seq}: {other}"),
        }
    }
    assert!(limited >= 5, "{limited} of 15 registrations were throttled");
    still_serves(&s).await;
}

async fn still_serves(s: &TestServer) {
    let mut c = Client::login(&s.url(), "bystander").await;
    assert_eq!(code(&c.request(ClientMsg::Ping).await), 0);
}
