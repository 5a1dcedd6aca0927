//! The registry's rules, with simulated time.

use super::*;

const T0: i64 = 1_700_000_000_000;

fn reg() -> Registry {
    Registry::new(Limits {
        max_participants: 4,
        reconnect_grace_ms: 30_000,
        max_user_data_bytes: 16,
    })
}

fn last(change: &Change) -> &CallInfo {
    change.calls.last().expect("a snapshot")
}

fn state(c: &CallInfo, user: &str) -> (ParticipantState, Option<EndReason>) {
    let p = c.participant(user).unwrap();
    (p.state, p.reason)
}

#[test]
fn one_to_one_reject_ends_the_call_for_both() {
    let mut r = reg();
    let c = r
        .call("a", "da", NewCall::for_test("c1", &["b"]), T0)
        .unwrap();
    assert_eq!((last(&c).version, last(&c).state), (1, CallState::Ringing));
    assert_eq!(
        last(&c).participant("b").unwrap().deadline_ms,
        Some(T0 + 30_000)
    );
    let c = r
        .decline("b", "db", "c1", EndReason::Reject, T0 + 1000)
        .unwrap();
    let call = last(&c);
    assert_eq!(
        (call.state, call.end_reason, call.version),
        (CallState::Ended, Some(EndReason::Reject), 2)
    );
    assert_eq!(
        state(call, "a"),
        (ParticipantState::InCall, None),
        "the caller did not leave; the call ended"
    );
    assert_eq!(c.records.len(), 2);
    assert!(r.get("c1").is_none());
    assert!(
        r.calls_of("a").is_empty() && r.calls_of("b").is_empty(),
        "nobody stays busy"
    );
}

#[test]
fn unanswered_invitations_time_out_as_no_response() {
    let mut r = reg();
    r.call("a", "da", NewCall::for_test("c1", &["b"]), T0)
        .unwrap();
    assert_eq!(r.next_deadline(), Some(T0 + 30_000));
    assert!(r.on_timer(T0 + 29_999).calls.is_empty());
    let c = r.on_timer(T0 + 30_000);
    assert_eq!(last(&c).end_reason, Some(EndReason::NoResponse));
    assert_eq!(
        state(last(&c), "b"),
        (ParticipantState::Gone, Some(EndReason::NoResponse))
    );
    assert_eq!(r.next_deadline(), None);
}

#[test]
fn timeout_resolution_follows_tuicallengine() {
    let mut r = reg();
    let mut req = NewCall::for_test("c1", &["b"]);
    req.timeout_s = 9;
    assert_eq!(
        r.call("a", "da", req.clone(), T0).unwrap_err().code,
        ErrorCode::ParamInvalid
    );
    req.timeout_s = 601;
    assert_eq!(
        r.call("a", "da", req.clone(), T0).unwrap_err().code,
        ErrorCode::ParamInvalid
    );
    req.timeout_s = 600;
    assert_eq!(last(&r.call("a", "da", req, T0).unwrap()).timeout_s, 600);
}

#[test]
fn accept_then_hangup_and_repeats() {
    let mut r = reg();
    r.call("a", "da", NewCall::for_test("c1", &["b"]), T0)
        .unwrap();
    let c = r.accept("b", "db", "c1", T0 + 2000).unwrap();
    assert_eq!(
        (last(&c).state, last(&c).began_at_ms),
        (CallState::Active, Some(T0 + 2000))
    );
    assert_eq!(
        r.accept("b", "db", "c1", T0 + 2001).unwrap_err().code,
        ErrorCode::RequestRepeated
    );
    assert_eq!(
        r.accept("b", "other", "c1", T0 + 2001).unwrap_err().code,
        ErrorCode::RequestRefused
    );
    assert_eq!(
        r.decline("b", "db", "c1", EndReason::Reject, T0 + 2001)
            .unwrap_err()
            .code,
        ErrorCode::RequestRefused
    );
    let c = r.hangup("b", "db", "c1", T0 + 62_000).unwrap();
    assert_eq!(last(&c).end_reason, Some(EndReason::Hangup));
    let rec_b = c.records.iter().find(|x| x.user_id == "b").unwrap();
    assert_eq!(
        (rec_b.result, rec_b.total_time_s),
        (CallResult::Incoming, 60)
    );
    let rec_a = c.records.iter().find(|x| x.user_id == "a").unwrap();
    assert_eq!(
        (rec_a.result, rec_a.total_time_s),
        (CallResult::Outgoing, 60)
    );
}

