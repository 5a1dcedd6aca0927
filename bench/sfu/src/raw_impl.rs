//! Baseline without WebRTC: the same single-thread loop forwarding plain UDP
//! datagrams (no ICE, no DTLS, no SRTP, no RTCP). It shows how much of the
//! per-packet cost is the kernel's send/recv rather than the WebRTC core.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{is_rtp, wait_readable, Ctl, Out, Peer, PhaseTracker, Signal, SfuResult, PAYLOAD_LEN};

pub struct RawPeer {
    sock: UdpSocket,
    sfu: Option<SocketAddr>,
    pkt: Vec<u8>,
    verified: u64,
}

impl RawPeer {
    pub fn new(_publisher: bool) -> Self {
        let sock = crate::common::bind_loopback();
        let mut pkt = vec![0u8; 12 + PAYLOAD_LEN + 16];
        pkt[0] = 0x80;
        pkt[1] = 102;
        RawPeer { sock, sfu: None, pkt, verified: 0 }
    }
}

impl Peer for RawPeer {
    fn socket(&self) -> &UdpSocket {
        &self.sock
    }
    fn offer(&mut self) -> String {
        String::new()
    }
    fn accept_answer(&mut self, sdp: &str) {
        self.sfu = sdp.parse().ok();
    }
    fn input(&mut self, _now: Instant, _src: SocketAddr, d: &[u8]) {
        if is_rtp(d) {
            self.verified += 1;
        }
    }
    fn poll(&mut self, now: Instant) -> Instant {
        now + Duration::from_millis(100)
    }
    fn connected(&self) -> bool {
        self.sfu.is_some()
    }
    fn verified(&self) -> u64 {
        self.verified
    }
    fn send_rtp(&mut self, _now: Instant, seq: u64, _ts: u32, _marker: bool) {
        self.pkt[2..4].copy_from_slice(&(seq as u16).to_be_bytes());
        let _ = self.sock.send_to(&self.pkt, self.sfu.unwrap());
    }
}

pub fn run_sfu(sock: UdpSocket, rx: Receiver<Signal>, ctl: Arc<Ctl>, batch: bool) -> SfuResult {
    let mut out = Out::new(&sock, batch);
    let local = sock.local_addr().unwrap();
    let fd = sock.as_raw_fd();
    let mut subs: Vec<SocketAddr> = vec![];
    let mut buf = vec![0u8; 2048];
    let (mut fwd, mut inp) = (0u64, 0u64);
    let mut phase = PhaseTracker::new();
    let hard_stop = Instant::now() + Duration::from_secs(120);
    while Instant::now() < hard_stop {
        if !phase.check(&ctl, fwd, inp) {
            break;
        }
        while let Ok(sig) = rx.try_recv() {
            if !sig.publisher {
                subs.push(sig.peer_addr);
            }
            let _ = sig.reply.send(local.to_string());
        }
        wait_readable(&[fd], Duration::from_millis(5), phase.wait_cap());
        for _ in 0..64 {
            let Ok((n, _src)) = sock.recv_from(&mut buf) else { break };
            inp += 1;
            for s in &subs {
                out.send(*s, &buf[..n]);
                fwd += 1;
            }
        }
        out.flush();
    }
    phase.res
}
