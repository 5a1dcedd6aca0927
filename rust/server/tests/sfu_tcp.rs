//! ICE-TCP on the SFU (ADR 0007): a str0m peer that has only a TCP
//! candidate publishes through it, and connections that send malformed
//! frames are closed without disturbing the others.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{call_msg, code, server, server_with, Client};
use hotline_proto::{ClientMsg, ServerMsg};
use hotline_server::metrics::Metrics;
use hotline_server::sfu::tcp::{frame, Deframer};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive, TcpType};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Input, Output, Rtc};

/// Wait (polling, bounded) until `cond` holds.
fn until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out after {limit:?}: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A str0m publisher whose only candidate is an active TCP one: it reaches
/// the SFU over ICE-TCP or not at all.
struct TcpPeer {
    rtc: Rtc,
    /// Bound before it connects, so the candidate names the real address.
    socket: Option<socket2::Socket>,
    stream: Option<TcpStream>,
    local: SocketAddr,
    deframer: Deframer,
    connected: bool,
}

impl TcpPeer {
    fn new() -> TcpPeer {
        hotline_server::sfu::init_crypto();
        let socket = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::STREAM,
            Some(socket2::Protocol::TCP),
        )
        .unwrap();
        socket
            .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        let local = socket.local_addr().unwrap().as_socket().unwrap();
        let mut rtc = Rtc::builder()
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_opus(true, false)
            .build(Instant::now());
        let candidate = Candidate::builder()
            .tcp()
            .host(local)
            .tcptype(TcpType::Active)
            .build()
            .unwrap();
        rtc.add_local_candidate(candidate);
        TcpPeer {
            rtc,
            socket: Some(socket),
            stream: None,
            local,
            deframer: Deframer::default(),
            connected: false,
        }
    }

    fn offer(&mut self) -> (String, SdpPendingOffer, Mid) {
        let mut api = self.rtc.sdp_api();
        let mid = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let (offer, pending) = api.apply().expect("an offer");
        (offer.to_sdp_string(), pending, mid)
    }

    /// Frames in, time in, transmits out (connecting on the first one).
    fn drive(&mut self) {
        let mut buf = [0u8; 4096];
        if let Some(s) = self.stream.as_mut() {
            for _ in 0..64 {
                match s.read(&mut buf) {
                    Ok(0) => panic!("the SFU closed the connection"),
                    Ok(n) => self.deframer.push(&buf[..n]),
                    Err(_) => break,
                }
            }
            let source = s.peer_addr().unwrap();
            while let Some(f) = self.deframer.next_frame().expect("well-framed") {
                let r = Receive {
                    proto: Protocol::Tcp,
                    source,
                    destination: self.local,
                    contents: f.as_slice().try_into().unwrap(),
                };
                self.rtc
                    .handle_input(Input::Receive(Instant::now(), r))
                    .unwrap();
                self.poll();
            }
        }
        self.rtc
            .handle_input(Input::Timeout(Instant::now()))
            .unwrap();
        self.poll();
    }

    fn poll(&mut self) {
        for _ in 0..10_000 {
            match self.rtc.poll_output().unwrap() {
                Output::Timeout(_) => return,
                Output::Transmit(t) => {
                    assert_eq!(t.proto, Protocol::Tcp, "only TCP is offered");
                    if self.stream.is_none() {
                        let socket = self.socket.take().expect("connects once");
                        socket.connect(&t.destination.into()).unwrap();
                        socket.set_nonblocking(true).unwrap();
                        let stream: TcpStream = socket.into();
                        stream.set_nodelay(true).unwrap();
                        self.stream = Some(stream);
                    }
                    let s = self.stream.as_mut().unwrap();
                    // Small frames on loopback: a blocking retry is fine here.
                    let framed = frame(&t.contents).unwrap();
                    let mut sent = 0;
                    let deadline = Instant::now() + Duration::from_secs(5);
                    while sent < framed.len() && Instant::now() < deadline {
                        match s.write(&framed[sent..]) {
                            Ok(n) => sent += n,
                            Err(_) => std::thread::sleep(Duration::from_millis(1)),
                        }
                    }
                }
                Output::Event(Event::Connected) => self.connected = true,
                Output::Event(_) => {}
            }
        }
    }
}

/// Alice calls Bob and Bob accepts: the call is active and Alice may publish.
async fn active_call(url: &str) -> (Client, Client, String) {
    let mut alice = Client::login(url, "alice").await;
    let mut bob = Client::login(url, "bob").await;
    let r = alice.request(call_msg(&["bob"])).await;
    let ServerMsg::Response { call: Some(c), .. } = r else {
        panic!("no call: {r:?}")
    };
    let call_id = c.call_id;
    let r = bob
        .request(ClientMsg::Accept {
            call_id: call_id.clone(),
        })
        .await;
    assert_eq!(code(&r), 0, "{r:?}");
    (alice, bob, call_id)
}

/// `media_publish` with `sdp`: the SFU's answer.
async fn publish(alice: &mut Client, call_id: String, sdp: String) -> String {
    let r = alice
        .request(ClientMsg::MediaPublish {
            call_id,
            sdp,
            ice_restart: false,
        })
        .await;
    let ServerMsg::Response {
        code: 0,
        sdp: Some(answer),
        ..
    } = r
    else {
        panic!("publish refused: {r:?}")
    };
    answer
}

