//! Calls through a TURN relay (ADR 0010): a real coturn on loopback, reached
//! over TLS or plain TCP, with the credential the server hands out at login.
//!
//! The network: every datagram the phones send towards the SFU is lost (the
//! netsim proxy in front of its UDP port drops them), the SFU's ICE-TCP is
//! off, and coturn relays from 127.0.0.2, whose datagrams the proxy lets
//! through. So the call connects only if the engines allocate on the relay
//! over a stream and send their media through it.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use common::coturn::{self, Coturn};
use common::media::{assert_tone, until, MediaPhone};
use common::*;
use hotline_engine::media::synthetic::{FrameCollector, PcmCollector};
use hotline_engine::{EngineConfig, Event};
use hotline_media::{Orientation, VideoEncoderParams, VideoResolution};
use hotline_netsim::{Impairment, UdpImpairmentProxy};

/// Frames each side decodes before a call counts as carrying video.
const FRAMES: u64 = 15;
/// Generous bound for a call to connect and decode video (a loaded machine).
const CALL_LIMIT: Duration = Duration::from_secs(60);

/// A phone that trusts `ca_pem` for relays, with synthetic media, watching `other`.
async fn phone(
    url: &str,
    user: &str,
    other: &str,
    tone_hz: f64,
    ca_pem: &str,
) -> (MediaPhone, Arc<FrameCollector>, Arc<PcmCollector>) {
    let config = EngineConfig {
        server_url: url.into(),
        sdk_app_id: APP,
        user_id: user.into(),
        user_sig: sig(user),
        trusted_ca_pem: Some(ca_pem.into()),
    };
    let params = VideoEncoderParams::preset(VideoResolution::R640x360, Orientation::Landscape);
    let media = MediaPhone::with_media(Phone::login_config(config, false).await, tone_hz, params);
    let (video, audio) = media.watch(other);
    (media, video, audio)
}

/// The network of these tests: every datagram to the SFU is lost except the
/// relay's, and ICE-TCP is off; the server hands out `turn_url`.
async fn relay_only_network(turn_url: String) -> (UdpImpairmentProxy, TestServer) {
    let sfu = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dark = Impairment {
        loss: 1.0,
        ..Default::default()
    };
    let proxy = UdpImpairmentProxy::start(sfu, dark).await.unwrap();
    let relay_side = SocketAddr::new(IpAddr::from(coturn::RELAY_IP), 0);
    proxy.set_client_impairment(relay_side, Some(Impairment::default()));
    let server = TestServer::start_with(|c| {
        c.media_listen = sfu;
        c.media_public_addr = Some(proxy.local_addr());
        c.media_tcp = false;
        c.turn_urls = vec![turn_url];
        c.turn_secret = coturn::SECRET.into();
    })
    .await;
    (proxy, server)
}

