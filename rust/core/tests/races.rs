//! Races between local commands and server changes, duplicated and reordered
//! snapshots, glare, and reconnecting in the middle of a call.

mod common;

use common::*;
use hotline_core::{CallParams, Command, Event, Input, Output};
use hotline_proto::{ClientMsg, EndReason, ErrorCode, MediaType, ServerMsg};

fn ringing(user: &str) -> (Phone, Snap) {
    let mut p = Phone::online(user);
    let s = Snap::new("c1", "alice", &[user], MediaType::Audio);
    assert_eq!(names(&p.update(s.get())), vec!["onCallReceived"]);
    (p, s)
}

fn not_connected(reason: EndReason) -> Event {
    Event::CallNotConnected {
        call_id: "c1".into(),
        media_type: MediaType::Audio,
        reason,
    }
}

#[test]
fn accept_vs_cancel() {
    let (mut p, mut s) = ringing("bob");
    let (id, frame) = p.send_command(Command::Accept);
    // The caller cancelled before the accept reached the server.
    assert_eq!(
        p.update(s.end(EndReason::Canceled, 1_000)),
        vec![not_connected(EndReason::Canceled)]
    );
    let outs = p.frame(ServerMsg::err(
        frame.seq,
        ErrorCode::RequestRefused,
        "the invitation is no longer valid",
    ));
    assert!(events(&outs).is_empty());
    assert_eq!(err_code(&outs, id), ErrorCode::RequestRefused);
    assert!(p.core.current_call().is_none());
}

#[test]
fn timeout_vs_accept() {
    let (mut p, mut s) = ringing("bob");
    let (id, frame) = p.send_command(Command::Accept);
    assert_eq!(
        p.update(s.end(EndReason::NoResponse, 30_000)),
        vec![not_connected(EndReason::NoResponse)]
    );
    // The error response carries the ended snapshot again: no second terminal event.
    let outs = p.frame(ServerMsg::Response {
        seq: frame.seq,
        code: ErrorCode::RequestRefused.as_i32(),
        message: "too late".into(),
        login: None,
        call: Some(s.get()),
        records: None,
        sdp: None,
    });
    assert!(events(&outs).is_empty());
    assert_eq!(err_code(&outs, id), ErrorCode::RequestRefused);
}

#[test]
fn accept_times_out_locally_but_the_server_took_it() {
    let (mut p, mut s) = ringing("bob");
    let (id, _) = p.send_command(Command::Accept);
    let outs = p.advance(10_000);
    assert_eq!(err_code(&outs, id), ErrorCode::Timeout);
    // The snapshot is authoritative: the call begins anyway.
    assert_eq!(
        names(&p.update(s.accept("bob", &dev("bob"), 10_500))),
        vec!["onUserJoin", "onCallBegin"]
    );
}

#[test]
fn callee_hangup_while_ringing_is_a_reject() {
    let (mut p, mut s) = ringing("bob");
    let (id, frame) = p.send_command(Command::Hangup);
    assert_eq!(
        frame.msg,
        ClientMsg::Hangup {
            call_id: "c1".into()
        }
    );
    let outs = p.frame(ServerMsg::ok_call(
        frame.seq,
        s.gone_and_end("bob", EndReason::Reject, Some(&dev("bob")), 1_000),
    ));
    assert_eq!(events(&outs), vec![not_connected(EndReason::Reject)]);
    assert!(done_for(&outs, id).is_ok());
}

#[test]
fn caller_hangup_races_with_accept() {
    let mut p = Phone::online("alice");
    let (_, f) = p.send_command(Command::Calls {
        user_ids: vec!["bob".into()],
        media_type: MediaType::Audio,
        params: CallParams::default(),
    });
    let mut s = Snap::new("c1", "alice", &["bob"], MediaType::Audio);
    p.frame(ServerMsg::ok_call(f.seq, s.get()));
    let (hid, hf) = p.send_command(Command::Hangup);
    // Bob's accept lands first; then the hangup ends the connected call.
    assert_eq!(
        names(&p.update(s.accept("bob", &dev("bob"), 1_000))),
        vec!["onUserJoin", "onCallBegin"]
    );
    s.gone("alice", EndReason::Hangup, None, 1_200);
    let outs = p.frame(ServerMsg::ok_call(hf.seq, s.end(EndReason::Hangup, 1_200)));
    assert_eq!(names(&events(&outs)), vec!["onUserLeave", "onCallEnd"]);
    assert!(done_for(&outs, hid).is_ok());
}

