//! The authoritative call registry: every unfinished call and who is busy.
//!
//! Sans-IO like the engine's core: callers pass `now_ms` (Unix ms) and new
//! IDs in, and get back the snapshots that changed. The hub persists and
//! broadcasts those; the registry never touches sockets, disks or clocks.
//!
//! States: a call is Ringing → Active → Ended; a participant is
//! Ringing → InCall → Gone (or Ringing → Gone).
//! Inputs: requests from users (call, accept, reject, ignore, hangup, invite,
//! join, switch_media), presence changes (online/offline), and timer expiry.
//! Outputs: [`Change`]: the new snapshots, and call records for ended calls.

use std::collections::{BTreeMap, HashMap, HashSet};

use hotline_proto::{
    resolve_invite_timeout, user_id::validate_user_id, CallInfo, CallRecord, CallResult, CallState,
    EndReason, ErrorCode, MediaType, OfflinePushInfo, Participant, ParticipantState,
};

/// A refused request: the code and a reason for the requester.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The error code.
    pub code: ErrorCode,
    /// Why.
    pub message: String,
}

fn refuse<T>(code: ErrorCode, message: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        code,
        message: message.into(),
    })
}

/// What one operation changed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Change {
    /// Calls whose snapshot changed (each with its new version).
    pub calls: Vec<CallInfo>,
    /// Records written for calls that ended.
    pub records: Vec<CallRecord>,
}

impl Change {
    /// Append another change (applied after this one).
    pub fn merge(&mut self, other: Change) {
        self.calls.extend(other.calls);
        self.records.extend(other.records);
    }
}

/// A request to place a call.
#[derive(Debug, Clone)]
pub struct NewCall {
    /// Server-chosen call ID.
    pub call_id: String,
    /// Callees.
    pub user_ids: Vec<String>,
    /// Audio or video.
    pub media_type: MediaType,
    /// Requested room; empty means the call ID.
    pub room_id: String,
    /// Requested invitation timeout (0 = default).
    pub timeout_s: u32,
    /// Opaque data for callees.
    pub user_data: String,
    /// Chat group.
    pub chat_group_id: String,
    /// Force a group call.
    pub group: bool,
    /// Offline push content.
    pub offline_push: Option<OfflinePushInfo>,
}

/// Limits the registry enforces.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most participants in one call, caller included.
    pub max_participants: usize,
    /// How long a participant in a call may stay offline before leaving.
    pub reconnect_grace_ms: i64,
    /// Longest `user_data`, in bytes.
    pub max_user_data_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_participants: 9,
            reconnect_grace_ms: 30_000,
            max_user_data_bytes: 4096,
        }
    }
}

/// Every unfinished call, indexed by user.
#[derive(Debug, Default)]
pub struct Registry {
    limits: Limits,
    calls: HashMap<String, CallInfo>,
    offline_push: HashMap<String, OfflinePushInfo>,
    /// Unfinished calls each user is Ringing or InCall in.
    busy: HashMap<String, HashSet<String>>,
    /// Users in a call who are offline, and when their grace ends.
    offline_deadline: HashMap<String, i64>,
}

impl Registry {
    /// An empty registry.
    pub fn new(limits: Limits) -> Registry {
        Registry {
            limits,
            ..Default::default()
        }
    }

    /// Rebuild from stored unfinished calls after a restart. Everyone is
    /// offline now, so everyone in a call gets the reconnect grace.
    pub fn restore(&mut self, calls: Vec<(CallInfo, Option<OfflinePushInfo>)>, now_ms: i64) {
        for (call, push) in calls {
            if call.state == CallState::Ended {
                continue;
            }
            for p in &call.participants {
                if matches!(
                    p.state,
                    ParticipantState::Ringing | ParticipantState::InCall
                ) {
                    self.busy
                        .entry(p.user_id.clone())
                        .or_default()
                        .insert(call.call_id.clone());
                }
                if p.state == ParticipantState::InCall {
                    self.offline_deadline
                        .insert(p.user_id.clone(), now_ms + self.limits.reconnect_grace_ms);
                }
            }
            if let Some(push) = push {
                self.offline_push.insert(call.call_id.clone(), push);
            }
            self.calls.insert(call.call_id.clone(), call);
        }
    }

