//! The calls this device knows about, and snapshot differences → events.
//!
//! States, per call: unknown → held (seen, not this device's business) or
//! current (the one call this device is ringing for or in) → done (ended for
//! this device; later snapshots are only stored). At most one call is current.
//!
//! Inputs, by source:
//! - Server: snapshots from `call_update`, from responses (`Origin::MyCalls`
//!   and `Origin::MyJoin` may adopt a call), and from login results.
//! - Login: `forget_current` when the server no longer knows the current call.
//! - Pushes: `pushed` names a call the app learned of from a push; the next
//!   login asks for it (`known_calls`) and its snapshot arrives with
//!   `Origin::Pushed` (`pushed_unknown` when the server does not know it).
//!
//! Outputs: observer [`Event`]s, in order: other participants' events, then
//! media changes, then this user's `CallBegin`, then the terminal event.
//!
//! Design choices:
//! - Only snapshots with a newer `version` than the one held count; so
//!   duplicated and reordered snapshots produce no events.
//! - Other participants' events are produced only while this user "watches"
//!   the call: while in it on this device (the caller is in the call from the
//!   start). A callee who is only ringing gets no `UserInviting`/`UserReject`
//!   for co-callees (the callee list is in `CallReceived`). When this user
//!   starts watching (accept, join), everyone already in the call produces
//!   `UserJoin` and everyone ringing `UserInviting`; those already gone
//!   produce nothing, except for the caller's very first snapshot (a call that
//!   ended at once because every callee was busy still tells who was busy).
//! - A call this user left can ring again if a newer snapshot invites them again.
//! - A pushed call this device never saw is reported exactly once: it rings
//!   (`CallReceived`) if it still rings for this user; otherwise the app has
//!   shown it from the push, so it ends with `CallNotConnected` and the reason
//!   a device that had been ringing would have got (the user's own reason,
//!   the call's end reason, or the other device's answer).

use std::collections::{HashMap, VecDeque};

use hotline_proto::{CallInfo, CallState, EndReason, MediaType, Participant, ParticipantState};

use crate::event::Event;
use crate::MAX_KNOWN_CALLS;

/// How many non-current calls are remembered (for version checks).
const MAX_HELD_CALLS: usize = 64;

/// Where a snapshot came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A `call_update` push, or a response to a request that does not create calls.
    Update,
    /// The response to this device's `call`: the call is this device's own.
    MyCalls,
    /// The response to this device's `join`.
    MyJoin,
    /// A login result.
    Login,
    /// A login result for a call the app learned of from a push.
    Pushed,
}

/// What applying a snapshot did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    /// Not newer than the snapshot held: nothing changed.
    Ignored,
    /// Stored; no business of this device (or no longer).
    Stored,
    /// The current call changed (or became current).
    Current,
    /// This device's own new call ended at once (events emitted, not current).
    EndedAtOnce,
    /// The snapshot would have made the call current but another call is.
    Busy,
}

#[derive(Debug)]
struct Track {
    snap: CallInfo,
    /// Ever current on this device.
    seen: bool,
    /// `CallBegin` was emitted for the current episode.
    begun: bool,
}

/// How a call becomes current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// Placed by this device (or recovered after a lost response).
    Own,
    /// Joined from this device.
    Join,
    /// An invitation rings here.
    Incoming,
}

/// Every call this device knows about.
#[derive(Debug)]
pub(crate) struct CallView {
    me: String,
    my_device: String,
    tracks: HashMap<String, Track>,
    order: VecDeque<String>,
    current: Option<String>,
    /// Calls learned of from pushes, oldest first, for the next login.
    pushed: Vec<(String, MediaType)>,
}

impl CallView {
    /// An empty view for `me` on `my_device`.
    pub fn new(me: &str, my_device: &str) -> CallView {
        CallView {
            me: me.to_string(),
            my_device: my_device.to_string(),
            tracks: HashMap::new(),
            order: VecDeque::new(),
            current: None,
            pushed: Vec::new(),
        }
    }

    /// The app learned of `call_id` from a push: ask for it at the next login,
    /// unless this device already saw it.
    pub fn pushed(&mut self, call_id: String, media_type: MediaType) {
        if self.tracks.get(&call_id).is_some_and(|t| t.seen)
            || self.pushed.iter().any(|(id, _)| *id == call_id)
        {
            log::debug!("pushed call {call_id}: already known here");
            return;
        }
        self.pushed.push((call_id, media_type));
        // Room for the current call beside them; the oldest go first.
        let excess = self.pushed.len().saturating_sub(MAX_KNOWN_CALLS - 1);
        self.pushed.drain(..excess);
    }

