//! The harness shared by both candidates: the peer thread (publisher and
//! subscribers), the SFU thread's control, CPU clocks and results.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::raw_impl;
#[cfg(feature = "rtc")]
use crate::rtc_impl;
#[cfg(feature = "str0m")]
use crate::str0m_impl;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lib {
    Str0m,
    Rtc,
    /// Plain UDP, no WebRTC: the kernel floor of the same loop.
    Raw,
}

impl Lib {
    pub fn name(&self) -> &'static str {
        match self {
            Lib::Str0m => "str0m",
            Lib::Rtc => "rtc",
            Lib::Raw => "raw-udp",
        }
    }
}

/// RTP payload size (bytes); with the 12-byte header and the SRTP tag the
/// datagram is ~1230 bytes, a typical full video packet.
pub const PAYLOAD_LEN: usize = 1200;
/// Packets that travel through the subscriber's WebRTC stack (decrypted and
/// counted as "verified") before the subscriber starts dropping RTP at the
/// socket, so that the peer thread is never the bottleneck.
pub const VERIFY_N: u64 = 50;
/// Publisher packets in flight (sent by the publisher, not yet seen by
/// subscriber 0): a closed loop that keeps the SFU saturated without
/// overflowing socket buffers.
const WINDOW: u64 = 64;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A signaling message from the peer thread to the SFU thread.
pub struct Signal {
    pub publisher: bool,
    pub offer_sdp: String,
    /// The peer's socket address. The SFU uses it only as a hint for its
    /// address -> session map (str0m falls back to `Rtc::accepts`).
    pub peer_addr: SocketAddr,
    pub reply: Sender<String>,
}

pub const PHASE_SETUP: u8 = 0;
pub const PHASE_MEASURE: u8 = 1;
pub const PHASE_STOP: u8 = 2;

pub struct Ctl {
    pub phase: AtomicU8,
}

/// Counters the SFU thread snapshots when the measurement starts and stops.
#[derive(Default, Clone, Copy, Debug)]
pub struct SfuSnap {
    pub cpu_s: f64,
    pub wall: Option<Instant>,
    /// RTP packets written towards subscribers (one per subscriber per input packet).
    pub fwd: u64,
    /// RTP packets received from the publisher.
    pub inp: u64,
}

#[derive(Default, Debug)]
pub struct SfuResult {
    pub start: SfuSnap,
    pub end: SfuSnap,
    pub error: Option<String>,
}

/// Tracks the phase inside an SFU loop and takes the snapshots.
pub struct PhaseTracker {
    seen: u8,
    pub res: SfuResult,
}

impl PhaseTracker {
    pub fn new() -> Self {
        PhaseTracker { seen: PHASE_SETUP, res: SfuResult::default() }
    }
    /// Returns false when the loop must stop.
    /// How long the SFU may block: short while peers are being set up
    /// (signaling arrives on a channel the SFU cannot poll), 5 ms after.
    pub fn wait_cap(&self) -> Duration {
        if self.seen == PHASE_SETUP {
            Duration::from_micros(200)
        } else {
            Duration::from_millis(5)
        }
    }

    pub fn check(&mut self, ctl: &Ctl, fwd: u64, inp: u64) -> bool {
        let p = ctl.phase.load(Ordering::Acquire);
        if p == self.seen {
            return true;
        }
        let snap = SfuSnap { cpu_s: thread_cpu_s(), wall: Some(Instant::now()), fwd, inp };
        if self.seen == PHASE_SETUP && p >= PHASE_MEASURE {
            self.res.start = snap;
        }
        if p == PHASE_STOP {
            self.res.end = snap;
            self.seen = p;
            return false;
        }
        self.seen = p;
        true
    }
}

/// A loopback socket with 4 MiB buffers (within net.core.rmem_max here), so
/// that a peer thread descheduled for a few ms does not drop datagrams.
pub fn bind_loopback() -> UdpSocket {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    sock.set_nonblocking(true).unwrap();
    let size: libc::c_int = 4 << 20;
    for opt in [libc::SO_RCVBUF, libc::SO_SNDBUF] {
        // SAFETY: valid fd, option pointer and length.
        unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                &size as *const libc::c_int as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
    }
    sock
}

