//! Group calls: rejections, joins, invitations, leaving, joining by call ID,
//! and switching media.

mod common;

use common::*;
use hotline_core::{CallParams, Command, Event};
use hotline_proto::{ClientMsg, EndReason, MediaType, ServerMsg};

fn ev(kind: &str, user: &str) -> Event {
    let (call_id, user_id) = ("c1".to_string(), user.to_string());
    match kind {
        "inviting" => Event::UserInviting { call_id, user_id },
        "join" => Event::UserJoin { call_id, user_id },
        "leave" => Event::UserLeave { call_id, user_id },
        "reject" => Event::UserReject { call_id, user_id },
        "noresp" => Event::UserNoResponse { call_id, user_id },
        _ => unreachable!(),
    }
}

#[test]
fn group_call_with_rejection_joins_invite_and_leave() {
    let mut p = Phone::online("alice");
    let (id, frame) = p.send_command(Command::Calls {
        user_ids: vec!["bob".into(), "carol".into(), "dave".into()],
        media_type: MediaType::Video,
        params: CallParams::default(),
    });
    let mut s = Snap::new("c1", "alice", &["bob", "carol", "dave"], MediaType::Video);
    let outs = p.frame(ServerMsg::ok_call(frame.seq, s.get()));
    assert_eq!(
        events(&outs),
        vec![
            ev("inviting", "bob"),
            ev("inviting", "carol"),
            ev("inviting", "dave")
        ]
    );
    assert!(done_for(&outs, id).is_ok());

    assert_eq!(
        p.update(s.gone("bob", EndReason::Reject, Some(&dev("bob")), 1_000)),
        vec![ev("reject", "bob")]
    );
    let evs = p.update(s.accept("carol", &dev("carol"), 2_000));
    assert_eq!(
        evs,
        vec![
            ev("join", "carol"),
            Event::CallBegin {
                call_id: "c1".into(),
                room_id: "room-c1".into(),
                media_type: MediaType::Video,
                is_group: true
            }
        ]
    );
    assert_eq!(
        p.update(s.accept("dave", &dev("dave"), 3_000)),
        vec![ev("join", "dave")]
    );

    // Alice invites erin during the call.
    let (iid, frame) = p.send_command(Command::InviteUser {
        user_ids: vec!["erin".into()],
        timeout_s: 20,
    });
    assert_eq!(
        frame.msg,
        ClientMsg::Invite {
            call_id: "c1".into(),
            user_ids: vec!["erin".into()],
            timeout_s: 20
        }
    );
    let outs = p.frame(ServerMsg::ok_call(
        frame.seq,
        s.invite("erin", "alice", 4_000),
    ));
    assert_eq!(events(&outs), vec![ev("inviting", "erin")]);
    assert!(done_for(&outs, iid).is_ok());
    assert_eq!(
        p.update(s.gone("erin", EndReason::NoResponse, None, 24_000)),
        vec![ev("noresp", "erin")]
    );

    // Dave leaves; the call goes on.
    assert_eq!(p.update(s.leave("dave", 30_000)), vec![ev("leave", "dave")]);
    assert!(p.core.current_call().is_some());
    // Alice hangs up; carol is alone and the call ends.
    let (_, frame) = p.send_command(Command::Hangup);
    s.gone("alice", EndReason::Hangup, None, 62_000);
    let outs = p.frame(ServerMsg::ok_call(
        frame.seq,
        s.end(EndReason::Hangup, 62_000),
    ));
    assert_eq!(
        events(&outs),
        vec![
            ev("leave", "carol"),
            Event::CallEnd {
                call_id: "c1".into(),
                media_type: MediaType::Video,
                reason: EndReason::Hangup,
                total_time_s: 60
            }
        ]
    );
}

#[test]
fn a_callee_leaving_a_group_call_that_goes_on_gets_call_end() {
    let mut p = Phone::online("bob");
    let mut s = Snap::new("c1", "alice", &["bob", "carol"], MediaType::Audio);
    p.update(s.get());
    let (_, f) = p.send_command(Command::Accept);
    p.frame(ServerMsg::ok_call(
        f.seq,
        s.accept("bob", &dev("bob"), 1_000),
    ));
    assert_eq!(
        p.update(s.accept("carol", &dev("carol"), 2_000)),
        vec![ev("join", "carol")]
    );
    let (_, f) = p.send_command(Command::Hangup);
    let outs = p.frame(ServerMsg::ok_call(f.seq, s.leave("bob", 11_500)));
    assert_eq!(
        events(&outs),
        vec![Event::CallEnd {
            call_id: "c1".into(),
            media_type: MediaType::Audio,
            reason: EndReason::Hangup,
            total_time_s: 10
        }]
    );
    // The others go on without this device hearing about it.
    assert!(p.update(s.leave("carol", 20_000)).is_empty());
}

