//! Login, heartbeats, liveness, request timeouts and the offline queue.

mod common;

use common::*;
use hotline_core::{Command, CoreConfig, Event, Input, Output, MAX_QUEUED_COMMANDS};
use hotline_proto::{ClientMsg, ErrorCode, IceServer, RecordFilter, ServerMsg, PROTOCOL_VERSION};

fn query() -> Command {
    Command::QueryRecentCalls {
        filter: RecordFilter::default(),
    }
}

#[test]
fn login_success_sends_login_and_reports_done() {
    let mut p = Phone::new("alice");
    let outs = p.input(Input::Connected);
    let frames = sent(&outs);
    assert_eq!(frames.len(), 1);
    assert_eq!(
        frames[0].msg,
        ClientMsg::Login {
            protocol_version: PROTOCOL_VERSION,
            sdk_app_id: 1400000001,
            user_id: "alice".into(),
            user_sig: "secret-sig".into(),
            device_id: dev("alice"),
            multi_device: false,
            known_calls: vec![],
        }
    );
    let outs = p.frame(login_ok(frames[0].seq, vec![]));
    assert_eq!(outs, vec![Output::LoginDone(Ok(()))]);
    assert!(p.core.is_logged_in());
    // The next wake-up is the first heartbeat.
    assert_eq!(p.wake_at, u64::from(HEARTBEAT_S) * 1000);
}

/// A login response listing `ice_servers`.
fn login_with_relays(seq: u64, ice_servers: Vec<IceServer>) -> ServerMsg {
    let mut msg = login_ok(seq, vec![]);
    if let ServerMsg::Response {
        login: Some(login), ..
    } = &mut msg
    {
        login.ice_servers = ice_servers;
    }
    msg
}

#[test]
fn the_relays_a_login_lists_are_handed_on_when_they_change() {
    let relay = |credential: &str| IceServer {
        urls: vec!["turns:turn.example.com:443?transport=tcp".into()],
        username: "1700003600:alice".into(),
        credential: credential.into(),
    };
    let mut p = Phone::new("alice");
    let (seq, _) = p.connect();
    let outs = p.frame(login_with_relays(seq, vec![relay("one")]));
    assert_eq!(
        outs,
        vec![
            Output::IceServers(vec![relay("one")]),
            Output::LoginDone(Ok(()))
        ]
    );
    // The same list again: nothing new to hand on.
    p.input(Input::Disconnected);
    let (seq, _) = p.connect();
    let outs = p.frame(login_with_relays(seq, vec![relay("one")]));
    assert_eq!(outs, vec![Output::LoginDone(Ok(()))]);
    // A fresh credential replaces the old one.
    p.input(Input::Disconnected);
    let (seq, _) = p.connect();
    let outs = p.frame(login_with_relays(seq, vec![relay("two")]));
    assert_eq!(outs[0], Output::IceServers(vec![relay("two")]));
}

#[test]
fn login_refused_stops_for_good() {
    let mut p = Phone::new("alice");
    let (seq, _) = p.connect();
    let outs = p.frame(ServerMsg::err(
        seq,
        ErrorCode::UserSigInvalid,
        "bad signature",
    ));
    assert_eq!(
        outs,
        vec![
            Output::Event(Event::Error {
                code: ErrorCode::UserSigInvalid,
                message: "bad signature".into()
            }),
            Output::LoginDone(Err(hotline_core::CoreError::new(
                ErrorCode::UserSigInvalid,
                "bad signature"
            ))),
            Output::Disconnect { reconnect: false },
        ]
    );
    p.input(Input::Disconnected);
    // Commands now fail at once.
    let (id, outs) = p.command(query());
    assert_eq!(err_code(&outs, id), ErrorCode::NotLoggedIn);
}

#[test]
fn login_with_expired_usersig() {
    let mut p = Phone::new("alice");
    let (queued, _) = p.command(query());
    let (seq, _) = p.connect();
    let outs = p.frame(ServerMsg::err(seq, ErrorCode::UserSigExpired, "expired"));
    assert_eq!(outs[0], Output::Event(Event::UserSigExpired));
    assert!(matches!(&outs[1], Output::LoginDone(Err(e)) if e.code == ErrorCode::UserSigExpired));
    assert_eq!(err_code(&outs, queued), ErrorCode::NotLoggedIn);
    assert_eq!(outs.last(), Some(&Output::Disconnect { reconnect: false }));
}

#[test]
fn transient_login_error_reconnects() {
    let mut p = Phone::new("alice");
    let (queued, _) = p.command(query());
    let (seq, _) = p.connect();
    let outs = p.frame(ServerMsg::err(seq, ErrorCode::ServerError, "db down"));
    assert!(matches!(&outs[1], Output::LoginDone(Err(e)) if e.code == ErrorCode::ServerError));
    assert_eq!(outs.last(), Some(&Output::Disconnect { reconnect: true }));
    assert!(
        dones(&outs).is_empty(),
        "queued commands survive a transient failure"
    );
    p.input(Input::Disconnected);
    let outs = p.login(vec![]);
    assert_eq!(sent(&outs).len(), 1);
    let _ = queued;
}

