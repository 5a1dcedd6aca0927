//! ICE-TCP towards the SFU, for networks that block UDP (ADR 0007).
//!
//! The SFU's SDPs carry a passive TCP host candidate next to the UDP one.
//! `webrtc` 0.21 pairs it with the connection's local active TCP candidate
//! (it has one when built with a TCP address), but opens the TCP connection
//! only for a candidate handed to `add_ice_candidate`, never for one that
//! came inside a remote description. [`TcpDialer`] wraps a connection's
//! event handler and does that hand-over whenever a remote description is
//! applied: the SFU is ICE-lite and never sends candidates on their own.
//!
//! UDP goes first: the dial waits [`TCP_GRACE`] and is skipped if ICE has
//! connected by then, so where UDP works no TCP connection is opened at
//! all. Should both still succeed, both sides rank UDP higher (host local
//! preference 65535 against 57343 for an active TCP candidate here, and the
//! SFU adds its TCP candidate second). The grace uses part of ICE's check
//! budget (50 checks 10 ms apart, `peer.rs`), which leaves TCP about 350 ms
//! for its handshake and first check: round trips up to about 170 ms. On a
//! slower path the checks fail, the session restarts ICE (every 2 s), and
//! the TCP connection opened meanwhile carries the next checks.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use rtc::peer_connection::transport::RTCIceCandidateInit;
use webrtc::data_channel::DataChannel;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCIceConnectionState, RTCIceGatheringState,
    RTCPeerConnectionIceErrorEvent, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
    RTCSignalingState,
};

/// Most candidates dialled per ICE generation (a bound on what an SDP can ask).
const MAX_DIALS: usize = 16;
/// How long UDP has to connect on its own before TCP is dialled.
pub(crate) const TCP_GRACE: Duration = Duration::from_millis(150);

/// The candidates dialled in the current ICE generation (remote ufrag).
#[derive(Default)]
struct Dialled {
    ufrag: String,
    candidates: HashSet<String>,
}

impl Dialled {
    /// Which of `found` (ufrag, candidate) are new; a new ufrag (an ICE
    /// restart, a new network maybe) starts over.
    fn fresh(&mut self, found: Vec<(String, String)>) -> Vec<String> {
        let mut out = vec![];
        for (ufrag, candidate) in found {
            if ufrag != self.ufrag {
                self.ufrag = ufrag;
                self.candidates.clear();
            }
            if self.candidates.len() < MAX_DIALS && self.candidates.insert(candidate.clone()) {
                out.push(candidate);
            }
        }
        out
    }
}

/// Forwards every event to `inner`, and dials the remote passive TCP
/// candidates of each newly applied remote description.
pub(crate) struct TcpDialer {
    inner: Arc<dyn PeerConnectionEventHandler>,
    pc: OnceLock<Weak<dyn PeerConnection>>,
    dialled: Arc<Mutex<Dialled>>,
    /// ICE is connected (or completed).
    connected: Arc<AtomicBool>,
}

impl TcpDialer {
    pub(crate) fn new(inner: Arc<dyn PeerConnectionEventHandler>) -> Arc<TcpDialer> {
        Arc::new(TcpDialer {
            inner,
            pc: OnceLock::new(),
            dialled: Arc::default(),
            connected: Arc::default(),
        })
    }

    /// The connection this handler serves (set once it is built).
    pub(crate) fn attach(&self, pc: &Arc<dyn PeerConnection>) {
        let _ = self.pc.set(Arc::downgrade(pc));
    }

    /// Hand the not yet dialled passive TCP candidates of the current remote
    /// description to ICE, which connects to them.
    async fn dial(pc: Arc<dyn PeerConnection>, fresh: Vec<String>) {
        for candidate in fresh {
            let init = RTCIceCandidateInit {
                candidate,
                ..Default::default()
            };
            if let Err(e) = pc.add_ice_candidate(init).await {
                log::debug!("ICE-TCP: cannot add the SFU's TCP candidate: {e}");
            }
        }
    }
}

