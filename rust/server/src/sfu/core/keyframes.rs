//! Keyframe requests: a subscriber's (relayed to the publisher of the
//! route it names), the SFU's own when a subscriber connects or a route
//! changes layer, and the retries for publishers not yet connected.

use super::*;

impl Core {
    /// Ask the publishers of a subscriber's video routes (those whose mid
    /// passes `which`) for a keyframe.
    pub(super) fn keyframes_for(&mut self, call_id: &str, user: &str, which: impl Fn(Mid) -> bool) {
        let mids: Vec<Mid> = self
            .rooms
            .get(call_id)
            .and_then(|room| room.members.get(user))
            .map(|m| {
                m.sub
                    .routes
                    .iter()
                    .filter(|r| r.kind == MediaKind::Video && which(r.mid))
                    .map(|r| r.mid)
                    .collect()
            })
            .unwrap_or_default();
        for mid in mids {
            self.keyframe(call_id, user, mid, KeyframeRequestKind::Pli);
        }
    }

    /// Ask a publisher for a keyframe on each of its video tracks.
    pub(super) fn keyframe_from_publisher(&mut self, pub_id: PeerId) {
        let Some(call_id) = self.peers.get(&pub_id).map(|p| p.call_id.clone()) else {
            return;
        };
        let mids: Vec<Mid> = self
            .rooms
            .get(&call_id)
            .into_iter()
            .flat_map(|room| room.members.values())
            .filter(|m| m.publisher == Some(pub_id))
            .flat_map(|m| m.tracks.iter())
            .filter(|(_, kind)| *kind == MediaKind::Video)
            .map(|(mid, _)| *mid)
            .collect();
        let Some(publisher) = self.peers.get_mut(&pub_id) else {
            return;
        };
        let mut api = publisher.rtc.direct_api();
        for mid in mids {
            if let Some(rx) = api.stream_rx_by_mid(mid, None) {
                rx.request_keyframe(KeyframeRequestKind::Pli);
                self.metrics
                    .sfu_keyframe_requests_total
                    .fetch_add(1, Relaxed);
            }
        }
        self.dirty.push(pub_id);
    }

    /// A subscriber asked for a keyframe: ask the track's publisher.
    pub(super) fn keyframe(
        &mut self,
        call_id: &str,
        user: &str,
        mid: Mid,
        kind: KeyframeRequestKind,
    ) {
        let Some(room) = self.rooms.get(call_id) else {
            return;
        };
        let Some(route) = room
            .members
            .get(user)
            .and_then(|m| m.sub.routes.iter().find(|r| r.mid == mid))
        else {
            return;
        };
        let Some(source) = room.members.get(&route.source_user) else {
            return;
        };
        // The layer the subscriber is fed from.
        let source_mid = match route.kind {
            MediaKind::Video => source
                .layers
                .get(route.layer.min(source.layers.len().saturating_sub(1)))
                .copied()
                .unwrap_or(route.source_mid),
            MediaKind::Audio => route.source_mid,
        };
        if let Some(pub_id) = source.publisher {
            self.publisher_keyframe(pub_id, source_mid, kind);
        }
    }

    /// Ask a publisher for a keyframe on one of its video m-lines.
    pub(super) fn publisher_keyframe(
        &mut self,
        pub_id: PeerId,
        mid: Mid,
        kind: KeyframeRequestKind,
    ) {
        let Some(publisher) = self.peers.get_mut(&pub_id) else {
            return;
        };
        if let Some(rx) = publisher.rtc.direct_api().stream_rx_by_mid(mid, None) {
            rx.request_keyframe(kind);
            self.metrics
                .sfu_keyframe_requests_total
                .fetch_add(1, Relaxed);
            self.dirty.push(pub_id);
        }
    }
}
