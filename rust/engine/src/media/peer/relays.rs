//! The TURN relays a call's connections may use: the latest login's list,
//! turned into what the WebRTC stack takes (ADR 0010).
//!
//! `turn:` URLs over UDP go to the stack as they are; `turns:` and
//! `?transport=tcp` ones each get a [`TurnBridge`], started on first use
//! and kept for the session, and the stack is given the bridge instead.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use hotline_proto::IceServer;
use rtc::peer_connection::configuration::RTCIceServer;
use tokio_rustls::rustls::ClientConfig;

use super::turn_bridge::{StreamRelay, TurnBridge};

/// Where sessions read the relays from: the actor replaces the list after
/// each login that changes it.
#[derive(Clone)]
pub(crate) struct RelaySource {
    servers: Arc<Mutex<Vec<IceServer>>>,
    tls: Arc<ClientConfig>,
}

impl RelaySource {
    /// No relays yet; `turns:` connections will trust what `tls` trusts.
    pub(crate) fn new(tls: Arc<ClientConfig>) -> RelaySource {
        RelaySource {
            servers: Arc::default(),
            tls,
        }
    }

    /// The relays the last login listed.
    pub(crate) fn set(&self, servers: Vec<IceServer>) {
        log::debug!(
            "TURN relays: {:?}",
            servers.iter().flat_map(|s| &s.urls).collect::<Vec<_>>()
        );
        *self.servers.lock().expect("relays") = servers;
    }

    fn get(&self) -> Vec<IceServer> {
        self.servers.lock().expect("relays").clone()
    }
}

/// One session's relays and bridges; dropping it stops the bridges.
pub(crate) struct Relays {
    source: RelaySource,
    bridges: HashMap<StreamRelay, TurnBridge>,
}

impl Relays {
    pub(crate) fn new(source: RelaySource) -> Relays {
        Relays {
            source,
            bridges: HashMap::new(),
        }
    }

    /// The relays for a new connection bound to `local_ip`. A bridge that
    /// cannot start (no socket) leaves its relay out, saying so.
    pub(crate) async fn for_stack(&mut self, local_ip: IpAddr) -> Vec<RTCIceServer> {
        let mut out = Vec::new();
        for server in self.source.get() {
            let mut urls = Vec::new();
            for url in &server.urls {
                let Some(relay) = StreamRelay::from_url(url) else {
                    urls.push(url.clone());
                    continue;
                };
                if !self.bridges.contains_key(&relay) {
                    match TurnBridge::start(local_ip, relay.clone(), self.source.tls.clone()).await
                    {
                        Ok(bridge) => {
                            self.bridges.insert(relay.clone(), bridge);
                        }
                        Err(e) => {
                            log::warn!("TURN relay {url} left out: no bridge socket ({e})");
                            continue;
                        }
                    }
                }
                urls.push(self.bridges[&relay].url());
            }
            if !urls.is_empty() {
                out.push(RTCIceServer {
                    urls,
                    username: server.username.clone(),
                    credential: server.credential.clone(),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stream_relays_are_replaced_by_one_bridge_each() {
        let source = RelaySource::new(crate::tls::client_config(None).unwrap());
        let mut relays = Relays::new(source.clone());
        assert!(relays
            .for_stack(IpAddr::from([127, 0, 0, 1]))
            .await
            .is_empty());
        source.set(vec![IceServer {
            urls: vec![
                "turn:198.51.100.7:3478?transport=udp".into(),
                "turns:turn.example.com:443?transport=tcp".into(),
            ],
            username: "1700003600:alice".into(),
            credential: "c".into(),
        }]);
        let first = relays.for_stack(IpAddr::from([127, 0, 0, 1])).await;
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].urls[0], "turn:198.51.100.7:3478?transport=udp");
        let bridge = &first[0].urls[1];
        assert!(bridge.starts_with("turn:127.0.0.1:"), "{bridge}");
        assert!(bridge.ends_with("?transport=udp"), "{bridge}");
        assert_eq!(first[0].username, "1700003600:alice");
        // The next connection of the session shares the bridge.
        let second = relays.for_stack(IpAddr::from([127, 0, 0, 1])).await;
        assert_eq!(second, first);
    }
}
