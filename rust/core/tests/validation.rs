//! Local validation: commands that fail at once, with nothing sent.

mod common;

use common::*;
use hotline_core::{CallParams, Command, MAX_CALLEES};
use hotline_proto::{ErrorCode, MediaType, ServerMsg};

/// Issue `command` and expect it to fail locally with `code`.
fn refused(p: &mut Phone, command: Command, code: ErrorCode) {
    let what = format!("{command:?}");
    let (id, outs) = p.command(command);
    assert!(
        sent(&outs).is_empty(),
        "{what}: nothing may be sent, got {outs:?}"
    );
    assert_eq!(err_code(&outs, id), code, "{what}");
}

fn calls(ids: &[&str]) -> Command {
    Command::Calls {
        user_ids: ids.iter().map(|s| s.to_string()).collect(),
        media_type: MediaType::Audio,
        params: CallParams::default(),
    }
}

#[test]
fn calls_parameters() {
    let mut p = Phone::online("alice");
    refused(&mut p, calls(&[]), ErrorCode::ParamInvalid);
    refused(&mut p, calls(&["bob", "bob"]), ErrorCode::ParamInvalid);
    refused(&mut p, calls(&["alice"]), ErrorCode::ParamInvalid);
    refused(&mut p, calls(&["bad id"]), ErrorCode::ParamInvalid);
    refused(&mut p, calls(&[""]), ErrorCode::ParamInvalid);
    let too_many: Vec<String> = (0..=MAX_CALLEES).map(|i| format!("u{i}")).collect();
    let refs: Vec<&str> = too_many.iter().map(String::as_str).collect();
    refused(&mut p, calls(&refs), ErrorCode::ParamInvalid);
    for timeout_s in [1, 9, 601] {
        let params = CallParams {
            timeout_s,
            ..Default::default()
        };
        refused(
            &mut p,
            Command::Calls {
                user_ids: vec!["bob".into()],
                media_type: MediaType::Audio,
                params,
            },
            ErrorCode::ParamInvalid,
        );
    }
    // Exactly MAX_CALLEES is fine.
    let ok: Vec<&str> = refs[..MAX_CALLEES].to_vec();
    let (_, outs) = p.command(calls(&ok));
    assert_eq!(sent(&outs).len(), 1);
}

#[test]
fn calls_while_busy() {
    // A Calls request is pending.
    let mut p = Phone::online("alice");
    p.send_command(calls(&["bob"]));
    refused(&mut p, calls(&["carol"]), ErrorCode::RequestRefused);
    refused(
        &mut p,
        Command::Join {
            call_id: "c9".into(),
        },
        ErrorCode::RequestRefused,
    );

    // Ringing.
    let mut p = Phone::online("bob");
    p.update(Snap::new("c1", "alice", &["bob"], MediaType::Audio).get());
    refused(&mut p, calls(&["carol"]), ErrorCode::RequestRefused);

    // In a call.
    let mut p = Phone::online("bob");
    let mut s = Snap::new("c1", "alice", &["bob"], MediaType::Audio);
    p.update(s.get());
    p.update(s.accept("bob", &dev("bob"), 1_000));
    refused(&mut p, calls(&["carol"]), ErrorCode::RequestRefused);
    refused(
        &mut p,
        Command::Join {
            call_id: "c2".into(),
        },
        ErrorCode::RequestRefused,
    );
}

#[test]
fn answers_need_a_ringing_call() {
    let mut p = Phone::online("bob");
    refused(&mut p, Command::Accept, ErrorCode::RequestRefused);
    refused(&mut p, Command::Reject, ErrorCode::RequestRefused);
    refused(&mut p, Command::Ignore, ErrorCode::RequestRefused);
    refused(&mut p, Command::Hangup, ErrorCode::RequestRefused);
    // In the call already: no longer ringing.
    let mut s = Snap::new("c1", "alice", &["bob"], MediaType::Audio);
    p.update(s.get());
    p.update(s.accept("bob", &dev("bob"), 1_000));
    refused(&mut p, Command::Accept, ErrorCode::RequestRefused);
    refused(&mut p, Command::Reject, ErrorCode::RequestRefused);
    refused(&mut p, Command::Ignore, ErrorCode::RequestRefused);
    // The caller cannot answer its own call.
    let mut p = Phone::online("alice");
    let (_, f) = p.send_command(calls(&["bob"]));
    p.frame(ServerMsg::ok_call(
        f.seq,
        Snap::new("c1", "alice", &["bob"], MediaType::Audio).get(),
    ));
    refused(&mut p, Command::Accept, ErrorCode::RequestRefused);
}

