//! ICE-TCP for networks that block UDP (RFC 6544, passive side): a TCP
//! listener on the SFU's port whose connections carry RFC 4571 frames, a
//! 16-bit big-endian length and then one STUN, DTLS, RTP or RTCP packet.
//!
//! Every connection is a task on the SFU thread's runtime. Its reader hands
//! whole frames to the SFU loop through one bounded channel (a full channel
//! stops reading, so TCP pushes back on the client); its writer sends what the
//! loop queued, at most [`OUT_QUEUE`] frames, and the loop drops a packet for
//! a connection whose queue is full, as it does for a UDP socket that would
//! block. A connection that sends a frame longer than [`MAX_FRAME`], or
//! nothing for [`IDLE`], is closed, and at most [`MAX_CONNECTIONS`] are open.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

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

    /// The next whole frame, `Ok(None)` if it has not all arrived yet.
    /// Empty frames carry nothing and are skipped.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, Oversized> {
        loop {
            if self.buf.len() < 2 {
                return Ok(None);
            }
            let len = usize::from(u16::from_be_bytes([self.buf[0], self.buf[1]]));
            if len > MAX_FRAME {
                return Err(Oversized(len));
            }
            if self.buf.len() < 2 + len {
                return Ok(None);
            }
            let frame = self.buf[2..2 + len].to_vec();
            self.buf.drain(..2 + len);
            if !frame.is_empty() {
                return Ok(Some(frame));
            }
        }
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

/// What the connections tell the SFU loop.
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
    /// The listener accepted a connection.
    Accepted(TcpStream, SocketAddr),
}

struct Conn {
    id: u64,
    out: mpsc::Sender<Vec<u8>>,
}

/// The SFU loop's side: the open connections by remote address.
pub struct Tcp {
    conns: HashMap<SocketAddr, Conn>,
    next_id: u64,
    tx: mpsc::Sender<TcpEvent>,
    rx: mpsc::Receiver<TcpEvent>,
    metrics: Arc<Metrics>,
}

impl Tcp {
    /// Start accepting on `listener` (none: ICE-TCP is off, and
    /// [`Tcp::next`] never returns). Call within the SFU thread's runtime.
    pub fn start(listener: Option<std::net::TcpListener>, metrics: Arc<Metrics>) -> Tcp {
        let (tx, rx) = mpsc::channel(IN_QUEUE);
        if let Some(listener) = listener {
            match TcpListener::from_std(listener) {
                Ok(l) => {
                    tokio::spawn(accept_loop(l, tx.clone()));
                }
                Err(e) => log::error!("sfu: cannot register the ICE-TCP listener: {e}"),
            }
        }
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

    /// Take a new connection, unless there are too many.
    pub fn accepted(&mut self, stream: TcpStream, from: SocketAddr) {
        if self.conns.len() >= MAX_CONNECTIONS {
            self.metrics.sfu_tcp_rejected_total.fetch_add(1, Relaxed);
            log::debug!("sfu: refusing ICE-TCP from {from}: {MAX_CONNECTIONS} open");
            return;
        }
        let _ = stream.set_nodelay(true);
        let id = self.next_id;
        self.next_id += 1;
        let (out, out_rx) = mpsc::channel(OUT_QUEUE);
        self.conns.insert(from, Conn { id, out });
        self.metrics.sfu_tcp_connections.fetch_add(1, Relaxed);
        tokio::spawn(serve(
            stream,
            from,
            id,
            self.tx.clone(),
            out_rx,
            self.metrics.clone(),
        ));
    }

    /// A connection ended; `true` if it was the current one for `from`.
    pub fn closed(&mut self, from: SocketAddr, id: u64) -> bool {
        if self.conns.get(&from).is_some_and(|c| c.id == id) {
            self.conns.remove(&from);
            self.metrics.sfu_tcp_connections.fetch_sub(1, Relaxed);
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

async fn accept_loop(listener: TcpListener, tx: mpsc::Sender<TcpEvent>) {
    loop {
        match listener.accept().await {
            Ok((stream, from)) => {
                if tx.send(TcpEvent::Accepted(stream, from)).await.is_err() {
                    return; // the SFU stopped
                }
            }
            Err(e) => {
                log::debug!("sfu: ICE-TCP accept failed: {e}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// One connection: frames in until it ends, is idle, or misbehaves; queued
/// frames out meanwhile. Tells the loop when it is gone.
async fn serve(
    stream: TcpStream,
    from: SocketAddr,
    id: u64,
    tx: mpsc::Sender<TcpEvent>,
    mut out_rx: mpsc::Receiver<Vec<u8>>,
    metrics: Arc<Metrics>,
) {
    let (mut rd, mut wr) = stream.into_split();
    let reader = async {
        let mut deframer = Deframer::default();
        let mut buf = vec![0u8; 4096];
        loop {
            let n = match tokio::time::timeout(IDLE, rd.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return,
                Err(_) => {
                    log::debug!("sfu: ICE-TCP from {from} idle, closing");
                    return;
                }
                Ok(Ok(n)) => n,
            };
            deframer.push(&buf[..n]);
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
        assert_eq!(d.next_frame(), Ok(Some(b"hello".to_vec())));
        assert_eq!(d.next_frame(), Ok(Some(vec![7u8; 300])));
        assert_eq!(d.next_frame(), Ok(None));
        d.push(&[0]);
        assert_eq!(d.next_frame(), Ok(None), "half a length");
    }

    #[test]
    fn an_oversized_frame_is_refused_before_it_is_buffered() {
        let mut d = Deframer::default();
        d.push(&[0xff, 0xff, 1, 2, 3]);
        assert_eq!(d.next_frame(), Err(Oversized(65535)));
        assert_eq!(frame(&vec![0u8; 70_000]), None);
    }
}