#[test]
fn join_by_call_id() {
    let mut p = Phone::online("erin");
    let mut s = Snap::new("c1", "alice", &["bob", "carol"], MediaType::Video).group();
    s.accept("bob", &dev("bob"), 1_000);
    let ringing = s.get();
    // Erin is not a participant: the update (if any reached her) is not her business.
    assert!(p.update(ringing).is_empty());
    let (id, frame) = p.send_command(Command::Join {
        call_id: "c1".into(),
    });
    assert_eq!(
        frame.msg,
        ClientMsg::Join {
            call_id: "c1".into()
        }
    );
    let outs = p.frame(ServerMsg::ok_call(
        frame.seq,
        s.join("erin", &dev("erin"), 5_000),
    ));
    assert_eq!(
        events(&outs),
        vec![
            ev("join", "alice"),
            ev("join", "bob"),
            ev("inviting", "carol"),
            Event::CallBegin {
                call_id: "c1".into(),
                room_id: "room-c1".into(),
                media_type: MediaType::Video,
                is_group: true
            }
        ]
    );
    assert_eq!(done_for(&outs, id).unwrap().call_id.as_deref(), Some("c1"));
    assert_eq!(p.update(s.leave("bob", 8_000)), vec![ev("leave", "bob")]);
    // Leaving and joining again starts a new episode for this device.
    let (_, f) = p.send_command(Command::Hangup);
    let outs = p.frame(ServerMsg::ok_call(f.seq, s.leave("erin", 9_000)));
    assert_eq!(names(&events(&outs)), vec!["onCallEnd"]);
    let (_, f) = p.send_command(Command::Join {
        call_id: "c1".into(),
    });
    let outs = p.frame(ServerMsg::ok_call(
        f.seq,
        s.join("erin", &dev("erin"), 10_000),
    ));
    assert_eq!(
        names(&events(&outs)),
        vec!["onUserJoin", "onUserInviting", "onCallBegin"]
    );
}

#[test]
fn join_refused_by_the_server() {
    let mut p = Phone::online("erin");
    let (id, frame) = p.send_command(Command::Join {
        call_id: "nope".into(),
    });
    let outs = p.frame(ServerMsg::err(
        frame.seq,
        hotline_proto::ErrorCode::RequestRefused,
        "no such call",
    ));
    assert_eq!(
        err_code(&outs, id),
        hotline_proto::ErrorCode::RequestRefused
    );
    assert!(p.core.current_call().is_none());
}

#[test]
fn switch_media_video_to_audio() {
    let mut p = Phone::online("alice");
    let (_, frame) = p.send_command(Command::Calls {
        user_ids: vec!["bob".into()],
        media_type: MediaType::Video,
        params: CallParams::default(),
    });
    let mut s = Snap::new("c1", "alice", &["bob"], MediaType::Video);
    p.frame(ServerMsg::ok_call(frame.seq, s.get()));
    p.update(s.accept("bob", &dev("bob"), 1_000));
    let (id, frame) = p.send_command(Command::SwitchCallMediaType {
        media_type: MediaType::Audio,
    });
    assert_eq!(
        frame.msg,
        ClientMsg::SwitchMedia {
            call_id: "c1".into(),
            media_type: MediaType::Audio
        }
    );
    let outs = p.frame(ServerMsg::ok_call(frame.seq, s.media(MediaType::Audio)));
    assert_eq!(
        events(&outs),
        vec![Event::CallMediaTypeChanged {
            call_id: "c1".into(),
            old: MediaType::Video,
            new: MediaType::Audio
        }]
    );
    assert!(done_for(&outs, id).is_ok());
    // The other side's switch arrives as a push just the same.
    let mut p2 = Phone::online("bob");
    let mut s2 = Snap::new("c2", "alice", &["bob"], MediaType::Video);
    p2.update(s2.get());
    let (_, f) = p2.send_command(Command::Accept);
    p2.frame(ServerMsg::ok_call(
        f.seq,
        s2.accept("bob", &dev("bob"), 1_000),
    ));
    assert_eq!(
        names(&p2.update(s2.media(MediaType::Audio))),
        vec!["onCallMediaTypeChanged"]
    );
}
