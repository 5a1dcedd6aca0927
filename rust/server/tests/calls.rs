//! Call control over the wire with hand-written clients: the server's side
//! of the story (engines are tested against it in the engine crate).

mod common;

use common::*;
use hotline_proto::{
    CallState, ClientMsg, EndReason, ErrorCode, ParticipantState, RecordFilter, ServerMsg,
};

async fn next_update(c: &mut Client) -> hotline_proto::CallInfo {
    loop {
        match c.recv().await {
            Some(ServerMsg::CallUpdate { call }) => return call,
            Some(_) => continue,
            None => panic!("closed while waiting for a call update"),
        }
    }
}

/// The user's call records, newest first (default filter).
async fn records(c: &mut Client) -> Vec<hotline_proto::CallRecord> {
    match c
        .request(ClientMsg::QueryRecords {
            filter: RecordFilter::default(),
        })
        .await
    {
        ServerMsg::Response {
            records: Some(records),
            ..
        } => records,
        other => panic!("no records: {other:?}"),
    }
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

#[tokio::test]
async fn one_to_one_accept_hangup_and_records() {
    let s = server().await;
    let mut alice = Client::login(&s.url(), "alice").await;
    let mut bob = Client::login(&s.url(), "bob").await;
    let call = placed(alice.request(call_msg(&["bob"])).await);
    assert_eq!(
        (call.state, call.version, call.timeout_s),
        (CallState::Ringing, 1, 30)
    );
    let invite = next_update(&mut bob).await;
    assert_eq!(invite.call_id, call.call_id);
    assert_eq!(
        invite.participant("bob").unwrap().state,
        ParticipantState::Ringing
    );

    let r = bob
        .request(ClientMsg::Accept {
            call_id: call.call_id.clone(),
        })
        .await;
    assert_eq!(code(&r), 0);
    let r = bob
        .request(ClientMsg::Accept {
            call_id: call.call_id.clone(),
        })
        .await;
    assert_eq!(code(&r), ErrorCode::RequestRepeated.as_i32());
    let first = next_update(&mut alice).await;
    assert_eq!(first.version, 1, "the caller hears the call it placed too");
    let active = next_update(&mut alice).await;
    assert_eq!((active.state, active.version), (CallState::Active, 2));

    assert_eq!(
        code(
            &alice
                .request(ClientMsg::Hangup {
                    call_id: call.call_id.clone()
                })
                .await
        ),
        0
    );
    let ended = loop {
        let c = next_update(&mut bob).await;
        if c.state == CallState::Ended {
            break c;
        }
    };
    assert_eq!(ended.end_reason, Some(EndReason::Hangup));
    assert_eq!(
        code(
            &bob.request(ClientMsg::Hangup {
                call_id: call.call_id.clone()
            })
            .await
        ),
        ErrorCode::ParamInvalid.as_i32()
    );

    let recs = records(&mut bob).await;
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].result, hotline_proto::CallResult::Incoming);
    let recs = records(&mut alice).await;
    assert_eq!(recs[0].result, hotline_proto::CallResult::Outgoing);
    // Deleting someone else's record does nothing; deleting one's own works.
    assert_eq!(
        code(
            &bob.request(ClientMsg::DeleteRecords {
                record_ids: vec![recs[0].record_id.clone()]
            })
            .await
        ),
        0
    );
    let still = records(&mut alice).await;
    assert_eq!(still.len(), 1);
    assert_eq!(
        code(
            &alice
                .request(ClientMsg::DeleteRecords {
                    record_ids: vec![recs[0].record_id.clone()]
                })
                .await
        ),
        0
    );
    let gone = records(&mut alice).await;
    assert!(gone.is_empty());
}

/// The end of a call reaches the other party before it is stored (ADR 0005);
/// a record query sent the moment it arrives must still find the call. (The
/// race is narrow here, since one database connection serves reads and the
/// writer; `writer::tests` checks the wait itself.)
#[tokio::test]
async fn the_other_party_finds_the_record_the_moment_it_sees_the_end() {
    // Alice sends 41 frames as fast as the server answers: room for them in
    // the rate limit's burst, so only the race under test can fail the test.
    let s = server_with(|c| c.rate_limit_burst = 100).await;
    let mut alice = Client::login(&s.url(), "alice").await;
    let mut bob = Client::login(&s.url(), "bob").await;
    // A race each round: repeat it so that losing it would show.
    for round in 1..=20 {
        let call = placed(alice.request(call_msg(&["bob"])).await);
        while next_update(&mut bob).await.state != CallState::Ringing {}
        // Alice cancels without waiting for her answer (which follows the commit).
        let cancel = alice
            .send(ClientMsg::Hangup {
                call_id: call.call_id.clone(),
            })
            .await;
        while next_update(&mut bob).await.state != CallState::Ended {}
        let recs = records(&mut bob).await;
        assert_eq!(recs.len(), round, "round {round}: {recs:?}");
        assert_eq!(recs[0].call_id, call.call_id, "newest first");
        assert_eq!(recs[0].result, hotline_proto::CallResult::Missed);
        assert_eq!(code(&alice.response(cancel).await), 0);
    }
}

