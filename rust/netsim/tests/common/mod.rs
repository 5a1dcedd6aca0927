//! Helpers shared by the integration tests: loopback sockets, numbered
//! datagrams, a background collector and bounded waits.
//!
//! Every wait is bounded by a timeout, and senders pace themselves so the
//! kernel's socket buffers never overflow (which would look like loss).

// Each test file uses only some of these.
#![allow(dead_code)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hotline_netsim::{ProxyStats, UdpImpairmentProxy};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout};

/// How long any single expected datagram may take.
pub const WAIT: Duration = Duration::from_secs(3);
/// How long to listen to make sure nothing more arrives.
pub const QUIET: Duration = Duration::from_millis(150);
/// Payload size: a small RTP packet.
pub const PAYLOAD: usize = 100;

pub async fn bind() -> Arc<UdpSocket> {
    Arc::new(hotline_netsim::bind_udp("127.0.0.1:0".parse().unwrap()).unwrap())
}

pub fn packet(seq: u32) -> Vec<u8> {
    let mut p = vec![0xAB; PAYLOAD];
    p[..4].copy_from_slice(&seq.to_be_bytes());
    p
}

pub fn seq_of(p: &[u8]) -> u32 {
    u32::from_be_bytes(p[..4].try_into().unwrap())
}

/// One received datagram.
#[derive(Debug)]
pub struct Received {
    pub seq: u32,
    pub at: Instant,
    pub from: SocketAddr,
}

/// Reads `sock` in the background and reports every datagram.
pub struct Collector {
    rx: mpsc::UnboundedReceiver<Received>,
    task: JoinHandle<()>,
}

impl Collector {
    pub fn spawn(sock: Arc<UdpSocket>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            loop {
                let Ok((n, from)) = sock.recv_from(&mut buf).await else {
                    return;
                };
                assert_eq!(n, PAYLOAD, "datagram size changed");
                let r = Received {
                    seq: seq_of(&buf[..n]),
                    at: Instant::now(),
                    from,
                };
                if tx.send(r).is_err() {
                    return;
                }
            }
        });
        Self { rx, task }
    }

    /// The next `n` datagrams, failing if any takes longer than [`WAIT`].
    pub async fn take(&mut self, n: usize) -> Vec<Received> {
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            match timeout(WAIT, self.rx.recv()).await {
                Ok(Some(r)) => out.push(r),
                _ => panic!("only {i} of {n} datagrams arrived"),
            }
        }
        out
    }

    /// Asserts nothing more arrives for [`QUIET`].
    pub async fn assert_quiet(&mut self) {
        if let Ok(Some(r)) = timeout(QUIET, self.rx.recv()).await {
            panic!("unexpected extra datagram {r:?}");
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Sends `seqs` from `sock` to `to`, pausing every few datagrams so the
/// receiving sockets keep up, and returns each one's send time.
pub async fn send_paced(
    sock: &UdpSocket,
    to: SocketAddr,
    seqs: std::ops::Range<u32>,
    every: u32,
) -> Vec<Instant> {
    let mut sent = Vec::with_capacity(seqs.len());
    for (i, seq) in seqs.enumerate() {
        sent.push(Instant::now());
        sock.send_to(&packet(seq), to).await.unwrap();
        if (i as u32 + 1).is_multiple_of(every) {
            sleep(Duration::from_millis(1)).await;
        }
    }
    sent
}

/// Waits until the proxy has decided the fate of `up` client datagrams and
/// `down` upstream datagrams.
pub async fn settle(proxy: &UdpImpairmentProxy, up: u64, down: u64) -> ProxyStats {
    let deadline = Instant::now() + WAIT;
    loop {
        let s = proxy.stats();
        if s.forwarded_up + s.dropped_up >= up && s.forwarded_down + s.dropped_down >= down {
            return s;
        }
        assert!(Instant::now() < deadline, "proxy did not settle: {s:?}");
        sleep(Duration::from_millis(5)).await;
    }
}

/// An echo server that also remembers every source address it saw.
pub async fn echo_server() -> (SocketAddr, Arc<Mutex<HashSet<SocketAddr>>>, JoinHandle<()>) {
    let sock = bind().await;
    let addr = sock.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let seen2 = seen.clone();
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; 2048];
        loop {
            let Ok((n, from)) = sock.recv_from(&mut buf).await else {
                return;
            };
            seen2.lock().unwrap().insert(from);
            let _ = sock.send_to(&buf[..n], from).await;
        }
    });
    (addr, seen, task)
}

pub async fn round_trip(client: &UdpSocket, to: SocketAddr, seq: u32) -> bool {
    client.send_to(&packet(seq), to).await.unwrap();
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + WAIT;
    // Skip anything stale (never expected without impairment, but bounded).
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match timeout(left, client.recv_from(&mut buf)).await {
            Ok(Ok((n, _))) if seq_of(&buf[..n]) == seq => return true,
            Ok(Ok(_)) => continue,
            _ => return false,
        }
    }
    false
}