#[test]
fn glare_invitation_arrives_while_my_call_is_pending() {
    let mut p = Phone::online("alice");
    let (id, frame) = p.send_command(Command::Calls {
        user_ids: vec!["bob".into()],
        media_type: MediaType::Audio,
        params: CallParams::default(),
    });
    // Bob called alice at the same moment and won.
    let theirs = Snap::new("c7", "bob", &["alice"], MediaType::Video);
    assert_eq!(names(&p.update(theirs.get())), vec!["onCallReceived"]);
    let outs = p.frame(ServerMsg::err(
        frame.seq,
        ErrorCode::RequestRefused,
        "you are being called",
    ));
    assert_eq!(err_code(&outs, id), ErrorCode::RequestRefused);
    assert_eq!(p.core.current_call().unwrap().call_id, "c7");
    // The invitation can be answered.
    let (_, f) = p.send_command(Command::Accept);
    assert_eq!(
        f.msg,
        ClientMsg::Accept {
            call_id: "c7".into()
        }
    );
}

#[test]
fn glare_lost_by_the_server_leaves_the_extra_call() {
    let mut p = Phone::online("alice");
    let (id, frame) = p.send_command(Command::Calls {
        user_ids: vec!["bob".into()],
        media_type: MediaType::Audio,
        params: CallParams::default(),
    });
    p.update(Snap::new("c7", "carol", &["alice"], MediaType::Video).get());
    // The server placed alice's call anyway: the core hangs it up and refuses the command.
    let mut mine = Snap::new("c1", "alice", &["bob"], MediaType::Audio);
    mine.info.participants[0].device_id = None;
    let outs = p.frame(ServerMsg::ok_call(frame.seq, mine.get()));
    assert!(events(&outs).is_empty());
    assert_eq!(err_code(&outs, id), ErrorCode::RequestRefused);
    assert_eq!(
        sent(&outs)
            .iter()
            .map(|f| f.msg.clone())
            .collect::<Vec<_>>(),
        vec![ClientMsg::Hangup {
            call_id: "c1".into()
        }]
    );
    assert_eq!(p.core.current_call().unwrap().call_id, "c7");
}

#[test]
fn duplicated_and_reordered_snapshots_cause_no_duplicate_events() {
    let mut p = Phone::online("alice");
    let (_, f) = p.send_command(Command::Calls {
        user_ids: vec!["bob".into(), "carol".into()],
        media_type: MediaType::Video,
        params: CallParams::default(),
    });
    let mut s = Snap::new("c1", "alice", &["bob", "carol"], MediaType::Video);
    let v1 = s.get();
    let v2 = s.accept("bob", &dev("bob"), 1_000);
    let v3 = s.gone("carol", EndReason::Reject, Some(&dev("carol")), 2_000);
    let v4 = s.media(MediaType::Audio);
    p.frame(ServerMsg::ok_call(f.seq, v1.clone()));
    // v3 overtakes v2; then everything is delivered again.
    let mut evs = p.update(v3.clone());
    for snap in [
        v2.clone(),
        v1.clone(),
        v3.clone(),
        v4.clone(),
        v2,
        v4,
        v3,
        v1.clone(),
    ] {
        evs.extend(p.update(snap));
    }
    assert_eq!(
        evs,
        vec![
            Event::UserJoin {
                call_id: "c1".into(),
                user_id: "bob".into()
            },
            Event::UserReject {
                call_id: "c1".into(),
                user_id: "carol".into()
            },
            Event::CallBegin {
                call_id: "c1".into(),
                room_id: "room-c1".into(),
                media_type: MediaType::Video,
                is_group: true
            },
            Event::CallMediaTypeChanged {
                call_id: "c1".into(),
                old: MediaType::Video,
                new: MediaType::Audio
            },
        ]
    );
    // Ended, then an old snapshot: still over.
    let end = s.end(EndReason::Hangup, 5_000);
    assert_eq!(
        names(&p.update(end.clone())),
        vec!["onUserLeave", "onCallEnd"]
    );
    assert!(p.update(end).is_empty());
    assert!(p.update(v1).is_empty());
    assert!(p.core.current_call().is_none());
}

#[test]
fn duplicated_invitation_rings_once() {
    let (mut p, s) = ringing("bob");
    assert!(p.update(s.get()).is_empty());
    let ok = p.frame(ServerMsg::ok_call(999, s.get()));
    assert!(ok.is_empty());
}

