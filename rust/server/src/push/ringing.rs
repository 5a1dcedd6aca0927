//! Which invitations ring, followed snapshot by snapshot: an invitation that
//! starts ringing is a ring push, one that stops is a cancel push (with why).
//!
//! The hub feeds it every snapshot it sends out, in order. Starting from the
//! calls restored after a restart means their invitations, pushed before the
//! restart, are not pushed again.

use std::collections::{HashMap, HashSet};

use hotline_proto::push::CancelReason;
use hotline_proto::{CallInfo, CallState, EndReason, ParticipantState};

/// A change in who rings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RingChange {
    /// `user_id` started ringing in this call, until `deadline_ms`.
    Ring {
        /// Who.
        user_id: String,
        /// When the invitation times out (Unix ms).
        deadline_ms: i64,
    },
    /// `user_id` stopped ringing.
    Stop {
        /// Who.
        user_id: String,
        /// Why.
        reason: CancelReason,
    },
}

/// The invitations ringing in each unfinished call.
#[derive(Debug, Default)]
pub struct Ringing {
    calls: HashMap<String, HashSet<String>>,
}

impl Ringing {
    /// Start from the calls the registry holds (after a restart).
    pub fn from_calls<'a>(calls: impl IntoIterator<Item = &'a CallInfo>) -> Ringing {
        let mut ringing = Ringing::default();
        for call in calls {
            ringing.update(call);
        }
        ringing
    }

    /// Take in a call's newest snapshot; returns who started or stopped ringing.
    pub fn update(&mut self, call: &CallInfo) -> Vec<RingChange> {
        let now: HashSet<String> = if call.state == CallState::Ended {
            HashSet::new()
        } else {
            call.participants
                .iter()
                .filter(|p| p.state == ParticipantState::Ringing)
                .map(|p| p.user_id.clone())
                .collect()
        };
        let before = self.calls.remove(&call.call_id).unwrap_or_default();
        let mut changes = vec![];
        for p in &call.participants {
            let (was, is) = (before.contains(&p.user_id), now.contains(&p.user_id));
            if is && !was {
                changes.push(RingChange::Ring {
                    user_id: p.user_id.clone(),
                    deadline_ms: p.deadline_ms.unwrap_or(call.created_at_ms),
                });
            } else if was && !is {
                let reason = match (p.state, p.reason) {
                    (ParticipantState::InCall, _) => CancelReason::AnsweredElsewhere,
                    (_, Some(EndReason::Reject | EndReason::LineBusy)) => {
                        CancelReason::RejectedElsewhere
                    }
                    (_, Some(EndReason::NoResponse)) => CancelReason::NoResponse,
                    _ => CancelReason::Canceled,
                };
                changes.push(RingChange::Stop {
                    user_id: p.user_id.clone(),
                    reason,
                });
            }
        }
        if !now.is_empty() {
            self.calls.insert(call.call_id.clone(), now);
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Limits, NewCall, Registry};

    fn ringing_after(ringing: &mut Ringing, calls: &[CallInfo]) -> Vec<RingChange> {
        calls.iter().flat_map(|c| ringing.update(c)).collect()
    }

    fn ring(user: &str, deadline_ms: i64) -> RingChange {
        RingChange::Ring {
            user_id: user.into(),
            deadline_ms,
        }
    }

    fn stop(user: &str, reason: CancelReason) -> RingChange {
        RingChange::Stop {
            user_id: user.into(),
            reason,
        }
    }

    #[test]
    fn each_way_an_invitation_stops_has_its_reason() {
        let mut reg = Registry::new(Limits::default());
        let mut r = Ringing::default();
        let placed = reg
            .call("a", "da", NewCall::for_test("c1", &["b", "c", "d"]), 0)
            .unwrap();
        assert_eq!(
            ringing_after(&mut r, &placed.calls),
            [ring("b", 30_000), ring("c", 30_000), ring("d", 30_000)]
        );
        let accepted = reg.accept("b", "db", "c1", 1_000).unwrap();
        assert_eq!(
            ringing_after(&mut r, &accepted.calls),
            [stop("b", CancelReason::AnsweredElsewhere)]
        );
        let rejected = reg
            .decline("c", "dc", "c1", EndReason::Reject, 2_000)
            .unwrap();
        assert_eq!(
            ringing_after(&mut r, &rejected.calls),
            [stop("c", CancelReason::RejectedElsewhere)]
        );
        let timed_out = reg.on_timer(30_000);
        assert_eq!(
            ringing_after(&mut r, &timed_out.calls),
            [stop("d", CancelReason::NoResponse)]
        );
        // Invited again mid-call, then the call ends around the invitation.
        let invited = reg.invite("a", "c1", &["d".into()], 0, 31_000).unwrap();
        assert_eq!(ringing_after(&mut r, &invited.calls), [ring("d", 61_000)]);
        reg.hangup("a", "da", "c1", 32_000).unwrap();
        let ended = reg.hangup("b", "db", "c1", 33_000).unwrap();
        assert_eq!(
            ringing_after(&mut r, &ended.calls),
            [stop("d", CancelReason::Canceled)]
        );
        assert!(r.calls.is_empty(), "ended calls are forgotten");
    }

    #[test]
    fn a_cancelled_call_stops_everyone_and_a_restart_rings_nobody_again() {
        let mut reg = Registry::new(Limits::default());
        let placed = reg
            .call("a", "da", NewCall::for_test("c1", &["b"]), 0)
            .unwrap();
        // Restored from the registry: already ringing, so no ring change.
        let mut r = Ringing::from_calls(&placed.calls);
        let busy = reg
            .call("x", "dx", NewCall::for_test("c2", &["b"]), 10)
            .unwrap();
        assert_eq!(
            ringing_after(&mut r, &busy.calls),
            [],
            "a busy callee does not ring"
        );
        let cancelled = reg.hangup("a", "da", "c1", 20).unwrap();
        assert_eq!(
            ringing_after(&mut r, &cancelled.calls),
            [stop("b", CancelReason::Canceled)]
        );
    }
}
