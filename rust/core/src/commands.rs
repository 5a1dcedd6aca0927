//! Local validation of API commands, and their frames.
//!
//! Input: a [`Command`], the current call (if any), this user's ID and the
//! requests still waiting for an answer. Output: the [`ClientMsg`] to send,
//! or a [`CoreError`] to fail the command with at once (nothing is sent).
//!
//! Rules: `Calls` needs 1–8 valid, distinct callees other than oneself, a
//! valid timeout, no current call and no pending `Calls`/`Join`. Accept,
//! Reject and Ignore need a current call ringing here (the same answer in
//! flight → REQUEST_REPEATED, another answer in flight → REQUEST_REFUSED).
//! Hangup needs a current call (a Hangup of it in flight → REQUEST_REPEATED).
//! InviteUser needs a current call this user is in. Join needs no current call
//! and no pending `Calls`/`Join`. SwitchCallMediaType needs a current call and
//! only goes from video to audio. The media layer's MediaPublish,
//! MediaAnswer and MediaState need the named call to be current with this
//! user in it. RegisterPush needs a token of 1–512 bytes and an app of 1–155
//! bytes (the server's limits).

use std::collections::HashSet;

use hotline_proto::push::{MAX_PUSH_APP_BYTES, MAX_PUSH_TOKEN_BYTES};
use hotline_proto::user_id::validate_user_id;
use hotline_proto::{
    resolve_invite_timeout, CallInfo, ClientMsg, ErrorCode, MediaType, ParticipantState,
};

use crate::error::CoreError;
use crate::input::Command;
use crate::MAX_CALLEES;

fn refused(message: &str) -> CoreError {
    CoreError::new(ErrorCode::RequestRefused, message)
}

fn invalid(message: impl Into<String>) -> CoreError {
    CoreError::new(ErrorCode::ParamInvalid, message)
}

/// Check a list of user IDs to invite.
fn check_user_ids(me: &str, user_ids: &[String], max: usize) -> Result<(), CoreError> {
    if user_ids.is_empty() {
        return Err(invalid("user_ids is empty"));
    }
    if user_ids.len() > max {
        return Err(invalid(format!(
            "at most {max} users can be invited at once"
        )));
    }
    let mut seen = HashSet::new();
    for id in user_ids {
        validate_user_id(id).map_err(|m| invalid(format!("{id:?}: {m}")))?;
        if id == me {
            return Err(invalid("you cannot invite yourself"));
        }
        if !seen.insert(id.as_str()) {
            return Err(invalid(format!("{id} is listed twice")));
        }
    }
    Ok(())
}

/// Check a push registration's token and app against the server's limits
/// (token 1–512 bytes, app 1–155 bytes); `PARAM_INVALID` says which and why.
pub fn validate_push_registration(token: &str, app: &str) -> Result<(), CoreError> {
    if token.is_empty() || token.len() > MAX_PUSH_TOKEN_BYTES {
        return Err(invalid(format!(
            "the push token must be 1–{MAX_PUSH_TOKEN_BYTES} bytes (it is {})",
            token.len()
        )));
    }
    if app.is_empty() || app.len() > MAX_PUSH_APP_BYTES {
        return Err(invalid(format!(
            "the push app (bundle ID or FCM project ID) must be 1–{MAX_PUSH_APP_BYTES} bytes (it is {})",
            app.len()
        )));
    }
    Ok(())
}

fn creating(m: &ClientMsg) -> bool {
    matches!(m, ClientMsg::Call { .. } | ClientMsg::Join { .. })
}