    /// The call IDs a login names: the current call, then pushed calls.
    pub fn known_calls(&self) -> Vec<String> {
        let current = self.current.clone();
        let pushed = self
            .pushed
            .iter()
            .map(|(id, _)| id.clone())
            .filter(|id| Some(id) != current.as_ref());
        current
            .clone()
            .into_iter()
            .chain(pushed)
            .take(MAX_KNOWN_CALLS)
            .collect()
    }

    /// Hand over the pushed calls a successful login answers for.
    pub fn take_pushed(&mut self) -> Vec<(String, MediaType)> {
        std::mem::take(&mut self.pushed)
    }

    /// A pushed call is missing from a login result: the server does not know
    /// it. Unless this device saw it, the app showed it from the push alone,
    /// so end it here with reason `Unknown`.
    pub fn pushed_unknown(&mut self, call_id: &str, media_type: MediaType, out: &mut Vec<Event>) {
        if self.tracks.get(call_id).is_some_and(|t| t.seen) {
            return;
        }
        log::info!("pushed call {call_id} is unknown to the server; ending it here");
        out.push(Event::CallNotConnected {
            call_id: call_id.to_string(),
            media_type,
            reason: EndReason::Unknown,
        });
    }

    /// The current call's newest snapshot.
    pub fn current(&self) -> Option<&CallInfo> {
        self.current
            .as_ref()
            .and_then(|id| self.tracks.get(id))
            .map(|t| &t.snap)
    }

    fn here(&self, p: &Participant) -> bool {
        p.device_id.as_deref().is_none_or(|d| d == self.my_device)
    }

    /// Apply one snapshot, appending events to `out`.
    pub fn apply(&mut self, snap: CallInfo, origin: Origin, out: &mut Vec<Event>) -> Applied {
        let id = snap.call_id.clone();
        if self.current.as_deref() == Some(id.as_str()) {
            let t = self
                .tracks
                .get_mut(&id)
                .expect("the current call is tracked");
            if snap.version <= t.snap.version {
                log::debug!(
                    "call {id}: ignoring snapshot v{} (holding v{})",
                    snap.version,
                    t.snap.version
                );
                return Applied::Ignored;
            }
            let prev = std::mem::replace(&mut t.snap, snap);
            let ended = diff(
                &self.me,
                &self.my_device,
                Some(&prev),
                &t.snap,
                &mut t.begun,
                false,
                out,
            );
            if ended {
                self.current = None;
            }
            return Applied::Current;
        }

        let held = self.tracks.get(&id);
        let newer = held.is_none_or(|t| snap.version > t.snap.version);
        let seen = held.is_some_and(|t| t.seen);
        let prev_me = held
            .and_then(|t| t.snap.participant(&self.me))
            .map(|p| p.state);
        let newest = if newer {
            snap
        } else {
            held.expect("held when not newer").snap.clone()
        };
        let my = newest.participant(&self.me);
        let live = newest.state != CallState::Ended;
        let in_here = my.is_some_and(|p| p.state == ParticipantState::InCall && self.here(p));
        let start = match origin {
            Origin::MyCalls if newest.caller_id == self.me && !seen => Some(Start::Own),
            Origin::MyJoin if in_here && live => Some(Start::Join),
            _ if newer
                && live
                && newest.caller_id != self.me
                && my.is_some_and(|p| p.state == ParticipantState::Ringing)
                && prev_me != Some(ParticipantState::Ringing) =>
            {
                Some(Start::Incoming)
            }
            // A call this device placed or joined whose response was lost.
            _ if newer
                && live
                && !seen
                && my.is_some_and(|p| {
                    p.state == ParticipantState::InCall
                        && p.device_id.as_deref() == Some(self.my_device.as_str())
                }) =>
            {
                Some(Start::Own)
            }
            _ => None,
        };
        let Some(start) = start else {
            if origin == Origin::Pushed && !seen && newest.caller_id != self.me {
                if let Some(reason) = self.pushed_outcome(&newest) {
                    log::info!("pushed call {id} is over for this device ({reason:?})");
                    out.push(Event::CallNotConnected {
                        call_id: id,
                        media_type: newest.media_type,
                        reason,
                    });
                    self.store(newest, true);
                    return Applied::Stored;
                }
            }
            if !newer {
                return Applied::Ignored;
            }
            self.store(newest, seen);
            return Applied::Stored;
        };
        if let Some(cur) = &self.current {
            log::info!("call {id}: not taking it up ({start:?}); call {cur} is current");
            if newer {
                self.store(newest, seen);
            }
            return Applied::Busy;
        }
        if start == Start::Incoming {
            out.push(Event::CallReceived {
                call_id: id.clone(),
                caller_id: newest.caller_id.clone(),
                callee_ids: newest.callee_ids(),
                media_type: newest.media_type,
                user_data: newest.user_data.clone(),
                is_group: newest.is_group,
                chat_group_id: newest.chat_group_id.clone(),
            });
        }
        let mut begun = false;
        let own_start = start == Start::Own && newest.caller_id == self.me;
        let ended = diff(
            &self.me,
            &self.my_device,
            None,
            &newest,
            &mut begun,
            own_start,
            out,
        );
        self.store(newest, true);
        let t = self.tracks.get_mut(&id).expect("just stored");
        t.begun = begun;
        if ended {
            return Applied::EndedAtOnce;
        }
        log::debug!("call {id} is now current ({start:?})");
        self.current = Some(id);
        Applied::Current
    }