// Both cores' session types can move between threads, so a server can shard
// rooms over several SFU threads.
#[cfg(feature = "str0m")]
const _: fn() = || assert_send::<str0m::Rtc>();
#[cfg(feature = "rtc")]
const _: fn() = || assert_send::<rtc::peer_connection::RTCPeerConnection>();
#[allow(dead_code)]
fn assert_send<T: Send>() {}

pub fn thread_cpu_s() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid pointer to a timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Waits until `fd` is readable or `timeout` passes (bounded to 5 ms so the
/// control flags are seen promptly).
pub fn wait_readable(fds: &[i32], timeout: Duration, cap: Duration) {
    let mut pfds: Vec<libc::pollfd> =
        fds.iter().map(|&fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 }).collect();
    let t = timeout.min(cap);
    let ts = libc::timespec { tv_sec: 0, tv_nsec: t.as_nanos() as libc::c_long };
    // SAFETY: pfds is a valid array of pollfd; ts is a valid timespec.
    unsafe { libc::ppoll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, &ts, std::ptr::null()) };
}

/// Receives up to `BATCH` datagrams with one recvmmsg(2) call (IPv4 only:
/// everything here is on 127.0.0.1). Used by the peer thread only, so that
/// K subscribers reading their sockets do not become the bottleneck.
const BATCH: usize = 32;
pub struct BatchRx {
    bufs: Vec<[u8; 2048]>,
    addrs: Vec<libc::sockaddr_in>,
    iov: Vec<libc::iovec>,
    hdrs: Vec<libc::mmsghdr>,
}

impl BatchRx {
    pub fn new() -> Self {
        BatchRx {
            bufs: vec![[0u8; 2048]; BATCH],
            // SAFETY: sockaddr_in and mmsghdr are plain C structs; zero is a valid value.
            addrs: vec![unsafe { std::mem::zeroed() }; BATCH],
            iov: Vec::with_capacity(BATCH),
            hdrs: Vec::with_capacity(BATCH),
        }
    }

    /// Returns how many datagrams arrived; read them with `get`.
    pub fn recv(&mut self, fd: i32) -> usize {
        self.iov.clear();
        self.hdrs.clear();
        for b in self.bufs.iter_mut() {
            self.iov.push(libc::iovec { iov_base: b.as_mut_ptr() as *mut libc::c_void, iov_len: b.len() });
        }
        for i in 0..BATCH {
            // SAFETY: zeroed mmsghdr is valid; pointers below outlive the call.
            let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
            h.msg_hdr.msg_name = &mut self.addrs[i] as *mut libc::sockaddr_in as *mut libc::c_void;
            h.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            h.msg_hdr.msg_iov = &mut self.iov[i] as *mut libc::iovec;
            h.msg_hdr.msg_iovlen = 1;
            self.hdrs.push(h);
        }
        // SAFETY: hdrs points at BATCH initialised mmsghdr entries.
        let n = unsafe {
            libc::recvmmsg(fd, self.hdrs.as_mut_ptr(), BATCH as libc::c_uint, libc::MSG_DONTWAIT, std::ptr::null_mut())
        };
        if n < 0 {
            0
        } else {
            n as usize
        }
    }

    pub fn get(&self, i: usize) -> (SocketAddr, &[u8]) {
        let a = &self.addrs[i];
        let ip = std::net::Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
        let addr = SocketAddr::from((ip, u16::from_be(a.sin_port)));
        (addr, &self.bufs[i][..self.hdrs[i].msg_len as usize])
    }
}

/// The SFU's way out: one sendto(2) per datagram, or datagrams queued and
/// sent with one sendmmsg(2) per loop round (up to 64 per call).
pub struct Out {
    fd: i32,
    batch: bool,
    bufs: Vec<[u8; 2048]>,
    lens: Vec<usize>,
    addrs: Vec<libc::sockaddr_in>,
    n: usize,
}

const OUT_BATCH: usize = 64;

impl Out {
    pub fn new(sock: &UdpSocket, batch: bool) -> Self {
        let cap = if batch { OUT_BATCH } else { 0 };
        Out {
            fd: sock.as_raw_fd(),
            batch,
            bufs: vec![[0u8; 2048]; cap],
            lens: vec![0; cap],
            // SAFETY: zero is a valid sockaddr_in.
            addrs: vec![unsafe { std::mem::zeroed() }; cap],
            n: 0,
        }
    }