    /// The snapshot of an unfinished call.
    pub fn get(&self, call_id: &str) -> Option<&CallInfo> {
        self.calls.get(call_id)
    }

    /// Offline push content stored for a call.
    /// Every unfinished call.
    pub fn calls(&self) -> impl Iterator<Item = &CallInfo> {
        self.calls.values()
    }

    pub fn offline_push(&self, call_id: &str) -> Option<&OfflinePushInfo> {
        self.offline_push.get(call_id)
    }

    /// Unfinished calls `user_id` is Ringing or InCall in.
    pub fn calls_of(&self, user_id: &str) -> Vec<&CallInfo> {
        let mut v: Vec<&CallInfo> = self
            .busy
            .get(user_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.calls.get(id))
            .collect();
        v.sort_by(|a, b| {
            a.created_at_ms
                .cmp(&b.created_at_ms)
                .then(a.call_id.cmp(&b.call_id))
        });
        v
    }

    /// Count of unfinished calls by state, for metrics.
    pub fn count_by_state(&self) -> (usize, usize) {
        let ringing = self
            .calls
            .values()
            .filter(|c| c.state == CallState::Ringing)
            .count();
        (ringing, self.calls.len() - ringing)
    }

    /// Number of pending invitations, for metrics.
    pub fn pending_invitations(&self) -> usize {
        self.calls
            .values()
            .map(|c| c.count(ParticipantState::Ringing))
            .sum()
    }

    fn is_busy(&self, user_id: &str) -> bool {
        self.busy.get(user_id).is_some_and(|s| !s.is_empty())
    }

    /// Place a call.
    pub fn call(
        &mut self,
        caller: &str,
        device_id: &str,
        req: NewCall,
        now_ms: i64,
    ) -> Result<Change, Refusal> {
        self.check_invitees(caller, &req.user_ids, 1)?;
        let timeout_s = resolve_invite_timeout(req.timeout_s).or_else(|_| {
            refuse(
                ErrorCode::ParamInvalid,
                format!("timeout {} s is outside 10–600 s", req.timeout_s),
            )
        })?;
        if req.user_data.len() > self.limits.max_user_data_bytes {
            return refuse(
                ErrorCode::ParamInvalid,
                format!(
                    "user_data exceeds {} bytes",
                    self.limits.max_user_data_bytes
                ),
            );
        }
        if req.room_id.len() > 64 {
            return refuse(ErrorCode::ParamInvalid, "room_id exceeds 64 bytes");
        }
        if self.is_busy(caller) {
            return refuse(
                ErrorCode::RequestRefused,
                "you are already in a call or have an incoming call",
            );
        }
        let mut participants = vec![Participant {
            device_id: Some(device_id.to_string()),
            joined_at_ms: Some(now_ms),
            ..Participant::new(caller, ParticipantState::InCall)
        }];
        for id in &req.user_ids {
            participants.push(self.invitation(id, caller, timeout_s, now_ms));
        }
        let call = CallInfo {
            call_id: req.call_id.clone(),
            version: 1,
            room_id: if req.room_id.is_empty() {
                req.call_id.clone()
            } else {
                req.room_id
            },
            caller_id: caller.to_string(),
            media_type: req.media_type,
            is_group: req.group || req.user_ids.len() > 1 || !req.chat_group_id.is_empty(),
            state: CallState::Ringing,
            participants,
            timeout_s,
            user_data: req.user_data,
            chat_group_id: req.chat_group_id,
            created_at_ms: now_ms,
            began_at_ms: None,
            ended_at_ms: None,
            end_reason: None,
        };
        if let Some(push) = req.offline_push {
            self.offline_push.insert(call.call_id.clone(), push);
        }
        self.index(&call);
        self.calls.insert(call.call_id.clone(), call);
        Ok(self.settle(&req.call_id, EndReason::LineBusy, now_ms, false))
    }