#[tokio::test]
async fn a_peer_with_only_a_tcp_candidate_publishes_over_ice_tcp() {
    let s = server().await;
    let metrics: Arc<Metrics> = s.handle.metrics.clone();
    let (mut alice, _bob, call_id) = active_call(&s.url()).await;
    let mut peer = TcpPeer::new();
    let (sdp, pending, mid) = peer.offer();
    let answer = publish(&mut alice, call_id, sdp).await;
    let tcp = s.handle.media_tcp_addr().expect("ICE-TCP is on by default");
    assert_ne!(tcp.port(), s.handle.media_candidate_addr().port());
    let host = format!(" {} {} typ host", tcp.ip(), tcp.port());
    assert!(
        answer.lines().any(|l| l.starts_with("a=candidate")
            && l.contains(" tcp ")
            && l.contains(&host)
            && l.contains(" tcptype passive")),
        "the answer offers ICE-TCP on the media port:\n{answer}"
    );
    peer.rtc
        .sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
        .unwrap();

    // Blocking socket work: off the runtime's thread.
    let t0 = Instant::now();
    let connected_after = tokio::task::spawn_blocking(move || {
        until("ICE and DTLS over TCP", Duration::from_secs(20), || {
            peer.drive();
            peer.connected
        });
        let connected_after = t0.elapsed();
        let pt = peer
            .rtc
            .codec_config()
            .params()
            .iter()
            .find(|p| p.spec().codec == Codec::Opus)
            .unwrap()
            .pt();
        let mut seq = 0u64;
        let mut last = Instant::now() - Duration::from_secs(1);
        until("RTP at the SFU", Duration::from_secs(20), || {
            if last.elapsed() >= Duration::from_millis(20) {
                last = Instant::now();
                seq += 1;
                let mut api = peer.rtc.direct_api();
                let tx = api.stream_tx_by_mid(mid, None).expect("a send stream");
                let payload: Arc<[u8]> = vec![0xfc; 60].into();
                tx.write_rtp(RtpWrite::new(
                    pt,
                    seq.into(),
                    (seq * 960) as u32,
                    Instant::now(),
                    payload,
                ));
            }
            peer.drive();
            metrics.sfu_rtp_in_total() >= 20
        });
        // The peer stays open until the counts are read.
        (connected_after, metrics, peer)
    })
    .await
    .unwrap();
    let (connected_after, metrics, _peer) = connected_after;
    eprintln!("publisher connected over ICE-TCP {connected_after:?} after the answer");
    assert_eq!(metrics.sfu_tcp_connections.load(Relaxed), 1);
    assert!(metrics.sfu_tcp_packets_in_total.load(Relaxed) >= 20);
    assert!(metrics.sfu_tcp_packets_out_total.load(Relaxed) > 0);
    assert_eq!(metrics.sfu_tcp_rejected_total.load(Relaxed), 0);
    let text = metrics.render();
    for name in [
        "hotline_sfu_tcp_connections 1",
        "hotline_sfu_tcp_packets_in_total",
        "hotline_sfu_tcp_rejected_total 0",
    ] {
        assert!(text.contains(name), "/metrics has {name}");
    }
}

/// Read until the peer closes (true) or `limit` passes (false).
fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 256];
    while start.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => {}
        }
    }
    false
}

#[tokio::test]
async fn a_malformed_frame_closes_only_its_own_connection() {
    let s = server().await;
    let metrics = s.handle.metrics.clone();
    let media = s.handle.media_tcp_addr().unwrap();
    tokio::task::spawn_blocking(move || {
        let mut good = TcpStream::connect(media).unwrap();
        let mut bad = TcpStream::connect(media).unwrap();
        until("both connections open", Duration::from_secs(10), || {
            metrics.sfu_tcp_connections.load(Relaxed) == 2
        });
        // Well framed but nobody's: read, then dropped.
        good.write_all(&frame(b"not stun, not dtls").unwrap())
            .unwrap();
        // A length over the limit (65535 > 2048): the connection goes.
        bad.write_all(&[0xff, 0xff, 1, 2, 3]).unwrap();
        assert!(
            closed_within(&mut bad, Duration::from_secs(10)),
            "the oversized frame's connection is closed"
        );
        until(
            "the bad connection counted",
            Duration::from_secs(10),
            || {
                metrics.sfu_tcp_rejected_total.load(Relaxed) == 1
                    && metrics.sfu_tcp_connections.load(Relaxed) == 1
            },
        );
        assert!(
            !closed_within(&mut good, Duration::from_millis(500)),
            "the other connection stays open"
        );
        good.write_all(&frame(&[0u8; 100]).unwrap()).unwrap();
        until(
            "the good connection's frames read",
            Duration::from_secs(10),
            || metrics.sfu_tcp_packets_in_total.load(Relaxed) == 2,
        );
        assert_eq!(metrics.sfu_tcp_connections.load(Relaxed), 1);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn ice_tcp_can_be_turned_off() {
    let s = server_with(|c| c.media_tcp = false).await;
    assert_eq!(s.handle.media_tcp_addr(), None);
    let (mut alice, _bob, call_id) = active_call(&s.url()).await;
    let (sdp, _, _) = TcpPeer::new().offer();
    let answer = publish(&mut alice, call_id, sdp).await;
    let candidates: Vec<&str> = answer
        .lines()
        .filter(|l| l.starts_with("a=candidate"))
        .collect();
    assert!(!candidates.is_empty());
    assert!(
        candidates.iter().all(|l| l.contains(" udp ")),
        "UDP candidates only: {candidates:?}"
    );
}
