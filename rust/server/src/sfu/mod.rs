//! The SFU: one UDP socket, ICE-lite, every call a room (ADR 0003, 0004),
//! and an ICE-TCP listener for networks that block UDP (ADR 0007).
//!
//! One thread (`hotline-sfu`) owns the sockets and every str0m `Rtc` (see
//! [`core`]); the hub sends it [`Cmd`]s and it answers media requests and
//! pushes `media_offer`s straight into the sessions' outboxes. It never
//! blocks: sends use a non-blocking socket and a datagram that does not fit is
//! dropped for that destination only; TCP connections are tasks on the same
//! thread ([`tcp`]).

pub mod core;
pub mod layers;
pub mod tcp;
pub mod timestamps;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hotline_proto::VideoStreamType;
use str0m::net::Protocol;
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
        /// A group call: its subscribers get the simulcast layers their
        /// bandwidth allows; in a 1v1 call their bandwidth limits the
        /// publisher (REMB).
        group: bool,
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
    /// `media_view`: which of `source_user`'s video layers `user_id` wants.
    View {
        /// The call.
        call_id: String,
        /// Who asks.
        user_id: String,
        /// Whose video.
        source_user: String,
        /// Big or small.
        stream_type: VideoStreamType,
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
    tcp: Option<SocketAddr>,
}

impl Sfu {
    /// The address the UDP socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The address the ICE-TCP listener is bound to (none: ICE-TCP is off).
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp
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
    /// Binding or configuring the UDP socket or the TCP listener failed.
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

/// Attempts at a free TCP port whose number differs from the UDP one.
const BIND_TRIES: usize = 16;

fn bind_tcp(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // A restarted server gets its port back despite connections in TIME_WAIT.
    s.set_reuse_address(true)?;
    s.bind(&addr.into())?;
    s.listen(128)?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

/// The ICE-TCP listener on `addr`, on a port whose number is not `udp_port`:
/// `webrtc` 0.21 clients look remote candidates up by address alone, so a
/// TCP candidate at the UDP one's address and port breaks both for them.
fn bind_ice_tcp(addr: SocketAddr, udp_port: u16) -> std::io::Result<TcpListener> {
    if addr.port() == udp_port {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the ICE-TCP port must differ from the UDP one",
        ));
    }
    for _ in 0..BIND_TRIES {
        let l = bind_tcp(addr)?;
        if l.local_addr()?.port() != udp_port {
            return Ok(l);
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AddrInUse,
        "no free TCP port apart from the UDP one",
    ))
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

/// Bind the media socket (and, with `tcp_port`, the ICE-TCP listener on
/// that port of the same IP; 0 = any free one) and start the SFU thread.
/// `public` (port 0 = the bound port) is the address written into SDPs for
/// deployments behind NAT; the TCP candidate has its IP and the TCP port.
/// The thread stops when every [`Sfu`] handle is dropped.
pub fn start(
    listen: SocketAddr,
    public: Option<SocketAddr>,
    tcp_port: Option<u16>,
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
    let (listener, tcp) = match tcp_port {
        Some(port) => {
            let addr = SocketAddr::new(listen.ip(), port);
            let bound = bind_ice_tcp(addr, candidate.port())
                .and_then(|l| Ok((l.local_addr()?, l)))
                .map_err(|source| SfuError::Bind { addr, source })?;
            (Some(bound.1), Some(bound.0))
        }
        None => (None, None),
    };
    let tcp_candidate = tcp.map(|t| SocketAddr::new(candidate.ip(), t.port()));
    init_crypto();
    let (tx, rx) = mpsc::unbounded_channel();
    let core = core::Core::new(candidate, tcp_candidate, metrics.clone());
    std::thread::Builder::new()
        .name("hotline-sfu".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the SFU thread");
            rt.block_on(async move {
                let tcp = tcp::Tcp::start(listener, metrics);
                run(sock, rx, core, tcp).await
            });
        })
        .map_err(|source| SfuError::Bind {
            addr: listen,
            source,
        })?;
    Ok(Sfu {
        tx,
        local,
        candidate,
        tcp,
    })
}

async fn run(
    sock: UdpSocket,
    mut rx: mpsc::UnboundedReceiver<Cmd>,
    mut core: core::Core,
    mut tcp: tcp::Tcp,
) {
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
                    let mut datagrams = 0;
                    for _ in 0..READ_BURST {
                        match sock.try_recv_from(&mut buf) {
                            Ok((n, src)) => {
                                datagrams += 1;
                                core.handle_datagram(src, &buf[..n], Instant::now());
                            }
                            Err(_) => break,
                        }
                    }
                    read = datagrams > 0;
                    core.metrics()
                        .sfu_udp_in_total
                        .fetch_add(datagrams, std::sync::atomic::Ordering::Relaxed);
                }
            }
            Some(ev) = tcp.next() => read |= on_tcp(&mut core, &mut tcp, ev),
            _ = tokio::time::sleep_until(wake.into()) => {}
        }
        // TCP's frames are taken every round, so a busy UDP socket (polled
        // first) does not starve them.
        for _ in 0..READ_BURST {
            let Some(ev) = tcp.try_next() else { break };
            read |= on_tcp(&mut core, &mut tcp, ev);
        }
        // str0m's idiom: drive every session's timers after each read burst.
        core.handle_timeout(Instant::now(), read);
        let (mut dropped, mut udp_out) = (0, 0);
        for (proto, dst, data) in core.out.drain(..) {
            let sent = match proto {
                Protocol::Tcp => tcp.send(dst, &data),
                _ => {
                    let sent = sock.try_send_to(&data, dst).is_ok();
                    udp_out += u64::from(sent);
                    sent
                }
            };
            if !sent {
                dropped += 1;
            }
        }
        core.metrics()
            .sfu_udp_out_total
            .fetch_add(udp_out, std::sync::atomic::Ordering::Relaxed);
        if dropped > 0 {
            core.metrics()
                .sfu_send_dropped_total
                .fetch_add(dropped, std::sync::atomic::Ordering::Relaxed);
        }
    }
    log::debug!("sfu: stopped");
}

/// Apply one event of the TCP side; `true` if a packet was read.
fn on_tcp(core: &mut core::Core, tcp: &mut tcp::Tcp, ev: tcp::TcpEvent) -> bool {
    match ev {
        tcp::TcpEvent::Packet { from, data } => {
            core.handle_packet(Protocol::Tcp, from, &data, Instant::now());
            true
        }
        tcp::TcpEvent::Accepted(stream, from) => {
            tcp.accepted(stream, from);
            false
        }
        tcp::TcpEvent::Closed { from, id } => {
            if tcp.closed(from, id) {
                core.forget(Protocol::Tcp, from);
            }
            false
        }
    }
}