    /// Why a pushed call that does not ring here (any more) is over for this
    /// device, as a device that had been ringing would see it; `None` if it
    /// still rings for this user or does not concern them.
    fn pushed_outcome(&self, snap: &CallInfo) -> Option<EndReason> {
        let p = snap.participant(&self.me)?;
        let ended = snap.state == CallState::Ended;
        let elsewhere = !self.here(p);
        let end_reason = || snap.end_reason.unwrap_or(EndReason::Unknown);
        Some(match p.state {
            ParticipantState::Ringing if ended => end_reason(),
            ParticipantState::Ringing => return None,
            ParticipantState::InCall if elsewhere => EndReason::OtherDeviceAccepted,
            ParticipantState::InCall => end_reason(),
            ParticipantState::Gone => match p.reason {
                Some(EndReason::Reject | EndReason::LineBusy) if elsewhere => {
                    EndReason::OtherDeviceReject
                }
                Some(r) if r != EndReason::Unknown => r,
                _ => end_reason(),
            },
        })
    }

    fn store(&mut self, snap: CallInfo, seen: bool) {
        let id = snap.call_id.clone();
        match self.tracks.get_mut(&id) {
            Some(t) => {
                t.snap = snap;
                t.seen = seen;
            }
            None => {
                self.tracks.insert(
                    id.clone(),
                    Track {
                        snap,
                        seen,
                        begun: false,
                    },
                );
                self.order.push_back(id);
                while self.tracks.len() > MAX_HELD_CALLS {
                    let Some(old) = self.order.pop_front() else {
                        break;
                    };
                    if self.current.as_deref() == Some(old.as_str()) {
                        self.order.push_back(old);
                        if self.order.len() <= 1 {
                            break;
                        }
                        continue;
                    }
                    self.tracks.remove(&old);
                }
            }
        }
    }

    /// The server no longer knows the current call (it is missing from a login
    /// result): end it here with reason `Unknown` at `server_time_ms`.
    pub fn forget_current(&mut self, server_time_ms: i64, out: &mut Vec<Event>) {
        let Some(id) = self.current.take() else {
            return;
        };
        let Some(t) = self.tracks.get(&id) else {
            return;
        };
        log::info!("call {id} is unknown to the server; ending it here");
        let snap = &t.snap;
        out.push(if t.begun {
            Event::CallEnd {
                call_id: id.clone(),
                media_type: snap.media_type,
                reason: EndReason::Unknown,
                total_time_s: total_time_s(snap, snap.participant(&self.me), Some(server_time_ms)),
            }
        } else {
            Event::CallNotConnected {
                call_id: id.clone(),
                media_type: snap.media_type,
                reason: EndReason::Unknown,
            }
        });
    }
}