#[tokio::test]
async fn glare_the_second_caller_is_refused_and_rings() {
    let s = server().await;
    let mut alice = Client::login(&s.url(), "alice").await;
    let mut bob = Client::login(&s.url(), "bob").await;
    let first = placed(alice.request(call_msg(&["bob"])).await);
    let r = bob.request(call_msg(&["alice"])).await;
    assert_eq!(code(&r), ErrorCode::RequestRefused.as_i32(), "{r:?}");
    let ringing = next_update(&mut bob).await;
    assert_eq!(ringing.call_id, first.call_id);
}

#[tokio::test]
async fn busy_callee_gives_line_busy_and_ends_a_one_to_one_call() {
    let s = server().await;
    let mut alice = Client::login(&s.url(), "alice").await;
    let _bob = Client::login(&s.url(), "bob").await;
    let mut carol = Client::login(&s.url(), "carol").await;
    placed(alice.request(call_msg(&["bob"])).await);
    let busy = placed(carol.request(call_msg(&["bob"])).await);
    assert_eq!(busy.state, CallState::Ended);
    assert_eq!(busy.end_reason, Some(EndReason::LineBusy));
    assert_eq!(
        busy.participant("bob").unwrap().reason,
        Some(EndReason::LineBusy)
    );
}

#[tokio::test]
async fn invitations_wait_for_offline_callees_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let start = || async { hotline_server::start(config(dir.path())).await.unwrap() };
    let server = start().await;
    let mut alice = Client::login(&server.ws_url(), "alice").await;
    let call = placed(alice.request(call_msg(&["bob", "carol"])).await);
    let deadline = call.participant("bob").unwrap().deadline_ms.unwrap();
    drop(alice);
    server.shutdown().await;

    let server = start().await;
    let mut bob = Client::connect(&server.ws_url()).await;
    let r = bob.request(login_msg("bob", &sig("bob"), "phone")).await;
    let ServerMsg::Response {
        code: 0,
        login: Some(login),
        ..
    } = r
    else {
        panic!("{r:?}")
    };
    assert_eq!(
        login.calls.len(),
        1,
        "the pending invitation is delivered at login"
    );
    let pending = &login.calls[0];
    assert_eq!(pending.call_id, call.call_id);
    assert_eq!(
        pending.participant("bob").unwrap().deadline_ms,
        Some(deadline),
        "the timeout resumes, not restarts"
    );
    assert_eq!(
        code(
            &bob.request(ClientMsg::Accept {
                call_id: call.call_id.clone()
            })
            .await
        ),
        0
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_user_can_place_at_most_the_configured_participants() {
    let s = server_with(|c| c.max_participants = 3).await;
    let mut alice = Client::login(&s.url(), "alice").await;
    let r = alice.request(call_msg(&["b", "c", "d"])).await;
    assert_eq!(code(&r), ErrorCode::ParamInvalid.as_i32());
    placed(alice.request(call_msg(&["b", "c"])).await);
}

#[tokio::test]
async fn second_login_kicks_the_first_unless_both_are_multi_device() {
    let s = server().await;
    let mut first = Client::login(&s.url(), "alice").await;
    let mut second = Client::connect(&s.url()).await;
    assert_eq!(
        code(
            &second
                .request(login_msg("alice", &sig("alice"), "dev-2"))
                .await
        ),
        0
    );
    let seen = first.until_closed().await;
    assert!(
        seen.iter()
            .any(|m| matches!(m, ServerMsg::KickedOffline { .. })),
        "{seen:?}"
    );
}

#[tokio::test]
async fn health_and_metrics_answer() {
    let s = server().await;
    let _alice = Client::login(&s.url(), "alice").await;
    let health = http_get(&s.http("/healthz")).await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let metrics = http_get(&s.http("/metrics")).await;
    assert!(metrics.contains("hotline_users_online 1"), "{metrics}");
    assert!(
        metrics.contains("hotline_calls{state=\"ringing\"} 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn records_filter_by_result_and_media_and_page_by_time() {
    let s = server().await;
    let mut alice = Client::login(&s.url(), "alice").await;
    let mut bob = Client::login(&s.url(), "bob").await;
    // An audio call bob rejects (missed for bob), then a video call bob answers.
    let mut audio = call_msg(&["bob"]);
    if let ClientMsg::Call { media_type, .. } = &mut audio {
        *media_type = hotline_proto::MediaType::Audio;
    }
    let first = placed(alice.request(audio).await);
    assert_eq!(
        code(
            &bob.request(ClientMsg::Reject {
                call_id: first.call_id.clone()
            })
            .await
        ),
        0
    );
    // Both calls may begin in the same millisecond: records that tie are
    // listed newest-stored first, so the order below holds either way.
    let second = placed(alice.request(call_msg(&["bob"])).await);
    assert_eq!(
        code(
            &bob.request(ClientMsg::Accept {
                call_id: second.call_id.clone()
            })
            .await
        ),
        0
    );
    assert_eq!(
        code(
            &bob.request(ClientMsg::Hangup {
                call_id: second.call_id.clone()
            })
            .await
        ),
        0
    );

    let query = |filter: RecordFilter| ClientMsg::QueryRecords { filter };
    let records = |r: ServerMsg| match r {
        ServerMsg::Response {
            code: 0,
            records: Some(r),
            ..
        } => r,
        other => panic!("{other:?}"),
    };
    let all = records(bob.request(query(RecordFilter::default())).await);
    assert_eq!(
        all.iter().map(|r| r.call_id.as_str()).collect::<Vec<_>>(),
        vec![second.call_id.as_str(), first.call_id.as_str()],
        "newest first"
    );
    let missed = records(
        bob.request(query(RecordFilter {
            result: Some(hotline_proto::CallResult::Missed),
            ..Default::default()
        }))
        .await,
    );
    assert_eq!(missed.len(), 1);
    assert_eq!(missed[0].call_id, first.call_id);
    let video = records(
        bob.request(query(RecordFilter {
            media_type: Some(hotline_proto::MediaType::Video),
            ..Default::default()
        }))
        .await,
    );
    assert_eq!(video.len(), 1);
    assert_eq!(video[0].result, hotline_proto::CallResult::Incoming);
    // Pages of one: each the next record, or both when they share a
    // millisecond (a page never splits one); together, every record once.
    let mut paged = vec![];
    let mut before_ms = None;
    loop {
        let page = records(
            bob.request(query(RecordFilter {
                count: 1,
                before_ms,
                ..Default::default()
            }))
            .await,
        );
        let Some(last) = page.last() else { break };
        before_ms = Some(last.begin_time_ms);
        paged.extend(page);
    }
    assert_eq!(paged, all);
    let bad = bob
        .request(ClientMsg::DeleteRecords { record_ids: vec![] })
        .await;
    assert_eq!(code(&bad), ErrorCode::ParamInvalid.as_i32());
    for (count, expected) in [(100, 0), (101, ErrorCode::ParamInvalid.as_i32())] {
        let r = bob
            .request(query(RecordFilter {
                count,
                ..Default::default()
            }))
            .await;
        assert_eq!(code(&r), expected, "count {count}: {r:?}");
    }
}

/// With TURN configured, every login lists the relays with a credential for
/// that user in coturn's REST scheme; without, none.
#[tokio::test]
async fn logins_list_the_turn_relays_with_a_fresh_credential() {
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    let srv = server_with(|c| {
        c.turn_urls = vec!["turns:turn.example.com:443?transport=tcp".into()];
        c.turn_secret = "shared-with-coturn-only".into();
        c.turn_ttl_s = 600;
    })
    .await;
    let mut alice = Client::connect(&srv.url()).await;
    let before = now_s();
    let reply = alice
        .request(login_msg("alice", &sig("alice"), "phone-1"))
        .await;
    let ServerMsg::Response {
        login: Some(login), ..
    } = reply
    else {
        panic!("a login result: {reply:?}");
    };
    let [relay] = &login.ice_servers[..] else {
        panic!("one relay: {:?}", login.ice_servers);
    };
    assert_eq!(relay.urls, ["turns:turn.example.com:443?transport=tcp"]);
    let (expiry, user) = relay.username.split_once(':').unwrap();
    assert_eq!(user, "alice");
    let expiry: u64 = expiry.parse().unwrap();
    assert!((before + 600..=now_s() + 600).contains(&expiry), "{expiry}");
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(b"shared-with-coturn-only").unwrap();
    mac.update(relay.username.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(relay.credential, expected);

    let plain = server().await;
    let mut bob = Client::connect(&plain.url()).await;
    let reply = bob.request(login_msg("bob", &sig("bob"), "phone-1")).await;
    let ServerMsg::Response {
        login: Some(login), ..
    } = reply
    else {
        panic!("a login result: {reply:?}");
    };
    assert!(login.ice_servers.is_empty(), "no TURN configured");
}
