//! The SFU: one UDP socket, ICE-lite, every call a room (ADR 0003, 0004).
//!
//! One thread (`hotline-sfu`) owns the socket and every str0m `Rtc` (see
//! [`core`]); the hub sends it [`Cmd`]s and it answers media requests and
//! pushes `media_offer`s straight into the sessions' outboxes. It never
//! blocks: sends use a non-blocking socket and a datagram that does not fit is
//! dropped for that destination only.

pub mod core;

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::hub::Outbox;
use crate::metrics::Metrics;

/// Socket buffer size asked of the kernel (it caps this at `net.core.rmem_max`
/// / `wmem_max`); the default ~200 KiB overflows under a burst of video.
const SOCKET_BUFFER: usize = 4 << 20;
/// Most datagrams read before the SFU runs its timers and sends.
const READ_BURST: usize = 64;
/// Longest sleep of the SFU thread.
const MAX_WAIT: Duration = Duration::from_millis(500);

/// A request from the hub. Replies (with `seq`) go to `outbox` directly.
pub enum Cmd {
    /// `media_publish`, already checked against the call's state.
    Publish {
        /// The call.
        call_id: String,
        /// Who publishes.
        user_id: String,
        /// From which device (offers go to it).
        device_id: String,
        /// The engine's offer.
        sdp: String,
        /// The offer restarts ICE on the member's existing connections.
        ice_restart: bool,
        /// The request's seq.
        seq: u64,
        /// The publishing device's mailbox.
        outbox: Outbox,
    },
    /// `media_answer`.
    Answer {
        /// The call.
        call_id: String,
        /// Who answers.
        user_id: String,
        /// The offer's revision.
        revision: u64,
        /// The engine's answer.
        sdp: String,
        /// The request's seq.
        seq: u64,
        /// The answering device's mailbox.
        outbox: Outbox,
    },
    /// A call with media changed: these (user, device) pairs are in it; the
    /// SFU drops everyone else's connections and renegotiates.
    Members {
        /// The call.
        call_id: String,
        /// Who is `in_call`, and on which device.
        in_call: Vec<(String, String)>,
    },
    /// A call with media ended.
    EndCall {
        /// The call.
        call_id: String,
    },
    /// A device logged in again: its new mailbox.
    Rebind {
        /// Who.
        user_id: String,
        /// Which device.
        device_id: String,
        /// The new mailbox.
        outbox: Outbox,
    },
}

/// The running SFU: where it listens and how to reach its thread.
#[derive(Clone)]
pub struct Sfu {
    tx: mpsc::UnboundedSender<Cmd>,
    local: SocketAddr,
    candidate: SocketAddr,
}

impl Sfu {
    /// The address the UDP socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The address written into SDP candidates (the public address, if configured).
    pub fn candidate_addr(&self) -> SocketAddr {
        self.candidate
    }

    /// Queue a command (dropped if the SFU thread has stopped).
    pub fn send(&self, cmd: Cmd) {
        let _ = self.tx.send(cmd);
    }
}

/// Install str0m's crypto provider once per process.
pub fn init_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| str0m::crypto::from_feature_flags().install_process_default());
}

/// Why the SFU could not start.
#[derive(Debug, thiserror::Error)]
pub enum SfuError {
    /// Binding or configuring the UDP socket failed.
    #[error("cannot listen for media on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The address for SDP candidates cannot be reached by anyone.
    #[error("media is bound to {0}, which clients cannot reach; set media_public_addr (flag --media-public-addr, env HOTLINE_MEDIA_PUBLIC_ADDR)")]
    NoCandidate(SocketAddr),
}

fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    // Best effort: the kernel caps these, and a smaller buffer still works.
    let _ = s.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = s.set_send_buffer_size(SOCKET_BUFFER);
    s.bind(&addr.into())?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

/// Bind the media socket and start the SFU thread. `public` (port 0 = the
/// bound port) is the address written into SDPs for deployments behind NAT.
/// The thread stops when every [`Sfu`] handle is dropped.
pub fn start(
    listen: SocketAddr,
    public: Option<SocketAddr>,
    metrics: Arc<Metrics>,
) -> Result<Sfu, SfuError> {
    let sock = bind(listen).map_err(|source| SfuError::Bind {
        addr: listen,
        source,
    })?;
    let local = sock.local_addr().map_err(|source| SfuError::Bind {
        addr: listen,
        source,
    })?;
    let candidate = match public {
        Some(p) if p.port() == 0 => SocketAddr::new(p.ip(), local.port()),
        Some(p) => p,
        None => local,
    };
    if candidate.ip().is_unspecified() {
        return Err(SfuError::NoCandidate(candidate));
    }
    init_crypto();
    let (tx, rx) = mpsc::unbounded_channel();
    let core = core::Core::new(candidate, metrics);
    std::thread::Builder::new()
        .name("hotline-sfu".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the SFU thread");
            rt.block_on(run(sock, rx, core));
        })
        .map_err(|source| SfuError::Bind {
            addr: listen,
            source,
        })?;
    Ok(Sfu {
        tx,
        local,
        candidate,
    })
}

async fn run(sock: UdpSocket, mut rx: mpsc::UnboundedReceiver<Cmd>, mut core: core::Core) {
    let sock = match tokio::net::UdpSocket::from_std(sock) {
        Ok(s) => s,
        Err(e) => {
            log::error!("sfu: cannot register the media socket: {e}");
            return;
        }
    };
    let mut buf = vec![0u8; 2048];
    loop {
        let now = Instant::now();
        let wake = core
            .next_timeout()
            .map_or(now + MAX_WAIT, |t| t.min(now + MAX_WAIT));
        let mut read = false;
        tokio::select! {
            biased;
            cmd = rx.recv() => match cmd {
                Some(cmd) => core.handle_cmd(cmd, Instant::now()),
                None => break,
            },
            r = sock.readable() => {
                if r.is_ok() {
                    for _ in 0..READ_BURST {
                        match sock.try_recv_from(&mut buf) {
                            Ok((n, src)) => {
                                read = true;
                                core.handle_datagram(src, &buf[..n], Instant::now());
                            }
                            Err(_) => break,
                        }
                    }
                }
            }
            _ = tokio::time::sleep_until(wake.into()) => {}
        }
        // str0m's idiom: drive every session's timers after each read burst.
        core.handle_timeout(Instant::now(), read);
        let mut dropped = 0;
        for (dst, data) in core.out.drain(..) {
            if sock.try_send_to(&data, dst).is_err() {
                dropped += 1;
            }
        }
        if dropped > 0 {
            core.metrics()
                .sfu_send_dropped_total
                .fetch_add(dropped, std::sync::atomic::Ordering::Relaxed);
        }
    }
    log::debug!("sfu: stopped");
}