/// Alice calls Bob with `turn_url` as the only way through; media must flow
/// both ways over the relay.
async fn call_through_the_relay(coturn: &Coturn, turn_url: String) {
    let _ = env_logger::builder().is_test(true).try_init();
    let (proxy, server) = relay_only_network(turn_url).await;
    let url = server.url();
    let (alice, alice_video, _) = phone(&url, "alice", "bob", 440.0, &coturn.cert_pem).await;
    let (bob, bob_video, bob_audio) = phone(&url, "bob", "alice", 660.0, &coturn.cert_pem).await;
    alice.video_call_answered_by(&bob).await;
    // Bounded by the timeout below, which shows coturn's side on failure.
    let video = async {
        until("video both ways through the relay", 2 * CALL_LIMIT, || {
            alice_video.collected().frames >= FRAMES && bob_video.collected().frames >= FRAMES
        })
        .await
    };
    if tokio::time::timeout(CALL_LIMIT, video).await.is_err() {
        panic!(
            "no video within {CALL_LIMIT:?}; coturn's log:\n{}",
            coturn.log()
        );
    }
    until("a second of audio", CALL_LIMIT, || {
        bob_audio.samples().len() > 48_000 + 24_000
    })
    .await;
    assert_tone(&bob_audio.samples(), 440.0, "bob");

    // Everything that reached the SFU came from the relay.
    let (mut relayed, mut direct) = (0u64, 0u64);
    for client in proxy.clients() {
        let bytes = proxy.client_bytes(client);
        if client.ip() == IpAddr::from(coturn::RELAY_IP) {
            relayed += bytes.up + bytes.down;
        } else {
            direct += bytes.down;
            assert!(bytes.up > 0, "{client} is a phone that tried UDP");
        }
    }
    eprintln!("through the proxy: {relayed} bytes relayed, {direct} bytes back to phones directly");
    assert!(
        relayed > 100_000,
        "media went through the relay: {relayed} bytes"
    );
    assert_eq!(direct, 0, "the SFU never heard the phones directly");
    for p in [&alice, &bob] {
        assert_eq!(
            p.phone.events.count(|e| matches!(e, Event::Error { .. })),
            0,
            "{}: no error",
            p.phone.user
        );
    }
    alice.phone.engine.hangup().await.unwrap();
    bob.phone
        .wait("onCallEnd", |e| matches!(e, Event::CallEnd { .. }))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_without_udp_connects_through_a_turns_relay() {
    let coturn = Coturn::start();
    let url = format!("turns:127.0.0.1:{}?transport=tcp", coturn.tls.port());
    call_through_the_relay(&coturn, url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_without_udp_connects_through_a_turn_relay_over_tcp() {
    let coturn = Coturn::start();
    let url = format!("turn:127.0.0.1:{}?transport=tcp", coturn.tcp.port());
    call_through_the_relay(&coturn, url).await;
}

/// A relay whose certificate the phone does not trust carries nothing: the
/// engine refuses the TLS handshake rather than relay through an impostor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turns_relay_with_an_untrusted_certificate_is_not_used() {
    let _ = env_logger::builder().is_test(true).try_init();
    let coturn = Coturn::start();
    let (proxy, server) =
        relay_only_network(format!("turns:127.0.0.1:{}", coturn.tls.port())).await;
    // Another certificate than coturn's.
    let stranger = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()])
        .unwrap()
        .cert
        .pem();
    let url = server.url();
    let (alice, alice_video, _) = phone(&url, "alice", "bob", 440.0, &stranger).await;
    let (bob, bob_video, _) = phone(&url, "bob", "alice", 660.0, &stranger).await;
    alice.video_call_answered_by(&bob).await;
    // Long enough for a relayed call to show video many times over (it
    // takes well under a second here).
    tokio::time::sleep(Duration::from_secs(8)).await;
    let frames = alice_video.collected().frames + bob_video.collected().frames;
    assert_eq!(frames, 0, "no media without a trusted relay");
    let relayed: u64 = proxy
        .clients()
        .into_iter()
        .filter(|c| c.ip() == IpAddr::from(coturn::RELAY_IP))
        .map(|c| proxy.client_bytes(c).up)
        .sum();
    assert_eq!(relayed, 0, "nothing was relayed");
    alice.phone.engine.hangup().await.unwrap();
    bob.phone
        .wait("onCallEnd", |e| matches!(e, Event::CallEnd { .. }))
        .await;
}

/// `trusted_ca_pem` that holds no certificate is refused by `init`, saying
/// so, before anything connects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_ca_that_is_not_a_certificate_fails_init() {
    let server = TestServer::start().await;
    let engine = hotline_engine::CallEngine::new();
    let err = engine
        .init(EngineConfig {
            server_url: server.url(),
            sdk_app_id: APP,
            user_id: "alice".into(),
            user_sig: sig("alice"),
            trusted_ca_pem: Some(
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into(),
            ),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, hotline_engine::ErrorCode::ParamInvalid);
    assert!(err.message.contains("trusted_ca_pem"), "{}", err.message);
}
