//! Building the engine's WebRTC peer connections (`webrtc` 0.21).
//!
//! Codecs are limited to what the SFU forwards: Opus/48000/2 (PT 111, FEC)
//! and H.264 Constrained Baseline 42e01f, packetization mode 1 (PT 108, RTX
//! 109). The ICE check interval is lowered from 200 ms to 10 ms: against the
//! ICE-lite SFU the first check decides, so the default interval is pure
//! setup delay. Received retransmissions are unwrapped early (see [`super::rtx`]).
//! Each connection can also reach the SFU over ICE-TCP when UDP is blocked
//! (see [`ice_tcp`]), and through TURN relays, over TLS too (see [`relays`]).

mod ice_tcp;
mod relays;
mod turn_bridge;

pub(crate) use relays::{RelaySource, Relays};

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use rtc::interceptor::{
    CongestionControlBuilder, NackGeneratorBuilder, NackResponderBuilder, ReceiverReportBuilder,
    Registry, SenderReportBuilder, Slot, TwccSenderBuilder,
};
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_nack, configure_simulcast_extension_headers, configure_twcc_receiver_only,
};
use rtc::peer_connection::configuration::media_engine::{
    MediaEngine, MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_RTX,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::{RTCConfigurationBuilder, RTCIceServer};
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use webrtc::peer_connection::{PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler};

use super::estimate::PublishedGcc;
use super::inbound::Inbound;
use super::keyframe::KeyframeRequestForwarder;
use super::remb::RembReader;
use super::rtcp_volume::{MediaStreamsOnly, OneReceiverReport};
use super::rtx::{RtxUnwrapper, RTX_UNWRAP_SLOT};

/// Opus payload type (the SFU's).
pub(crate) const OPUS_PT: u8 = 111;
/// H.264 payload type (the SFU's).
pub(crate) const H264_PT: u8 = 108;
const RTX_PT: u8 = 109;
/// The video-orientation (CVO) header extension: a frame's rotation travels
/// with its last packet.
pub(crate) const VIDEO_ORIENTATION_URI: &str = "urn:3gpp:video-orientation";
/// The fmtp line browsers and the SFU agree on.
pub(crate) const H264_FMTP: &str =
    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";

/// How often ICE sends connectivity checks (webrtc's default is 200 ms).
const ICE_CHECK_INTERVAL: Duration = Duration::from_millis(10);
/// How often one missing packet is asked for (libwebrtc's `kMaxNackRetries`).
/// `rtc`'s default, no limit, asks every 100 ms until 512 later packets
/// have arrived, long after the SFU's history has lost it.
const MAX_NACKS_PER_PACKET: u16 = 10;

pub(crate) fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

pub(crate) fn h264_codec() -> RTCRtpCodec {
    let fb = |typ: &str, parameter: &str| RTCPFeedback {
        typ: typ.to_owned(),
        parameter: parameter.to_owned(),
    };
    RTCRtpCodec {
        mime_type: MIME_TYPE_H264.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: H264_FMTP.to_owned(),
        rtcp_feedback: vec![fb("nack", ""), fb("nack", "pli"), fb("ccm", "fir")],
    }
}

fn media_engine() -> webrtc::error::Result<MediaEngine> {
    let mut me = MediaEngine::default();
    me.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: opus_codec(),
            payload_type: OPUS_PT,
        },
        RtpCodecKind::Audio,
    )?;
    me.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: h264_codec(),
            payload_type: H264_PT,
        },
        RtpCodecKind::Video,
    )?;
    let rtx = RTCRtpCodec {
        mime_type: MIME_TYPE_RTX.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: format!("apt={H264_PT}"),
        rtcp_feedback: vec![],
    };
    me.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: rtx,
            payload_type: RTX_PT,
        },
        RtpCodecKind::Video,
    )?;
    me.register_header_extension(
        RTCRtpHeaderExtensionCapability {
            uri: VIDEO_ORIENTATION_URI.to_owned(),
        },
        RtpCodecKind::Video,
        None,
    )?;
    Ok(me)
}

/// The ID `sdp` gives the video-orientation extension (the first video
/// m-line's; the SFU uses one ID for all of them).
pub(crate) fn video_orientation_id(sdp: &str) -> Option<u8> {
    sdp.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("a=extmap:")?;
        let (id, uri) = rest.split_once(' ')?;
        let id = id.split('/').next()?; // "13/sendonly"
        (uri.trim() == VIDEO_ORIENTATION_URI)
            .then(|| id.parse().ok())
            .flatten()
    })
}

