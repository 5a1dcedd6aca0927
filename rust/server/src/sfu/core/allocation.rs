//! Which simulcast layer each subscriber's video routes get, from its
//! bandwidth estimate and `media_view` choices ([`layers::allocate`]), and
//! what its estimator is told to probe for. (A 1v1 subscriber's estimate
//! limits its publisher instead: `limits.rs`.)

use super::*;
use crate::sfu::layers::RouteLayers;

/// Layer choices are revisited at least this often (a publisher's layer may
/// pause or resume without any estimate changing).
const ALLOCATE_EVERY: Duration = Duration::from_millis(500);
/// A layer forwarded stays this long while the estimate falls mildly short
/// of it (a busy receiver's late arrival stamps read as a short queue; the
/// estimate comes back within a second or two).
const DOWN_HOLD: Duration = Duration::from_secs(2);
/// A route waiting for its new layer's keyframe asks again this often.
const LAYER_KEYFRAME_RETRY: Duration = Duration::from_millis(500);

impl Core {
    /// Revisit which layer each of a subscriber's video routes gets (see
    /// [`layers::allocate`]); a route that should change asks its new
    /// layer for a keyframe and switches when it starts. Also tells the
    /// subscriber's estimator what to probe for.
    pub(super) fn allocate(&mut self, call_id: &str, user: &str, now: Instant) {
        let Some(room) = self.rooms.get(call_id) else {
            return;
        };
        if !room.group {
            return self.limit_publishers(call_id, user, now);
        }
        let Some(m) = room.members.get(user) else {
            return;
        };
        // Audio that is flowing (a closed microphone sends nothing).
        let audio = m
            .sub
            .routes
            .iter()
            .filter(|r| r.kind == MediaKind::Audio)
            .filter(|r| {
                room.members
                    .get(&r.source_user)
                    .is_some_and(|src| src.audio_rate.bps(now) > 0.0)
            })
            .count();
        // (route index, its publisher, the layer m-lines, the choice to make)
        let mut videos = vec![];
        for (i, r) in m.sub.routes.iter().enumerate() {
            let Some(src) = room.members.get(&r.source_user) else {
                continue;
            };
            if r.kind != MediaKind::Video || src.layers.len() < 2 {
                continue;
            }
            let choice = RouteLayers {
                rates_bps: src.layer_rates.iter().map(|l| l.bps(now)).collect(),
                current: r.layer.min(src.layers.len() - 1),
                want: m.sub.views.get(&r.source_user).copied().unwrap_or_default(),
            };
            videos.push((i, src.publisher, src.layers.clone(), choice));
        }
        let choices: Vec<RouteLayers> = videos.iter().map(|v| v.3.clone()).collect();
        let chosen = layers::allocate(m.sub.estimate_bps, audio, &choices);
        let chosen_layers = chosen.clone();
        let wanted = layers::wanted_bps(audio, &choices);
        let sub_id = m.sub.peer;
        let mut asks = vec![];
        let m = self
            .rooms
            .get_mut(call_id)
            .and_then(|r| r.members.get_mut(user))
            .expect("looked up above");
        let estimate = m.sub.estimate_bps;
        for ((i, publisher, mids, choice), target) in videos.into_iter().zip(chosen) {
            let route = &mut m.sub.routes[i];
            // A mild shortfall must last before the video steps down; a
            // deep one steps down at once.
            let current_rate = choice.rates_bps.get(route.layer).copied().unwrap_or(0.0);
            let target = if target > route.layer && choice.want == VideoStreamType::Big {
                let since = *route.short_since.get_or_insert(now);
                let mild = layers::mild_shortfall(estimate, audio, current_rate);
                if mild && now.saturating_duration_since(since) < DOWN_HOLD {
                    route.layer
                } else {
                    target
                }
            } else {
                route.short_since = None;
                target
            };
            if route.target != target {
                log::debug!(
                    "sfu: {user} in {call_id}: {}'s video to layer {target} (was {}, forwarding {}; estimate {:?} bps, layers {:?} bps)",
                    route.source_user,
                    route.target,
                    route.layer,
                    estimate.map(|e| e.round()),
                    choice.rates_bps.iter().map(|r| r.round()).collect::<Vec<_>>()
                );
                route.target = target;
                route.target_asked = None;
            }
            if route.layer == target {
                continue;
            }
            let due = route
                .target_asked
                .is_none_or(|t| now.saturating_duration_since(t) >= LAYER_KEYFRAME_RETRY);
            if let (true, Some(publisher)) = (due, publisher) {
                route.target_asked = Some(now);
                asks.push((publisher, mids[target]));
            }
        }
        // Probe for what the routes would take; only a rise starts a probe.
        let probe = match layers::worth_probing(m.sub.estimate_bps, audio, &choices, &chosen_layers)
        {
            // Nothing lost: the estimate sank in a busy moment rather than
            // behind a slow link, and probing soon costs nothing.
            layers::Probe::Far if !m.sub.lossy(now) => layers::Probe::Near,
            probe => probe,
        };
        let desired = match m.sub.estimate_bps {
            Some(estimate) => m.sub.prober.desired(now, wanted, estimate, probe),
            None => wanted,
        };
        let desired_changed = (desired - m.sub.desired_bps).abs() > 0.01 * m.sub.desired_bps;
        if desired_changed && !choices.is_empty() {
            log::trace!(
                "sfu: {user} in {call_id}: desired {:.0} bps (estimate {:?} bps)",
                desired,
                m.sub.estimate_bps.map(|e| e.round())
            );
            m.sub.desired_bps = desired;
            if let Some(sub) = sub_id.and_then(|id| self.peers.get_mut(&id)) {
                let desired = Bitrate::bps(desired as u64);
                sub.rtc.bwe().set_bitrate(Bitrate::ZERO, desired);
            }
        }
        for (publisher, mid) in asks {
            self.publisher_keyframe(publisher, mid, KeyframeRequestKind::Pli);
        }
    }

    /// Revisit every subscriber's layers (see [`ALLOCATE_EVERY`]).
    pub(super) fn allocate_all(&mut self, now: Instant) {
        if self
            .allocated_at
            .is_some_and(|t| now.saturating_duration_since(t) < ALLOCATE_EVERY)
        {
            return;
        }
        self.allocated_at = Some(now);
        let subscribers: Vec<(String, String)> = self
            .rooms
            .iter()
            .flat_map(|(call, room)| {
                room.members
                    .iter()
                    .filter(|(_, m)| m.sub.peer.is_some())
                    .map(move |(user, _)| (call.clone(), user.clone()))
            })
            .collect();
        for (call, user) in subscribers {
            self.allocate(&call, &user, now);
        }
    }
}