    /// A Ringing invitation, or a Gone(LineBusy) entry when the user is busy.
    fn invitation(&self, user_id: &str, inviter: &str, timeout_s: u32, now_ms: i64) -> Participant {
        let busy = self.is_busy(user_id);
        let state = if busy {
            ParticipantState::Gone
        } else {
            ParticipantState::Ringing
        };
        Participant {
            reason: busy.then_some(EndReason::LineBusy),
            inviter_id: inviter.to_string(),
            deadline_ms: (!busy).then_some(now_ms + i64::from(timeout_s) * 1000),
            left_at_ms: busy.then_some(now_ms),
            ..Participant::new(user_id, state)
        }
    }

    fn check_invitees(
        &self,
        inviter: &str,
        user_ids: &[String],
        already: usize,
    ) -> Result<(), Refusal> {
        if user_ids.is_empty() {
            return refuse(ErrorCode::ParamInvalid, "no user to call");
        }
        let mut seen = HashSet::new();
        for id in user_ids {
            validate_user_id(id).or_else(|e| refuse(ErrorCode::ParamInvalid, e))?;
            if id == inviter {
                return refuse(ErrorCode::ParamInvalid, "you cannot call yourself");
            }
            if !seen.insert(id) {
                return refuse(
                    ErrorCode::ParamInvalid,
                    format!("user {id} is listed twice"),
                );
            }
        }
        if already + user_ids.len() > self.limits.max_participants {
            return refuse(
                ErrorCode::ParamInvalid,
                format!(
                    "a call holds at most {} participants",
                    self.limits.max_participants
                ),
            );
        }
        Ok(())
    }

    /// Look up a call the user belongs to; strangers learn nothing.
    fn member_call(&self, user_id: &str, call_id: &str) -> Result<&CallInfo, Refusal> {
        match self.calls.get(call_id) {
            Some(c) if c.participant(user_id).is_some() => Ok(c),
            _ => refuse(ErrorCode::ParamInvalid, "no such call (or it has ended)"),
        }
    }

    /// Whether `call_id` is a group call (false for an unknown one).
    pub fn is_group(&self, call_id: &str) -> bool {
        self.calls.get(call_id).is_some_and(|c| c.is_group)
    }

    /// Answer an invitation.
    pub fn accept(
        &mut self,
        user: &str,
        device_id: &str,
        call_id: &str,
        now_ms: i64,
    ) -> Result<Change, Refusal> {
        let call = self.member_call(user, call_id)?;
        let p = call.participant(user).expect("member");
        match p.state {
            ParticipantState::Ringing => {}
            ParticipantState::InCall if p.device_id.as_deref() == Some(device_id) => {
                return refuse(ErrorCode::RequestRepeated, "already accepted")
            }
            ParticipantState::InCall => {
                return refuse(ErrorCode::RequestRefused, "accepted on another device")
            }
            ParticipantState::Gone => {
                return refuse(
                    ErrorCode::RequestRefused,
                    "the invitation is no longer valid",
                )
            }
        }
        if self.calls_of(user).iter().any(|c| {
            c.call_id != call_id
                && c.participant(user)
                    .is_some_and(|p| p.state == ParticipantState::InCall)
        }) {
            return refuse(ErrorCode::RequestRefused, "you are in another call");
        }
        self.enter(user, device_id, call_id, now_ms);
        Ok(self.settle(call_id, EndReason::Hangup, now_ms, true))
    }

    fn enter(&mut self, user: &str, device_id: &str, call_id: &str, now_ms: i64) {
        let call = self.calls.get_mut(call_id).expect("call exists");
        let p = call.participant_mut(user).expect("member");
        p.state = ParticipantState::InCall;
        p.reason = None;
        p.device_id = Some(device_id.to_string());
        p.deadline_ms = None;
        p.joined_at_ms = Some(now_ms);
        p.left_at_ms = None;
        if call.state == CallState::Ringing {
            call.state = CallState::Active;
            call.began_at_ms = Some(now_ms);
        }
        self.busy
            .entry(user.to_string())
            .or_default()
            .insert(call_id.to_string());
    }

