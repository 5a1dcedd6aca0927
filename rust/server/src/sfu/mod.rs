//! The SFU: ICE-lite, every call a room (ADR 0003, 0004), on one UDP port
//! served by several workers (ADR 0011), and an ICE-TCP listener for
//! networks that block UDP (ADR 0007).
//!
//! Each worker ([`worker`]) is a thread with its own `SO_REUSEPORT` socket
//! on the media port and its own [`core`], which holds whole calls and
//! every str0m `Rtc` of them. The hub sends [`Cmd`]s through [`Sfu`], which
//! gives each new call to the worker carrying the fewest; workers answer
//! media requests and push `media_offer`s straight into the sessions'
//! outboxes. A worker never blocks: sends use a non-blocking socket and a
//! datagram that does not fit is dropped for that destination only.

pub mod batch_io;
pub mod core;
pub mod layers;
pub mod packet_kind;
pub mod routing;
pub mod tcp;
pub mod timestamps;
pub mod worker;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};

use hotline_proto::{EndReason, VideoStreamType};
use tokio::sync::mpsc;

use crate::hub::{HubMsg, Outbox};
use crate::metrics::{Metrics, WorkerMetrics};
use routing::{Ufrags, WorkerId};
use worker::{Inbound, Shared, Worker, INBOX};

