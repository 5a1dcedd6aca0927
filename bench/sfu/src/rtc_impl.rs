//! rtc 0.21 (the sans-IO core under webrtc 0.21): peers and a one-thread,
//! one-socket, ICE-lite SFU.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rtc::dtls::extension::extension_use_srtp::SrtpProtectionProfile;
use rtc::interceptor::Registry;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{MediaEngine, MIME_TYPE_H264};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::event::RTCPeerConnectionEvent;
use rtc::peer_connection::message::{RTCMessage, TaggedRTCMessage};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::transport::{CandidateConfig, CandidateHostConfig, RTCIceCandidate};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpSenderId, RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};

use crate::common::{wait_readable, Ctl, Out, Peer, PhaseTracker, Signal, SfuResult, PAYLOAD_LEN};

fn h264() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_H264.to_owned(),
        clock_rate: 90000,
        channels: 0,
        sdp_fmtp_line: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f".to_owned(),
        rtcp_feedback: vec![],
    }
}

fn build_pc(lite: bool, local: SocketAddr) -> RTCPeerConnection {
    let mut me = MediaEngine::default();
    me.register_codec(
        RTCRtpCodecParameters { rtp_codec: h264(), payload_type: 102, ..Default::default() },
        RtpCodecKind::Video,
    )
    .unwrap();
    // NACK (generator + responder), RTCP sender/receiver reports, TWCC receiver.
    let registry = register_default_interceptors(Registry::new(), &mut me).unwrap();
    let se = SettingEngineBuilder::new()
        .with_lite(lite)
        // The default 200 ms check interval dominates loopback setup (design card).
        .with_ice_connection_attempts(Some(Duration::from_millis(5)), None)
        // Same preference order as str0m, so both run AES-256-GCM.
        .with_srtp_protection_profiles(vec![
            SrtpProtectionProfile::Srtp_Aead_Aes_256_Gcm,
            SrtpProtectionProfile::Srtp_Aead_Aes_128_Gcm,
            SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_80,
        ])
        .build();
    let mut pc = RTCPeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_setting_engine(se)
        .with_media_engine(me)
        .with_interceptor_registry(registry)
        .build(Instant::now())
        .unwrap();
    let cand = CandidateHostConfig {
        base_config: CandidateConfig {
            network: "udp".to_owned(),
            address: local.ip().to_string(),
            port: local.port(),
            component: 1,
            ..Default::default()
        },
        ..Default::default()
    }
    .new_candidate_host()
    .unwrap();
    pc.add_local_candidate(RTCIceCandidate::from(&cand).to_json().unwrap()).unwrap();
    pc
}

fn video_track(ssrc: u32) -> MediaStreamTrack {
    MediaStreamTrack::new(
        "s".to_owned(),
        format!("v{ssrc}"),
        "v".to_owned(),
        RtpCodecKind::Video,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(ssrc), ..Default::default() },
            codec: h264(),
            ..Default::default()
        }],
    )
}

fn tagged(now: Instant, local: SocketAddr, peer: SocketAddr, data: &[u8]) -> TaggedBytesMut {
    TaggedBytesMut {
        now,
        transport: TransportContext {
            local_addr: local,
            peer_addr: peer,
            ecn: None,
            transport_protocol: TransportProtocol::UDP,
        },
        message: BytesMut::from(data),
    }
}

fn first_pt(pc: &mut RTCPeerConnection, id: RTCRtpSenderId) -> Option<u8> {
    let mut s = pc.rtp_sender(id)?;
    s.get_parameters().rtp_parameters.codecs.first().map(|c| c.payload_type)
}

pub struct RtcPeer {
    pc: RTCPeerConnection,
    sock: UdpSocket,
    local: SocketAddr,
    sender: Option<RTCRtpSenderId>,
    ssrc: u32,
    pt: Option<u8>,
    connected: bool,
    verified: u64,
    payload: Bytes,
}