#[test]
fn caller_hangup_while_ringing_cancels_and_a_late_accept_is_refused() {
    let mut r = reg();
    r.call("a", "da", NewCall::for_test("c1", &["b", "c"]), T0)
        .unwrap();
    let c = r.hangup("a", "da", "c1", T0 + 500).unwrap();
    let call = last(&c);
    assert_eq!(call.end_reason, Some(EndReason::Canceled));
    assert_eq!(
        state(call, "a"),
        (ParticipantState::Gone, Some(EndReason::Canceled))
    );
    assert_eq!(
        state(call, "b"),
        (ParticipantState::Gone, Some(EndReason::Canceled))
    );
    assert_eq!(
        state(call, "c"),
        (ParticipantState::Gone, Some(EndReason::Canceled))
    );
    assert!(c
        .records
        .iter()
        .filter(|x| x.user_id != "a")
        .all(|x| x.result == CallResult::Missed));
    assert_eq!(
        r.accept("b", "db", "c1", T0 + 501).unwrap_err().code,
        ErrorCode::ParamInvalid
    );
}

#[test]
fn callee_hangup_while_ringing_is_a_reject_and_ignore_is_a_busy_line() {
    let mut r = reg();
    r.call("a", "da", NewCall::for_test("c1", &["b", "c"]), T0)
        .unwrap();
    let c = r.hangup("b", "db", "c1", T0 + 1).unwrap();
    assert_eq!(
        state(last(&c), "b"),
        (ParticipantState::Gone, Some(EndReason::Reject))
    );
    assert_eq!(last(&c).state, CallState::Ringing, "c still rings");
    let c = r
        .decline("c", "dc", "c1", EndReason::LineBusy, T0 + 2)
        .unwrap();
    assert_eq!(
        state(last(&c), "c"),
        (ParticipantState::Gone, Some(EndReason::LineBusy))
    );
    assert_eq!(last(&c).state, CallState::Ended, "nobody left to ring");
}

#[test]
fn busy_users_get_line_busy_and_glare_refuses_the_second_caller() {
    let mut r = reg();
    r.call("a", "da", NewCall::for_test("c1", &["b"]), T0)
        .unwrap();
    let c = r
        .call("c", "dc", NewCall::for_test("c2", &["b"]), T0 + 1)
        .unwrap();
    assert_eq!(last(&c).end_reason, Some(EndReason::LineBusy));
    let glare = r
        .call("b", "db", NewCall::for_test("c3", &["a"]), T0 + 2)
        .unwrap_err();
    assert_eq!(glare.code, ErrorCode::RequestRefused);
    let c = r
        .call("c", "dc", NewCall::for_test("c4", &["a", "d"]), T0 + 3)
        .unwrap();
    let call = last(&c);
    assert_eq!(
        state(call, "a"),
        (ParticipantState::Gone, Some(EndReason::LineBusy))
    );
    assert_eq!(
        call.state,
        CallState::Ringing,
        "d still rings in the group call"
    );
}

#[test]
fn group_calls_go_on_until_one_is_left() {
    let mut r = reg();
    r.call("a", "da", NewCall::for_test("g", &["b", "c", "d"]), T0)
        .unwrap();
    r.decline("d", "dd", "g", EndReason::Reject, T0 + 1)
        .unwrap();
    r.accept("b", "db", "g", T0 + 2).unwrap();
    r.accept("c", "dc", "g", T0 + 3).unwrap();
    let c = r.hangup("a", "da", "g", T0 + 4).unwrap();
    assert_eq!(
        last(&c).state,
        CallState::Active,
        "b and c carry on without the caller"
    );
    let c = r.hangup("b", "db", "g", T0 + 5).unwrap();
    let call = last(&c);
    assert_eq!(
        (call.state, call.end_reason),
        (CallState::Ended, Some(EndReason::Hangup))
    );
    assert_eq!(
        state(call, "c"),
        (ParticipantState::InCall, None),
        "c was in the call when it ended"
    );
    assert_eq!(
        state(call, "b"),
        (ParticipantState::Gone, Some(EndReason::Hangup))
    );
}

#[test]
fn invite_makes_a_group_and_respects_the_limit() {
    let mut r = reg();
    r.call("a", "da", NewCall::for_test("c1", &["b"]), T0)
        .unwrap();
    assert_eq!(
        r.invite("b", "c1", &["c".into()], 0, T0).unwrap_err().code,
        ErrorCode::RequestRefused,
        "b only rings"
    );
    r.accept("b", "db", "c1", T0 + 1).unwrap();
    assert_eq!(
        r.invite("b", "c1", &["c".into(), "d".into(), "e".into()], 0, T0 + 2)
            .unwrap_err()
            .code,
        ErrorCode::ParamInvalid
    );
    let c = r.invite("b", "c1", &["c".into()], 0, T0 + 2).unwrap();
    assert!(last(&c).is_group);
    assert_eq!(last(&c).participant("c").unwrap().inviter_id, "b");
    assert_eq!(
        r.invite("b", "c1", &["c".into()], 0, T0 + 3)
            .unwrap_err()
            .code,
        ErrorCode::RequestRepeated
    );
    // The group call survives b leaving: a is still in, c still rings.
    let c = r.hangup("b", "db", "c1", T0 + 4).unwrap();
    assert_eq!(last(&c).state, CallState::Active);
}

