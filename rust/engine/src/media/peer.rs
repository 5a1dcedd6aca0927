//! Building the engine's WebRTC peer connections (`webrtc` 0.21).
//!
//! Codecs are limited to what the SFU forwards: Opus/48000/2 (PT 111, FEC)
//! and H.264 Constrained Baseline 42e01f, packetization mode 1 (PT 108, RTX
//! 109). The ICE check interval is lowered from 200 ms to 10 ms: against the
//! ICE-lite SFU the first check decides, so the default interval is pure
//! setup delay. Received retransmissions are unwrapped early (see [`super::rtx`]).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use rtc::interceptor::Registry;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{
    MediaEngine, MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_RTX,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind,
};
use webrtc::peer_connection::{PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler};

use super::keyframe::KeyframeRequestForwarder;
use super::rtx::{RtxUnwrapper, RTX_UNWRAP_SLOT};

/// Opus payload type (the SFU's).
pub(crate) const OPUS_PT: u8 = 111;
/// H.264 payload type (the SFU's).
pub(crate) const H264_PT: u8 = 108;
const RTX_PT: u8 = 109;
/// The fmtp line browsers and the SFU agree on.
pub(crate) const H264_FMTP: &str =
    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";

/// How often ICE sends connectivity checks (webrtc's default is 200 ms).
const ICE_CHECK_INTERVAL: Duration = Duration::from_millis(10);

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
    Ok(me)
}

/// The local address that routes to `server_host`: the one address to
/// bind and offer (loopback for a local server).
pub(crate) fn local_ip_towards(server_host: &str) -> IpAddr {
    let probe = || -> std::io::Result<IpAddr> {
        let target: SocketAddr = match server_host.parse::<IpAddr>() {
            Ok(ip) => SocketAddr::new(ip, 9),
            Err(_) => std::net::ToSocketAddrs::to_socket_addrs(&(server_host, 9))?
                .next()
                .ok_or_else(|| std::io::Error::other("no address"))?,
        };
        let bind: SocketAddr = if target.is_ipv4() {
            "0.0.0.0:0".parse().unwrap()
        } else {
            "[::]:0".parse().unwrap()
        };
        let s = UdpSocket::bind(bind)?;
        s.connect(target)?;
        Ok(s.local_addr()?.ip())
    };
    probe().unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// A new peer connection bound to one UDP port on `local_ip`.
pub(crate) async fn new_peer(
    local_ip: IpAddr,
    handler: Arc<dyn PeerConnectionEventHandler>,
) -> webrtc::error::Result<Arc<dyn PeerConnection>> {
    let mut media_engine = media_engine()?;
    let registry = register_default_interceptors(Registry::new(), &mut media_engine)?;
    let registry = registry
        .with(
            rtc::interceptor::Slot::from(RTX_UNWRAP_SLOT),
            RtxUnwrapper::default(),
        )
        .with(
            rtc::interceptor::Slot::from(14_000),
            KeyframeRequestForwarder::default(),
        );
    let settings = SettingEngineBuilder::new()
        .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(50))
        .with_include_loopback_candidate(local_ip.is_loopback())
        .build();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(media_engine)
        .with_setting_engine(settings)
        .with_interceptor_registry(registry)
        .with_handler(handler)
        .with_udp_addrs(vec![SocketAddr::new(local_ip, 0)])
        .build()
        .await?;
    Ok(Arc::new(pc))
}
