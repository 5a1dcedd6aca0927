//! Calls this user receives, including multi-device answers.

mod common;

use common::*;
use hotline_core::{Command, Event, Input};
use hotline_proto::{ClientMsg, EndReason, MediaType, ServerMsg};

fn received(callees: &[&str], media: MediaType, group: bool) -> Event {
    Event::CallReceived {
        call_id: "c1".into(),
        caller_id: "alice".into(),
        callee_ids: callees.iter().map(|s| s.to_string()).collect(),
        media_type: media,
        user_data: String::new(),
        is_group: group,
        chat_group_id: String::new(),
    }
}

fn ringing_bob() -> (Phone, Snap) {
    let mut p = Phone::online("bob");
    let s = Snap::new("c1", "alice", &["bob"], MediaType::Video);
    let evs = p.update(s.get());
    assert_eq!(evs, vec![received(&["bob"], MediaType::Video, false)]);
    assert_eq!(p.core.current_call().unwrap().call_id, "c1");
    (p, s)
}

#[test]
fn incoming_accept_then_caller_hangs_up() {
    let (mut p, mut s) = ringing_bob();
    let (id, frame) = p.send_command(Command::Accept);
    assert_eq!(
        frame.msg,
        ClientMsg::Accept {
            call_id: "c1".into()
        }
    );
    let outs = p.frame(ServerMsg::ok_call(
        frame.seq,
        s.accept("bob", &dev("bob"), 4_000),
    ));
    assert_eq!(
        events(&outs),
        vec![
            Event::UserJoin {
                call_id: "c1".into(),
                user_id: "alice".into()
            },
            Event::CallBegin {
                call_id: "c1".into(),
                room_id: "room-c1".into(),
                media_type: MediaType::Video,
                is_group: false
            },
        ]
    );
    assert_eq!(done_for(&outs, id).unwrap().call_id.as_deref(), Some("c1"));
    let evs = p.update(s.gone_and_end("alice", EndReason::Hangup, None, 24_999));
    assert_eq!(
        evs,
        vec![
            Event::UserLeave {
                call_id: "c1".into(),
                user_id: "alice".into()
            },
            Event::CallEnd {
                call_id: "c1".into(),
                media_type: MediaType::Video,
                reason: EndReason::Hangup,
                total_time_s: 20
            },
        ]
    );
    assert!(p.core.current_call().is_none());
}

#[test]
fn incoming_reject() {
    let (mut p, mut s) = ringing_bob();
    let (id, frame) = p.send_command(Command::Reject);
    assert_eq!(
        frame.msg,
        ClientMsg::Reject {
            call_id: "c1".into()
        }
    );
    let outs = p.frame(ServerMsg::ok_call(
        frame.seq,
        s.gone_and_end("bob", EndReason::Reject, Some(&dev("bob")), 2_000),
    ));
    assert_eq!(
        events(&outs),
        vec![Event::CallNotConnected {
            call_id: "c1".into(),
            media_type: MediaType::Video,
            reason: EndReason::Reject
        }]
    );
    assert!(done_for(&outs, id).is_ok());
}

#[test]
fn incoming_ignore() {
    let (mut p, mut s) = ringing_bob();
    let (id, frame) = p.send_command(Command::Ignore);
    assert_eq!(
        frame.msg,
        ClientMsg::Ignore {
            call_id: "c1".into()
        }
    );
    let outs = p.frame(ServerMsg::ok_call(
        frame.seq,
        s.gone_and_end("bob", EndReason::LineBusy, Some(&dev("bob")), 2_000),
    ));
    assert_eq!(
        events(&outs),
        vec![Event::CallNotConnected {
            call_id: "c1".into(),
            media_type: MediaType::Video,
            reason: EndReason::LineBusy
        }]
    );
    assert!(done_for(&outs, id).is_ok());
}

#[test]
fn caller_cancels_and_callee_sees_not_connected() {
    let (mut p, mut s) = ringing_bob();
    let evs = p.update(s.end(EndReason::Canceled, 3_000));
    assert_eq!(
        evs,
        vec![Event::CallNotConnected {
            call_id: "c1".into(),
            media_type: MediaType::Video,
            reason: EndReason::Canceled
        }]
    );
    assert!(p.core.current_call().is_none());
}

#[test]
fn invitation_times_out() {
    let (mut p, mut s) = ringing_bob();
    let evs = p.update(s.end(EndReason::NoResponse, 30_000));
    assert_eq!(
        evs,
        vec![Event::CallNotConnected {
            call_id: "c1".into(),
            media_type: MediaType::Video,
            reason: EndReason::NoResponse
        }]
    );
}