#[test]
fn join_needs_a_group_call_in_progress_and_room() {
    let mut r = reg();
    r.call("a", "da", NewCall::for_test("one", &["b"]), T0)
        .unwrap();
    assert_eq!(
        r.join("b", "db", "one", T0).unwrap_err().code,
        ErrorCode::SceneNotSupported
    );
    r.call("c", "dc", NewCall::for_test("g", &["d", "e"]), T0)
        .unwrap();
    r.accept("d", "dd", "g", T0 + 1).unwrap();
    let c = r.on_timer(T0 + 30_000);
    let g = c.calls.iter().find(|x| x.call_id == "g").unwrap();
    assert_eq!(
        state(g, "e"),
        (ParticipantState::Gone, Some(EndReason::NoResponse))
    );
    let c = r.join("e", "de", "g", T0 + 40_000).unwrap();
    assert_eq!(state(last(&c), "e"), (ParticipantState::InCall, None));
    assert_eq!(
        r.join("e", "de", "g", T0 + 40_001).unwrap_err().code,
        ErrorCode::RequestRepeated
    );
    assert_eq!(
        r.join("x", "dx", "g", T0 + 40_001).unwrap_err().code,
        ErrorCode::ParamInvalid,
        "strangers cannot join"
    );
}

#[test]
fn media_switches_only_from_video_to_audio() {
    let mut r = reg();
    r.call("a", "da", NewCall::for_test("c1", &["b"]), T0)
        .unwrap();
    r.accept("b", "db", "c1", T0).unwrap();
    let c = r.switch_media("b", "c1", MediaType::Audio, T0).unwrap();
    assert_eq!(last(&c).media_type, MediaType::Audio);
    assert_eq!(
        r.switch_media("a", "c1", MediaType::Audio, T0)
            .unwrap_err()
            .code,
        ErrorCode::RequestRepeated
    );
    assert_eq!(
        r.switch_media("a", "c1", MediaType::Video, T0)
            .unwrap_err()
            .code,
        ErrorCode::ParamInvalid
    );
}

#[test]
fn people_who_stay_offline_leave_after_the_grace_period() {
    let mut r = reg();
    r.call("a", "da", NewCall::for_test("c1", &["b"]), T0)
        .unwrap();
    r.accept("b", "db", "c1", T0).unwrap();
    r.set_presence("b", false, T0 + 1000);
    r.set_presence("b", true, T0 + 5000);
    assert!(
        r.on_timer(T0 + 31_000).calls.is_empty(),
        "b came back in time"
    );
    r.set_presence("b", false, T0 + 40_000);
    assert_eq!(r.next_deadline(), Some(T0 + 70_000));
    let c = r.on_timer(T0 + 70_000);
    assert_eq!(last(&c).end_reason, Some(EndReason::Offline));
}

#[test]
fn restore_resumes_timeouts_and_grace() {
    let mut r = reg();
    let c = r
        .call("a", "da", NewCall::for_test("c1", &["b"]), T0)
        .unwrap();
    let mut fresh = reg();
    fresh.restore(vec![(last(&c).clone(), None)], T0 + 10_000);
    assert_eq!(
        fresh.next_deadline(),
        Some(T0 + 30_000),
        "the invitation keeps its deadline"
    );
    assert_eq!(fresh.calls_of("b").len(), 1);
    assert!(
        fresh
            .call("b", "db", NewCall::for_test("c2", &["z"]), T0)
            .is_err(),
        "b is still busy after restore"
    );
}

#[test]
fn versions_grow_by_one_per_change() {
    let mut r = reg();
    let mut versions = vec![
        last(
            &r.call("a", "da", NewCall::for_test("g", &["b", "c"]), T0)
                .unwrap(),
        )
        .version,
    ];
    versions.push(last(&r.accept("b", "db", "g", T0).unwrap()).version);
    versions.push(last(&r.decline("c", "dc", "g", EndReason::Reject, T0).unwrap()).version);
    versions.push(last(&r.hangup("a", "da", "g", T0).unwrap()).version);
    assert_eq!(versions, vec![1, 2, 3, 4]);
}

#[test]
fn bad_parameters_are_refused_before_anything_changes() {
    let mut r = reg();
    for (users, why) in [
        (vec![], "empty"),
        (vec!["a"], "self"),
        (vec!["b", "b"], "twice"),
        (vec!["b c"], "invalid id"),
    ] {
        let e = r
            .call("a", "da", NewCall::for_test("c", &users), T0)
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::ParamInvalid, "{why}");
    }
    let mut req = NewCall::for_test("c", &["b"]);
    req.user_data = "x".repeat(17);
    assert_eq!(
        r.call("a", "da", req, T0).unwrap_err().code,
        ErrorCode::ParamInvalid
    );
    assert!(r.calls_of("a").is_empty());
}