    /// Decline (`reason` Reject) or ignore (`reason` LineBusy) an invitation.
    pub fn decline(
        &mut self,
        user: &str,
        device_id: &str,
        call_id: &str,
        reason: EndReason,
        now_ms: i64,
    ) -> Result<Change, Refusal> {
        let call = self.member_call(user, call_id)?;
        let p = call.participant(user).expect("member");
        match p.state {
            ParticipantState::Ringing => {}
            ParticipantState::Gone
                if p.reason == Some(reason) && p.device_id.as_deref() == Some(device_id) =>
            {
                return refuse(ErrorCode::RequestRepeated, "already answered")
            }
            _ => {
                return refuse(
                    ErrorCode::RequestRefused,
                    "there is no ringing invitation to answer",
                )
            }
        }
        self.leave(user, Some(device_id), call_id, reason, now_ms);
        Ok(self.settle(call_id, reason, now_ms, true))
    }

    fn leave(
        &mut self,
        user: &str,
        device_id: Option<&str>,
        call_id: &str,
        reason: EndReason,
        now_ms: i64,
    ) {
        let call = self.calls.get_mut(call_id).expect("call exists");
        let p = call.participant_mut(user).expect("member");
        p.state = ParticipantState::Gone;
        p.reason = Some(reason);
        if let Some(d) = device_id {
            p.device_id = Some(d.to_string());
        }
        p.deadline_ms = None;
        p.left_at_ms = Some(now_ms);
        self.unindex(user, call_id);
    }

    /// Leave a call; a caller's hangup while ringing cancels it, a callee's
    /// hangup while ringing rejects.
    pub fn hangup(
        &mut self,
        user: &str,
        device_id: &str,
        call_id: &str,
        now_ms: i64,
    ) -> Result<Change, Refusal> {
        let call = self.member_call(user, call_id)?;
        let p = call.participant(user).expect("member");
        match p.state {
            ParticipantState::Ringing => {
                return self.decline(user, device_id, call_id, EndReason::Reject, now_ms)
            }
            ParticipantState::Gone => {
                return refuse(ErrorCode::RequestRepeated, "you already left this call")
            }
            ParticipantState::InCall => {}
        }
        if call.state == CallState::Ringing && call.caller_id == user {
            self.leave(user, Some(device_id), call_id, EndReason::Canceled, now_ms);
            return Ok(self.end(call_id, EndReason::Canceled, now_ms));
        }
        self.leave(user, Some(device_id), call_id, EndReason::Hangup, now_ms);
        Ok(self.settle(call_id, EndReason::Hangup, now_ms, true))
    }

    /// Invite more users into a call one is in (it becomes a group call).
    pub fn invite(
        &mut self,
        user: &str,
        call_id: &str,
        user_ids: &[String],
        timeout_s: u32,
        now_ms: i64,
    ) -> Result<Change, Refusal> {
        let call = self.member_call(user, call_id)?;
        if call.participant(user).map(|p| p.state) != Some(ParticipantState::InCall) {
            return refuse(
                ErrorCode::RequestRefused,
                "only someone in the call can invite",
            );
        }
        let present = call
            .participants
            .iter()
            .filter(|p| p.state != ParticipantState::Gone)
            .count();
        let fresh: Vec<String> = user_ids
            .iter()
            .filter(|id| {
                call.participant(id)
                    .is_none_or(|p| p.state == ParticipantState::Gone)
            })
            .cloned()
            .collect();
        self.check_invitees(user, user_ids, 0)?;
        if fresh.is_empty() {
            return refuse(
                ErrorCode::RequestRepeated,
                "everyone listed is already invited or in the call",
            );
        }
        if present + fresh.len() > self.limits.max_participants {
            return refuse(
                ErrorCode::ParamInvalid,
                format!(
                    "a call holds at most {} participants",
                    self.limits.max_participants
                ),
            );
        }
        let timeout_s = resolve_invite_timeout(timeout_s).or_else(|_| {
            refuse(
                ErrorCode::ParamInvalid,
                format!("timeout {timeout_s} s is outside 10–600 s"),
            )
        })?;
        let invitations: Vec<Participant> = fresh
            .iter()
            .map(|id| self.invitation(id, user, timeout_s, now_ms))
            .collect();
        let call = self.calls.get_mut(call_id).expect("call exists");
        call.is_group = true;
        for inv in invitations {
            match call.participant_mut(&inv.user_id) {
                Some(p) => *p = inv,
                None => call.participants.push(inv),
            }
        }
        let call = call.clone();
        self.index(&call);
        Ok(self.settle(call_id, EndReason::LineBusy, now_ms, true))
    }

