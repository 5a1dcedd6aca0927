//! ICE-TCP for networks that block UDP (RFC 6544, passive side): a TCP
//! listener on the SFU's port whose connections carry RFC 4571 frames, a
//! 16-bit big-endian length and then one STUN, DTLS, RTP or RTCP packet.
//!
//! The listener is [`Front`], a thread of its own: it accepts, waits for a
//! connection's first frame (an ICE check), and hands the connection to the
//! worker that owns the check's ufrag (`routing.rs`), or closes it. On the
//! worker, every connection is a task on the worker's runtime ([`Tcp`]). Its
//! reader hands whole frames to the worker loop through one bounded channel
//! (a full channel stops reading, so TCP pushes back on the client); its
//! writer sends what the loop queued, at most [`OUT_QUEUE`] frames, and the
//! loop drops a packet for a connection whose queue is full, as it does for
//! a UDP socket that would block. A connection that sends a frame longer
//! than [`MAX_FRAME`], or nothing for [`IDLE`], is closed, and at most
//! [`MAX_CONNECTIONS`] are open.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::routing::{stun_request_ufrag, WorkerId};
use crate::metrics::Metrics;

/// Most open connections (each engine opens one per media connection).
pub const MAX_CONNECTIONS: usize = 1024;
/// Largest frame accepted: what the UDP socket reads in one datagram.
pub const MAX_FRAME: usize = 2048;
/// Frames queued for one connection before packets to it are dropped.
pub const OUT_QUEUE: usize = 256;
/// A connection with nothing to say for this long is closed (a connection in
/// use carries ICE consent checks every few seconds).
pub const IDLE: Duration = Duration::from_secs(30);
/// Frames read but not yet taken by the SFU loop, over all connections.
const IN_QUEUE: usize = 1024;
/// Pause after a failed `accept` (out of file descriptors, say).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Reassembles RFC 4571 frames from a byte stream; holds at most one frame.
#[derive(Default)]
pub struct Deframer {
    buf: Vec<u8>,
}

/// A frame's length field said more than [`MAX_FRAME`].
#[derive(Debug, PartialEq, Eq)]
pub struct Oversized(pub usize);

impl Deframer {
    /// Append bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame, left in place; `Ok(None)` if it has not all
    /// arrived yet. Empty frames are skipped.
    pub fn peek_frame(&mut self) -> Result<Option<&[u8]>, Oversized> {
        loop {
            if self.buf.len() < 2 {
                return Ok(None);
            }
            let len = usize::from(u16::from_be_bytes([self.buf[0], self.buf[1]]));
            if len > MAX_FRAME {
                return Err(Oversized(len));
            }
            if len == 0 {
                self.buf.drain(..2);
                continue;
            }
            if self.buf.len() < 2 + len {
                return Ok(None);
            }
            return Ok(Some(&self.buf[2..2 + len]));
        }
    }

    /// The next whole frame, `Ok(None)` if it has not all arrived yet.
    /// Empty frames carry nothing and are skipped.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, Oversized> {
        let Some(frame) = self.peek_frame()?.map(<[u8]>::to_vec) else {
            return Ok(None);
        };
        self.buf.drain(..2 + frame.len());
        Ok(Some(frame))
    }
}