impl RtcPeer {
    pub fn new(publisher: bool) -> Self {
        let sock = crate::common::bind_loopback();
        let local = sock.local_addr().unwrap();
        let mut pc = build_pc(false, local);
        let ssrc = rand_u32();
        let sender = if publisher {
            Some(pc.add_track(video_track(ssrc)).unwrap())
        } else {
            pc.add_transceiver_from_kind(
                RtpCodecKind::Video,
                Some(RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Recvonly,
                    streams: vec![],
                    send_encodings: vec![],
                }),
            )
            .unwrap();
            None
        };
        let mut payload = vec![0u8; PAYLOAD_LEN];
        payload[0] = 0x41;
        RtcPeer {
            pc,
            sock,
            local,
            sender,
            ssrc,
            pt: None,
            connected: false,
            verified: 0,
            payload: Bytes::from(payload),
        }
    }
}

fn rand_u32() -> u32 {
    // No extra dependency: mix the clock and a counter.
    use std::sync::atomic::{AtomicU32, Ordering};
    static C: AtomicU32 = AtomicU32::new(1);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let c = C.fetch_add(1, Ordering::Relaxed);
    (t ^ c.wrapping_mul(0x9E37_79B9)).max(1)
}

impl Peer for RtcPeer {
    fn socket(&self) -> &UdpSocket {
        &self.sock
    }

    fn offer(&mut self) -> String {
        let offer = self.pc.create_offer(None).unwrap();
        self.pc.set_local_description(Instant::now(), offer.clone()).unwrap();
        offer.sdp
    }

    fn accept_answer(&mut self, sdp: &str) {
        let answer = RTCSessionDescription::answer(sdp.to_owned()).unwrap();
        self.pc.set_remote_description(Instant::now(), answer).unwrap();
    }

    fn input(&mut self, now: Instant, src: SocketAddr, data: &[u8]) {
        let _ = self.pc.handle_read(tagged(now, self.local, src, data));
    }

    fn poll(&mut self, now: Instant) -> Instant {
        if self.pc.poll_timeout().is_some_and(|t| t <= now) {
            let _ = self.pc.handle_timeout(now);
        }
        for _ in 0..4 {
            while let Some(m) = self.pc.poll_write() {
                let _ = self.sock.send_to(&m.message, m.transport.peer_addr);
            }
            let mut more = false;
            while let Some(e) = self.pc.poll_event() {
                more = true;
                if let RTCPeerConnectionEvent::OnConnectionStateChangeEvent(RTCPeerConnectionState::Connected) = e {
                    self.connected = true;
                }
            }
            while let Some(TaggedRTCMessage { message, .. }) = self.pc.poll_read() {
                more = true;
                if let RTCMessage::RtpPacket(_, _) = message {
                    self.verified += 1;
                }
            }
            if !more {
                break;
            }
        }
        self.pc.poll_timeout().unwrap_or(now + Duration::from_millis(100))
    }

    fn connected(&self) -> bool {
        self.connected
    }

    fn verified(&self) -> u64 {
        self.verified
    }

    fn send_rtp(&mut self, now: Instant, seq: u64, ts: u32, marker: bool) {
        let id = self.sender.expect("publisher");
        if self.pt.is_none() {
            self.pt = first_pt(&mut self.pc, id);
        }
        let pkt = rtc::rtp::packet::Packet {
            header: rtc::rtp::header::Header {
                version: 2,
                marker,
                payload_type: self.pt.unwrap_or(102),
                sequence_number: seq as u16,
                timestamp: ts,
                ssrc: self.ssrc,
                ..Default::default()
            },
            payload: self.payload.clone(),
        };
        if let Some(mut s) = self.pc.rtp_sender(id) {
            let _ = s.write_rtp(now, pkt);
        }
    }
}

struct Client {
    pc: RTCPeerConnection,
    publisher: bool,
    sender: Option<RTCRtpSenderId>,
    ssrc: u32,
    pt: Option<u8>,
    next: Instant,
    alive: bool,
}

/// Sends a session's queued datagrams and consumes its events and messages;
/// RTP read from the publisher is collected for forwarding.
fn drain(c: &mut Client, out: &mut Out, rtp: &mut Vec<rtc::rtp::packet::Packet>, inp: &mut u64) -> Instant {
    let now = Instant::now();
    for _ in 0..4 {
        let mut more = false;
        while let Some(TaggedRTCMessage { message, .. }) = c.pc.poll_read() {
            more = true;
            if let RTCMessage::RtpPacket(_, p) = message {
                if c.publisher {
                    *inp += 1;
                    rtp.push(p);
                }
            }
        }
        while let Some(e) = c.pc.poll_event() {
            more = true;
            if let RTCPeerConnectionEvent::OnConnectionStateChangeEvent(RTCPeerConnectionState::Failed) = e {
                c.alive = false;
            }
        }
        while let Some(m) = c.pc.poll_write() {
            out.send(m.transport.peer_addr, &m.message);
        }
        if !more {
            break;
        }
    }
    c.pc.poll_timeout().unwrap_or(now + Duration::from_millis(100))
}