/// Validate `command` and build its message.
pub(crate) fn to_msg<'a>(
    command: &Command,
    me: &str,
    current: Option<&CallInfo>,
    mut pending: impl Iterator<Item = &'a ClientMsg>,
) -> Result<ClientMsg, CoreError> {
    let my_state = current.and_then(|c| c.participant(me)).map(|p| p.state);
    let current_id = || current.map(|c| c.call_id.clone()).unwrap_or_default();
    Ok(match command {
        Command::Calls {
            user_ids,
            media_type,
            params,
        } => {
            check_user_ids(me, user_ids, MAX_CALLEES)?;
            let timeout_s = resolve_invite_timeout(params.timeout_s)
                .map_err(|_| invalid("timeout must be 0 (30 s) or 10–600 s"))?;
            if current.is_some() {
                return Err(refused("there already is a call"));
            }
            if pending.any(creating) {
                return Err(refused("a call is already being placed or joined"));
            }
            ClientMsg::Call {
                user_ids: user_ids.clone(),
                media_type: *media_type,
                room_id: params.room_id.clone(),
                timeout_s,
                user_data: params.user_data.clone(),
                chat_group_id: params.chat_group_id.clone(),
                group: params.is_group,
                offline_push: params.offline_push.clone(),
            }
        }
        Command::Accept | Command::Reject | Command::Ignore => {
            if my_state != Some(ParticipantState::Ringing) {
                return Err(refused("no call is ringing"));
            }
            let call_id = current_id();
            let msg = match command {
                Command::Accept => ClientMsg::Accept { call_id },
                Command::Reject => ClientMsg::Reject { call_id },
                _ => ClientMsg::Ignore { call_id },
            };
            for p in pending {
                if *p == msg {
                    return Err(CoreError::new(
                        ErrorCode::RequestRepeated,
                        "the same answer is already on its way",
                    ));
                }
                if matches!(
                    p,
                    ClientMsg::Accept { .. } | ClientMsg::Reject { .. } | ClientMsg::Ignore { .. }
                ) {
                    return Err(refused("another answer is already on its way"));
                }
            }
            msg
        }
        Command::Hangup => {
            if current.is_none() {
                return Err(refused("there is no call"));
            }
            let msg = ClientMsg::Hangup {
                call_id: current_id(),
            };
            if pending.any(|p| *p == msg) {
                return Err(CoreError::new(
                    ErrorCode::RequestRepeated,
                    "a hangup is already on its way",
                ));
            }
            msg
        }
        Command::InviteUser {
            user_ids,
            timeout_s,
        } => {
            if my_state != Some(ParticipantState::InCall) {
                return Err(refused("you are not in a call"));
            }
            check_user_ids(me, user_ids, MAX_CALLEES)?;
            let timeout_s = resolve_invite_timeout(*timeout_s)
                .map_err(|_| invalid("timeout must be 0 (30 s) or 10–600 s"))?;
            ClientMsg::Invite {
                call_id: current_id(),
                user_ids: user_ids.clone(),
                timeout_s,
            }
        }
        Command::Join { call_id } => {
            if call_id.is_empty() {
                return Err(invalid("call_id is empty"));
            }
            if current.is_some() {
                return Err(refused("there already is a call"));
            }
            if pending.any(creating) {
                return Err(refused("a call is already being placed or joined"));
            }
            ClientMsg::Join {
                call_id: call_id.clone(),
            }
        }
        Command::SwitchCallMediaType { media_type } => {
            let Some(call) = current else {
                return Err(refused("there is no call"));
            };
            if !(call.media_type == MediaType::Video && *media_type == MediaType::Audio) {
                return Err(invalid(format!(
                    "only video → audio is supported (the call is {}, asked for {})",
                    call.media_type.as_str(),
                    media_type.as_str()
                )));
            }
            ClientMsg::SwitchMedia {
                call_id: call.call_id.clone(),
                media_type: *media_type,
            }
        }
        Command::SetSelfInfo {
            nickname,
            avatar_url,
        } => ClientMsg::SetSelfInfo {
            nickname: nickname.clone(),
            avatar_url: avatar_url.clone(),
        },
        Command::EnableMultiDeviceAbility { enabled } => {
            ClientMsg::SetMultiDevice { enabled: *enabled }
        }
        Command::QueryRecentCalls { filter } => ClientMsg::QueryRecords {
            filter: filter.clone(),
        },
        Command::DeleteRecordCalls { record_ids } => ClientMsg::DeleteRecords {
            record_ids: record_ids.clone(),
        },
        Command::RegisterPush {
            provider,
            token,
            app,
            environment,
        } => {
            validate_push_registration(token, app)?;
            ClientMsg::RegisterPush {
                provider: *provider,
                token: token.clone(),
                app: app.clone(),
                environment: *environment,
            }
        }
        Command::UnregisterPush => ClientMsg::UnregisterPush,
        Command::MediaPublish {
            call_id,
            sdp,
            ice_restart,
        } => {
            in_current_call(current, me, call_id)?;
            ClientMsg::MediaPublish {
                call_id: call_id.clone(),
                sdp: sdp.clone(),
                ice_restart: *ice_restart,
            }
        }
        Command::MediaAnswer {
            call_id,
            revision,
            sdp,
        } => {
            in_current_call(current, me, call_id)?;
            ClientMsg::MediaAnswer {
                call_id: call_id.clone(),
                revision: *revision,
                sdp: sdp.clone(),
            }
        }
        Command::MediaState {
            call_id,
            audio,
            video,
        } => {
            in_current_call(current, me, call_id)?;
            ClientMsg::MediaState {
                call_id: call_id.clone(),
                audio: *audio,
                video: *video,
            }
        }
        Command::MediaView {
            call_id,
            user_id,
            stream_type,
        } => {
            in_current_call(current, me, call_id)?;
            ClientMsg::MediaView {
                call_id: call_id.clone(),
                user_id: user_id.clone(),
                stream_type: *stream_type,
            }
        }
    })
}

/// Media requests need `call_id` to be the current call, with this user in it.
fn in_current_call(current: Option<&CallInfo>, me: &str, call_id: &str) -> Result<(), CoreError> {
    let Some(call) = current.filter(|c| c.call_id == call_id) else {
        return Err(refused("media is only for the current call"));
    };
    if call.participant(me).map(|p| p.state) != Some(ParticipantState::InCall) {
        return Err(refused("you are not in the call"));
    }
    Ok(())
}
