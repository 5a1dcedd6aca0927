//! The SFU over loopback: a real server, and str0m peers playing the engines
//! (a publisher connection that offers sendonly audio and video, and a
//! subscriber connection that answers the SFU's offers). Payloads are dummy
//! RTP; the SFU forwards without decoding.

mod common;

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{call_msg, login_msg, server, sig};
use futures_util::{FutureExt, SinkExt, StreamExt};
use hotline_proto::{
    CallInfo, CallState, ClientFrame, ClientMsg, ErrorCode, MediaTrack, ServerMsg, VideoStreamType,
};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// One str0m connection with its own UDP socket (full ICE, controlling).
struct Conn {
    rtc: Rtc,
    sock: UdpSocket,
    local: SocketAddr,
    connected: Option<Instant>,
}

impl Conn {
    fn new() -> Conn {
        hotline_server::sfu::init_crypto();
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_nonblocking(true).unwrap();
        let local = sock.local_addr().unwrap();
        let mut cfg = Rtc::builder()
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_opus(true, false);
        cfg.codec_config()
            .add_h264(108.into(), Some(109.into()), true, 0x42e01f);
        let mut rtc = cfg.build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
        Conn {
            rtc,
            sock,
            local,
            connected: None,
        }
    }

    /// Feed datagrams and time in; returns the events. str0m must be polled
    /// to a timeout after every input.
    fn drive(&mut self) -> Vec<Event> {
        let mut evs = vec![];
        let mut buf = [0u8; 2048];
        for _ in 0..256 {
            let Ok((n, src)) = self.sock.recv_from(&mut buf) else {
                break;
            };
            let Ok(contents) = buf[..n].try_into() else {
                continue;
            };
            let r = Receive {
                proto: Protocol::Udp,
                source: src,
                destination: self.local,
                contents,
            };
            self.rtc
                .handle_input(Input::Receive(Instant::now(), r))
                .expect("input");
            self.poll(&mut evs);
        }
        self.rtc
            .handle_input(Input::Timeout(Instant::now()))
            .expect("timeout");
        self.poll(&mut evs);
        evs
    }

    fn poll(&mut self, evs: &mut Vec<Event>) {
        for _ in 0..10_000 {
            match self.rtc.poll_output().expect("output") {
                Output::Transmit(t) => {
                    let _ = self.sock.send_to(&t.contents, t.destination);
                }
                Output::Timeout(_) => break,
                Output::Event(Event::Connected) => {
                    self.connected.get_or_insert(Instant::now());
                }
                Output::Event(e) => evs.push(e),
            }
        }
    }

    fn pt(&self, codec: Codec) -> str0m::format::PayloadParams {
        self.rtc
            .codec_config()
            .params()
            .iter()
            .find(|p| p.spec().codec == codec)
            .copied()
            .expect("codec configured")
    }
}

/// A hand-written engine: signaling over a raw WebSocket, media through str0m.
struct Phone {
    user: String,
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    seq: u64,
    responses: HashMap<u64, ServerMsg>,
    updates: Vec<CallInfo>,
    offers: Vec<(u64, Vec<MediaTrack>, usize)>,
    /// Answer media offers automatically.
    auto_answer: bool,
    call_id: String,
    publisher: Option<Conn>,
    pending: Option<SdpPendingOffer>,
    mids: Vec<(Mid, MediaKind)>,
    subscriber: Option<Conn>,
    answer_sizes: Vec<usize>,
    /// Subscriber mid → (user, kind), from every offer seen.
    track_of: HashMap<String, (String, String)>,
    /// Packets received per (user, kind).
    received: HashMap<(String, String), u64>,
    /// Video packets received per (user, simulcast layer).
    received_layers: HashMap<(String, u8), u64>,
    /// Video m-lines to publish: simulcast layers, largest first.
    video_layers: usize,
    first_packet: Option<Instant>,
    keyframe_requests: u64,
    sent: u64,
    last_send: Instant,
}

