//! An in-process UDP impairment proxy for tests.
//!
//! The CI kernel has no `netem`, so to see how calls behave on a bad network
//! the tests put this proxy between the WebRTC engines and the SFU's single
//! media UDP port. Start a [`UdpImpairmentProxy`] pointing at the SFU's
//! socket and set the server's media public address (the host candidate it
//! announces in its SDP) to [`UdpImpairmentProxy::local_addr`]: clients then
//! send their ICE/DTLS/SRTP datagrams to the proxy, which forwards them with
//! random loss, a fixed delay plus random jitter (so packets reorder),
//! duplication, and a bandwidth limit with a bounded queue (a bottleneck
//! whose delay grows with its backlog), in each direction independently.
//!
//! Each client source address gets its own upstream socket, like a NAT, so
//! the SFU still sees one distinct address per client. The impairment can be
//! changed while running ([`UdpImpairmentProxy::set_impairment`]) to show
//! recovery, or for one client only
//! ([`UdpImpairmentProxy::set_client_impairment`]) to cap one phone while the
//! others stay well, [`UdpImpairmentProxy::switch_path`] makes every client's
//! traffic arrive from a new address and port (a phone moving from Wi-Fi to
//! cellular), and [`UdpImpairmentProxy::stats`] counts what happened.
//!
//! ```no_run
//! # async fn demo(sfu: std::net::SocketAddr) -> std::io::Result<()> {
//! use hotline_netsim::{Impairment, UdpImpairmentProxy};
//!
//! let proxy = UdpImpairmentProxy::start(
//!     sfu,
//!     Impairment { loss: 0.1, delay_ms: 40, jitter_ms: 20, ..Default::default() },
//! )
//! .await?;
//! let media_public_addr = proxy.local_addr(); // give this to the server
//! # let _ = media_public_addr;
//! // ... run the call, then heal the network:
//! proxy.set_impairment(Impairment::default());
//! # Ok(()) }
//! ```
//!
//! Everything is bounded: at most [`MAX_CLIENTS`] client mappings (and as
//! many per-client overrides) and [`MAX_IN_FLIGHT`] delayed datagrams
//! ([`MAX_IN_FLIGHT_BYTES`] bytes); the excess is dropped and counted. The proxy only binds to, and sends to,
//! loopback addresses. Dropping it (or [`UdpImpairmentProxy::stop`]) ends
//! its tasks.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod bottleneck;
mod clients;
mod impairment;
mod proxy;
mod socket;

pub use bottleneck::{DEFAULT_QUEUE_MS, HEADER_BYTES};
pub use clients::ClientBytes;
pub use impairment::Impairment;
pub use proxy::{ProxyStats, UdpImpairmentProxy, MAX_CLIENTS, MAX_IN_FLIGHT, MAX_IN_FLIGHT_BYTES};
pub use socket::{bind_udp, SOCKET_BUFFER_BYTES};
