//! Offline push: the registration sent after every login, and calls the app
//! learned of from a push, asked for at the next login and reported once.

mod common;

use common::*;
use hotline_core::{Command, Event, Input, Output};
use hotline_proto::push::{PushEnvironment, PushProvider};
use hotline_proto::{ClientFrame, ClientMsg, EndReason, ErrorCode, MediaType, ServerMsg};

fn register(token: &str) -> Command {
    Command::RegisterPush {
        provider: PushProvider::ApnsVoip,
        token: token.into(),
        app: "com.example.app".into(),
        environment: PushEnvironment::Sandbox,
    }
}

fn register_msg(token: &str) -> ClientMsg {
    ClientMsg::RegisterPush {
        provider: PushProvider::ApnsVoip,
        token: token.into(),
        app: "com.example.app".into(),
        environment: PushEnvironment::Sandbox,
    }
}

/// The push frames (register or unregister) among `outs`.
fn push_frames(outs: &[Output]) -> Vec<ClientFrame> {
    sent(outs)
        .into_iter()
        .filter(|f| {
            matches!(
                f.msg,
                ClientMsg::RegisterPush { .. } | ClientMsg::UnregisterPush
            )
        })
        .collect()
}

/// Drop the connection and log in again with `calls`; returns the outputs
/// after the login answer.
fn relogin(p: &mut Phone, calls: Vec<hotline_proto::CallInfo>) -> Vec<Output> {
    p.input(Input::Disconnected);
    p.login(calls)
}

/// The login frame's `known_calls` when connecting now, and its seq.
fn connect_known(p: &mut Phone) -> (u64, Vec<String>) {
    let (seq, outs) = p.connect();
    let known = sent(&outs)
        .into_iter()
        .find_map(|f| match f.msg {
            ClientMsg::Login { known_calls, .. } => Some(known_calls),
            _ => None,
        })
        .expect("a login");
    (seq, known)
}

#[test]
fn a_registration_before_login_is_sent_after_every_login() {
    let mut p = Phone::new("bob");
    let (id, outs) = p.command(register("aa11"));
    assert!(sent(&outs).is_empty(), "nothing goes out before a login");
    assert_eq!(
        done_for(&outs, id),
        Ok(Default::default()),
        "remembered at once"
    );

    let outs = p.login(vec![]);
    let frames = push_frames(&outs);
    assert_eq!(frames.len(), 1, "{outs:?}");
    assert_eq!(frames[0].msg, register_msg("aa11"));
    assert!(
        p.frame(ServerMsg::ok(frames[0].seq)).is_empty(),
        "a quiet success"
    );

    // Every reconnect registers again (the server may have lost it, or the
    // device ID may have a newer token elsewhere).
    for _ in 0..2 {
        let outs = relogin(&mut p, vec![]);
        let frames = push_frames(&outs);
        assert_eq!(frames.len(), 1, "{outs:?}");
        assert_eq!(frames[0].msg, register_msg("aa11"));
        p.frame(ServerMsg::ok(frames[0].seq));
    }
}

#[test]
fn a_registration_while_logged_in_waits_for_the_answer_and_is_resent_later() {
    let mut p = Phone::online("bob");
    let (id, frame) = p.send_command(register("aa11"));
    assert_eq!(frame.msg, register_msg("aa11"));
    let outs = p.frame(ServerMsg::err(
        frame.seq,
        ErrorCode::ParamInvalid,
        "bad token",
    ));
    assert_eq!(err_code(&outs, id), ErrorCode::ParamInvalid);
    assert!(
        events(&outs).is_empty(),
        "the app hears it from its own call"
    );

    // A newer token replaces it, for this login and the next ones.
    let (id, frame) = p.send_command(register("bb22"));
    let outs = p.frame(ServerMsg::ok(frame.seq));
    assert!(done_for(&outs, id).is_ok());
    let outs = relogin(&mut p, vec![]);
    let frames = push_frames(&outs);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].msg, register_msg("bb22"));
}

#[test]
fn bad_tokens_and_apps_are_refused_locally_and_not_remembered() {
    let mut p = Phone::new("bob");
    let bad = [
        ("", "com.example.app"),
        (&*"a".repeat(513), "com.example.app"),
        ("aa11", ""),
        ("aa11", &*"b".repeat(156)),
    ];
    for (token, app) in bad {
        let (id, outs) = p.command(Command::RegisterPush {
            provider: PushProvider::Fcm,
            token: token.into(),
            app: app.into(),
            environment: PushEnvironment::Production,
        });
        assert_eq!(
            err_code(&outs, id),
            ErrorCode::ParamInvalid,
            "{token:?} {app:?}"
        );
    }
    // The limits themselves are fine.
    let (id, outs) = p.command(Command::RegisterPush {
        provider: PushProvider::Fcm,
        token: "a".repeat(512),
        app: "b".repeat(155),
        environment: PushEnvironment::Production,
    });
    assert!(done_for(&outs, id).is_ok());
    let outs = p.login(vec![]);
    let frames = push_frames(&outs);
    assert_eq!(frames.len(), 1);
    assert!(matches!(&frames[0].msg, ClientMsg::RegisterPush { token, .. } if token.len() == 512));
}