    /// Join an ongoing group call one was invited to.
    pub fn join(
        &mut self,
        user: &str,
        device_id: &str,
        call_id: &str,
        now_ms: i64,
    ) -> Result<Change, Refusal> {
        let call = self.member_call(user, call_id)?;
        if !call.is_group {
            return refuse(
                ErrorCode::SceneNotSupported,
                "only group calls can be joined",
            );
        }
        match call.participant(user).map(|p| p.state) {
            Some(ParticipantState::InCall) => {
                return refuse(ErrorCode::RequestRepeated, "you are already in this call")
            }
            Some(ParticipantState::Ringing) => {
                return self.accept(user, device_id, call_id, now_ms)
            }
            _ => {}
        }
        if call.state != CallState::Active {
            return refuse(ErrorCode::RequestRefused, "the call is not in progress");
        }
        if self.is_busy(user) {
            return refuse(ErrorCode::RequestRefused, "you are in another call");
        }
        let present = call
            .participants
            .iter()
            .filter(|p| p.state != ParticipantState::Gone)
            .count();
        if present + 1 > self.limits.max_participants {
            return refuse(ErrorCode::RequestRefused, "the call is full");
        }
        self.enter(user, device_id, call_id, now_ms);
        Ok(self.settle(call_id, EndReason::Hangup, now_ms, true))
    }

    /// Switch a call from video to audio.
    pub fn switch_media(
        &mut self,
        user: &str,
        call_id: &str,
        media_type: MediaType,
        now_ms: i64,
    ) -> Result<Change, Refusal> {
        let call = self.member_call(user, call_id)?;
        if call.participant(user).map(|p| p.state) != Some(ParticipantState::InCall) {
            return refuse(
                ErrorCode::RequestRefused,
                "only someone in the call can switch its media",
            );
        }
        if call.media_type == media_type {
            return refuse(
                ErrorCode::RequestRepeated,
                format!("the call is already {}", media_type.as_str()),
            );
        }
        if media_type == MediaType::Video {
            return refuse(
                ErrorCode::ParamInvalid,
                "a call can only switch from video to audio",
            );
        }
        self.calls.get_mut(call_id).expect("call exists").media_type = media_type;
        Ok(self.settle(call_id, EndReason::Hangup, now_ms, true))
    }

    /// Set whether a participant's microphone and camera are sending
    /// (`media_state`). Only someone in the call; no change, no new version.
    pub fn set_media_state(
        &mut self,
        user: &str,
        call_id: &str,
        audio: bool,
        video: bool,
    ) -> Result<Change, Refusal> {
        let call = self.member_call(user, call_id)?;
        let p = call.participant(user).expect("member");
        if p.state != ParticipantState::InCall {
            return refuse(
                ErrorCode::RequestRefused,
                "only someone in the call can set their media state",
            );
        }
        if (p.audio_available, p.video_available) == (audio, video) {
            return Ok(Change::default());
        }
        let call = self.calls.get_mut(call_id).expect("call exists");
        let p = call.participant_mut(user).expect("member");
        p.audio_available = audio;
        p.video_available = video;
        call.version += 1;
        Ok(Change {
            calls: vec![call.clone()],
            records: vec![],
        })
    }

