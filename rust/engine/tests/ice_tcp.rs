//! Calls on networks that block UDP: the engines reach the SFU over ICE-TCP
//! (ADR 0007). Two ways to block UDP, both on this machine only:
//! - the netsim proxy in front of the SFU's UDP port loses every datagram,
//!   while TCP reaches the SFU's ICE-TCP port (always runs);
//! - a network namespace made for the test, whose routing rules blackhole
//!   UDP to unprivileged ports (needs `unshare` and iproute2's `ip`;
//!   skipped, saying so, without).
//!
//! And where UDP works, the call stays on UDP.

mod common;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::media::{assert_tone, until};
use common::*;
use hotline_engine::media::synthetic::{FrameCollector, PcmCollector};
use hotline_engine::{CallParams, Event, MediaType};
use hotline_server::metrics::Metrics;

/// Frames each side decodes before a call counts as carrying video.
const FRAMES: u64 = 15;
/// Generous bound for a call to connect and decode video (a loaded machine).
const CALL_LIMIT: Duration = Duration::from_secs(60);

/// A phone with a synthetic 640x360 camera and a tone, and what it receives
/// from the other phone.
struct MediaPhone {
    phone: Phone,
    video: Arc<FrameCollector>,
    audio: Arc<PcmCollector>,
}

impl MediaPhone {
    async fn login(url: &str, user: &str, other: &str, tone_hz: f64) -> MediaPhone {
        let media = common::media::MediaPhone::login(url, user, tone_hz).await;
        let (video, audio) = media.watch(other);
        MediaPhone {
            phone: media.phone,
            video,
            audio,
        }
    }
}

/// What a call showed.
struct Figures {
    /// From the accept to the first decoded frame on the slower side.
    first_frame: Duration,
    /// From the accept to [`FRAMES`] frames on both sides.
    video: Duration,
}

/// Alice calls Bob on `url`; both decode video and Bob hears Alice's tone.
async fn video_call(url: &str) -> (MediaPhone, MediaPhone, Figures) {
    let alice = MediaPhone::login(url, "alice", "bob", 440.0).await;
    let bob = MediaPhone::login(url, "bob", "alice", 660.0).await;
    alice
        .phone
        .engine
        .calls(vec!["bob".into()], MediaType::Video, CallParams::default())
        .await
        .unwrap();
    bob.phone
        .wait("onCallReceived", |e| {
            matches!(e, Event::CallReceived { .. })
        })
        .await;
    bob.phone.engine.accept().await.unwrap();
    let accepted = Instant::now();
    for p in [&alice, &bob] {
        p.phone
            .wait("onCallBegin", |e| matches!(e, Event::CallBegin { .. }))
            .await;
    }
    until("a frame both ways", CALL_LIMIT, || {
        alice.video.collected().frames >= 1 && bob.video.collected().frames >= 1
    })
    .await;
    let first_frame = accepted.elapsed();
    until("video both ways", CALL_LIMIT, || {
        alice.video.collected().frames >= FRAMES && bob.video.collected().frames >= FRAMES
    })
    .await;
    let video = accepted.elapsed();
    until("a second of audio", CALL_LIMIT, || {
        bob.audio.samples().len() > 48_000 + 24_000
    })
    .await;
    assert_tone(&bob.audio.samples(), 440.0, "bob");
    for (who, p) in [("alice", &alice), ("bob", &bob)] {
        assert_eq!(
            p.phone.events.count(|e| matches!(e, Event::Error { .. })),
            0,
            "{who}: no error"
        );
    }
    (alice, bob, Figures { first_frame, video })
}

/// The SFU's media went over ICE-TCP: both engines' publisher and subscriber
/// connections have one, and the forwarded RTP arrived on them.
fn assert_media_over_tcp(m: &Metrics) {
    let conns = m.sfu_tcp_connections.load(Relaxed);
    let tcp_in = m.sfu_tcp_packets_in_total.load(Relaxed);
    let tcp_out = m.sfu_tcp_packets_out_total.load(Relaxed);
    let rtp_in = m.sfu_rtp_in_total();
    let forwarded = m.sfu_rtp_forwarded_total();
    eprintln!(
        "ICE-TCP: {conns} connections, {tcp_in} packets in, {tcp_out} out; RTP {rtp_in} in, {forwarded} forwarded"
    );
    assert!(
        conns >= 4,
        "{conns} TCP connections, want one per media connection"
    );
    assert!(
        rtp_in > 100 && forwarded > 100,
        "RTP {rtp_in} in, {forwarded} forwarded"
    );
    // In: every RTP packet is counted as a frame before it is decrypted.
    // Out: a forwarded packet may still wait in a pacer when this is read.
    assert!(
        tcp_in >= rtp_in && tcp_out * 10 >= forwarded * 9,
        "RTP came and went over TCP: {tcp_in} in for {rtp_in}, {tcp_out} out for {forwarded}"
    );
}