#[test]
fn a_refused_registration_after_login_is_reported_through_on_error() {
    let mut p = Phone::new("bob");
    p.command(register("aa11"));
    let outs = p.login(vec![]);
    let seq = push_frames(&outs)[0].seq;
    let outs = p.frame(ServerMsg::err(
        seq,
        ErrorCode::UnknownMessage,
        "unknown type",
    ));
    assert!(dones(&outs).is_empty());
    match &events(&outs)[..] {
        [Event::Error { code, message }] => {
            assert_eq!(*code, ErrorCode::UnknownMessage);
            assert!(message.contains("register_push"), "{message}");
        }
        other => panic!("one onError expected, got {other:?}"),
    }
    // Still remembered: the next login tries again.
    let outs = relogin(&mut p, vec![]);
    assert_eq!(push_frames(&outs).len(), 1);
}

#[test]
fn unregister_forgets_the_token_now_and_for_later_logins() {
    let mut p = Phone::new("bob");
    p.command(register("aa11"));
    let outs = p.login(vec![]);
    p.frame(ServerMsg::ok(push_frames(&outs)[0].seq));

    let (id, frame) = p.send_command(Command::UnregisterPush);
    assert_eq!(frame.msg, ClientMsg::UnregisterPush);
    let outs = p.frame(ServerMsg::ok(frame.seq));
    assert!(done_for(&outs, id).is_ok());

    let outs = relogin(&mut p, vec![]);
    assert!(push_frames(&outs).is_empty(), "{outs:?}");
}

#[test]
fn unregister_while_offline_goes_out_after_the_next_login_until_answered() {
    let mut p = Phone::new("bob");
    p.command(register("aa11"));
    let outs = p.login(vec![]);
    p.frame(ServerMsg::ok(push_frames(&outs)[0].seq));
    p.input(Input::Disconnected);

    let (id, outs) = p.command(Command::UnregisterPush);
    assert!(sent(&outs).is_empty());
    assert!(done_for(&outs, id).is_ok());

    // The first login after it: the connection drops before the answer.
    let outs = p.login(vec![]);
    let frames = push_frames(&outs);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].msg, ClientMsg::UnregisterPush);
    // Sent again on the next login, answered this time.
    let outs = relogin(&mut p, vec![]);
    let frames = push_frames(&outs);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].msg, ClientMsg::UnregisterPush);
    p.frame(ServerMsg::ok(frames[0].seq));
    // Then nothing more.
    let outs = relogin(&mut p, vec![]);
    assert!(push_frames(&outs).is_empty());
}

#[test]
fn a_pushed_call_that_ended_before_login_is_reported_not_connected_with_its_reason() {
    let mut snap = Snap::new("c1", "alice", &["bob"], MediaType::Video);
    let cancelled = snap.end(EndReason::Canceled, 5_000);

    let mut p = Phone::new("bob");
    p.input(Input::PushedCall {
        call_id: "c1".into(),
        media_type: MediaType::Video,
    });
    let (seq, known) = connect_known(&mut p);
    assert_eq!(known, vec!["c1".to_string()]);
    let outs = p.frame(login_ok(seq, vec![cancelled]));
    assert_eq!(
        events(&outs),
        vec![Event::CallNotConnected {
            call_id: "c1".into(),
            media_type: MediaType::Video,
            reason: EndReason::Canceled,
        }]
    );
    // Reported once: later snapshots and logins add nothing.
    assert!(p.update(snap.end(EndReason::Canceled, 6_000)).is_empty());
    let (seq, known) = connect_known(&mut p);
    assert!(known.is_empty(), "{known:?}");
    assert!(events(&p.frame(login_ok(seq, vec![]))).is_empty());
    assert_eq!(p.all_events().len(), 1);
}

#[test]
fn a_pushed_call_still_ringing_rings_exactly_once() {
    let mut snap = Snap::new("c1", "alice", &["bob"], MediaType::Audio);
    let mut p = Phone::new("bob");
    p.input(Input::PushedCall {
        call_id: "c1".into(),
        media_type: MediaType::Audio,
    });
    // The same push delivered twice asks once.
    p.input(Input::PushedCall {
        call_id: "c1".into(),
        media_type: MediaType::Audio,
    });
    let (seq, known) = connect_known(&mut p);
    assert_eq!(known, vec!["c1".to_string()]);
    let outs = p.frame(login_ok(seq, vec![snap.get()]));
    assert_eq!(names(&events(&outs)), vec!["onCallReceived"]);
    // A push arriving after it rang (a slow provider) changes nothing.
    p.input(Input::PushedCall {
        call_id: "c1".into(),
        media_type: MediaType::Audio,
    });
    let outs = relogin(&mut p, vec![snap.get()]);
    assert!(events(&outs).is_empty(), "{outs:?}");
    // It goes on as any invitation.
    let (_, frame) = p.send_command(Command::Accept);
    assert_eq!(
        frame.msg,
        ClientMsg::Accept {
            call_id: "c1".into()
        }
    );
    let evs = p.update(snap.accept("bob", &dev("bob"), 2_000));
    assert_eq!(names(&evs), vec!["onUserJoin", "onCallBegin"]);
    let rings = p
        .all_events()
        .iter()
        .filter(|e| matches!(e, Event::CallReceived { .. }))
        .count();
    assert_eq!(rings, 1);
}