    /// Who may use media in a call right now: `Ok(device)` when `user` is
    /// `in_call` in an active call (on that device), else why not.
    pub fn media_device(&self, user: &str, call_id: &str) -> Result<String, Refusal> {
        let call = self.member_call(user, call_id)?;
        let p = call.participant(user).expect("member");
        if call.state != CallState::Active {
            return refuse(
                ErrorCode::RequestRefused,
                "media starts once the call is active",
            );
        }
        if p.state != ParticipantState::InCall {
            return refuse(
                ErrorCode::RequestRefused,
                "only someone in the call can send or receive media",
            );
        }
        Ok(p.device_id.clone().unwrap_or_default())
    }

    /// A user's last device went offline (`online` false) or one came back.
    pub fn set_presence(&mut self, user: &str, online: bool, now_ms: i64) {
        if online {
            self.offline_deadline.remove(user);
        } else if self.calls_of(user).iter().any(|c| {
            c.participant(user)
                .is_some_and(|p| p.state == ParticipantState::InCall)
        }) {
            self.offline_deadline
                .insert(user.to_string(), now_ms + self.limits.reconnect_grace_ms);
        }
    }

    /// The earliest invitation timeout or reconnect-grace expiry.
    pub fn next_deadline(&self) -> Option<i64> {
        let invites = self
            .calls
            .values()
            .flat_map(|c| c.participants.iter().filter_map(|p| p.deadline_ms));
        invites.chain(self.offline_deadline.values().copied()).min()
    }

    /// Expire invitations and reconnect graces due at `now_ms`.
    /// The server ends a call for `reason` (nothing if it already ended).
    pub fn end_by_server(&mut self, call_id: &str, reason: EndReason, now_ms: i64) -> Change {
        if !self.calls.contains_key(call_id) {
            return Change::default();
        }
        self.end(call_id, reason, now_ms)
    }

    pub fn on_timer(&mut self, now_ms: i64) -> Change {
        let mut change = Change::default();
        let mut due: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for c in self.calls.values() {
            for p in &c.participants {
                if p.state == ParticipantState::Ringing
                    && p.deadline_ms.is_some_and(|d| d <= now_ms)
                {
                    due.entry(c.call_id.clone())
                        .or_default()
                        .push(p.user_id.clone());
                }
            }
        }
        for (call_id, users) in due {
            for u in users {
                self.leave(&u, None, &call_id, EndReason::NoResponse, now_ms);
            }
            change.merge(self.settle(&call_id, EndReason::NoResponse, now_ms, true));
        }
        let gone: Vec<String> = self
            .offline_deadline
            .iter()
            .filter(|(_, d)| **d <= now_ms)
            .map(|(u, _)| u.clone())
            .collect();
        for user in gone {
            self.offline_deadline.remove(&user);
            let ids: Vec<String> = self
                .calls_of(&user)
                .iter()
                .map(|c| c.call_id.clone())
                .collect();
            for call_id in ids {
                let in_call = self.calls[&call_id]
                    .participant(&user)
                    .is_some_and(|p| p.state == ParticipantState::InCall);
                if !in_call {
                    continue;
                }
                let caller_ringing = {
                    let c = &self.calls[&call_id];
                    c.state == CallState::Ringing && c.caller_id == user
                };
                if caller_ringing {
                    self.leave(&user, None, &call_id, EndReason::Offline, now_ms);
                    change.merge(self.end(&call_id, EndReason::Offline, now_ms));
                } else {
                    self.leave(&user, None, &call_id, EndReason::Offline, now_ms);
                    change.merge(self.settle(&call_id, EndReason::Offline, now_ms, true));
                }
            }
        }
        change
    }