/// `data` with its RFC 4571 length in front (`None` if it cannot be framed).
pub fn frame(data: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(data.len()).ok()?;
    let mut out = Vec::with_capacity(2 + data.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
    Some(out)
}

/// What a worker's connections tell its loop.
pub enum TcpEvent {
    /// One frame from the connection whose remote address is `from`.
    Packet {
        /// The client's address (ip and port of its end of the connection).
        from: SocketAddr,
        /// The frame's contents.
        data: Vec<u8>,
    },
    /// A connection ended.
    Closed {
        /// Its remote address.
        from: SocketAddr,
        /// Which connection (a new one may reuse the address).
        id: u64,
    },
}

/// An open connection counted in `hotline_sfu_tcp_connections` until it is
/// dropped, wherever that happens.
pub struct Counted {
    metrics: Arc<Metrics>,
}

impl Counted {
    fn new(metrics: &Arc<Metrics>) -> Counted {
        metrics.sfu_tcp_connections.fetch_add(1, Relaxed);
        Counted {
            metrics: metrics.clone(),
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.metrics.sfu_tcp_connections.fetch_sub(1, Relaxed);
    }
}

/// A connection on its way from the [`Front`] to its worker: the bytes read
/// so far (its first frame at least) stay in `deframer`.
pub struct Handoff {
    /// The connection, non-blocking.
    pub stream: std::net::TcpStream,
    /// Its remote address.
    pub from: SocketAddr,
    /// What has been read of it.
    pub deframer: Deframer,
    /// Counts it as open.
    pub counted: Counted,
}

struct Conn {
    id: u64,
    out: mpsc::Sender<Vec<u8>>,
}

/// A worker's side: its open connections by remote address.
pub struct Tcp {
    conns: HashMap<SocketAddr, Conn>,
    next_id: u64,
    tx: mpsc::Sender<TcpEvent>,
    rx: mpsc::Receiver<TcpEvent>,
    metrics: Arc<Metrics>,
}

impl Tcp {
    /// No connections yet.
    pub fn new(metrics: Arc<Metrics>) -> Tcp {
        let (tx, rx) = mpsc::channel(IN_QUEUE);
        Tcp {
            conns: HashMap::new(),
            next_id: 1,
            tx,
            rx,
            metrics,
        }
    }

    /// The next event (waits; cancel-safe).
    pub async fn next(&mut self) -> Option<TcpEvent> {
        self.rx.recv().await
    }

    /// The next event if one is ready.
    pub fn try_next(&mut self) -> Option<TcpEvent> {
        self.rx.try_recv().ok()
    }

    /// Serve a connection the front handed over. Call within the worker's
    /// runtime.
    pub fn adopt(&mut self, h: Handoff) {
        let stream = match TcpStream::from_std(h.stream) {
            Ok(s) => s,
            Err(e) => {
                log::debug!(
                    "sfu: cannot take the ICE-TCP connection from {}: {e}",
                    h.from
                );
                return;
            }
        };
        let id = self.next_id;
        self.next_id += 1;
        let (out, out_rx) = mpsc::channel(OUT_QUEUE);
        // A newer connection from the same address replaces the old one,
        // whose writer then ends (its sender is dropped).
        self.conns.insert(h.from, Conn { id, out });
        tokio::spawn(serve(
            stream,
            h.from,
            id,
            h.deframer,
            h.counted,
            self.tx.clone(),
            out_rx,
            self.metrics.clone(),
        ));
    }

    /// A connection ended; `true` if it was the current one for `from`.
    pub fn closed(&mut self, from: SocketAddr, id: u64) -> bool {
        if self.conns.get(&from).is_some_and(|c| c.id == id) {
            self.conns.remove(&from);
            return true;
        }
        false
    }

    /// Queue `data` on the connection from `to`; `false` if it was dropped
    /// (no such connection, or its queue is full).
    pub fn send(&mut self, to: SocketAddr, data: &[u8]) -> bool {
        let Some(conn) = self.conns.get(&to) else {
            return false;
        };
        let Some(framed) = frame(data) else {
            return false;
        };
        let sent = conn.out.try_send(framed).is_ok();
        if sent {
            self.metrics.sfu_tcp_packets_out_total.fetch_add(1, Relaxed);
        }
        sent
    }
}

/// The ICE-TCP listener's thread: accepts connections and hands each to
/// the worker that owns it.
pub struct Front;

impl Front {
    /// Serve `listener` on a thread of its own until `stopped` completes.
    /// A connection waits for an ICE check whose ufrag has an `owner`
    /// (other frames are read and dropped) and then goes to `hand`.
    pub fn start<O, H, F>(
        listener: std::net::TcpListener,
        metrics: Arc<Metrics>,
        owner: O,
        hand: H,
        stopped: F,
    ) -> std::io::Result<()>
    where
        O: Fn(&str) -> Option<WorkerId> + Send + Sync + 'static,
        H: Fn(Handoff, WorkerId) + Send + Sync + 'static,
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let routing = Arc::new(Routing {
            owner: Box::new(owner),
            hand: Box::new(hand),
        });
        std::thread::Builder::new()
            .name("hotline-sfu-tcp".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the ICE-TCP listener");
                rt.block_on(async move {
                    let listener = match TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            log::error!("sfu: cannot register the ICE-TCP listener: {e}");
                            return;
                        }
                    };
                    tokio::select! {
                        _ = accept_loop(listener, metrics, routing) => {}
                        _ = stopped => {}
                    }
                });
            })
            .map(|_| ())
    }
}

/// Which worker owns a ufrag.
type Owner = Box<dyn Fn(&str) -> Option<WorkerId> + Send + Sync>;
/// Give a connection to a worker.
type Hand = Box<dyn Fn(Handoff, WorkerId) + Send + Sync>;

/// Where the front sends connections.
struct Routing {
    owner: Owner,
    hand: Hand,
}