#[test]
fn kicked_offline_and_usersig_expired_pushes() {
    let mut p = Phone::online("alice");
    let (id, _) = p.send_command(query());
    let outs = p.frame(ServerMsg::KickedOffline {
        message: "logged in elsewhere".into(),
    });
    assert_eq!(outs[0], Output::Event(Event::KickedOffline));
    assert_eq!(err_code(&outs, id), ErrorCode::NotLoggedIn);
    assert_eq!(outs.last(), Some(&Output::Disconnect { reconnect: false }));

    let mut p = Phone::online("bob");
    let outs = p.frame(ServerMsg::UserSigExpired);
    assert_eq!(
        outs,
        vec![
            Output::Event(Event::UserSigExpired),
            Output::Disconnect { reconnect: false }
        ]
    );
}

#[test]
fn server_error_push_becomes_an_error_event() {
    let mut p = Phone::online("alice");
    let outs = p.frame(ServerMsg::Error {
        code: ErrorCode::MalformedMessage.as_i32(),
        message: "bad".into(),
    });
    assert_eq!(
        outs,
        vec![Output::Event(Event::Error {
            code: ErrorCode::MalformedMessage,
            message: "bad".into()
        })]
    );
    // Unknown codes become FAILED.
    let outs = p.frame(ServerMsg::Error {
        code: 12345,
        message: "?".into(),
    });
    assert_eq!(
        outs,
        vec![Output::Event(Event::Error {
            code: ErrorCode::Failed,
            message: "?".into()
        })]
    );
}

#[test]
fn heartbeats_go_out_on_schedule() {
    let mut p = Phone::online("alice");
    let hb = u64::from(HEARTBEAT_S) * 1000;
    let mut pings = vec![];
    // The server answers every ping at once.
    while p.now < 5 * hb {
        let next = p.wake_at;
        let outs = p.advance_to(next);
        for f in sent(&outs) {
            assert_eq!(f.msg, ClientMsg::Ping);
            pings.push(p.now);
            let outs = p.frame(ServerMsg::ok(f.seq));
            assert!(outs.is_empty());
        }
    }
    assert_eq!(pings, vec![hb, 2 * hb, 3 * hb, 4 * hb, 5 * hb]);
}

#[test]
fn silent_server_is_declared_dead() {
    let mut p = Phone::online("alice");
    let hb = u64::from(HEARTBEAT_S) * 1000;
    let (id, _) = p.send_command(query());
    // Nothing at all comes back: the request times out first, then the link dies.
    let outs = p.advance_to(2 * hb + 5_000 - 1);
    assert_eq!(err_code(&outs, id), ErrorCode::Timeout);
    assert!(!outs.iter().any(|o| matches!(o, Output::Disconnect { .. })));
    let outs = p.advance_to(2 * hb + 5_000);
    assert_eq!(outs, vec![Output::Disconnect { reconnect: true }]);
    assert!(!p.core.is_logged_in());
}

#[test]
fn any_frame_keeps_the_link_alive() {
    let mut p = Phone::online("alice");
    let hb = u64::from(HEARTBEAT_S) * 1000;
    p.advance_to(2 * hb);
    p.frame(ServerMsg::Error {
        code: -1,
        message: "noise".into(),
    });
    let outs = p.advance_to(4 * hb + 4_000);
    assert!(
        !outs.iter().any(|o| matches!(o, Output::Disconnect { .. })),
        "{outs:?}"
    );
    let outs = p.advance_to(4 * hb + 5_000);
    assert!(outs.contains(&Output::Disconnect { reconnect: true }));
}

#[test]
fn login_response_timeout_reconnects() {
    let mut p = Phone::new("alice");
    p.connect();
    assert_eq!(p.wake_at, 10_000);
    let outs = p.advance_to(9_999);
    assert!(outs.is_empty());
    let outs = p.advance_to(10_000);
    assert_eq!(outs, vec![Output::Disconnect { reconnect: true }]);
}

#[test]
fn request_times_out_after_ten_seconds() {
    let mut p = Phone::online("alice");
    p.advance_to(1_000);
    let (id, frame) = p.send_command(query());
    assert!(p.advance_to(10_999).is_empty());
    let outs = p.advance_to(11_000);
    assert_eq!(err_code(&outs, id), ErrorCode::Timeout);
    // A late answer is ignored.
    let outs = p.frame(ServerMsg::ok(frame.seq));
    assert!(outs.is_empty());
}