#[test]
fn second_invitation_while_ringing_is_ignored() {
    let (mut p, _) = ringing_bob();
    let other = Snap::new("c2", "carol", &["bob"], MediaType::Audio);
    assert!(p.update(other.get()).is_empty());
    assert_eq!(p.core.current_call().unwrap().call_id, "c1");
}

#[test]
fn ringing_callee_gets_no_events_about_co_callees_until_it_joins() {
    let mut p = Phone::online("bob");
    let mut s = Snap::new("c1", "alice", &["bob", "carol", "dave"], MediaType::Audio);
    assert_eq!(
        p.update(s.get()),
        vec![received(&["bob", "carol", "dave"], MediaType::Audio, true)]
    );
    assert!(p
        .update(s.gone("dave", EndReason::Reject, Some(&dev("dave")), 1_000))
        .is_empty());
    assert!(p.update(s.accept("carol", &dev("carol"), 2_000)).is_empty());
    // Bob accepts: everyone in the call joins, dave (gone) is not mentioned.
    let (_, frame) = p.send_command(Command::Accept);
    let outs = p.frame(ServerMsg::ok_call(
        frame.seq,
        s.accept("bob", &dev("bob"), 3_000),
    ));
    assert_eq!(
        events(&outs),
        vec![
            Event::UserJoin {
                call_id: "c1".into(),
                user_id: "alice".into()
            },
            Event::UserJoin {
                call_id: "c1".into(),
                user_id: "carol".into()
            },
            Event::CallBegin {
                call_id: "c1".into(),
                room_id: "room-c1".into(),
                media_type: MediaType::Audio,
                is_group: true
            },
        ]
    );
}

#[test]
fn other_device_accepted() {
    let (mut p, mut s) = ringing_bob();
    let evs = p.update(s.accept("bob", "bob-tablet", 2_000));
    assert_eq!(
        evs,
        vec![Event::CallNotConnected {
            call_id: "c1".into(),
            media_type: MediaType::Video,
            reason: EndReason::OtherDeviceAccepted
        }]
    );
    assert!(p.core.current_call().is_none());
    // Later changes of that call are not this device's business.
    assert!(p
        .update(s.gone_and_end("alice", EndReason::Hangup, None, 9_000))
        .is_empty());
    // And this device is free for the next call.
    let next = Snap::new("c2", "carol", &["bob"], MediaType::Audio);
    assert_eq!(names(&p.update(next.get())), vec!["onCallReceived"]);
}

#[test]
fn other_device_rejected() {
    let (mut p, mut s) = ringing_bob();
    let evs = p.update(s.gone_and_end("bob", EndReason::Reject, Some("bob-tablet"), 2_000));
    assert_eq!(
        evs,
        vec![Event::CallNotConnected {
            call_id: "c1".into(),
            media_type: MediaType::Video,
            reason: EndReason::OtherDeviceReject
        }]
    );
    assert!(p.core.current_call().is_none());
}

#[test]
fn other_device_rejected_a_group_call_that_goes_on() {
    let mut p = Phone::online("bob");
    let mut s = Snap::new("c1", "alice", &["bob", "carol"], MediaType::Audio);
    p.update(s.get());
    let evs = p.update(s.gone("bob", EndReason::Reject, Some("bob-tablet"), 2_000));
    assert_eq!(names(&evs), vec!["onCallNotConnected"]);
    assert!(matches!(
        evs[0],
        Event::CallNotConnected {
            reason: EndReason::OtherDeviceReject,
            ..
        }
    ));
    assert!(p.update(s.accept("carol", &dev("carol"), 3_000)).is_empty());
}

#[test]
fn reinvited_after_leaving_a_group_call_rings_again() {
    let mut p = Phone::online("bob");
    let mut s = Snap::new("c1", "alice", &["bob", "carol"], MediaType::Audio);
    p.update(s.get());
    let (_, f) = p.send_command(Command::Reject);
    let outs = p.frame(ServerMsg::ok_call(
        f.seq,
        s.gone("bob", EndReason::Reject, Some(&dev("bob")), 1_000),
    ));
    assert_eq!(names(&events(&outs)), vec!["onCallNotConnected"]);
    p.update(s.accept("carol", &dev("carol"), 2_000));
    let evs = p.update(s.invite("bob", "carol", 3_000));
    assert_eq!(names(&evs), vec!["onCallReceived"]);
    let _ = p.input(Input::Tick);
}
