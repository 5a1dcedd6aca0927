//! One SFU worker (ADR 0011): a thread with its own runtime, its own
//! `SO_REUSEPORT` socket on the media port, and its own [`Core`] holding
//! whole calls. Datagrams its socket reads for another worker's connections
//! go to that worker's inbox ([`routing`](super::routing)).
//!
//! A worker that panics loses its core: its calls are reported lost (the
//! hub ends them), its ufrags route nowhere, its ICE-TCP connections close
//! with its runtime, and it starts again empty on the same socket, so the
//! kernel's spread of clients over the sockets does not change.

use std::net::{SocketAddr, UdpSocket};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::net::Protocol;
use tokio::sync::mpsc;

use super::batch_io::{self, RecvBuffers};
use super::core::Core;
use super::routing::{Routes, Ufrags, WorkerId};
use super::tcp::{Handoff, Tcp, TcpEvent};
use super::Cmd;
use crate::metrics::{Metrics, WorkerMetrics};

/// Most datagrams taken from the inbox (or TCP) before the worker runs its
/// timers and sends; the socket gives at most [`batch_io::BATCH`] per read.
const READ_BURST: usize = 64;
/// Longest sleep of a worker.
const MAX_WAIT: Duration = Duration::from_millis(500);
/// Shortest sleep of a worker with timers due: they run a little late
/// rather than one wake-up each.
const TIMER_SLACK: Duration = Duration::from_millis(1);
/// Datagrams and connections waiting in a worker's inbox before more are dropped.
pub const INBOX: usize = 4096;

/// What one worker hands another.
pub enum Inbound {
    /// A datagram the sender's socket read for this worker's connection.
    Datagram {
        /// Who sent it.
        src: SocketAddr,
        /// Its contents.
        data: Vec<u8>,
    },
    /// An ICE-TCP connection whose first check names this worker's ufrag.
    Tcp(Handoff),
}

/// What every worker shares.
pub struct Shared {
    /// Which worker owns each connection's ufrag.
    pub ufrags: Arc<Ufrags>,
    /// Every worker's inbox, by id.
    pub inboxes: Vec<mpsc::Sender<Inbound>>,
    /// Counters (each worker's own in `sfu_workers`).
    pub metrics: Arc<Metrics>,
    /// The UDP address in SDP candidates.
    pub candidate: SocketAddr,
    /// The ICE-TCP address in SDP candidates, if any.
    pub tcp_candidate: Option<SocketAddr>,
    /// `sendmmsg`/`recvmmsg` (else one system call per datagram).
    pub batch_io: bool,
}

impl Shared {
    fn stats(&self, id: WorkerId) -> &WorkerMetrics {
        &self
            .metrics
            .sfu_workers
            .get()
            .expect("worker metrics are set")[id]
    }
}

/// A worker not started yet.
pub struct Worker {
    /// Its index.
    pub id: WorkerId,
    /// Its socket, bound with `SO_REUSEPORT` to the media port.
    pub sock: UdpSocket,
    /// Commands for its calls.
    pub cmds: mpsc::UnboundedReceiver<Cmd>,
    /// What other workers hand it.
    pub inbox: mpsc::Receiver<Inbound>,
}

impl Worker {
    /// Start the thread. It runs until the command channel closes; after a
    /// panic it calls `lost(id)` and starts again with an empty core.
    pub fn spawn(
        self,
        shared: Arc<Shared>,
        lost: impl Fn(WorkerId) + Send + 'static,
    ) -> std::io::Result<()> {
        let Worker {
            id,
            sock,
            mut cmds,
            mut inbox,
        } = self;
        std::thread::Builder::new()
            .name(format!("hotline-sfu-{id}"))
            .spawn(move || {
                #[cfg(target_os = "linux")]
                {
                    // SAFETY: gettid has no preconditions.
                    let tid = unsafe { libc::gettid() };
                    shared.stats(id).tid.store(i64::from(tid), Relaxed);
                }
                loop {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime for an SFU worker");
                    let life = rt.block_on(async {
                        let registered = sock.try_clone().and_then(|s| {
                            Ok((tokio::net::UdpSocket::from_std(s)?, sock.try_clone()?))
                        });
                        let (sock, raw) = match registered {
                            Ok(s) => s,
                            Err(e) => {
                                log::error!("sfu: worker {id} cannot register its socket: {e}");
                                return Ok(());
                            }
                        };
                        let core = Core::new(
                            shared.candidate,
                            shared.tcp_candidate,
                            shared.metrics.clone(),
                            id,
                            shared.ufrags.clone(),
                        );
                        let run = Life {
                            id,
                            shared: &shared,
                            sock,
                            raw,
                            core,
                            tcp: Tcp::new(shared.metrics.clone()),
                            routes: Routes::default(),
                        }
                        .run(&mut cmds, &mut inbox);
                        // The future is polled here, so a panic in it
                        // unwinds to this catch.
                        futures_util::FutureExt::catch_unwind(AssertUnwindSafe(run)).await
                    });
                    // Its connections' tasks go with the runtime.
                    drop(rt);
                    match life {
                        Ok(()) => break,
                        Err(panic) => {
                            let why = panic_message(&panic);
                            log::error!("sfu: worker {id} panicked ({why}); its calls end, it starts again empty");
                            shared.stats(id).panics.fetch_add(1, Relaxed);
                            shared.ufrags.forget_worker(id);
                            lost(id);
                        }
                    }
                }
                log::debug!("sfu: worker {id} stopped");
            })
            .map(|_| ())
    }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

/// One life of a worker: the state a panic throws away.
struct Life<'a> {
    id: WorkerId,
    shared: &'a Shared,
    /// The socket, for readiness.
    sock: tokio::net::UdpSocket,
    /// The same socket, for batched reads and sends.
    raw: UdpSocket,
    core: Core,
    tcp: Tcp,
    routes: Routes,
}