#[test]
fn repeated_and_conflicting_answers() {
    let mut p = Phone::online("bob");
    p.update(Snap::new("c1", "alice", &["bob"], MediaType::Audio).get());
    p.send_command(Command::Accept);
    refused(&mut p, Command::Accept, ErrorCode::RequestRepeated);
    refused(&mut p, Command::Reject, ErrorCode::RequestRefused);
    refused(&mut p, Command::Ignore, ErrorCode::RequestRefused);
    // Hanging up is still possible, once.
    p.send_command(Command::Hangup);
    refused(&mut p, Command::Hangup, ErrorCode::RequestRepeated);
}

#[test]
fn invite_needs_to_be_in_the_call_and_valid_ids() {
    let mut p = Phone::online("bob");
    let invite = |ids: &[&str], timeout_s: u32| Command::InviteUser {
        user_ids: ids.iter().map(|s| s.to_string()).collect(),
        timeout_s,
    };
    refused(&mut p, invite(&["carol"], 0), ErrorCode::RequestRefused);
    let mut s = Snap::new("c1", "alice", &["bob"], MediaType::Audio);
    p.update(s.get());
    // Ringing is not enough.
    refused(&mut p, invite(&["carol"], 0), ErrorCode::RequestRefused);
    p.update(s.accept("bob", &dev("bob"), 1_000));
    refused(&mut p, invite(&[], 0), ErrorCode::ParamInvalid);
    refused(&mut p, invite(&["no/slash"], 0), ErrorCode::ParamInvalid);
    refused(&mut p, invite(&["bob"], 0), ErrorCode::ParamInvalid);
    refused(
        &mut p,
        invite(&["carol", "carol"], 0),
        ErrorCode::ParamInvalid,
    );
    refused(&mut p, invite(&["carol"], 5), ErrorCode::ParamInvalid);
    let (_, outs) = p.command(invite(&["carol"], 0));
    assert_eq!(sent(&outs).len(), 1);
}

#[test]
fn join_parameters() {
    let mut p = Phone::online("erin");
    refused(
        &mut p,
        Command::Join {
            call_id: String::new(),
        },
        ErrorCode::ParamInvalid,
    );
    p.send_command(Command::Join {
        call_id: "c1".into(),
    });
    refused(
        &mut p,
        Command::Join {
            call_id: "c1".into(),
        },
        ErrorCode::RequestRefused,
    );
    refused(&mut p, calls(&["bob"]), ErrorCode::RequestRefused);
}

#[test]
fn switch_media_rules() {
    let mut p = Phone::online("bob");
    refused(
        &mut p,
        Command::SwitchCallMediaType {
            media_type: MediaType::Audio,
        },
        ErrorCode::RequestRefused,
    );
    let mut s = Snap::new("c1", "alice", &["bob"], MediaType::Audio);
    p.update(s.get());
    p.update(s.accept("bob", &dev("bob"), 1_000));
    // Audio → video, and audio → audio, are not supported.
    refused(
        &mut p,
        Command::SwitchCallMediaType {
            media_type: MediaType::Video,
        },
        ErrorCode::ParamInvalid,
    );
    refused(
        &mut p,
        Command::SwitchCallMediaType {
            media_type: MediaType::Audio,
        },
        ErrorCode::ParamInvalid,
    );
    let mut p = Phone::online("bob");
    let mut s = Snap::new("c1", "alice", &["bob"], MediaType::Video);
    p.update(s.get());
    p.update(s.accept("bob", &dev("bob"), 1_000));
    refused(
        &mut p,
        Command::SwitchCallMediaType {
            media_type: MediaType::Video,
        },
        ErrorCode::ParamInvalid,
    );
    let (_, outs) = p.command(Command::SwitchCallMediaType {
        media_type: MediaType::Audio,
    });
    assert_eq!(sent(&outs).len(), 1);
}

#[test]
fn validation_also_applies_while_disconnected() {
    let mut p = Phone::new("alice");
    refused(&mut p, calls(&["alice"]), ErrorCode::ParamInvalid);
    refused(&mut p, Command::Accept, ErrorCode::RequestRefused);
}