async fn hang_up(alice: MediaPhone, bob: MediaPhone) {
    alice.phone.engine.hangup().await.unwrap();
    bob.phone
        .wait("onCallEnd", |e| matches!(e, Event::CallEnd { .. }))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_udp_is_lost_connects_over_tcp_through_the_proxy() {
    use hotline_netsim::{Impairment, UdpImpairmentProxy};
    let _ = env_logger::builder().is_test(true).try_init();
    // Every datagram between the engines and the SFU goes through the
    // proxy and is lost; the SFU's TCP candidate (the proxy's IP, the SFU's
    // TCP port) reaches the SFU directly.
    let sfu = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dark = Impairment {
        loss: 1.0,
        ..Default::default()
    };
    let proxy = UdpImpairmentProxy::start(sfu, dark).await.unwrap();
    let server = TestServer::start_with(|c| {
        c.media_listen = sfu;
        c.media_public_addr = Some(proxy.local_addr());
    })
    .await;
    let (alice, bob, f) = video_call(&server.url()).await;
    eprintln!(
        "over ICE-TCP (proxy): first frame both ways {:?} after the accept, {FRAMES} frames {:?}",
        f.first_frame, f.video
    );
    let metrics = server.handle.as_ref().unwrap().metrics.clone();
    assert_media_over_tcp(&metrics);
    let stats = proxy.stats();
    assert_eq!(stats.forwarded_up, 0, "no UDP got through: {stats:?}");
    assert!(stats.dropped_up > 0, "the engines tried UDP: {stats:?}");
    hang_up(alice, bob).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn where_udp_works_the_call_stays_on_udp() {
    let _ = env_logger::builder().is_test(true).try_init();
    let server = TestServer::start().await;
    let (alice, bob, _) = video_call(&server.url()).await;
    let m = server.handle.as_ref().unwrap().metrics.clone();
    let rtp = m.sfu_rtp_in_total();
    let tcp = m.sfu_tcp_packets_in_total.load(Relaxed);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rtp = m.sfu_rtp_in_total() - rtp;
    let tcp = m.sfu_tcp_packets_in_total.load(Relaxed) - tcp;
    // Usually no TCP connection at all (the engine dials only if UDP has not
    // connected within its grace); on a loaded machine one may open, idle.
    let conns = m.sfu_tcp_connections.load(Relaxed);
    eprintln!("in 2 s of media: {rtp} RTP packets in, {tcp} over TCP ({conns} TCP connections)");
    assert!(rtp > 100, "media flows: {rtp} RTP packets in 2 s");
    assert!(tcp < 10, "media stays on UDP: {tcp} TCP packets in 2 s");
    hang_up(alice, bob).await;
}

/// Set to run the call inside the namespace [`a_call_in_a_network_namespace_without_udp_connects_over_tcp`] makes.
const IN_NAMESPACE: &str = "HOTLINE_TEST_UDP_BLOCKED_NETNS";
const INNER: &str = "call_inside_the_namespace_without_udp";
/// Inside the new namespace: loopback up, a multicast route (WebRTC's mDNS
/// socket needs one, as on any real machine), and UDP to every unprivileged
/// port routed to a blackhole, ahead of the local table (whose rule moves
/// behind it). Port 9 stays routable: the engine learns its own address by
/// routing a UDP socket there, as a firewall that drops packets (rather
/// than the routing table) would leave it. iproute2 6.1 refuses 65535 in a
/// range; nothing here uses that port.
const SETUP: &str = "ip link set lo up && ip route add 224.0.0.0/4 dev lo \
    && ip rule add pref 10 ipproto udp dport 1024-65534 blackhole \
    && ip rule del pref 0 && ip rule add pref 100 lookup local";
/// The whole namespace run, however slow the machine.
const NAMESPACE_LIMIT: Duration = Duration::from_secs(240);

#[test]
fn a_call_in_a_network_namespace_without_udp_connects_over_tcp() {
    use std::process::{Command, Stdio};
    // As root a plain network namespace; otherwise one in a user namespace.
    let variants: [&[&str]; 2] = [&["--net"], &["--user", "--map-root-user", "--net"]];
    let Some(unshare) = variants.into_iter().find(|args| {
        Command::new("unshare")
            .args(*args)
            .args(["sh", "-c", SETUP])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }) else {
        eprintln!(
            "SKIPPED: cannot make a network namespace without UDP here (needs `unshare` from \
             util-linux, `ip` from iproute2, and root or unprivileged user namespaces); the \
             proxy variant of this test still ran"
        );
        return;
    };
    let exe = std::env::current_exe().unwrap();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new("unshare")
        .args(unshare)
        .args(["sh", "-c", &format!("{SETUP} && exec \"$0\" \"$@\"")])
        .arg(&exe)
        .args([INNER, "--exact", "--ignored", "--nocapture"])
        .env(IN_NAMESPACE, "1")
        .stdout(log.reopen().unwrap())
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > NAMESPACE_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = std::fs::read_to_string(log.path()).unwrap_or_default();
    eprintln!("--- the call in the namespace ---\n{out}");
    let status = status.unwrap_or_else(|| panic!("not done in {NAMESPACE_LIMIT:?}"));
    assert!(
        status.success(),
        "the call in the namespace failed: {status}"
    );
    assert!(
        out.contains("1 passed"),
        "the inner test ran (and was not filtered out)"
    );
}

/// UDP sent on loopback arrives nowhere (or cannot even be sent).
fn udp_is_blocked() -> bool {
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let _ = tx.send_to(b"ping", rx.local_addr().unwrap());
    rx.recv_from(&mut [0u8; 16]).is_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs inside the namespace a_call_in_a_network_namespace_without_udp_connects_over_tcp makes"]
async fn call_inside_the_namespace_without_udp() {
    if std::env::var_os(IN_NAMESPACE).is_none() {
        eprintln!("not in the test's namespace: nothing to do");
        return;
    }
    let _ = env_logger::builder().is_test(true).try_init();
    assert!(udp_is_blocked(), "the namespace lets UDP through");
    let server = TestServer::start().await;
    let (alice, bob, f) = video_call(&server.url()).await;
    eprintln!(
        "over ICE-TCP (namespace): first frame both ways {:?} after the accept, {FRAMES} frames {:?}",
        f.first_frame, f.video
    );
    assert_media_over_tcp(&server.handle.as_ref().unwrap().metrics);
    hang_up(alice, bob).await;
}