    fn sockaddr(dest: SocketAddr) -> libc::sockaddr_in {
        let SocketAddr::V4(v4) = dest else { panic!("IPv4 only") };
        // SAFETY: zero is a valid sockaddr_in.
        let mut a: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        a.sin_family = libc::AF_INET as libc::sa_family_t;
        a.sin_port = v4.port().to_be();
        a.sin_addr.s_addr = u32::from(*v4.ip()).to_be();
        a
    }

    pub fn send(&mut self, dest: SocketAddr, data: &[u8]) {
        if !self.batch {
            let a = Self::sockaddr(dest);
            // SAFETY: valid fd, buffer and address.
            unsafe {
                libc::sendto(
                    self.fd,
                    data.as_ptr() as *const libc::c_void,
                    data.len(),
                    0,
                    &a as *const libc::sockaddr_in as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            };
            return;
        }
        if self.n == OUT_BATCH {
            self.flush();
        }
        let i = self.n;
        self.bufs[i][..data.len()].copy_from_slice(data);
        self.lens[i] = data.len();
        self.addrs[i] = Self::sockaddr(dest);
        self.n += 1;
    }

    pub fn flush(&mut self) {
        if self.n == 0 {
            return;
        }
        let mut iov: Vec<libc::iovec> = (0..self.n)
            .map(|i| libc::iovec { iov_base: self.bufs[i].as_mut_ptr() as *mut libc::c_void, iov_len: self.lens[i] })
            .collect();
        let mut hdrs: Vec<libc::mmsghdr> = (0..self.n)
            .map(|i| {
                // SAFETY: zeroed mmsghdr is valid; pointers outlive the call.
                let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
                h.msg_hdr.msg_name = &mut self.addrs[i] as *mut libc::sockaddr_in as *mut libc::c_void;
                h.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
                h.msg_hdr.msg_iov = &mut iov[i] as *mut libc::iovec;
                h.msg_hdr.msg_iovlen = 1;
                h
            })
            .collect();
        let mut off = 0;
        for _ in 0..8 {
            // SAFETY: hdrs[off..] are initialised mmsghdr entries.
            let r = unsafe { libc::sendmmsg(self.fd, hdrs[off..].as_mut_ptr(), (self.n - off) as libc::c_uint, 0) };
            if r <= 0 {
                break;
            }
            off += r as usize;
            if off >= self.n {
                break;
            }
        }
        self.n = 0;
    }
}

/// RTP (not RTCP) per RFC 5761/7983 demultiplexing: first byte 128..=191
/// and the second byte's payload type outside 64..=95.
pub fn is_rtp(d: &[u8]) -> bool {
    d.len() >= 12 && (128..=191).contains(&d[0]) && !(64..=95).contains(&(d[1] & 0x7f))
}

/// One peer (publisher or subscriber) as the peer thread drives it.
pub trait Peer {
    fn socket(&self) -> &UdpSocket;
    fn offer(&mut self) -> String;
    fn accept_answer(&mut self, sdp: &str);
    fn input(&mut self, now: Instant, src: SocketAddr, data: &[u8]);
    /// Handles due timers, sends what the stack wants sent, and returns the next deadline.
    fn poll(&mut self, now: Instant) -> Instant;
    fn connected(&self) -> bool;
    /// RTP packets the stack itself decrypted and delivered.
    fn verified(&self) -> u64;
    /// Publisher only: queue one RTP packet.
    fn send_rtp(&mut self, now: Instant, seq: u64, ts: u32, marker: bool);
}

fn new_peer(lib: Lib, publisher: bool) -> Box<dyn Peer> {
    match lib {
        #[cfg(feature = "str0m")]
        Lib::Str0m => Box::new(str0m_impl::Str0mPeer::new(publisher)),
        #[cfg(feature = "rtc")]
        Lib::Rtc => Box::new(rtc_impl::RtcPeer::new(publisher)),
        Lib::Raw => Box::new(raw_impl::RawPeer::new(publisher)),
        #[allow(unreachable_patterns)]
        _ => panic!("{} is not compiled in (cargo features)", lib.name()),
    }
}

pub struct CaseResult {
    pub wall_s: f64,
    pub sfu_cpu_s: f64,
    pub fwd: u64,
    pub in_pkts: u64,
    pub verified: u64,
    pub connect_ms: Vec<f64>,
    /// RTP datagrams that reached the subscribers' sockets in the window.
    pub delivered: u64,
    /// CPU seconds of the peer thread (publisher + subscribers) in the window.
    pub peer_cpu_s: f64,
}

impl CaseResult {
    pub fn pps_per_core(&self) -> f64 {
        self.fwd as f64 / self.sfu_cpu_s
    }
    pub fn pps_wall(&self) -> f64 {
        self.fwd as f64 / self.wall_s
    }
    pub fn connect_p50_ms(&self) -> f64 {
        let mut v = self.connect_ms.clone();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    }
}

struct PeerThread {
    peers: Vec<Box<dyn Peer>>,
    next: Vec<Instant>,
    /// RTP datagrams that arrived at each peer.
    rtp_in: Vec<u64>,
    rx: BatchRx,
    // publisher state
    sending: bool,
    sent: u64,
    base: u64,
    last_progress: (Instant, u64),
}

impl PeerThread {
    /// One round: send what the window allows, wait for input, read every
    /// socket, drive every stack's timers and output.
    fn step(&mut self) {
        let now = Instant::now();
        let mut can_send = false;
        if self.sending && !self.peers.is_empty() {
            let recv0 = self.rtp_in.get(1).copied().unwrap_or(0);
            if recv0 != self.last_progress.1 {
                self.last_progress = (now, recv0);
            } else if now - self.last_progress.0 > Duration::from_millis(20) {
                // Nothing arrived for a while: consider the window lost.
                self.base = self.sent.saturating_sub(recv0);
                self.last_progress = (now, recv0);
            }
            let inflight = self.sent.saturating_sub(recv0 + self.base);
            if inflight < WINDOW {
                let n = (WINDOW - inflight).min(32);
                for _ in 0..n {
                    let seq = self.sent + 1;
                    // 30 fps, 10 packets per frame.
                    let ts = (seq / 10) as u32 * 3000;
                    self.peers[0].send_rtp(now, seq, ts, seq % 10 == 9);
                    self.sent += 1;
                }
                self.next[0] = now;
                can_send = true;
            }
        }
        let earliest = self.next.iter().min().copied().unwrap_or(now);
        if !can_send && earliest > now {
            let fds: Vec<i32> = self.peers.iter().map(|p| p.socket().as_raw_fd()).collect();
            wait_readable(&fds, earliest - now, Duration::from_millis(1));
        }
        let now = Instant::now();
        for i in 0..self.peers.len() {
            let mut fed = false;
            let fd = self.peers[i].socket().as_raw_fd();
            for _ in 0..16 {
                let n = self.rx.recv(fd);
                for j in 0..n {
                    let (src, d) = self.rx.get(j);
                    if is_rtp(d) {
                        self.rtp_in[i] += 1;
                        if i > 0 && self.peers[i].verified() >= VERIFY_N {
                            continue; // counted, not decrypted: keeps the peer thread cheap
                        }
                    }
                    self.peers[i].input(now, src, d);
                    fed = true;
                }
                if n < BATCH {
                    break;
                }
            }
            if fed || self.next[i] <= now {
                self.next[i] = self.peers[i].poll(now);
            }
        }
    }
}

/// Creates and drops one peer of each kind so one-time process initialisation
/// (crypto providers, first certificate) is not counted as connect time.
pub fn warm_up(lib: Lib) {
    drop(new_peer(lib, true));
}

/// Runs one case: an SFU built on `lib` and peers built on `peers` (the same
/// library unless an interop check asks otherwise).
pub fn run_case(lib: Lib, peers: Lib, k: usize, dur: Duration, batch: bool) -> Result<CaseResult, String> {
    let sfu_sock = bind_loopback();
    let (tx, rx): (Sender<Signal>, Receiver<Signal>) = mpsc::channel();
    let ctl = Arc::new(Ctl { phase: AtomicU8::new(PHASE_SETUP) });
    let ctl2 = ctl.clone();
    let sfu = thread::Builder::new()
        .name(format!("sfu-{}", lib.name()))
        .spawn(move || match lib {
            #[cfg(feature = "str0m")]
            Lib::Str0m => str0m_impl::run_sfu(sfu_sock, rx, ctl2, batch),
            #[cfg(feature = "rtc")]
            Lib::Rtc => rtc_impl::run_sfu(sfu_sock, rx, ctl2, batch),
            Lib::Raw => raw_impl::run_sfu(sfu_sock, rx, ctl2, batch),
            #[allow(unreachable_patterns)]
            _ => SfuResult { error: Some(format!("{} is not compiled in", lib.name())), ..Default::default() },
        })
        .map_err(|e| e.to_string())?;

    let stop = |ctl: &Ctl| ctl.phase.store(PHASE_STOP, Ordering::Release);
    let mut pt = PeerThread {
        peers: vec![],
        next: vec![],
        rtp_in: vec![],
        rx: BatchRx::new(),
        sending: false,
        sent: 0,
        base: 0,
        last_progress: (Instant::now(), 0),
    };
    let mut connect_ms = vec![];
    // Connect the publisher, then each subscriber, one at a time.
    for i in 0..=k {
        let t0 = Instant::now();
        let mut p = new_peer(peers, i == 0);
        let offer = p.offer();
        let (rtx, rrx) = mpsc::channel();
        let peer_addr = p.socket().local_addr().unwrap();
        tx.send(Signal { publisher: i == 0, offer_sdp: offer, peer_addr, reply: rtx })
            .map_err(|_| "SFU thread gone".to_string())?;
        let answer = match rrx.recv_timeout(Duration::from_secs(5)) {
            Ok(a) => a,
            Err(_) => {
                stop(&ctl);
                let r = sfu.join();
                return Err(format!("no answer from SFU ({:?})", r.ok().and_then(|r| r.error)));
            }
        };
        p.accept_answer(&answer);
        pt.next.push(t0);
        pt.rtp_in.push(0);
        pt.peers.push(p);
        let deadline = t0 + CONNECT_TIMEOUT;
        while !pt.peers[i].connected() && Instant::now() < deadline {
            pt.step();
        }
        if !pt.peers[i].connected() {
            stop(&ctl);
            let r = sfu.join();
            return Err(format!(
                "peer {i} did not connect in {CONNECT_TIMEOUT:?} (SFU: {:?})",
                r.ok().and_then(|r| r.error)
            ));
        }
        connect_ms.push(t0.elapsed().as_secs_f64() * 1e3);
    }

    // Warm up, then measure.
    pt.sending = true;
    pt.last_progress = (Instant::now(), 0);
    let warm = Instant::now() + Duration::from_millis(500);
    while Instant::now() < warm {
        pt.step();
    }
    let delivered0: u64 = pt.rtp_in[1..].iter().sum();
    let cpu0 = thread_cpu_s();
    ctl.phase.store(PHASE_MEASURE, Ordering::Release);
    let end = Instant::now() + dur;
    while Instant::now() < end {
        pt.step();
    }
    stop(&ctl);
    let delivered: u64 = pt.rtp_in[1..].iter().sum::<u64>() - delivered0;
    let peer_cpu_s = thread_cpu_s() - cpu0;
    let res = sfu.join().map_err(|_| "SFU thread panicked".to_string())?;
    if let Some(e) = res.error {
        return Err(e);
    }
    let verified: u64 = pt.peers[1..].iter().map(|p| p.verified()).sum();
    if verified == 0 {
        return Err("no RTP packet was decrypted by any subscriber".into());
    }
    let (s, e) = (res.start, res.end);
    let wall_s = match (s.wall, e.wall) {
        (Some(a), Some(b)) => (b - a).as_secs_f64(),
        _ => return Err("SFU did not record the measurement window".into()),
    };
    Ok(CaseResult {
        wall_s,
        sfu_cpu_s: e.cpu_s - s.cpu_s,
        fwd: e.fwd - s.fwd,
        in_pkts: e.inp - s.inp,
        verified,
        connect_ms,
        delivered,
        peer_cpu_s,
    })
}
