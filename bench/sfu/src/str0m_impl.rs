//! str0m 0.25: peers and a one-thread, one-socket, ICE-lite SFU in RTP mode.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{RtpPacket, RtpWrite};
use str0m::{Candidate, Event, Input, Output, Rtc};

use crate::common::{wait_readable, Ctl, Out, Peer, PhaseTracker, Signal, SfuResult, PAYLOAD_LEN};

pub fn init_crypto() {
    use std::sync::Once;
    static ONCE: Once = Once::new();
    ONCE.call_once(|| str0m::crypto::from_feature_flags().install_process_default());
}

pub struct Str0mPeer {
    rtc: Rtc,
    sock: UdpSocket,
    local: SocketAddr,
    publisher: bool,
    mid: Option<Mid>,
    pending: Option<SdpPendingOffer>,
    connected: bool,
    verified: u64,
    payload: Arc<[u8]>,
    pt: Option<str0m::format::PayloadParams>,
}

impl Str0mPeer {
    pub fn new(publisher: bool) -> Self {
        init_crypto();
        let sock = crate::common::bind_loopback();
        let local = sock.local_addr().unwrap();
        let mut rtc = Rtc::builder().set_rtp_mode(true).build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
        let mut payload = vec![0u8; PAYLOAD_LEN];
        payload[0] = 0x41; // H.264 non-IDR slice NAL header
        Str0mPeer {
            rtc,
            sock,
            local,
            publisher,
            mid: None,
            pending: None,
            connected: false,
            verified: 0,
            payload: payload.into(),
            pt: None,
        }
    }
}

impl Peer for Str0mPeer {
    fn socket(&self) -> &UdpSocket {
        &self.sock
    }

    fn offer(&mut self) -> String {
        let mut api = self.rtc.sdp_api();
        let dir = if self.publisher { Direction::SendOnly } else { Direction::RecvOnly };
        let mid = api.add_media(MediaKind::Video, dir, Some("s".into()), Some("v".into()), None);
        let (offer, pending) = api.apply().expect("an offer");
        self.mid = Some(mid);
        self.pending = Some(pending);
        offer.to_sdp_string()
    }

    fn accept_answer(&mut self, sdp: &str) {
        let answer = SdpAnswer::from_sdp_string(sdp).expect("a valid answer");
        let pending = self.pending.take().expect("a pending offer");
        self.rtc.sdp_api().accept_answer(pending, answer).expect("answer accepted");
    }

    fn input(&mut self, now: Instant, src: SocketAddr, data: &[u8]) {
        let Ok(contents) = data.try_into() else { return };
        let r = Receive { proto: Protocol::Udp, source: src, destination: self.local, contents };
        let _ = self.rtc.handle_input(Input::Receive(now, r));
    }

    fn poll(&mut self, now: Instant) -> Instant {
        let _ = self.rtc.handle_input(Input::Timeout(now));
        for _ in 0..100_000 {
            match self.rtc.poll_output() {
                Ok(Output::Transmit(t)) => {
                    let _ = self.sock.send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(Event::Connected)) => self.connected = true,
                Ok(Output::Event(Event::RtpPacket(_))) => self.verified += 1,
                Ok(Output::Event(_)) => {}
                Ok(Output::Timeout(t)) => return t,
                Err(e) => panic!("str0m peer failed: {e:?}"),
            }
        }
        now
    }

    fn connected(&self) -> bool {
        self.connected
    }

    fn verified(&self) -> u64 {
        self.verified
    }

    fn send_rtp(&mut self, now: Instant, seq: u64, ts: u32, marker: bool) {
        if self.pt.is_none() {
            self.pt = self
                .rtc
                .codec_config()
                .params()
                .iter()
                .find(|p| p.spec().codec == Codec::H264)
                .cloned();
        }
        let pt = self.pt.as_ref().expect("H.264 configured").pt();
        let mid = self.mid.expect("a mid");
        let mut api = self.rtc.direct_api();
        let tx = api.stream_tx_by_mid(mid, None).expect("a send stream");
        tx.write_rtp(RtpWrite::new(pt, seq.into(), ts, now, self.payload.clone()).marker(marker));
    }
}

struct Client {
    rtc: Rtc,
    publisher: bool,
    mid: Option<Mid>,
    next: Instant,
    alive: bool,
}

/// Drains one session's output: sends datagrams, collects RTP from the
/// publisher, and returns the next deadline.
fn drain(c: &mut Client, out: &mut Out, rtp: &mut Vec<RtpPacket>, inp: &mut u64) -> Instant {
    let now = Instant::now();
    for _ in 0..100_000 {
        match c.rtc.poll_output() {
            Ok(Output::Transmit(t)) => {
                out.send(t.destination, &t.contents);
            }
            Ok(Output::Event(Event::MediaAdded(m))) => c.mid = Some(m.mid),
            Ok(Output::Event(Event::RtpPacket(p))) => {
                if c.publisher {
                    *inp += 1;
                    rtp.push(p);
                }
            }
            Ok(Output::Event(_)) => {}
            Ok(Output::Timeout(t)) => return t,
            Err(_) => {
                c.alive = false;
                return now + Duration::from_secs(3600);
            }
        }
    }
    now
}