impl Phone {
    async fn login(url: &str, user: &str) -> Phone {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        let mut p = Phone {
            user: user.into(),
            ws,
            seq: 0,
            responses: HashMap::new(),
            updates: vec![],
            offers: vec![],
            auto_answer: true,
            call_id: String::new(),
            publisher: None,
            pending: None,
            mids: vec![],
            subscriber: None,
            answer_sizes: vec![],
            track_of: HashMap::new(),
            received: HashMap::new(),
            received_layers: HashMap::new(),
            video_layers: 1,
            first_packet: None,
            keyframe_requests: 0,
            sent: 0,
            last_send: Instant::now(),
        };
        let seq = p
            .send(login_msg(user, &sig(user), &format!("{user}-dev")))
            .await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while !p.responses.contains_key(&seq) && Instant::now() < deadline {
            p.tick().await;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        assert_eq!(code(p.responses.get(&seq).expect("login answered")), 0);
        p
    }

    async fn send(&mut self, msg: ClientMsg) -> u64 {
        self.seq += 1;
        let text = serde_json::to_string(&ClientFrame { seq: self.seq, msg }).unwrap();
        self.ws
            .send(Message::Text(text.into()))
            .await
            .expect("send");
        self.seq
    }

    /// The publisher's offer: sendonly audio and video.
    fn publish_offer(&mut self) -> String {
        let mut conn = Conn::new();
        let mut api = conn.rtc.sdp_api();
        let a = api.add_media(
            MediaKind::Audio,
            Direction::SendOnly,
            Some(self.user.clone()),
            Some("a".into()),
            None,
        );
        self.mids = vec![(a, MediaKind::Audio)];
        for layer in 0..self.video_layers {
            let v = api.add_media(
                MediaKind::Video,
                Direction::SendOnly,
                Some(self.user.clone()),
                Some(format!("v{layer}")),
                None,
            );
            self.mids.push((v, MediaKind::Video));
        }
        let (offer, pending) = api.apply().expect("an offer");
        self.pending = Some(pending);
        self.publisher = Some(conn);
        offer.to_sdp_string()
    }

    fn received(&self, from: &str, kind: &str) -> u64 {
        self.received
            .get(&(from.to_string(), kind.to_string()))
            .copied()
            .unwrap_or(0)
    }

    fn received_layer(&self, from: &str, layer: u8) -> u64 {
        self.received_layers
            .get(&(from.to_string(), layer))
            .copied()
            .unwrap_or(0)
    }

    fn latest_offer(&self) -> &(u64, Vec<MediaTrack>, usize) {
        self.offers.last().expect("an offer")
    }

    /// Read signaling, answer offers, drive both connections, send media.
    async fn tick(&mut self) {
        let mut answers = vec![];
        for _ in 0..64 {
            let Some(m) = self.ws.next().now_or_never() else {
                break;
            };
            let Some(Ok(Message::Text(t))) = m else {
                continue;
            };
            let msg: ServerMsg = serde_json::from_str(&t).expect("protocol");
            match msg {
                ServerMsg::Response { seq, .. } => {
                    self.responses.insert(seq, msg);
                }
                ServerMsg::CallUpdate { call } => self.updates.push(call),
                ServerMsg::MediaOffer {
                    call_id,
                    revision,
                    sdp,
                    tracks,
                } => {
                    for t in &tracks {
                        self.track_of
                            .insert(t.mid.clone(), (t.user_id.clone(), t.kind.clone()));
                    }
                    self.offers.push((revision, tracks, sdp.len()));
                    if self.auto_answer {
                        let sub = self.subscriber.get_or_insert_with(Conn::new);
                        let offer =
                            SdpOffer::from_sdp_string(&sdp).expect("the SFU's offer parses");
                        let answer = sub
                            .rtc
                            .sdp_api()
                            .accept_offer(offer)
                            .expect("offer accepted")
                            .to_sdp_string();
                        self.answer_sizes.push(answer.len());
                        answers.push(ClientMsg::MediaAnswer {
                            call_id,
                            revision,
                            sdp: answer,
                        });
                    }
                }
                _ => {}
            }
        }
        for a in answers {
            self.send(a).await;
        }
        if let Some(p) = self.publisher.as_mut() {
            for e in p.drive() {
                if let Event::KeyframeRequest(_) = e {
                    self.keyframe_requests += 1;
                }
            }
            // 50 packets/s of audio and of video once connected.
            if p.connected.is_some() && self.last_send.elapsed() >= Duration::from_millis(20) {
                self.last_send = Instant::now();
                self.sent += 1;
                let now = Instant::now();
                let mut layer = 0u8;
                for (mid, kind) in self.mids.clone() {
                    let (pt, payload): (_, Arc<[u8]>) = if kind == MediaKind::Audio {
                        (p.pt(Codec::Opus).pt(), vec![0xfc; 60].into())
                    } else {
                        let mut v = vec![0u8; 300];
                        v[0] = 0x65; // an IDR slice NAL header
                        v[1] = layer; // which simulcast layer sent it
                        layer += 1;
                        (p.pt(Codec::H264).pt(), v.into())
                    };
                    let ts = (self.sent * 960) as u32;
                    let mut api = p.rtc.direct_api();
                    let tx = api.stream_tx_by_mid(mid, None).expect("a send stream");
                    tx.write_rtp(
                        RtpWrite::new(pt, self.sent.into(), ts, now, payload).marker(true),
                    );
                }
            }
        }
        if let Some(s) = self.subscriber.as_mut() {
            for e in s.drive() {
                if let Event::RtpPacket(pkt) = e {
                    let mid = s
                        .rtc
                        .direct_api()
                        .stream_rx(&pkt.header.ssrc)
                        .map(|r| r.mid().to_string());
                    if let Some(track) = mid.and_then(|m| self.track_of.get(&m).cloned()) {
                        if track.1 == "video" {
                            let layer = pkt.payload.get(1).copied().unwrap_or(u8::MAX);
                            *self
                                .received_layers
                                .entry((track.0.clone(), layer))
                                .or_default() += 1;
                        }
                        *self.received.entry(track).or_default() += 1;
                        self.first_packet.get_or_insert(Instant::now());
                    } else {
                        *self
                            .received
                            .entry(("?".into(), format!("{:?}", pkt.header.ssrc)))
                            .or_default() += 1;
                    }
                } else if std::env::var("SFU_TEST_DEBUG").is_ok() {
                    eprintln!("{} subscriber event {e:?}", self.user);
                }
            }
        }
    }

    /// Ask the publisher of `from`'s video (through the SFU) for a keyframe.
    fn request_keyframe(&mut self, from: &str) {
        let mid = self
            .track_of
            .iter()
            .find(|(_, (u, k))| u == from && k == "video")
            .map(|(m, _)| Mid::from(m.as_str()))
            .expect("a video track of that user");
        let sub = self.subscriber.as_mut().expect("subscribed");
        let mut api = sub.rtc.direct_api();
        api.stream_rx_by_mid(mid, None)
            .expect("a receive stream")
            .request_keyframe(KeyframeRequestKind::Pli);
    }
}

static METRICS: std::sync::OnceLock<Arc<hotline_server::metrics::Metrics>> =
    std::sync::OnceLock::new();

fn code(r: &ServerMsg) -> i32 {
    common::code(r)
}

/// Tick every phone until `done` holds; panics after `secs`.
async fn pump(ps: &mut [Phone], secs: u64, what: &str, done: impl Fn(&[Phone]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        for p in ps.iter_mut() {
            p.tick().await;
        }
        if done(ps) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    for p in ps.iter() {
        eprintln!(
            "{}: publisher connected {:?}, subscriber connected {:?}, offers {:?}, answers {:?}, received {:?}, sent {}",
            p.user,
            p.publisher.as_ref().map(|c| c.connected.is_some()),
            p.subscriber.as_ref().map(|c| c.connected.is_some()),
            p.offers.iter().map(|o| (o.0, o.1.len())).collect::<Vec<_>>(),
            p.answer_sizes,
            p.received,
            p.sent
        );
    }
    if let Some(m) = METRICS.get() {
        eprintln!(
            "{}",
            m.render()
                .lines()
                .filter(|l| l.starts_with("hotline_sfu"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    panic!("timed out waiting for {what}");
}

/// Send a request from phone `i` and tick everyone until it is answered.
async fn request(ps: &mut [Phone], i: usize, msg: ClientMsg) -> ServerMsg {
    let seq = ps[i].send(msg).await;
    pump(ps, 5, "a response", |ps| ps[i].responses.contains_key(&seq)).await;
    ps[i].responses.remove(&seq).unwrap()
}

/// A first `media_publish` (not an ICE restart) of `sdp` in `call_id`.
fn publish_msg(call_id: impl Into<String>, sdp: impl Into<String>) -> ClientMsg {
    ClientMsg::MediaPublish {
        call_id: call_id.into(),
        sdp: sdp.into(),
        ice_restart: false,
    }
}

/// Publish phone `i`'s audio and video; returns when the SFU answered.
async fn publish(ps: &mut [Phone], i: usize) {
    let sdp = ps[i].publish_offer();
    let call_id = ps[i].call_id.clone();
    let r = request(ps, i, publish_msg(call_id, sdp)).await;
    let ServerMsg::Response {
        code: 0,
        sdp: Some(answer),
        ..
    } = r
    else {
        panic!("publish refused: {r:?}")
    };
    let p = &mut ps[i];
    let pending = p.pending.take().unwrap();
    let conn = p.publisher.as_mut().unwrap();
    conn.rtc
        .sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
        .expect("answer accepted");
}

fn call_id_of(r: &ServerMsg) -> String {
    match r {
        ServerMsg::Response {
            code: 0,
            call: Some(c),
            ..
        } => c.call_id.clone(),
        other => panic!("no call: {other:?}"),
    }
}

#[tokio::test]
async fn two_participants_exchange_media_through_the_sfu() {
    let s = server().await;
    let _ = METRICS.set(s.handle.metrics.clone());
    let mut ps = vec![
        Phone::login(&s.url(), "alice").await,
        Phone::login(&s.url(), "bob").await,
    ];
    let call_id = call_id_of(&request(&mut ps, 0, call_msg(&["bob"])).await);
    for p in ps.iter_mut() {
        p.call_id = call_id.clone();
    }

    // Ringing: no media yet.
    let sdp = ps[0].publish_offer();
    let r = request(&mut ps, 0, publish_msg(call_id.clone(), sdp)).await;
    assert_eq!(code(&r), ErrorCode::RequestRefused.as_i32(), "{r:?}");
    // Strangers learn nothing.
    let r = request(&mut ps, 1, publish_msg("nope", "v=0")).await;
    assert_eq!(code(&r), ErrorCode::ParamInvalid.as_i32());

    assert_eq!(
        code(
            &request(
                &mut ps,
                1,
                ClientMsg::Accept {
                    call_id: call_id.clone()
                }
            )
            .await
        ),
        0
    );
    let r = request(&mut ps, 0, publish_msg(call_id.clone(), "this is not SDP")).await;
    assert_eq!(code(&r), ErrorCode::ParamInvalid.as_i32(), "{r:?}");
    let ServerMsg::Response { message, .. } = &r else {
        unreachable!()
    };
    assert!(message.contains("SDP"), "{message}");

    let t0 = Instant::now();
    publish(&mut ps, 0).await;
    publish(&mut ps, 1).await;
    pump(&mut ps, 10, "media both ways", |ps| {
        ps.iter().all(|p| {
            let other = if p.user == "alice" { "bob" } else { "alice" };
            p.received(other, "audio") >= 10 && p.received(other, "video") >= 10
        })
    })
    .await;
    let connect: Vec<f64> = ps
        .iter()
        .map(|p| (p.subscriber.as_ref().unwrap().connected.unwrap() - t0).as_secs_f64() * 1000.0)
        .collect();
    let first: Vec<f64> = ps
        .iter()
        .map(|p| (p.first_packet.unwrap() - t0).as_secs_f64() * 1000.0)
        .collect();
    eprintln!(
        "publish → subscriber connected: {connect:?} ms; → first forwarded packet: {first:?} ms"
    );
    eprintln!(
        "offer sizes {:?}, answer sizes {:?}",
        ps.iter().map(|p| p.latest_offer().2).collect::<Vec<_>>(),
        ps.iter()
            .map(|p| p.answer_sizes.clone())
            .collect::<Vec<_>>()
    );
    for p in &ps {
        let (rev, tracks, _) = p.latest_offer();
        assert!(*rev >= 1);
        let mut kinds: Vec<&str> = tracks.iter().map(|t| t.kind.as_str()).collect();
        kinds.sort();
        assert_eq!(kinds, ["audio", "video"], "{}: {tracks:?}", p.user);
        assert!(tracks.iter().all(|t| t.user_id != p.user));
    }

    // The SFU asked each publisher for a keyframe when the other's
    // subscriber connection came up.
    pump(&mut ps, 5, "keyframe requests on connect", |ps| {
        ps[0].keyframe_requests > 0 && ps[1].keyframe_requests > 0
    })
    .await;
    // A PLI from bob's subscriber reaches alice's publisher, and only hers.
    // First a quiet second with no request (bounded), so that a late one
    // from connect time is not taken for the one under test.
    let mut before = (ps[0].keyframe_requests, ps[1].keyframe_requests);
    for round in 1.. {
        let quiet_until = Instant::now() + Duration::from_secs(1);
        pump(&mut ps, 5, "in-flight requests to settle", move |_| {
            Instant::now() >= quiet_until
        })
        .await;
        let now = (ps[0].keyframe_requests, ps[1].keyframe_requests);
        if now == before {
            break;
        }
        assert!(round < 10, "keyframe requests never stop: {now:?}");
        before = now;
    }
    ps[1].request_keyframe("alice");
    pump(&mut ps, 5, "a keyframe request at alice", |ps| {
        ps[0].keyframe_requests > before.0
    })
    .await;
    assert_eq!(
        ps[1].keyframe_requests, before.1,
        "bob's publisher is not asked"
    );

    // A stale (or unknown) revision is refused.
    let rev = ps[1].latest_offer().0;
    let r = request(
        &mut ps,
        1,
        ClientMsg::MediaAnswer {
            call_id: call_id.clone(),
            revision: rev,
            sdp: "v=0".into(),
        },
    )
    .await;
    assert_eq!(code(&r), ErrorCode::RequestRefused.as_i32(), "{r:?}");
    let r = request(
        &mut ps,
        1,
        ClientMsg::MediaAnswer {
            call_id: call_id.clone(),
            revision: 0,
            sdp: "v=0".into(),
        },
    )
    .await;
    assert_eq!(code(&r), ErrorCode::RequestRefused.as_i32(), "{r:?}");

    // media_state shows up in the next snapshot, one version later.
    let before = ps[1].updates.last().unwrap().version;
    let r = request(
        &mut ps,
        0,
        ClientMsg::MediaState {
            call_id: call_id.clone(),
            audio: true,
            video: false,
        },
    )
    .await;
    let ServerMsg::Response {
        code: 0,
        call: Some(c),
        ..
    } = r
    else {
        panic!("{r:?}")
    };
    assert_eq!(c.version, before + 1);
    pump(&mut ps, 5, "the snapshot at bob", |ps| {
        ps[1].updates.last().unwrap().version == before + 1
    })
    .await;
    let alice = ps[1]
        .updates
        .last()
        .unwrap()
        .participant("alice")
        .unwrap()
        .clone();
    assert!(alice.audio_available && !alice.video_available);
    assert_eq!(
        s.handle
            .metrics
            .sfu_peers
            .load(std::sync::atomic::Ordering::Relaxed),
        4
    );

    // What the participants sent, by connection and kind: media up the
    // publisher connections, feedback (and no media) up the subscriber ones.
    use hotline_server::sfu::packet_kind::PacketKind;
    let m = s.handle.metrics.clone();
    pump(
        &mut ps,
        10,
        "a receiver report from a subscriber connection",
        |_| m.sfu_packets_in(true, PacketKind::ReceiverReport) > 0,
    )
    .await;
    assert!(m.sfu_packets_in(false, PacketKind::Rtp) > 0);
    assert!(m.sfu_packets_in(false, PacketKind::Stun) > 0);
    assert!(m.sfu_packets_in(true, PacketKind::Stun) > 0);
    assert_eq!(m.sfu_packets_in(true, PacketKind::Rtp), 0);
    let rendered = m.render();
    let series = "hotline_sfu_packets_in_total{connection=\"publisher\",kind=\"rtp\"} ";
    let rtp_up: Option<u64> = rendered
        .lines()
        .find_map(|l| l.strip_prefix(series))
        .and_then(|v| v.parse().ok());
    assert!(rtp_up.is_some_and(|n| n > 0), "{rendered}");

    // Hanging up ends the 1v1 call and the SFU drops everyone's connections.
    assert_eq!(
        code(
            &request(
                &mut ps,
                0,
                ClientMsg::Hangup {
                    call_id: call_id.clone()
                }
            )
            .await
        ),
        0
    );
    pump(&mut ps, 5, "the SFU to drop the call", |_| {
        s.handle
            .metrics
            .sfu_peers
            .load(std::sync::atomic::Ordering::Relaxed)
            == 0
    })
    .await;
    assert_eq!(ps[1].updates.last().unwrap().state, CallState::Ended);
}

#[tokio::test]
async fn group_call_renegotiates_as_people_join_and_leave() {
    let s = server().await;
    let mut ps = vec![
        Phone::login(&s.url(), "alice").await,
        Phone::login(&s.url(), "bob").await,
        Phone::login(&s.url(), "carol").await,
    ];
    let call_id = call_id_of(&request(&mut ps, 0, call_msg(&["bob", "carol"])).await);
    for p in ps.iter_mut() {
        p.call_id = call_id.clone();
    }
    assert_eq!(
        code(
            &request(
                &mut ps,
                1,
                ClientMsg::Accept {
                    call_id: call_id.clone()
                }
            )
            .await
        ),
        0
    );
    publish(&mut ps, 0).await;
    publish(&mut ps, 1).await;
    pump(&mut ps, 10, "alice and bob hear each other", |ps| {
        ps[0].received("bob", "video") > 5 && ps[1].received("alice", "video") > 5
    })
    .await;
    let revs: Vec<u64> = ps[..2].iter().map(|p| p.latest_offer().0).collect();

    // Carol joins: alice and bob get a newer offer with her tracks, and her media.
    assert_eq!(
        code(
            &request(
                &mut ps,
                2,
                ClientMsg::Accept {
                    call_id: call_id.clone()
                }
            )
            .await
        ),
        0
    );
    publish(&mut ps, 2).await;
    pump(&mut ps, 10, "everyone hears everyone", |ps| {
        ps.iter().all(|p| {
            ps.iter()
                .filter(|o| o.user != p.user)
                .all(|o| p.received(&o.user, "audio") > 5 && p.received(&o.user, "video") > 5)
        })
    })
    .await;
    for (i, p) in ps[..2].iter().enumerate() {
        let (rev, tracks, _) = p.latest_offer();
        assert!(
            *rev > revs[i],
            "{}: revision {rev} after {}",
            p.user,
            revs[i]
        );
        assert_eq!(
            tracks.iter().filter(|t| t.user_id == "carol").count(),
            2,
            "{tracks:?}"
        );
        assert_eq!(tracks.len(), 4);
    }
    assert_eq!(ps[2].latest_offer().1.len(), 4);

    // Bob hangs up: the next offers to alice and carol no longer carry his tracks.
    let revs: Vec<u64> = ps.iter().map(|p| p.latest_offer().0).collect();
    assert_eq!(
        code(
            &request(
                &mut ps,
                1,
                ClientMsg::Hangup {
                    call_id: call_id.clone()
                }
            )
            .await
        ),
        0
    );
    pump(&mut ps, 5, "offers without bob", |ps| {
        ps[0].latest_offer().0 > revs[0] && ps[2].latest_offer().0 > revs[2]
    })
    .await;
    for p in [&ps[0], &ps[2]] {
        let tracks = &p.latest_offer().1;
        assert!(
            tracks.iter().all(|t| t.user_id != "bob"),
            "{}: {tracks:?}",
            p.user
        );
        assert_eq!(tracks.len(), 2);
    }
    // Media keeps flowing between those still in the call.
    let before = ps[0].received("carol", "video");
    pump(&mut ps, 5, "carol's media after bob left", |ps| {
        ps[0].received("carol", "video") > before + 5
    })
    .await;
    // Bob is out: his answers and publishes are refused.
    let r = request(
        &mut ps,
        1,
        ClientMsg::MediaAnswer {
            call_id: call_id.clone(),
            revision: 99,
            sdp: "v=0".into(),
        },
    )
    .await;
    assert_eq!(code(&r), ErrorCode::RequestRefused.as_i32());
}

/// An ICE restart keeps the connections: the publisher takes the new offer on
/// its existing connection, the subscriber gets an offer with new ICE
/// credentials, and media keeps flowing. A bad restart offer is refused and
/// changes nothing.
#[tokio::test]
async fn an_ice_restart_keeps_both_connections_and_media() {
    let s = server().await;
    let mut ps = vec![
        Phone::login(&s.url(), "alice").await,
        Phone::login(&s.url(), "bob").await,
    ];
    let call_id = call_id_of(&request(&mut ps, 0, call_msg(&["bob"])).await);
    for p in ps.iter_mut() {
        p.call_id = call_id.clone();
    }
    let accept = ClientMsg::Accept {
        call_id: call_id.clone(),
    };
    assert_eq!(code(&request(&mut ps, 1, accept).await), 0);
    publish(&mut ps, 0).await;
    publish(&mut ps, 1).await;
    pump(&mut ps, 10, "media both ways", |ps| {
        ps[0].received("bob", "video") >= 10 && ps[1].received("alice", "video") >= 10
    })
    .await;
    let metrics = s.handle.metrics.clone();
    assert_eq!(metrics.sfu_peers.load(Relaxed), 4);

    // Not SDP: refused, and nothing changes.
    let restart = |sdp: String| ClientMsg::MediaPublish {
        call_id: call_id.clone(),
        sdp,
        ice_restart: true,
    };
    let r = request(&mut ps, 0, restart("not SDP".into())).await;
    assert_eq!(code(&r), ErrorCode::ParamInvalid.as_i32(), "{r:?}");
    assert_eq!(metrics.sfu_ice_restarts_total.load(Relaxed), 0);

    // Alice restarts ICE on her publisher (new credentials, same DTLS).
    let revision = ps[0].latest_offer().0;
    let publisher = ps[0].publisher.as_mut().unwrap();
    let mut api = publisher.rtc.sdp_api();
    api.ice_restart(true);
    let (offer, pending) = api.apply().expect("a restart offer");
    let r = request(&mut ps, 0, restart(offer.to_sdp_string())).await;
    let ServerMsg::Response {
        code: 0,
        sdp: Some(answer),
        ..
    } = r
    else {
        panic!("restart refused: {r:?}")
    };
    let publisher = ps[0].publisher.as_mut().unwrap();
    publisher
        .rtc
        .sdp_api()
        .accept_answer(pending, SdpAnswer::from_sdp_string(&answer).unwrap())
        .expect("the restart answer is accepted");
    assert_eq!(metrics.sfu_ice_restarts_total.load(Relaxed), 1);
    assert_eq!(metrics.sfu_peers.load(Relaxed), 4, "no new connections");

    // Her subscriber is offered new ICE credentials too.
    pump(&mut ps, 5, "a restart offer to alice's subscriber", |ps| {
        ps[0].latest_offer().0 > revision
    })
    .await;
    let before = (
        ps[0].received("bob", "video"),
        ps[1].received("alice", "video"),
    );
    pump(&mut ps, 10, "media both ways after the restart", |ps| {
        ps[0].received("bob", "video") >= before.0 + 10
            && ps[1].received("alice", "video") >= before.1 + 10
    })
    .await;
    assert_eq!(metrics.sfu_peers.load(Relaxed), 4);
}

/// Accept the call on phones `who` (after the caller, phone 0, called them).
async fn accept_all(ps: &mut [Phone], who: &[usize]) {
    for &i in who {
        let call_id = ps[i].call_id.clone();
        assert_eq!(
            code(&request(ps, i, ClientMsg::Accept { call_id }).await),
            0
        );
    }
}

/// Packets of a layer no longer forwarded that may still arrive: NACKed
/// retransmissions of packets lost (on a loaded machine, in a full socket
/// buffer) just before the switch.
const LATE_RETRANSMISSIONS: u64 = 3;

#[tokio::test]
async fn simulcast_layers_reach_each_subscriber_one_at_a_time_and_media_view_picks_the_small_one() {
    let s = server().await;
    let mut ps = vec![
        Phone::login(&s.url(), "alice").await,
        Phone::login(&s.url(), "bob").await,
        Phone::login(&s.url(), "carol").await,
    ];
    ps[0].video_layers = 3;
    let call_id = call_id_of(&request(&mut ps, 0, call_msg(&["bob", "carol"])).await);
    for p in ps.iter_mut() {
        p.call_id = call_id.clone();
    }
    accept_all(&mut ps, &[1, 2]).await;
    for i in 0..3 {
        publish(&mut ps, i).await;
    }
    // Video starts on the smallest layer and moves to the largest: three
    // layers of dummy video fit any estimate.
    pump(&mut ps, 10, "alice's large layer at bob and carol", |ps| {
        ps[1].received_layer("alice", 0) > 20 && ps[2].received_layer("alice", 0) > 20
    })
    .await;
    // One video track of alice's per subscriber, fed from one layer at a time.
    for p in &ps[1..] {
        let videos = p.latest_offer().1.iter();
        let of_alice: Vec<&MediaTrack> = videos.filter(|t| t.user_id == "alice").collect();
        assert_eq!(of_alice.len(), 2, "{}: {of_alice:?}", p.user);
    }
    let carol_smaller = ps[2].received_layer("alice", 1) + ps[2].received_layer("alice", 2);

    // Bob shows alice as a thumbnail: he gets her small layer, carol keeps the large one.
    let view = |stream_type| ClientMsg::MediaView {
        call_id: call_id.clone(),
        user_id: "alice".into(),
        stream_type,
    };
    let r = request(&mut ps, 1, view(VideoStreamType::Small)).await;
    assert_eq!(code(&r), 0, "{r:?}");
    pump(&mut ps, 10, "bob to get alice's small layer", |ps| {
        ps[1].received_layer("alice", 2) > 5
    })
    .await;
    let large_at_bob = ps[1].received_layer("alice", 0);
    let carol_before = ps[2].received_layer("alice", 0);
    pump(&mut ps, 10, "more of alice's video", |ps| {
        ps[1].received_layer("alice", 2) > 25
            && ps[2].received_layer("alice", 0) > carol_before + 20
    })
    .await;
    // Video is nackable, so a packet lost before the switch may still come
    // as a retransmission after it; a layer that is still forwarded would
    // bring twenty or more.
    let late = ps[1].received_layer("alice", 0) - large_at_bob;
    assert!(
        late <= LATE_RETRANSMISSIONS,
        "bob still gets the large layer: {late} more packets"
    );
    let carol_smaller_now = ps[2].received_layer("alice", 1) + ps[2].received_layer("alice", 2);
    assert!(
        carol_smaller_now - carol_smaller <= LATE_RETRANSMISSIONS,
        "carol got a smaller layer: {} more packets",
        carol_smaller_now - carol_smaller
    );

    // And back to the big stream.
    let r = request(&mut ps, 1, view(VideoStreamType::Big)).await;
    assert_eq!(code(&r), 0, "{r:?}");
    pump(&mut ps, 10, "bob to get alice's large layer again", |ps| {
        ps[1].received_layer("alice", 0) > large_at_bob + 5
    })
    .await;
    let layer_switches = s
        .handle
        .metrics
        .sfu_layer_switches_total
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(layer_switches >= 2, "{layer_switches} layer switches");
}

#[tokio::test]
async fn more_video_layers_than_forwarded_and_views_outside_the_call_are_refused() {
    let s = server().await;
    let mut ps = vec![
        Phone::login(&s.url(), "alice").await,
        Phone::login(&s.url(), "bob").await,
        Phone::login(&s.url(), "carol").await,
        Phone::login(&s.url(), "mallory").await,
    ];
    let call_id = call_id_of(&request(&mut ps, 0, call_msg(&["bob", "carol"])).await);
    for p in ps.iter_mut().take(3) {
        p.call_id = call_id.clone();
    }
    accept_all(&mut ps, &[1]).await;
    // Four video m-lines: refused, and nothing of alice's is forwarded.
    ps[0].video_layers = 4;
    let sdp = ps[0].publish_offer();
    let r = request(&mut ps, 0, publish_msg(call_id.clone(), sdp)).await;
    assert_eq!(code(&r), ErrorCode::ParamInvalid.as_i32(), "{r:?}");
    // A view in a call one is not in (mallory), or has not joined (carol).
    for i in [3, 2] {
        let r = request(
            &mut ps,
            i,
            ClientMsg::MediaView {
                call_id: call_id.clone(),
                user_id: "alice".into(),
                stream_type: VideoStreamType::Small,
            },
        )
        .await;
        assert_ne!(code(&r), 0, "{}: {r:?}", ps[i].user);
    }
    // The call goes on: alice publishes three layers and bob gets her video.
    ps[0].video_layers = 3;
    publish(&mut ps, 0).await;
    publish(&mut ps, 1).await;
    pump(&mut ps, 10, "alice's video at bob", |ps| {
        ps[1].received("alice", "video") > 10
    })
    .await;
}

/// Phone `caller` calls `callees` (indexes into `ps`), who accept; returns
/// the call's ID, also set on each of them.
async fn connect_call(ps: &mut [Phone], caller: usize, callees: &[usize]) -> String {
    let users: Vec<String> = callees.iter().map(|i| ps[*i].user.clone()).collect();
    let users: Vec<&str> = users.iter().map(String::as_str).collect();
    let call_id = call_id_of(&request(ps, caller, call_msg(&users)).await);
    ps[caller].call_id = call_id.clone();
    for i in callees {
        ps[*i].call_id = call_id.clone();
        let accept = ClientMsg::Accept {
            call_id: call_id.clone(),
        };
        assert_eq!(code(&request(ps, *i, accept).await), 0);
    }
    call_id
}

/// Whether everyone in `group` gets video from everyone else in it, at
/// least `n` packets more than `base` says they had.
fn all_see_all(ps: &[Phone], group: &[usize], base: &HashMap<(usize, usize), u64>, n: u64) -> bool {
    group.iter().all(|&i| {
        group.iter().filter(|&&j| j != i).all(|&j| {
            let had = base.get(&(i, j)).copied().unwrap_or(0);
            ps[i].received(&ps[j].user, "video") >= had + n
        })
    })
}

/// What everyone in `group` has received from everyone else so far.
fn received_now(ps: &[Phone], group: &[usize]) -> HashMap<(usize, usize), u64> {
    let mut m = HashMap::new();
    for &i in group {
        for &j in group {
            m.insert((i, j), ps[i].received(&ps[j].user, "video"));
        }
    }
    m
}

fn ended_by_server(p: &Phone, call_id: &str) -> bool {
    p.updates.iter().any(|c| {
        c.call_id == call_id
            && c.state == CallState::Ended
            && c.end_reason == Some(hotline_proto::EndReason::EndByServer)
    })
}

#[tokio::test]
async fn calls_spread_over_workers_and_a_failed_worker_ends_only_its_own() {
    let s = common::server_with(|c| c.sfu_workers = 2).await;
    assert_eq!(s.handle.sfu_workers(), 2);
    let users = ["alice", "bob", "carol", "dave", "erin", "frank"];
    let mut ps = vec![];
    for u in users {
        ps.push(Phone::login(&s.url(), u).await);
    }
    let first = connect_call(&mut ps, 0, &[1]).await;
    let second = connect_call(&mut ps, 2, &[3]).await;
    for i in 0..4 {
        publish(&mut ps, i).await;
    }
    let (w1, w2) = (
        s.handle.sfu_worker_of(&first),
        s.handle.sfu_worker_of(&second),
    );
    assert!(w1.is_some() && w2.is_some() && w1 != w2, "{w1:?} {w2:?}");
    pump(&mut ps, 15, "media in both calls", |ps| {
        all_see_all(ps, &[0, 1], &HashMap::new(), 10)
            && all_see_all(ps, &[2, 3], &HashMap::new(), 10)
    })
    .await;
    let workers = s.handle.metrics.sfu_workers.get().unwrap();
    for w in workers.iter() {
        assert!(
            w.rtp_forwarded.load(Relaxed) > 0,
            "each worker forwards its call's media"
        );
    }

    // The first call's worker fails: that call ends, the other goes on.
    s.handle.fail_sfu_worker_of(&first);
    pump(&mut ps, 10, "the first call ended by the server", |ps| {
        ended_by_server(&ps[0], &first) && ended_by_server(&ps[1], &first)
    })
    .await;
    let failed = w1.unwrap();
    assert_eq!(workers[failed].panics.load(Relaxed), 1);
    assert!(!ps[2].updates.iter().any(|c| c.state == CallState::Ended));
    let base = received_now(&ps, &[2, 3]);
    pump(
        &mut ps,
        10,
        "media in the second call after the failure",
        |ps| all_see_all(ps, &[2, 3], &base, 20),
    )
    .await;

    // The failed worker starts again empty and carries the next call.
    let third = connect_call(&mut ps, 4, &[5]).await;
    publish(&mut ps, 4).await;
    publish(&mut ps, 5).await;
    assert_eq!(s.handle.sfu_worker_of(&third), Some(failed));
    pump(
        &mut ps,
        15,
        "media in a new call on the restarted worker",
        |ps| all_see_all(ps, &[4, 5], &HashMap::new(), 10),
    )
    .await;
    let metrics = s.handle.metrics.render();
    let line = format!("hotline_sfu_worker_panics_total{{worker=\"{failed}\"}} 1");
    assert!(metrics.contains(&line), "{metrics}");
}

#[tokio::test]
async fn a_group_call_stays_on_one_worker() {
    let s = common::server_with(|c| c.sfu_workers = 2).await;
    let mut ps = vec![];
    for u in ["alice", "bob", "carol", "dave"] {
        ps.push(Phone::login(&s.url(), u).await);
    }
    let call_id = connect_call(&mut ps, 0, &[1, 2, 3]).await;
    for i in 0..4 {
        publish(&mut ps, i).await;
    }
    pump(&mut ps, 20, "everyone sees everyone", |ps| {
        all_see_all(ps, &[0, 1, 2, 3], &HashMap::new(), 10)
    })
    .await;
    let owner = s.handle.sfu_worker_of(&call_id).expect("a worker");
    let workers = s.handle.metrics.sfu_workers.get().unwrap();
    for (i, w) in workers.iter().enumerate() {
        let forwarded = w.rtp_forwarded.load(Relaxed);
        if i == owner {
            assert!(forwarded > 0);
        } else {
            assert_eq!(
                forwarded, 0,
                "worker {i} forwards nothing of a call it does not carry"
            );
        }
    }
    // Eight connections from eight addresses: the kernel spreads them over
    // both sockets, and what the other socket read was handed over.
    let read_elsewhere: u64 = workers
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != owner)
        .map(|(_, w)| w.udp_in.load(Relaxed))
        .sum();
    assert_eq!(
        workers[owner].handed_in.load(Relaxed) > 0,
        read_elsewhere > 0
    );
}

/// A STUN binding request to the SFU's ufrag `to`, without integrity.
fn forged_check(to: &str, i: u32) -> Vec<u8> {
    let username = format!("{to}:x{i}");
    let mut attr = vec![0x00, 0x06];
    attr.extend((username.len() as u16).to_be_bytes());
    attr.extend(username.as_bytes());
    attr.resize(attr.len().div_ceil(4) * 4, 0);
    let mut msg = vec![0x00, 0x01];
    msg.extend((attr.len() as u16).to_be_bytes());
    msg.extend([0x21, 0x12, 0xa4, 0x42]);
    msg.extend(i.to_be_bytes().repeat(3));
    msg.extend(attr);
    msg
}

#[tokio::test]
async fn junk_on_the_media_port_disturbs_no_call_and_no_worker() {
    let s = common::server_with(|c| c.sfu_workers = 2).await;
    let mut ps = vec![
        Phone::login(&s.url(), "alice").await,
        Phone::login(&s.url(), "bob").await,
    ];
    connect_call(&mut ps, 0, &[1]).await;
    publish(&mut ps, 0).await;
    publish(&mut ps, 1).await;
    pump(&mut ps, 15, "media both ways", |ps| {
        all_see_all(ps, &[0, 1], &HashMap::new(), 10)
    })
    .await;

    // From many source ports (so that both workers' sockets get some):
    // random bytes, RTP-looking packets, checks for ufrags nobody owns,
    // and datagrams too long for the SFU. 4,000 in all.
    let media = s.handle.media_addr();
    let mut seed = 0x2545_f491_u32;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    for port in 0..40u32 {
        let junk = UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..100u32 {
            let datagram = match i % 4 {
                0 => (0..(next() % 1200)).map(|_| next() as u8).collect(),
                1 => {
                    let mut rtp = vec![0x80, 0x60, 0, i as u8, 0, 0, 0, 1, 0, 0, 0, 7];
                    rtp.extend([0u8; 200]);
                    rtp
                }
                2 => forged_check(&format!("nobody{port}"), i),
                _ => vec![0xab; 3000],
            };
            let _ = junk.send_to(&datagram, media);
        }
        // Let the other sockets' traffic in between.
        let base = received_now(&ps, &[0, 1]);
        pump(&mut ps, 5, "a round of media", |ps| {
            all_see_all(ps, &[0, 1], &base, 1)
        })
        .await;
    }

    let base = received_now(&ps, &[0, 1]);
    pump(&mut ps, 10, "media after the junk", |ps| {
        all_see_all(ps, &[0, 1], &base, 20)
    })
    .await;
    let workers = s.handle.metrics.sfu_workers.get().unwrap();
    assert!(workers.iter().all(|w| w.panics.load(Relaxed) == 0));
    let read: u64 = workers.iter().map(|w| w.udp_in.load(Relaxed)).sum();
    assert!(read > 4000, "the junk was read: {read}");
    assert_eq!(
        s.handle.metrics.sfu_peers.load(Relaxed),
        4,
        "no connection was added or lost"
    );
}