impl Life<'_> {
    async fn run(
        mut self,
        cmds: &mut mpsc::UnboundedReceiver<Cmd>,
        inbox: &mut mpsc::Receiver<Inbound>,
    ) {
        let mut bufs = RecvBuffers::default();
        loop {
            let now = Instant::now();
            // Timers due within TIMER_SLACK run together: str0m's pacers ask
            // for wake-ups a fraction of a millisecond apart.
            let wake = self.core.next_timeout().map_or(now + MAX_WAIT, |t| {
                t.max(now + TIMER_SLACK).min(now + MAX_WAIT)
            });
            tokio::select! {
                biased;
                cmd = cmds.recv() => match cmd {
                    Some(Cmd::Fail { call_id }) => panic!("asked to fail (call {call_id})"),
                    Some(cmd) => self.core.handle_cmd(cmd, Instant::now()),
                    None => break,
                },
                r = self.sock.readable() => {
                    if r.is_ok() {
                        self.read_udp(&mut bufs);
                    }
                }
                Some(msg) = inbox.recv() => self.on_inbound(msg),
                Some(ev) = self.tcp.next() => self.on_tcp(ev),
                _ = tokio::time::sleep_until(wake.into()) => {}
            }
            // Inboxes and TCP frames are taken every round, so a busy socket
            // (polled first) does not starve them.
            for _ in 0..READ_BURST {
                let Ok(msg) = inbox.try_recv() else { break };
                self.on_inbound(msg);
            }
            for _ in 0..READ_BURST {
                let Some(ev) = self.tcp.try_next() else { break };
                self.on_tcp(ev);
            }
            self.core.handle_timeout(Instant::now());
            self.send();
        }
    }

    /// Read what the socket has (at most a batch): this worker's datagrams
    /// go to its core, others' to their inboxes.
    fn read_udp(&mut self, bufs: &mut RecvBuffers) {
        let Life {
            id,
            shared,
            sock,
            raw,
            core,
            routes,
            ..
        } = self;
        let stats = shared.stats(*id);
        let now = Instant::now();
        // Through try_io, so that tokio learns the socket is drained.
        let read = sock.try_io(tokio::io::Interest::READABLE, || {
            let recv = if shared.batch_io {
                batch_io::recv_some
            } else {
                batch_io::one_by_one::recv_some
            };
            let n = recv(
                raw,
                bufs,
                &mut |src, data| match routes.route(src, data, &shared.ufrags) {
                    Some(w) if w == *id => core.handle_datagram(src, data, now),
                    Some(w) => {
                        let msg = Inbound::Datagram {
                            src,
                            data: data.to_vec(),
                        };
                        if shared.inboxes[w].try_send(msg).is_err() {
                            stats.handoff_dropped.fetch_add(1, Relaxed);
                        }
                    }
                    None => {}
                },
            );
            if n == 0 {
                Err(std::io::ErrorKind::WouldBlock.into())
            } else {
                Ok(n as u64)
            }
        });
        let datagrams = read.unwrap_or(0);
        stats.udp_in.fetch_add(datagrams, Relaxed);
    }

    fn on_inbound(&mut self, msg: Inbound) {
        match msg {
            Inbound::Datagram { src, data } => {
                self.shared.stats(self.id).handed_in.fetch_add(1, Relaxed);
                self.core.handle_datagram(src, &data, Instant::now());
            }
            Inbound::Tcp(handoff) => self.tcp.adopt(handoff),
        }
    }

    /// Apply one event of the TCP side.
    fn on_tcp(&mut self, ev: TcpEvent) {
        match ev {
            TcpEvent::Packet { from, data } => {
                self.core
                    .handle_packet(Protocol::Tcp, from, &data, Instant::now());
            }
            TcpEvent::Closed { from, id } => {
                if self.tcp.closed(from, id) {
                    self.core.forget(Protocol::Tcp, from);
                }
            }
        }
    }

    /// Send what the core queued; a datagram the socket cannot take now is dropped.
    fn send(&mut self) {
        let stats = self.shared.stats(self.id);
        let mut tcp_dropped = 0;
        for (_, dst, data) in self.core.out.iter().filter(|t| t.0 == Protocol::Tcp) {
            if !self.tcp.send(*dst, data) {
                tcp_dropped += 1;
            }
        }
        let udp = self.core.out.iter().filter(|t| t.0 != Protocol::Tcp);
        let udp: Vec<(SocketAddr, &[u8])> = udp.map(|(_, dst, data)| (*dst, &data[..])).collect();
        let sent = if self.shared.batch_io {
            batch_io::send_all(&self.raw, udp.into_iter())
        } else {
            batch_io::one_by_one::send_all(&self.raw, udp.into_iter())
        };
        self.core.out.clear();
        let dropped = sent.dropped + tcp_dropped;
        stats.udp_out.fetch_add(sent.datagrams, Relaxed);
        stats.udp_out_bytes.fetch_add(sent.bytes, Relaxed);
        stats.send_calls.fetch_add(sent.calls, Relaxed);
        if dropped > 0 {
            stats.send_dropped.fetch_add(dropped, Relaxed);
        }
    }
}