/// Whole seconds `me` spent in the connected call, up to `end` (or its own leave / the call's end).
fn total_time_s(call: &CallInfo, me: Option<&Participant>, end: Option<i64>) -> u64 {
    let start = match (call.began_at_ms, me.and_then(|p| p.joined_at_ms)) {
        (Some(a), Some(b)) => a.max(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => return 0,
    };
    let end = me.and_then(|p| p.left_at_ms).or(call.ended_at_ms).or(end);
    end.map_or(0, |e| ((e - start).max(0) / 1000) as u64)
}

/// Events for `prev` → `new` of a current call, from `me`'s point of view.
/// Returns true when the call is over for this device.
fn diff(
    me: &str,
    my_device: &str,
    prev: Option<&CallInfo>,
    new: &CallInfo,
    begun: &mut bool,
    own_start: bool,
    out: &mut Vec<Event>,
) -> bool {
    let call_id = || new.call_id.clone();
    let here = |p: &Participant| p.device_id.as_deref().is_none_or(|d| d == my_device);
    let my_prev = prev.and_then(|c| c.participant(me));
    let my_new = new.participant(me);

    // Another device of mine answered the invitation that rings here.
    if let Some(p) = my_new {
        let was_ringing = my_prev.is_some_and(|q| q.state == ParticipantState::Ringing);
        if was_ringing && !*begun && !here(p) {
            let reason = match (p.state, p.reason) {
                (ParticipantState::InCall, _) => Some(EndReason::OtherDeviceAccepted),
                (ParticipantState::Gone, Some(EndReason::Reject | EndReason::LineBusy)) => {
                    Some(EndReason::OtherDeviceReject)
                }
                _ => None,
            };
            if let Some(reason) = reason {
                out.push(Event::CallNotConnected {
                    call_id: call_id(),
                    media_type: new.media_type,
                    reason,
                });
                return true;
            }
        }
    }

    // Everyone else.
    let watching =
        |p: Option<&Participant>| p.is_some_and(|p| p.state == ParticipantState::InCall && here(p));
    let (w_prev, w_new) = (watching(my_prev), watching(my_new));
    if w_prev || w_new || own_start {
        let gone_from_absent = w_prev || own_start;
        for p in new.participants.iter().filter(|p| p.user_id != me) {
            let before = if w_prev {
                prev.and_then(|c| c.participant(&p.user_id))
                    .map(|q| q.state)
            } else {
                None
            };
            let user_id = p.user_id.clone();
            let event = match (before, p.state) {
                (b, ParticipantState::Ringing) if b != Some(ParticipantState::Ringing) => {
                    Some(Event::UserInviting {
                        call_id: call_id(),
                        user_id,
                    })
                }
                (b, ParticipantState::InCall) if b != Some(ParticipantState::InCall) => {
                    Some(Event::UserJoin {
                        call_id: call_id(),
                        user_id,
                    })
                }
                (Some(ParticipantState::InCall), ParticipantState::Gone) => {
                    Some(Event::UserLeave {
                        call_id: call_id(),
                        user_id,
                    })
                }
                (Some(ParticipantState::Ringing), ParticipantState::Gone)
                | (None, ParticipantState::Gone)
                    if before.is_some() || gone_from_absent =>
                {
                    match p.reason {
                        Some(EndReason::Reject) => Some(Event::UserReject {
                            call_id: call_id(),
                            user_id,
                        }),
                        Some(EndReason::NoResponse) => Some(Event::UserNoResponse {
                            call_id: call_id(),
                            user_id,
                        }),
                        Some(EndReason::LineBusy) => Some(Event::UserLineBusy {
                            call_id: call_id(),
                            user_id,
                        }),
                        _ => None,
                    }
                }
                _ => None,
            };
            out.extend(event);
            // Camera and microphone: compared only among people in the call,
            // so someone joining with the camera on, or leaving with it on,
            // is reported too.
            let was = prev
                .filter(|_| w_prev)
                .and_then(|c| c.participant(&p.user_id))
                .filter(|q| q.state == ParticipantState::InCall)
                .map_or((false, false), |q| (q.audio_available, q.video_available));
            let is = if p.state == ParticipantState::InCall {
                (p.audio_available, p.video_available)
            } else {
                (false, false)
            };
            if was.0 != is.0 {
                out.push(Event::UserAudioAvailable {
                    call_id: call_id(),
                    user_id: p.user_id.clone(),
                    available: is.0,
                });
            }
            if was.1 != is.1 {
                out.push(Event::UserVideoAvailable {
                    call_id: call_id(),
                    user_id: p.user_id.clone(),
                    available: is.1,
                });
            }
        }
    }

    if let Some(prev) = prev {
        if prev.media_type != new.media_type {
            out.push(Event::CallMediaTypeChanged {
                call_id: call_id(),
                old: prev.media_type,
                new: new.media_type,
            });
        }
    }

    if !*begun && new.state == CallState::Active && watching(my_new) {
        *begun = true;
        out.push(Event::CallBegin {
            call_id: call_id(),
            room_id: new.room_id.clone(),
            media_type: new.media_type,
            is_group: new.is_group,
        });
    }

    let gone = my_new.is_none_or(|p| p.state == ParticipantState::Gone);
    if gone || new.state == CallState::Ended {
        let reason = my_new
            .filter(|p| p.state == ParticipantState::Gone)
            .and_then(|p| p.reason)
            .filter(|r| *r != EndReason::Unknown)
            .or(new.end_reason)
            .unwrap_or(EndReason::Unknown);
        out.push(if *begun {
            Event::CallEnd {
                call_id: call_id(),
                media_type: new.media_type,
                reason,
                total_time_s: total_time_s(new, my_new, None),
            }
        } else {
            Event::CallNotConnected {
                call_id: call_id(),
                media_type: new.media_type,
                reason,
            }
        });
        return true;
    }
    false
}
