//! Calls this user places.

mod common;

use common::*;
use hotline_core::{CallParams, Command, Event, Output};
use hotline_proto::{CallInfo, ClientFrame, ClientMsg, EndReason, ErrorCode, MediaType, ServerMsg};

/// Alice calls `callees`; the server answers with version 1 of call "c1".
fn place(p: &mut Phone, callees: &[&str], media: MediaType) -> (Snap, Vec<Output>, u64) {
    let (id, frame) = p.send_command(Command::Calls {
        user_ids: callees.iter().map(|s| s.to_string()).collect(),
        media_type: media,
        params: CallParams::default(),
    });
    let snap = Snap::new("c1", "alice", callees, media);
    let outs = p.frame(ServerMsg::ok_call(frame.seq, snap.get()));
    (snap, outs, id)
}

fn ev(name: &str, user: &str) -> Event {
    let (call_id, user_id) = ("c1".to_string(), user.to_string());
    match name {
        "inviting" => Event::UserInviting { call_id, user_id },
        "join" => Event::UserJoin { call_id, user_id },
        "leave" => Event::UserLeave { call_id, user_id },
        "reject" => Event::UserReject { call_id, user_id },
        "noresp" => Event::UserNoResponse { call_id, user_id },
        "busy" => Event::UserLineBusy { call_id, user_id },
        _ => unreachable!(),
    }
}

#[test]
fn call_frame_carries_the_parameters() {
    let mut p = Phone::online("alice");
    let params = CallParams {
        room_id: "r9".into(),
        timeout_s: 0,
        user_data: "hello".into(),
        chat_group_id: "g1".into(),
        is_group: true,
        offline_push: None,
    };
    let (_, frame) = p.send_command(Command::Calls {
        user_ids: vec!["bob".into()],
        media_type: MediaType::Audio,
        params,
    });
    assert_eq!(
        frame.msg,
        ClientMsg::Call {
            user_ids: vec!["bob".into()],
            media_type: MediaType::Audio,
            room_id: "r9".into(),
            timeout_s: 30,
            user_data: "hello".into(),
            chat_group_id: "g1".into(),
            group: true,
            offline_push: None,
        }
    );
}

#[test]
fn outgoing_1v1_accepted_then_hangup() {
    let mut p = Phone::online("alice");
    let (mut s, outs, id) = place(&mut p, &["bob"], MediaType::Video);
    assert_eq!(events(&outs), vec![ev("inviting", "bob")]);
    assert_eq!(done_for(&outs, id).unwrap().call_id.as_deref(), Some("c1"));
    // Events come before the command result.
    assert!(matches!(outs.last(), Some(Output::CommandDone { .. })));
    assert_eq!(p.core.current_call().unwrap().call_id, "c1");

    let evs = p.update(s.accept("bob", &dev("bob"), 5_000));
    assert_eq!(
        evs,
        vec![
            ev("join", "bob"),
            Event::CallBegin {
                call_id: "c1".into(),
                room_id: "room-c1".into(),
                media_type: MediaType::Video,
                is_group: false
            }
        ]
    );

    let (hid, frame) = p.send_command(Command::Hangup);
    assert_eq!(
        frame.msg,
        ClientMsg::Hangup {
            call_id: "c1".into()
        }
    );
    // Alice leaves at 5 s + 62.7 s; the server ends the 1v1 call.
    let ended = s.gone_and_end("alice", EndReason::Hangup, None, 67_700);
    let outs = p.frame(ServerMsg::ok_call(frame.seq, ended));
    assert_eq!(
        events(&outs),
        vec![
            ev("leave", "bob"),
            Event::CallEnd {
                call_id: "c1".into(),
                media_type: MediaType::Video,
                reason: EndReason::Hangup,
                total_time_s: 62
            }
        ]
    );
    assert!(done_for(&outs, hid).is_ok());
    assert!(p.core.current_call().is_none());
    // The push of the same snapshot changes nothing.
    assert!(p.update(s.get()).is_empty());
}

#[test]
fn callee_hangs_up() {
    let mut p = Phone::online("alice");
    let (mut s, _, _) = place(&mut p, &["bob"], MediaType::Audio);
    p.update(s.accept("bob", &dev("bob"), 1_000));
    let evs = p.update(s.gone_and_end("bob", EndReason::Hangup, None, 11_000));
    assert_eq!(
        evs,
        vec![
            ev("leave", "bob"),
            Event::CallEnd {
                call_id: "c1".into(),
                media_type: MediaType::Audio,
                reason: EndReason::Hangup,
                total_time_s: 10
            }
        ]
    );
}

#[test]
fn outgoing_rejected() {
    let mut p = Phone::online("alice");
    let (mut s, _, _) = place(&mut p, &["bob"], MediaType::Audio);
    let evs = p.update(s.gone_and_end("bob", EndReason::Reject, Some(&dev("bob")), 3_000));
    assert_eq!(
        evs,
        vec![
            ev("reject", "bob"),
            Event::CallNotConnected {
                call_id: "c1".into(),
                media_type: MediaType::Audio,
                reason: EndReason::Reject
            }
        ]
    );
    assert!(p.core.current_call().is_none());
}

#[test]
fn outgoing_no_response() {
    let mut p = Phone::online("alice");
    let (mut s, _, _) = place(&mut p, &["bob"], MediaType::Audio);
    let evs = p.update(s.end(EndReason::NoResponse, 30_000));
    assert_eq!(
        evs,
        vec![
            ev("noresp", "bob"),
            Event::CallNotConnected {
                call_id: "c1".into(),
                media_type: MediaType::Audio,
                reason: EndReason::NoResponse
            }
        ]
    );
}