#[test]
fn reconnect_while_ringing_and_still_ringing() {
    let (mut p, s) = ringing("bob");
    p.input_at(Input::Disconnected, 1_000);
    let (seq, outs) = p.connect();
    assert!(
        matches!(&sent(&outs)[0].msg, ClientMsg::Login { known_calls, .. } if known_calls == &vec!["c1".to_string()])
    );
    let outs = p.frame(login_ok(seq, vec![s.get()]));
    assert_eq!(outs, vec![Output::LoginDone(Ok(()))]);
    assert_eq!(p.core.current_call().unwrap().call_id, "c1");
    // Still answerable.
    let (_, f) = p.send_command(Command::Accept);
    assert_eq!(
        f.msg,
        ClientMsg::Accept {
            call_id: "c1".into()
        }
    );
}

#[test]
fn reconnect_while_ringing_and_the_call_ended_meanwhile() {
    let (mut p, mut s) = ringing("bob");
    p.input_at(Input::Disconnected, 1_000);
    let ended = s.end(EndReason::Canceled, 2_000);
    let (seq, _) = p.connect();
    let outs = p.frame(login_ok(seq, vec![ended]));
    assert_eq!(
        outs,
        vec![
            Output::LoginDone(Ok(())),
            Output::Event(not_connected(EndReason::Canceled))
        ]
    );
    assert!(p.core.current_call().is_none());
}

#[test]
fn reconnect_while_ringing_and_another_device_answered_meanwhile() {
    let (mut p, mut s) = ringing("bob");
    p.input_at(Input::Disconnected, 1_000);
    let accepted = s.accept("bob", "bob-tablet", 2_000);
    let outs = p.login(vec![accepted]);
    assert_eq!(
        events(&outs),
        vec![not_connected(EndReason::OtherDeviceAccepted)]
    );
}

#[test]
fn reconnect_in_a_call_the_server_forgot() {
    let (mut p, mut s) = ringing("bob");
    let (_, f) = p.send_command(Command::Accept);
    p.frame(ServerMsg::ok_call(
        f.seq,
        s.accept("bob", &dev("bob"), 1_000),
    ));
    p.input(Input::Disconnected);
    // T0 + 0 is the login server time: the call is over as far as anyone knows.
    let outs = p.login(vec![]);
    assert_eq!(
        events(&outs),
        vec![Event::CallEnd {
            call_id: "c1".into(),
            media_type: MediaType::Audio,
            reason: EndReason::Unknown,
            total_time_s: 0
        }]
    );
}

#[test]
fn reconnect_after_a_lost_calls_response_recovers_the_call() {
    let mut p = Phone::online("alice");
    let (id, _) = p.send_command(Command::Calls {
        user_ids: vec!["bob".into()],
        media_type: MediaType::Audio,
        params: CallParams::default(),
    });
    let outs = p.input(Input::Disconnected);
    assert_eq!(err_code(&outs, id), ErrorCode::Timeout);
    // The server did create it (with this device as the caller's).
    let mut s = Snap::new("c1", "alice", &["bob"], MediaType::Audio);
    let outs = p.login(vec![s.accept("bob", &dev("bob"), 1_000)]);
    assert_eq!(names(&events(&outs)), vec!["onUserJoin", "onCallBegin"]);
    assert_eq!(p.core.current_call().unwrap().call_id, "c1");
}

#[test]
fn queued_answer_goes_out_after_relogin() {
    let (mut p, s) = ringing("bob");
    p.input(Input::Disconnected);
    let (id, outs) = p.command(Command::Accept);
    assert!(outs.is_empty());
    // Same answer again while queued.
    let (id2, outs) = p.command(Command::Accept);
    assert_eq!(err_code(&outs, id2), ErrorCode::RequestRepeated);
    let outs = p.login(vec![s.get()]);
    let frames = sent(&outs);
    assert_eq!(frames.len(), 1);
    assert_eq!(
        frames[0].msg,
        ClientMsg::Accept {
            call_id: "c1".into()
        }
    );
    let mut s = s;
    let outs = p.frame(ServerMsg::ok_call(
        frames[0].seq,
        s.accept("bob", &dev("bob"), 3_000),
    ));
    assert_eq!(names(&events(&outs)), vec!["onUserJoin", "onCallBegin"]);
    assert!(done_for(&outs, id).is_ok());
}