pub fn run_sfu(sock: UdpSocket, rx: Receiver<Signal>, ctl: Arc<Ctl>, batch: bool) -> SfuResult {
    let mut out = Out::new(&sock, batch);
    init_crypto();
    let local = sock.local_addr().unwrap();
    let fd = sock.as_raw_fd();
    let mut clients: Vec<Client> = vec![];
    let mut by_addr: HashMap<SocketAddr, usize> = HashMap::new();
    let mut buf = vec![0u8; 2048];
    let mut rtp: Vec<RtpPacket> = Vec::with_capacity(64);
    let (mut fwd, mut inp) = (0u64, 0u64);
    let mut phase = PhaseTracker::new();
    let hard_stop = Instant::now() + Duration::from_secs(120);

    while Instant::now() < hard_stop {
        if !phase.check(&ctl, fwd, inp) {
            break;
        }
        // Signaling (the real server gets these over its WebSocket).
        while let Ok(sig) = rx.try_recv() {
            let now = Instant::now();
            let mut rtc = Rtc::builder().set_rtp_mode(true).set_ice_lite(true).build(now);
            rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
            let offer = match SdpOffer::from_sdp_string(&sig.offer_sdp) {
                Ok(o) => o,
                Err(e) => {
                    phase.res.error = Some(format!("bad offer: {e:?}"));
                    return phase.res;
                }
            };
            let answer = match rtc.sdp_api().accept_offer(offer) {
                Ok(a) => a,
                Err(e) => {
                    phase.res.error = Some(format!("accept_offer: {e:?}"));
                    return phase.res;
                }
            };
            let _ = sig.reply.send(answer.to_sdp_string());
            by_addr.insert(sig.peer_addr, clients.len());
            clients.push(Client { rtc, publisher: sig.publisher, mid: None, next: now, alive: true });
        }

        let earliest = clients.iter().map(|c| c.next).min();
        let now = Instant::now();
        let wait = earliest.map(|t| t.saturating_duration_since(now)).unwrap_or(Duration::from_millis(5));
        if !wait.is_zero() {
            wait_readable(&[fd], wait, phase.wait_cap());
        }

        // Read a burst of datagrams.
        let mut touched = false;
        for _ in 0..64 {
            let (n, src) = match sock.recv_from(&mut buf) {
                Ok(v) => v,
                Err(_) => break,
            };
            touched = true;
            let now = Instant::now();
            let Ok(contents) = buf[..n].try_into() else { continue };
            let input = Input::Receive(now, Receive { proto: Protocol::Udp, source: src, destination: local, contents });
            let idx = match by_addr.get(&src) {
                Some(&i) => i,
                None => match clients.iter().position(|c| c.rtc.accepts(&input)) {
                    Some(i) => {
                        by_addr.insert(src, i);
                        i
                    }
                    None => continue,
                },
            };
            let c = &mut clients[idx];
            if c.rtc.handle_input(input).is_err() {
                c.alive = false;
                continue;
            }
            if c.publisher {
                c.next = drain(c, &mut out, &mut rtp, &mut inp);
                // Forward every packet to every subscriber: no decode, no repacketization.
                for p in rtp.drain(..) {
                    for s in clients.iter_mut().filter(|s| !s.publisher && s.alive) {
                        let Some(mid) = s.mid else { continue };
                        let mut api = s.rtc.direct_api();
                        let Some(tx) = api.stream_tx_by_mid(mid, None) else { continue };
                        tx.write_rtp(
                            RtpWrite::new(p.header.payload_type, p.seq_no, p.header.timestamp, p.timestamp, p.payload.clone())
                                .marker(p.header.marker)
                                .nackable(true),
                        );
                        fwd += 1;
                    }
                }
            }
        }

        // Flush every session once per burst, and run due timers.
        let now = Instant::now();
        for c in clients.iter_mut().filter(|c| c.alive) {
            // str0m's idiom (examples/chat.rs) is to drive time forward in every
            // session after every read; the ICE agent paces its queued STUN
            // replies otherwise (Ta = 50 ms).
            if c.next <= now || touched {
                if c.rtc.handle_input(Input::Timeout(now)).is_err() {
                    c.alive = false;
                    continue;
                }
            } else if !touched {
                continue;
            }
            c.next = drain(c, &mut out, &mut rtp, &mut inp);
        }
        rtp.clear();
        out.flush();
    }
    phase.res
}