pub fn run_sfu(sock: UdpSocket, rx: Receiver<Signal>, ctl: Arc<Ctl>, batch: bool) -> SfuResult {
    let mut out = Out::new(&sock, batch);
    let local = sock.local_addr().unwrap();
    let fd = sock.as_raw_fd();
    let mut clients: Vec<Client> = vec![];
    // rtc has no `accepts`: a real SFU would route a new address by the STUN
    // USERNAME; here the signaling tells us each peer's address.
    let mut by_addr: HashMap<SocketAddr, usize> = HashMap::new();
    let mut buf = vec![0u8; 2048];
    let mut rtp: Vec<rtc::rtp::packet::Packet> = Vec::with_capacity(64);
    let (mut fwd, mut inp) = (0u64, 0u64);
    let mut phase = PhaseTracker::new();
    let hard_stop = Instant::now() + Duration::from_secs(120);

    while Instant::now() < hard_stop {
        if !phase.check(&ctl, fwd, inp) {
            break;
        }
        while let Ok(sig) = rx.try_recv() {
            let now = Instant::now();
            let mut pc = build_pc(true, local);
            let offer = match RTCSessionDescription::offer(sig.offer_sdp.clone()) {
                Ok(o) => o,
                Err(e) => {
                    phase.res.error = Some(format!("bad offer: {e}"));
                    return phase.res;
                }
            };
            if let Err(e) = pc.set_remote_description(now, offer) {
                phase.res.error = Some(format!("set_remote_description: {e}"));
                return phase.res;
            }
            let ssrc = rand_u32();
            let sender = if sig.publisher { None } else { Some(pc.add_track(video_track(ssrc)).unwrap()) };
            let answer = match pc.create_answer(None) {
                Ok(a) => a,
                Err(e) => {
                    phase.res.error = Some(format!("create_answer: {e}"));
                    return phase.res;
                }
            };
            pc.set_local_description(now, answer.clone()).unwrap();
            let _ = sig.reply.send(answer.sdp);
            by_addr.insert(sig.peer_addr, clients.len());
            clients.push(Client { pc, publisher: sig.publisher, sender, ssrc, pt: None, next: now, alive: true });
        }

        let earliest = clients.iter().map(|c| c.next).min();
        let now = Instant::now();
        let wait = earliest.map(|t| t.saturating_duration_since(now)).unwrap_or(Duration::from_millis(5));
        if !wait.is_zero() {
            wait_readable(&[fd], wait, phase.wait_cap());
        }

        let mut touched = false;
        for _ in 0..64 {
            let (n, src) = match sock.recv_from(&mut buf) {
                Ok(v) => v,
                Err(_) => break,
            };
            touched = true;
            let now = Instant::now();
            let Some(&idx) = by_addr.get(&src) else { continue };
            let c = &mut clients[idx];
            if c.pc.handle_read(tagged(now, local, src, &buf[..n])).is_err() {
                continue;
            }
            if c.publisher {
                c.next = drain(c, &mut out, &mut rtp, &mut inp);
                for p in rtp.drain(..) {
                    for s in clients.iter_mut().filter(|s| !s.publisher && s.alive) {
                        let Some(id) = s.sender else { continue };
                        if s.pt.is_none() {
                            s.pt = first_pt(&mut s.pc, id);
                        }
                        let Some(pt) = s.pt else { continue };
                        let mut q = p.clone();
                        q.header.ssrc = s.ssrc;
                        q.header.payload_type = pt;
                        // Extension ids are per leg; a real SFU rewrites them.
                        q.header.extension = false;
                        q.header.extensions.clear();
                        if let Some(mut tx) = s.pc.rtp_sender(id) {
                            if tx.write_rtp(now, q).is_ok() {
                                fwd += 1;
                            }
                        }
                    }
                }
            }
        }

        let now = Instant::now();
        for c in clients.iter_mut().filter(|c| c.alive) {
            if c.next <= now {
                let _ = c.pc.handle_timeout(now);
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