async fn accept_loop(listener: TcpListener, metrics: Arc<Metrics>, routing: Arc<Routing>) {
    loop {
        match listener.accept().await {
            Ok((stream, from)) => {
                if metrics.sfu_tcp_connections.load(Relaxed) >= MAX_CONNECTIONS as i64 {
                    metrics.sfu_tcp_rejected_total.fetch_add(1, Relaxed);
                    log::debug!("sfu: refusing ICE-TCP from {from}: {MAX_CONNECTIONS} open");
                    continue;
                }
                let _ = stream.set_nodelay(true);
                let counted = Counted::new(&metrics);
                tokio::spawn(until_checked(
                    stream,
                    from,
                    counted,
                    metrics.clone(),
                    routing.clone(),
                ));
            }
            Err(e) => {
                log::debug!("sfu: ICE-TCP accept failed: {e}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// Read a new connection until an ICE check that some worker owns (earlier
/// frames are nobody's and dropped), then hand it to that worker.
async fn until_checked(
    mut stream: TcpStream,
    from: SocketAddr,
    counted: Counted,
    metrics: Arc<Metrics>,
    routing: Arc<Routing>,
) {
    let mut deframer = Deframer::default();
    let mut buf = vec![0u8; 4096];
    let worker = loop {
        match deframer.peek_frame() {
            Ok(Some(frame)) => {
                let owner = stun_request_ufrag(frame).and_then(|u| (routing.owner)(u));
                if let Some(w) = owner {
                    break w;
                }
                metrics.sfu_tcp_packets_in_total.fetch_add(1, Relaxed);
                let _ = deframer.next_frame();
                continue;
            }
            Ok(None) => {}
            Err(Oversized(len)) => {
                log::debug!("sfu: ICE-TCP from {from} sent a {len}-byte frame, closing");
                metrics.sfu_tcp_rejected_total.fetch_add(1, Relaxed);
                return;
            }
        }
        match tokio::time::timeout(IDLE, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => deframer.push(&buf[..n]),
            _ => return,
        }
    };
    let Ok(stream) = stream.into_std() else {
        return;
    };
    let handoff = Handoff {
        stream,
        from,
        deframer,
        counted,
    };
    (routing.hand)(handoff, worker);
}

/// One connection: frames in until it ends, is idle, or misbehaves; queued
/// frames out meanwhile. Tells the loop when it is gone.
#[allow(clippy::too_many_arguments)]
async fn serve(
    stream: TcpStream,
    from: SocketAddr,
    id: u64,
    mut deframer: Deframer,
    _counted: Counted,
    tx: mpsc::Sender<TcpEvent>,
    mut out_rx: mpsc::Receiver<Vec<u8>>,
    metrics: Arc<Metrics>,
) {
    let (mut rd, mut wr) = stream.into_split();
    let reader = async {
        let mut buf = vec![0u8; 4096];
        loop {
            loop {
                match deframer.next_frame() {
                    Ok(Some(data)) => {
                        metrics.sfu_tcp_packets_in_total.fetch_add(1, Relaxed);
                        if tx.send(TcpEvent::Packet { from, data }).await.is_err() {
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(Oversized(len)) => {
                        log::debug!("sfu: ICE-TCP from {from} sent a {len}-byte frame, closing");
                        metrics.sfu_tcp_rejected_total.fetch_add(1, Relaxed);
                        return;
                    }
                }
            }
            let n = match tokio::time::timeout(IDLE, rd.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return,
                Err(_) => {
                    log::debug!("sfu: ICE-TCP from {from} idle, closing");
                    return;
                }
                Ok(Ok(n)) => n,
            };
            deframer.push(&buf[..n]);
        }
    };
    let writer = async {
        while let Some(framed) = out_rx.recv().await {
            if wr.write_all(&framed).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = reader => {}
        _ = writer => {}
    }
    let _ = tx.send(TcpEvent::Closed { from, id }).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_reassembled_across_reads() {
        let mut d = Deframer::default();
        let mut bytes = frame(b"hello").unwrap();
        bytes.extend(frame(b"").unwrap());
        bytes.extend(frame(&[7u8; 300]).unwrap());
        for chunk in bytes.chunks(3) {
            d.push(chunk);
        }
        assert_eq!(
            d.peek_frame(),
            Ok(Some(&b"hello"[..])),
            "peeking takes nothing"
        );
        assert_eq!(d.next_frame(), Ok(Some(b"hello".to_vec())));
        assert_eq!(
            d.peek_frame(),
            Ok(Some(&[7u8; 300][..])),
            "past the empty frame"
        );
        assert_eq!(d.next_frame(), Ok(Some(vec![7u8; 300])));
        assert_eq!(d.next_frame(), Ok(None));
        d.push(&[0]);
        assert_eq!(d.next_frame(), Ok(None), "half a length");
    }

    #[test]
    fn an_oversized_frame_is_refused_before_it_is_buffered() {
        let mut d = Deframer::default();
        d.push(&[0xff, 0xff, 1, 2, 3]);
        assert_eq!(d.peek_frame(), Err(Oversized(65535)));
        assert_eq!(d.next_frame(), Err(Oversized(65535)));
        assert_eq!(frame(&vec![0u8; 70_000]), None);
    }
}