    /// End the call if too few people are left, bump the version and report it.
    fn settle(&mut self, call_id: &str, cause: EndReason, now_ms: i64, bump: bool) -> Change {
        let call = &self.calls[call_id];
        let in_call = call.count(ParticipantState::InCall);
        let ringing = call.count(ParticipantState::Ringing);
        let caller_gone = call
            .participant(&call.caller_id)
            .is_some_and(|p| p.state == ParticipantState::Gone);
        let over = if call.is_group {
            match call.state {
                CallState::Ringing => ringing == 0 || caller_gone,
                _ => in_call + ringing <= 1 || in_call == 0,
            }
        } else {
            in_call + ringing < 2
        };
        if over {
            return self.end(call_id, cause, now_ms);
        }
        let call = self.calls.get_mut(call_id).expect("call exists");
        if bump {
            call.version += 1;
        }
        Change {
            calls: vec![call.clone()],
            records: vec![],
        }
    }

    /// End a call and write its records. Invitations still ringing are
    /// cancelled; whoever is still in the call stays `InCall` in the final
    /// snapshot: the call ended around them, they did not leave it, and
    /// engines then report the call's end reason rather than a departure.
    fn end(&mut self, call_id: &str, reason: EndReason, now_ms: i64) -> Change {
        let mut call = self.calls.remove(call_id).expect("call exists");
        self.offline_push.remove(call_id);
        for p in call
            .participants
            .iter_mut()
            .filter(|p| p.state == ParticipantState::Ringing)
        {
            p.state = ParticipantState::Gone;
            p.reason = Some(if reason == EndReason::NoResponse {
                reason
            } else {
                EndReason::Canceled
            });
            p.deadline_ms = None;
            p.left_at_ms = Some(now_ms);
        }
        call.state = CallState::Ended;
        call.ended_at_ms = Some(now_ms);
        call.end_reason = Some(reason);
        call.version += 1;
        for p in &call.participants {
            self.unindex(&p.user_id, call_id);
        }
        let records = records_for(&call);
        Change {
            calls: vec![call],
            records,
        }
    }

    fn index(&mut self, call: &CallInfo) {
        for p in &call.participants {
            if matches!(
                p.state,
                ParticipantState::Ringing | ParticipantState::InCall
            ) {
                self.busy
                    .entry(p.user_id.clone())
                    .or_default()
                    .insert(call.call_id.clone());
            }
        }
    }

    fn unindex(&mut self, user: &str, call_id: &str) {
        if let Some(set) = self.busy.get_mut(user) {
            set.remove(call_id);
            if set.is_empty() {
                self.busy.remove(user);
                self.offline_deadline.remove(user);
            }
        }
    }
}

/// One record per participant of an ended call.
pub fn records_for(call: &CallInfo) -> Vec<CallRecord> {
    call.participants
        .iter()
        .map(|p| {
            let result = if p.user_id == call.caller_id {
                CallResult::Outgoing
            } else if p.joined_at_ms.is_some() {
                CallResult::Incoming
            } else {
                CallResult::Missed
            };
            let total_time_s = match (
                call.began_at_ms,
                p.joined_at_ms,
                p.left_at_ms.or(call.ended_at_ms),
            ) {
                (Some(began), Some(joined), Some(left)) => {
                    ((left - began.max(joined)).max(0) / 1000) as u64
                }
                _ => 0,
            };
            CallRecord {
                record_id: format!("{}-{}", call.call_id, p.user_id),
                user_id: p.user_id.clone(),
                call_id: call.call_id.clone(),
                caller_id: call.caller_id.clone(),
                callee_ids: call.callee_ids(),
                media_type: call.media_type,
                is_group: call.is_group,
                result,
                begin_time_ms: call.created_at_ms,
                total_time_s,
            }
        })
        .collect()
}

#[cfg(test)]
impl NewCall {
    /// A 1v1 or group video call with every option at its default, for tests.
    pub(crate) fn for_test(call_id: &str, user_ids: &[&str]) -> NewCall {
        NewCall {
            call_id: call_id.into(),
            user_ids: user_ids.iter().map(|s| s.to_string()).collect(),
            media_type: MediaType::Video,
            room_id: String::new(),
            timeout_s: 0,
            user_data: String::new(),
            chat_group_id: String::new(),
            group: false,
            offline_push: None,
        }
    }
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