#[test]
fn response_completes_the_command_with_records() {
    let mut p = Phone::online("alice");
    let (id, frame) = p.send_command(query());
    let record = hotline_proto::CallRecord {
        record_id: "r1".into(),
        user_id: "alice".into(),
        call_id: "c1".into(),
        caller_id: "alice".into(),
        callee_ids: vec!["bob".into()],
        media_type: hotline_proto::MediaType::Audio,
        is_group: false,
        result: hotline_proto::CallResult::Outgoing,
        begin_time_ms: T0,
        total_time_s: 3,
    };
    let outs = p.frame(ServerMsg::Response {
        seq: frame.seq,
        code: 0,
        message: String::new(),
        login: None,
        call: None,
        records: Some(vec![record.clone()]),
        sdp: None,
    });
    let ok = done_for(&outs, id).unwrap();
    assert_eq!(ok.records, vec![record]);
    // And an error response fails it.
    let (id, frame) = p.send_command(Command::DeleteRecordCalls {
        record_ids: vec!["r1".into()],
    });
    let outs = p.frame(ServerMsg::err(frame.seq, ErrorCode::ServerError, "oops"));
    assert_eq!(err_code(&outs, id), ErrorCode::ServerError);
}

#[test]
fn in_flight_requests_fail_on_disconnect_and_queued_ones_go_after_relogin() {
    let mut p = Phone::online("alice");
    let (in_flight, _) = p.send_command(query());
    let outs = p.input_at(Input::Disconnected, 1_000);
    assert_eq!(
        done_for(&outs, in_flight).unwrap_err().message,
        "connection lost"
    );
    assert_eq!(err_code(&outs, in_flight), ErrorCode::Timeout);

    let (q1, outs) = p.command(Command::SetSelfInfo {
        nickname: "Alice".into(),
        avatar_url: String::new(),
    });
    assert!(outs.is_empty(), "queued, nothing sent: {outs:?}");
    let (q2, _) = p.command(query());
    p.advance_to(3_000);
    let (seq, outs) = p.connect();
    assert_eq!(sent(&outs).len(), 1, "only the login before it succeeds");
    let outs = p.frame(login_ok(seq, vec![]));
    assert_eq!(outs[0], Output::LoginDone(Ok(())));
    let frames = sent(&outs);
    assert_eq!(frames.len(), 2);
    assert!(matches!(frames[0].msg, ClientMsg::SetSelfInfo { .. }));
    assert!(matches!(frames[1].msg, ClientMsg::QueryRecords { .. }));
    let outs = p.frame(ServerMsg::ok(frames[0].seq));
    assert!(done_for(&outs, q1).is_ok());
    let outs = p.frame(ServerMsg::ok(frames[1].seq));
    assert!(done_for(&outs, q2).is_ok());
}

#[test]
fn queued_commands_honour_the_timeout() {
    let mut p = Phone::new("alice");
    let (id, outs) = p.command(query());
    assert!(outs.is_empty());
    assert_eq!(p.wake_at, 10_000);
    let outs = p.advance_to(10_000);
    assert_eq!(err_code(&outs, id), ErrorCode::Timeout);
    // Nothing left to send after login.
    let outs = p.login(vec![]);
    assert_eq!(outs, vec![Output::LoginDone(Ok(()))]);
}

#[test]
fn commands_before_the_first_login_are_queued() {
    let mut p = Phone::new("alice");
    let (id, _) = p.command(Command::SetSelfInfo {
        nickname: "A".into(),
        avatar_url: "u".into(),
    });
    let outs = p.login(vec![]);
    let frames = sent(&outs);
    assert_eq!(frames.len(), 1);
    let outs = p.frame(ServerMsg::ok(frames[0].seq));
    assert!(done_for(&outs, id).is_ok());
}

#[test]
fn the_queue_is_bounded() {
    let mut p = Phone::new("alice");
    for _ in 0..MAX_QUEUED_COMMANDS {
        let (_, outs) = p.command(query());
        assert!(outs.is_empty());
    }
    let (id, outs) = p.command(query());
    assert_eq!(err_code(&outs, id), ErrorCode::RequestRefused);
}

#[test]
fn multi_device_setting_is_remembered_for_the_next_login() {
    let mut p = Phone::online("alice");
    let (id, frame) = p.send_command(Command::EnableMultiDeviceAbility { enabled: true });
    assert_eq!(frame.msg, ClientMsg::SetMultiDevice { enabled: true });
    let outs = p.frame(ServerMsg::ok(frame.seq));
    assert!(done_for(&outs, id).is_ok());
    p.input(Input::Disconnected);
    let (_, outs) = p.connect();
    assert!(matches!(
        &sent(&outs)[0].msg,
        ClientMsg::Login {
            multi_device: true,
            ..
        }
    ));
}

#[test]
fn config_debug_hides_the_usersig() {
    let c = CoreConfig {
        sdk_app_id: 1,
        user_id: "alice".into(),
        user_sig: "very-secret".into(),
        device_id: "d".into(),
        multi_device: false,
    };
    assert!(!format!("{c:?}").contains("very-secret"));
}

#[test]
fn idle_core_still_asks_for_a_tick() {
    let mut p = Phone::new("alice");
    p.input_at(Input::Tick, 5);
    assert_eq!(p.wake_at, 5 + hotline_core::IDLE_TICK_MS);
}