/// The passive TCP candidates of `sdp` with the ICE ufrag they belong to.
pub(crate) fn passive_tcp_candidates(sdp: &str) -> Vec<(String, String)> {
    let mut ufrag = String::new();
    let mut out: Vec<(String, String)> = vec![];
    for line in sdp.lines().map(str::trim) {
        if let Some(u) = line.strip_prefix("a=ice-ufrag:") {
            ufrag = u.to_string();
        } else if let Some(c) = line.strip_prefix("a=") {
            let Some(value) = c.strip_prefix("candidate:") else {
                continue;
            };
            let fields: Vec<&str> = value.split_whitespace().collect();
            let tcp = fields.get(2).is_some_and(|p| p.eq_ignore_ascii_case("tcp"));
            let passive = fields.windows(2).any(|w| w == ["tcptype", "passive"]);
            let key = (ufrag.clone(), c.to_string());
            if tcp && passive && !out.contains(&key) {
                out.push(key);
            }
        }
    }
    out
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for TcpDialer {
    async fn on_signaling_state_change(&self, state: RTCSignalingState) {
        self.inner.on_signaling_state_change(state).await;
        // A remote description was just applied (an answer: stable; an
        // offer: have-remote-offer).
        if !matches!(
            state,
            RTCSignalingState::Stable | RTCSignalingState::HaveRemoteOffer
        ) {
            return;
        }
        let Some(pc) = self.pc.get().cloned() else {
            return;
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (dialled, connected) = (self.dialled.clone(), self.connected.clone());
        // Not here: the connection is busy delivering this event, and
        // `add_ice_candidate` waits for it.
        rt.spawn(async move {
            tokio::time::sleep(TCP_GRACE).await;
            if connected.load(Relaxed) {
                return;
            }
            let Some(pc) = pc.upgrade() else { return };
            let Some(sdp) = pc.remote_description().await.map(|d| d.sdp) else {
                return;
            };
            let fresh = dialled
                .lock()
                .expect("dialled")
                .fresh(passive_tcp_candidates(&sdp));
            if !fresh.is_empty() {
                log::debug!("ICE-TCP: UDP not connected after {TCP_GRACE:?}, dialling TCP");
            }
            TcpDialer::dial(pc, fresh).await;
        });
    }
    async fn on_negotiation_needed(&self) {
        self.inner.on_negotiation_needed().await;
    }
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        self.inner.on_ice_candidate(event).await;
    }
    async fn on_ice_candidate_error(&self, event: RTCPeerConnectionIceErrorEvent) {
        self.inner.on_ice_candidate_error(event).await;
    }
    async fn on_ice_connection_state_change(&self, state: RTCIceConnectionState) {
        let up = matches!(
            state,
            RTCIceConnectionState::Connected | RTCIceConnectionState::Completed
        );
        self.connected.store(up, Relaxed);
        self.inner.on_ice_connection_state_change(state).await;
    }
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        self.inner.on_ice_gathering_state_change(state).await;
    }
    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.inner.on_connection_state_change(state).await;
    }
    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        self.inner.on_data_channel(dc).await;
    }
    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        self.inner.on_track(track).await;
    }
}

#[cfg(test)]
mod tests {
    use super::{passive_tcp_candidates, Dialled, MAX_DIALS};

    #[test]
    fn only_passive_tcp_candidates_are_dialled_once_per_ufrag() {
        let sdp = "v=0\r\na=ice-ufrag:abcd\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
                   a=candidate:1 1 udp 2130706175 127.0.0.1 4000 typ host\r\n\
                   a=candidate:2 1 tcp 2130705663 127.0.0.1 4000 typ host tcptype passive\r\n\
                   a=candidate:3 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 108\r\n\
                   a=candidate:2 1 tcp 2130705663 127.0.0.1 4000 typ host tcptype passive\r\n";
        assert_eq!(
            passive_tcp_candidates(sdp),
            vec![(
                "abcd".to_string(),
                "candidate:2 1 tcp 2130705663 127.0.0.1 4000 typ host tcptype passive".to_string()
            )]
        );
        assert!(passive_tcp_candidates("v=0\r\n").is_empty());
    }

    #[test]
    fn a_candidate_is_dialled_once_per_ice_generation() {
        let mut d = Dialled::default();
        let c = |u: &str| {
            (
                u.to_string(),
                "candidate:2 1 tcp 1 127.0.0.1 4000 typ host tcptype passive".to_string(),
            )
        };
        assert_eq!(d.fresh(vec![c("a")]).len(), 1);
        assert_eq!(d.fresh(vec![c("a")]).len(), 0, "a renegotiation");
        assert_eq!(d.fresh(vec![c("b")]).len(), 1, "an ICE restart");
        let many = (0..40)
            .map(|i| {
                (
                    "b".to_string(),
                    format!("candidate:{i} 1 tcp 1 127.0.0.1 {i} typ host tcptype passive"),
                )
            })
            .collect();
        assert_eq!(d.fresh(many).len(), MAX_DIALS - 1);
    }
}