#[test]
fn outgoing_line_busy_ends_at_once_and_never_becomes_current() {
    let mut p = Phone::online("alice");
    let (id, frame) = p.send_command(Command::Calls {
        user_ids: vec!["bob".into(), "carol".into()],
        media_type: MediaType::Video,
        params: CallParams::default(),
    });
    let mut s = Snap::new("c1", "alice", &["bob", "carol"], MediaType::Video);
    // The server builds the call with both callees busy, and ends it.
    s.info.participants[1].state = hotline_proto::ParticipantState::Gone;
    s.info.participants[1].reason = Some(EndReason::LineBusy);
    s.info.participants[2].state = hotline_proto::ParticipantState::Gone;
    s.info.participants[2].reason = Some(EndReason::LineBusy);
    let ended = s.end(EndReason::LineBusy, 0);
    let outs = p.frame(ServerMsg::ok_call(frame.seq, ended));
    assert_eq!(
        events(&outs),
        vec![
            ev("busy", "bob"),
            ev("busy", "carol"),
            Event::CallNotConnected {
                call_id: "c1".into(),
                media_type: MediaType::Video,
                reason: EndReason::LineBusy
            }
        ]
    );
    assert_eq!(done_for(&outs, id).unwrap().call_id.as_deref(), Some("c1"));
    assert!(p.core.current_call().is_none());
    // Another call can be placed right away.
    let (_, outs) = p.command(Command::Calls {
        user_ids: vec!["bob".into()],
        media_type: MediaType::Audio,
        params: CallParams::default(),
    });
    assert_eq!(sent(&outs).len(), 1);
}

#[test]
fn caller_cancels_while_ringing() {
    let mut p = Phone::online("alice");
    let (mut s, _, _) = place(&mut p, &["bob"], MediaType::Audio);
    let (id, frame) = p.send_command(Command::Hangup);
    let outs = p.frame(ServerMsg::ok_call(
        frame.seq,
        s.end(EndReason::Canceled, 2_000),
    ));
    assert_eq!(
        events(&outs),
        vec![Event::CallNotConnected {
            call_id: "c1".into(),
            media_type: MediaType::Audio,
            reason: EndReason::Canceled
        }]
    );
    assert!(done_for(&outs, id).is_ok());
}

#[test]
fn update_before_the_calls_response_is_not_lost() {
    let mut p = Phone::online("alice");
    let (id, frame) = p.send_command(Command::Calls {
        user_ids: vec!["bob".into()],
        media_type: MediaType::Audio,
        params: CallParams::default(),
    });
    let mut s = Snap::new("c1", "alice", &["bob"], MediaType::Audio);
    // The push of v1 overtakes the response (it names this device as the caller's).
    let evs = p.update(s.get());
    assert_eq!(evs, vec![ev("inviting", "bob")]);
    let v2 = s.accept("bob", &dev("bob"), 1_000);
    assert_eq!(names(&p.update(v2)), vec!["onUserJoin", "onCallBegin"]);
    // The response still carries v1: no events, but the command completes.
    let outs = p.frame(ServerMsg::ok_call(
        frame.seq,
        Snap::new("c1", "alice", &["bob"], MediaType::Audio).get(),
    ));
    assert!(events(&outs).is_empty());
    assert_eq!(done_for(&outs, id).unwrap().call_id.as_deref(), Some("c1"));
}

#[test]
fn own_call_without_caller_device_is_adopted_from_the_response() {
    let mut p = Phone::online("alice");
    let (id, frame) = p.send_command(Command::Calls {
        user_ids: vec!["bob".into()],
        media_type: MediaType::Audio,
        params: CallParams::default(),
    });
    let mut s = Snap::new("c1", "alice", &["bob"], MediaType::Audio);
    s.info.participants[0].device_id = None;
    // A push without a device to tell whose it is: held, no events yet.
    assert!(p.update(s.get()).is_empty());
    let outs = p.frame(ServerMsg::ok_call(frame.seq, s.get()));
    assert_eq!(events(&outs), vec![ev("inviting", "bob")]);
    assert!(done_for(&outs, id).is_ok());
    assert_eq!(p.core.current_call().unwrap().call_id, "c1");
}

#[test]
fn calls_placed_by_another_device_of_mine_are_not_current() {
    let mut p = Phone::online("alice");
    let mut s = Snap::new("c9", "alice", &["bob"], MediaType::Audio);
    s.info.participants[0].device_id = Some("alice-tablet".into());
    assert!(p.update(s.get()).is_empty());
    assert!(p.update(s.accept("bob", &dev("bob"), 1_000)).is_empty());
    assert!(p.core.current_call().is_none());
}

#[test]
fn calls_refused_by_the_server() {
    let mut p = Phone::online("alice");
    let (id, frame): (u64, ClientFrame) = p.send_command(Command::Calls {
        user_ids: vec!["bob".into()],
        media_type: MediaType::Audio,
        params: CallParams::default(),
    });
    let outs = p.frame(ServerMsg::err(
        frame.seq,
        ErrorCode::RequestRefused,
        "you are in a call",
    ));
    assert_eq!(err_code(&outs, id), ErrorCode::RequestRefused);
    assert!(events(&outs).is_empty());
    let _: Option<CallInfo> = p.core.current_call();
    assert!(p.core.current_call().is_none());
}