/// Socket buffer size asked of the kernel (it caps this at `net.core.rmem_max`
/// / `wmem_max`); the default ~200 KiB overflows under a burst of video.
const SOCKET_BUFFER: usize = 4 << 20;
/// Most workers (each a thread with a socket).
pub const MAX_WORKERS: usize = 256;

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
    /// Fault injection for tests: the call's worker panics.
    #[doc(hidden)]
    Fail {
        /// The call whose worker fails.
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

impl Cmd {
    /// The call it is about (`None`: it concerns every worker).
    fn call_id(&self) -> Option<&str> {
        match self {
            Cmd::Publish { call_id, .. }
            | Cmd::Answer { call_id, .. }
            | Cmd::View { call_id, .. }
            | Cmd::Members { call_id, .. }
            | Cmd::EndCall { call_id }
            | Cmd::Fail { call_id } => Some(call_id),
            Cmd::Rebind { .. } => None,
        }
    }
}

/// Which worker carries each call.
struct Assignments {
    calls: HashMap<String, WorkerId>,
    metrics: Arc<Metrics>,
}

impl Assignments {
    fn workers(&self) -> &[WorkerMetrics] {
        self.metrics
            .sfu_workers
            .get()
            .expect("worker metrics are set")
    }

    /// The call's worker; a new call goes to the one carrying the fewest.
    fn assign(&mut self, call_id: &str) -> WorkerId {
        if let Some(w) = self.calls.get(call_id) {
            return *w;
        }
        let w = (0..self.workers().len())
            .min_by_key(|w| self.workers()[*w].calls.load(Relaxed))
            .expect("at least one worker");
        self.workers()[w].calls.fetch_add(1, Relaxed);
        self.calls.insert(call_id.to_owned(), w);
        w
    }

    fn end(&mut self, call_id: &str) -> Option<WorkerId> {
        let w = self.calls.remove(call_id)?;
        self.workers()[w].calls.fetch_sub(1, Relaxed);
        Some(w)
    }

    /// Every call on `worker`, which no longer carries them.
    fn take_worker(&mut self, worker: WorkerId) -> Vec<String> {
        let mut lost = vec![];
        self.calls.retain(|call, w| {
            let gone = *w == worker;
            if gone {
                lost.push(call.clone());
            }
            !gone
        });
        self.workers()[worker].calls.store(0, Relaxed);
        lost
    }
}

/// The running SFU: where it listens and how to reach its workers.
#[derive(Clone)]
pub struct Sfu {
    cmds: Arc<Vec<mpsc::UnboundedSender<Cmd>>>,
    assignments: Arc<Mutex<Assignments>>,
    local: SocketAddr,
    candidate: SocketAddr,
    tcp: Option<SocketAddr>,
}

impl Sfu {
    /// The address the UDP sockets are bound to.
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

    /// How many workers there are.
    pub fn workers(&self) -> usize {
        self.cmds.len()
    }

    /// Which worker carries `call_id`, if any does.
    pub fn worker_of(&self, call_id: &str) -> Option<WorkerId> {
        lock(&self.assignments).calls.get(call_id).copied()
    }

    /// Queue a command for the worker of its call (dropped if that worker
    /// has stopped). A call's first `Publish` picks its worker.
    pub fn send(&self, cmd: Cmd) {
        let worker = match (&cmd, cmd.call_id()) {
            (Cmd::Rebind { .. }, _) => {
                self.rebind_everywhere(cmd);
                return;
            }
            (Cmd::EndCall { .. }, Some(call)) => lock(&self.assignments).end(call),
            (Cmd::Publish { .. }, Some(call)) => Some(lock(&self.assignments).assign(call)),
            (_, Some(call)) => lock(&self.assignments).calls.get(call).copied(),
            (_, None) => None,
        };
        if let Some(w) = worker {
            let _ = self.cmds[w].send(cmd);
        }
    }

    fn rebind_everywhere(&self, cmd: Cmd) {
        let Cmd::Rebind {
            user_id,
            device_id,
            outbox,
        } = cmd
        else {
            return;
        };
        for tx in self.cmds.iter() {
            let _ = tx.send(Cmd::Rebind {
                user_id: user_id.clone(),
                device_id: device_id.clone(),
                outbox: outbox.clone(),
            });
        }
    }
}

fn lock(a: &Mutex<Assignments>) -> std::sync::MutexGuard<'_, Assignments> {
    // Every change to the table is one insert or remove: a panic elsewhere
    // leaves it whole.
    a.lock().unwrap_or_else(|e| e.into_inner())
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

/// A media socket on `addr`, one of a `SO_REUSEPORT` group: the kernel
/// spreads clients over the group's sockets by their address.
fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_port(true)?;
    // Best effort: the kernel caps these, and a smaller buffer still works.
    let _ = s.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = s.set_send_buffer_size(SOCKET_BUFFER);
    s.bind(&addr.into())?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

/// Bind the media sockets (one per worker, all on `listen`'s port; port 0
/// picks a free one) and, with `tcp_port`, the ICE-TCP listener on that
/// port of the same IP (0 = any free one), and start `workers` workers
/// (0 = one per core). `public` (port 0 = the bound port) is the address
/// written into SDPs for deployments behind NAT; the TCP candidate has its
/// IP and the TCP port. `batch_io` sends and reads many datagrams per system
/// call (`sendmmsg`/`recvmmsg`). A worker that panics tells the hub behind `hub`
/// which calls it lost. The workers stop when every [`Sfu`] handle is dropped.
pub fn start(
    listen: SocketAddr,
    public: Option<SocketAddr>,
    tcp_port: Option<u16>,
    workers: usize,
    batch_io: bool,
    metrics: Arc<Metrics>,
    hub: mpsc::WeakSender<HubMsg>,
) -> Result<Sfu, SfuError> {
    let workers = match workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(MAX_WORKERS);
    let bind_err = |addr| move |source| SfuError::Bind { addr, source };
    let first = bind(listen).map_err(bind_err(listen))?;
    let local = first.local_addr().map_err(bind_err(listen))?;
    let mut socks = vec![first];
    for _ in 1..workers {
        socks.push(bind(local).map_err(bind_err(local))?);
    }
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
                .map_err(bind_err(addr))?;
            (Some(bound.1), Some(bound.0))
        }
        None => (None, None),
    };
    let tcp_candidate = tcp.map(|t| SocketAddr::new(candidate.ip(), t.port()));
    init_crypto();
    let _ = metrics
        .sfu_workers
        .set((0..workers).map(|_| WorkerMetrics::default()).collect());
    let (mut cmd_txs, mut inbox_txs, mut pending) = (vec![], vec![], vec![]);
    for (id, sock) in socks.into_iter().enumerate() {
        let (cmd_tx, cmds) = mpsc::unbounded_channel();
        let (inbox_tx, inbox) = mpsc::channel(INBOX);
        cmd_txs.push(cmd_tx);
        inbox_txs.push(inbox_tx);
        pending.push(Worker {
            id,
            sock,
            cmds,
            inbox,
        });
    }
    let shared = Arc::new(Shared {
        ufrags: Arc::new(Ufrags::default()),
        inboxes: inbox_txs,
        metrics: metrics.clone(),
        candidate,
        tcp_candidate,
        batch_io,
    });
    let assignments = Arc::new(Mutex::new(Assignments {
        calls: HashMap::new(),
        metrics: metrics.clone(),
    }));
    for w in pending {
        let (assignments, hub) = (assignments.clone(), hub.clone());
        let lost = move |id| {
            let calls = lock(&assignments).take_worker(id);
            if calls.is_empty() {
                return;
            }
            log::warn!("sfu: worker {id} lost {} call(s); ending them", calls.len());
            if let Some(hub) = hub.upgrade() {
                let _ = hub.blocking_send(HubMsg::EndCalls {
                    call_ids: calls,
                    reason: EndReason::EndByServer,
                });
            }
        };
        w.spawn(shared.clone(), lost).map_err(bind_err(local))?;
    }
    if let Some(listener) = listener {
        let ufrags = shared.ufrags.clone();
        let owner = move |ufrag: &str| ufrags.owner(ufrag);
        let inboxes = shared.inboxes.clone();
        let hand = move |h: tcp::Handoff, w: WorkerId| {
            let _ = inboxes[w].try_send(Inbound::Tcp(h));
        };
        let all_stopped = {
            let inboxes = shared.inboxes.clone();
            async move {
                for tx in &inboxes {
                    tx.closed().await;
                }
            }
        };
        tcp::Front::start(listener, metrics, owner, hand, all_stopped).map_err(bind_err(listen))?;
    }
    log::info!("sfu: {workers} worker(s) on {local}");
    Ok(Sfu {
        cmds: Arc::new(cmd_txs),
        assignments,
        local,
        candidate,
        tcp,
    })
}