#[test]
fn a_pushed_call_already_ringing_here_is_not_asked_for_again() {
    let snap = Snap::new("c1", "alice", &["bob"], MediaType::Video);
    let mut p = Phone::online("bob");
    assert_eq!(names(&p.update(snap.get())), vec!["onCallReceived"]);
    p.input(Input::PushedCall {
        call_id: "c1".into(),
        media_type: MediaType::Video,
    });
    p.input(Input::Disconnected);
    let (seq, known) = connect_known(&mut p);
    assert_eq!(known, vec!["c1".to_string()], "once, as the current call");
    assert!(events(&p.frame(login_ok(seq, vec![snap.get()]))).is_empty());
}

#[test]
fn a_pushed_call_answered_rejected_or_missed_elsewhere_says_so() {
    type Change = fn(&mut Snap) -> hotline_proto::CallInfo;
    let cases: [(Change, EndReason); 4] = [
        (
            |s| s.accept("bob", "bob-tablet", 1_000),
            EndReason::OtherDeviceAccepted,
        ),
        (
            |s| s.gone_and_end("bob", EndReason::Reject, Some("bob-tablet"), 1_000),
            EndReason::OtherDeviceReject,
        ),
        (
            |s| s.gone_and_end("bob", EndReason::NoResponse, None, 30_000),
            EndReason::NoResponse,
        ),
        (|s| s.end(EndReason::Canceled, 3_000), EndReason::Canceled),
    ];
    for (change, reason) in cases {
        let mut snap = Snap::new("c1", "alice", &["bob"], MediaType::Video);
        let after = change(&mut snap);
        let mut p = Phone::new("bob");
        p.input(Input::PushedCall {
            call_id: "c1".into(),
            media_type: MediaType::Video,
        });
        let outs = p.login(vec![after]);
        assert_eq!(
            events(&outs),
            vec![Event::CallNotConnected {
                call_id: "c1".into(),
                media_type: MediaType::Video,
                reason,
            }],
            "{reason:?}"
        );
    }
}

#[test]
fn a_group_call_that_goes_on_without_this_user_is_not_connected_here() {
    let mut snap = Snap::new("g1", "alice", &["bob", "carol"], MediaType::Audio);
    snap.accept("carol", &dev("carol"), 1_000);
    let timed_out = snap.gone("bob", EndReason::NoResponse, None, 30_000);
    let mut p = Phone::new("bob");
    p.input(Input::PushedCall {
        call_id: "g1".into(),
        media_type: MediaType::Audio,
    });
    let outs = p.login(vec![timed_out]);
    assert_eq!(
        events(&outs),
        vec![Event::CallNotConnected {
            call_id: "g1".into(),
            media_type: MediaType::Audio,
            reason: EndReason::NoResponse,
        }]
    );
    assert!(p.core.current_call().is_none());
}

#[test]
fn a_pushed_call_the_server_does_not_know_ends_with_reason_unknown() {
    let mut p = Phone::new("bob");
    p.input(Input::PushedCall {
        call_id: "nope".into(),
        media_type: MediaType::Audio,
    });
    let outs = p.login(vec![]);
    assert_eq!(
        events(&outs),
        vec![Event::CallNotConnected {
            call_id: "nope".into(),
            media_type: MediaType::Audio,
            reason: EndReason::Unknown,
        }]
    );
}

#[test]
fn pushed_calls_wait_for_a_successful_login_and_fit_in_known_calls() {
    let mut p = Phone::new("bob");
    for i in 0..10 {
        p.input(Input::PushedCall {
            call_id: format!("c{i}"),
            media_type: MediaType::Video,
        });
    }
    let (seq, known) = connect_known(&mut p);
    let newest: Vec<String> = (3..10).map(|i| format!("c{i}")).collect();
    assert_eq!(known, newest, "the newest, with room for a current call");
    // The login fails for a while: they are asked for again.
    p.frame(ServerMsg::err(seq, ErrorCode::ServerError, "busy"));
    p.input(Input::Disconnected);
    let (_, known) = connect_known(&mut p);
    assert_eq!(known, newest);
}