/// The local address that routes to `server_host`: the one address to
/// bind and offer (loopback for a local server). A host name is resolved
/// without blocking the runtime (a slow DNS server must not stall the
/// engine's other tasks); the route itself is a local lookup.
pub(crate) async fn local_ip_towards(server_host: &str) -> IpAddr {
    let target = match server_host.parse::<IpAddr>() {
        Ok(ip) => Some(SocketAddr::new(ip, 9)),
        Err(_) => tokio::net::lookup_host((server_host, 9))
            .await
            .ok()
            .and_then(|mut addrs| addrs.next()),
    };
    target
        .and_then(|target| route_source(target).ok())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// The source address the kernel picks for `target` (a connected UDP socket
/// sends nothing).
fn route_source(target: SocketAddr) -> std::io::Result<IpAddr> {
    let bind: SocketAddr = if target.is_ipv4() {
        "0.0.0.0:0".parse().unwrap()
    } else {
        "[::]:0".parse().unwrap()
    };
    let s = UdpSocket::bind(bind)?;
    s.connect(target)?;
    Ok(s.local_addr()?.ip())
}

#[cfg(test)]
mod route_tests {
    use super::*;

    #[tokio::test]
    async fn the_route_to_a_local_server_is_loopback() {
        assert_eq!(
            local_ip_towards("127.0.0.1").await,
            IpAddr::from([127, 0, 0, 1])
        );
        assert!(local_ip_towards("localhost").await.is_loopback());
        assert_eq!(
            local_ip_towards("::1").await,
            "::1".parse::<IpAddr>().unwrap()
        );
        // Unresolvable: the unspecified address, never a hang or a panic.
        assert_eq!(
            local_ip_towards("no-such-host.invalid").await,
            IpAddr::from([0, 0, 0, 0])
        );
    }
}

/// `rtc`'s default interceptors (NACK, transport-wide feedback, RTCP
/// reports, the simulcast header extensions), with its NACK generator and
/// receiver reports kept to libwebrtc's volume ([`super::rtcp_volume`]).
fn receiver_interceptors(media_engine: &mut MediaEngine) -> webrtc::error::Result<Registry> {
    // Only for what it registers in the media engine (the nack and nack pli
    // feedback on video); its interceptors are replaced below.
    let _ = configure_nack(Registry::new(), media_engine);
    configure_simulcast_extension_headers(media_engine)?;
    let registry = Registry::new()
        .with(Slot::NackResponder, NackResponderBuilder::new().build())
        .with(
            Slot::NackGenerator,
            MediaStreamsOnly::new(
                NackGeneratorBuilder::new()
                    .with_max_nacks_per_packet(MAX_NACKS_PER_PACKET)
                    .build(),
            ),
        )
        .with(
            Slot::ReceiverReport,
            OneReceiverReport::new(MediaStreamsOnly::new(ReceiverReportBuilder::new().build())),
        )
        .with(Slot::SenderReport, SenderReportBuilder::new().build());
    configure_twcc_receiver_only(registry, media_engine)
}

/// A new peer connection bound to one UDP port on `local_ip`, which may
/// also reach the SFU through `relays` (see [`Relays::for_stack`]). A
/// publisher passes its bandwidth estimator: its connection then numbers
/// what it sends for transport-wide feedback and feeds the feedback to it.
pub(crate) async fn new_peer(
    local_ip: IpAddr,
    relays: Vec<RTCIceServer>,
    handler: Arc<dyn PeerConnectionEventHandler>,
    estimator: Option<PublishedGcc>,
) -> webrtc::error::Result<Arc<dyn PeerConnection>> {
    let mut media_engine = media_engine()?;
    let mut registry = receiver_interceptors(&mut media_engine)?;
    let mut remb = None;
    if let Some(estimator) = estimator {
        remb = Some(RembReader::new(estimator.shared()));
        // The defaults already negotiate transport-wide feedback (they
        // report what this endpoint receives); a publisher also numbers
        // what it sends and feeds the SFU's reports to its estimator. Not
        // `rtc`'s pacer: it sends at exactly the estimate from one queue,
        // so after a drop the audio waited seconds behind the video sent
        // before it. The video thread paces video instead (`super::pace`,
        // ADR 0008).
        registry = registry
            .with(
                Slot::CongestionControl,
                CongestionControlBuilder::new(estimator).build(),
            )
            .with(Slot::TwccSender, TwccSenderBuilder::new().build());
    }
    let mut registry = registry
        .with(
            rtc::interceptor::Slot::from(RTX_UNWRAP_SLOT),
            Inbound::new(RtxUnwrapper::default()),
        )
        .with(
            rtc::interceptor::Slot::from(14_000),
            Inbound::new(KeyframeRequestForwarder),
        );
    // The SFU's word on what the receiving side can take caps the estimate.
    if let Some(remb) = remb {
        registry = registry.with(rtc::interceptor::Slot::from(14_100), Inbound::new(remb));
    }
    let dialer = ice_tcp::TcpDialer::new(handler);
    let settings = SettingEngineBuilder::new()
        .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(50))
        .with_include_loopback_candidate(local_ip.is_loopback())
        .build();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(
            RTCConfigurationBuilder::new()
                .with_ice_servers(relays)
                .build(),
        )
        .with_media_engine(media_engine)
        .with_setting_engine(settings)
        .with_interceptor_registry(registry)
        .with_handler(dialer.clone())
        .with_udp_addrs(vec![SocketAddr::new(local_ip, 0)])
        // Gives ICE an active TCP candidate to pair with the SFU's passive
        // one (it also listens, which the ICE-lite SFU never uses).
        .with_tcp_addrs(vec![SocketAddr::new(local_ip, 0)])
        .build()
        .await?;
    let pc: Arc<dyn PeerConnection> = Arc::new(pc);
    dialer.attach(&pc);
    Ok(pc)
}

#[cfg(test)]
mod tests {
    use super::video_orientation_id;

    #[test]
    fn the_video_orientation_id_is_read_from_the_sdp() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 108\r\na=extmap:13/sendonly urn:3gpp:video-orientation\r\n";
        assert_eq!(video_orientation_id(sdp), Some(13));
        assert_eq!(
            video_orientation_id("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 108\r\n"),
            None
        );
        assert_eq!(
            video_orientation_id("a=extmap:x urn:3gpp:video-orientation\r\n"),
            None
        );
    }
}
