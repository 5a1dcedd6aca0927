//! Simulcast in a group call: real engines and the real SFU, with a netsim
//! proxy that caps one subscriber's link. The 720p publisher sends three
//! layers; the SFU gives each subscriber the largest its estimate carries,
//! and the small one to whoever asks for it. Time limits are generous:
//! they must hold on a loaded machine too.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::media::*;
use hotline_engine::media::stats::CallStats;
use hotline_engine::media::synthetic::{FrameCollector, PcmCollector};
use hotline_engine::{CallParams, Event, MediaType, VideoStreamType};
use hotline_media::synthetic::tone_window_correlations;
use hotline_media::{Orientation, VideoEncoderParams, VideoResolution};
use hotline_netsim::{Impairment, UdpImpairmentProxy};

const FULL: (u32, u32) = (1280, 720);
const SMALL: (u32, u32) = (320, 180);

fn p720() -> VideoEncoderParams {
    VideoEncoderParams::preset(VideoResolution::R1280x720, Orientation::Landscape)
}

/// A view of alice's video: the size of every frame decoded.
struct View {
    viewer: &'static str,
    sizes: Arc<Mutex<Vec<(u32, u32)>>>,
}

impl View {
    fn new(viewer: &'static str, phone: &MediaPhone) -> View {
        let sizes = Arc::new(Mutex::new(vec![]));
        let record = sizes.clone();
        let video = FrameCollector::new(None).with_callback(move |f| {
            record.lock().unwrap().push((f.width(), f.height()));
        });
        phone
            .phone
            .engine
            .start_remote_view("alice", Arc::new(video));
        View { viewer, sizes }
    }

    fn frames(&self) -> usize {
        self.sizes.lock().unwrap().len()
    }

    fn size(&self) -> (u32, u32) {
        self.sizes
            .lock()
            .unwrap()
            .last()
            .copied()
            .unwrap_or_default()
    }

    /// Whether the last `n` frames were all at `size`.
    fn settled_at(&self, size: (u32, u32), n: usize) -> bool {
        let sizes = self.sizes.lock().unwrap();
        sizes.len() >= n && sizes[sizes.len() - n..].iter().all(|&s| s == size)
    }

    /// Of the next `n` frames (they must come within 15 s), the share
    /// decoded at `size`.
    async fn share_at(&self, size: (u32, u32), n: usize) -> f64 {
        self.share(n, &format!("at {size:?}"), |s| s == size).await
    }

    /// Of the next `n` frames, the share decoded larger than the small layer.
    async fn share_above_small(&self, n: usize) -> f64 {
        self.share(n, "above the small layer", |s| s.1 > SMALL.1)
            .await
    }

    /// The best share above the small layer among up to `windows`
    /// successive windows of `n` frames, stopping at the first of 90 %.
    async fn best_share_above_small(&self, n: usize, windows: usize) -> f64 {
        let mut best = 0.0_f64;
        for _ in 0..windows {
            best = best.max(self.share_above_small(n).await);
            if best >= 0.9 {
                break;
            }
        }
        best
    }

    async fn share(&self, n: usize, what: &str, pred: impl Fn((u32, u32)) -> bool) -> f64 {
        let from = self.frames();
        until(
            &format!("{n} more frames of alice at {}", self.viewer),
            Duration::from_secs(15),
            || self.frames() >= from + n,
        )
        .await;
        let sizes = self.sizes.lock().unwrap();
        let window = &sizes[from..from + n];
        let share = window.iter().filter(|&&s| pred(s)).count() as f64 / n as f64;
        let full = window.iter().filter(|&&s| s == FULL).count();
        eprintln!(
            "{} sees alice {what} in {:.0} % of {n} frames ({full} at 720p)",
            self.viewer,
            share * 100.0
        );
        share
    }
}

/// Wait until the proxy has seen `n` clients; the ones seen so far.
async fn clients(proxy: &UdpImpairmentProxy, n: usize) -> Vec<SocketAddr> {
    until(
        &format!("{n} media connections at the proxy"),
        Duration::from_secs(30),
        || proxy.clients().len() >= n,
    )
    .await;
    proxy.clients()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscriber_gets_the_small_layer_while_the_others_keep_720p() {
    let (server, proxy) = proxied_server(None).await;
    let url = server.url();
    // Only alice sends video; the others' cameras stay closed, so the
    // machine runs one set of encoders.
    let alice = MediaPhone::login_with(&url, "alice", 440.0, p720()).await;
    let mut subscribers = vec![];
    for (name, hz) in [("bob", 550.0), ("carol", 660.0), ("dave", 770.0)] {
        let p = MediaPhone::login_with(&url, name, hz, p720()).await;
        p.phone.engine.close_camera();
        // Listeners: only alice speaks, so dave's 300 kbps carries her
        // audio and a video layer (three speakers' audio alone would take
        // more than half of it).
        p.phone.engine.close_microphone();
        subscribers.push(p);
    }
    let views: Vec<View> = subscribers
        .iter()
        .zip(["bob", "carol", "dave"])
        .map(|(p, viewer)| View::new(viewer, p))
        .collect();
    let [bob, carol, dave] = &subscribers[..] else {
        unreachable!()
    };
    let dave_hears = Arc::new(PcmCollector::new(180));
    dave.phone
        .engine
        .start_remote_audio("alice", dave_hears.clone());
    let [bob_sees, carol_sees, dave_sees] = &views[..] else {
        unreachable!()
    };

    let t0 = std::time::Instant::now();
    let step = |what: &str| eprintln!("{:>6} ms  {what}", t0.elapsed().as_millis());
    alice
        .phone
        .engine
        .calls(
            vec!["bob".into(), "carol".into(), "dave".into()],
            MediaType::Video,
            CallParams::default(),
        )
        .await
        .unwrap();
    for p in &subscribers {
        p.phone
            .wait("onCallReceived", |e| {
                matches!(e, Event::CallReceived { .. })
            })
            .await;
    }
    // Dave answers last, so the proxy's newest two clients are his
    // (a publisher and a subscriber connection per phone).
    for p in [bob, carol] {
        p.phone.engine.accept().await.unwrap();
    }
    let before_dave = clients(&proxy, 6).await;
    dave.phone.engine.accept().await.unwrap();
    let everyone = clients(&proxy, 8).await;
    let cap = Impairment {
        bandwidth_kbps: 300,
        queue_ms: 300,
        ..Default::default()
    };
    for addr in everyone.iter().filter(|a| !before_dave.contains(a)) {
        proxy.set_client_impairment(*addr, Some(cap.clone()));
    }

    // Alice sends all three layers (her own link is fast).
    until(
        "alice to send three layers",
        Duration::from_secs(30),
        || bob_sees.frames() >= 15,
    )
    .await;
    let s = call_stats(&alice).await;
    assert_eq!(s.send_layers, 3, "alice's stats: {s:#?}");
    assert_eq!((s.send_width, s.send_height), FULL);
    step("alice sends three layers");

    // Dave's 300 kbps gets the 180p layer; bob and carol keep 720p.
    until(
        "dave to settle on the small layer",
        Duration::from_secs(30),
        || dave_sees.settled_at(SMALL, 15),
    )
    .await;
    step("dave gets the small layer");
    until("bob and carol to see 720p", Duration::from_secs(30), || {
        bob_sees.size() == FULL && carol_sees.size() == FULL
    })
    .await;
    step("bob and carol get 720p");
    // Over the next two seconds' frames dave stays small, and his link
    // pulls nobody else down to it. Bob's and carol's estimates wobble on a
    // busy machine, and a deep dip can hold one of them low for some
    // seconds (ADR 0009 has the figures; in one CI run carol spent a
    // window at 180p), so each gets up to five windows to show 90 % above
    // the small layer. Were dave's link holding them down, none would.
    let (dave_small, bob_above, carol_above) = tokio::join!(
        dave_sees.share_at(SMALL, 30),
        bob_sees.best_share_above_small(30, 5),
        carol_sees.best_share_above_small(30, 5),
    );
    assert!(dave_small >= 0.9, "dave: {dave_small}");
    assert!(bob_above >= 0.9, "bob: {bob_above}");
    assert!(carol_above >= 0.9, "carol: {carol_above}");
    // Behind his cap alice's audio still reaches dave. (How clear it is
    // varies from run to run: the docs and ADR 0009 give the figures.)
    let heard = dave_hears.samples();
    let best = tone_window_correlations(
        &heard[heard.len().saturating_sub(192_000)..],
        alice.tone_hz,
        4_800,
        5,
    )
    .into_iter()
    .fold(f64::MIN, f64::max);
    eprintln!("dave hears alice's tone at a correlation of {best:.2} at best");
    let packets = |s: &CallStats| {
        s.users
            .iter()
            .find(|u| u.user_id == "alice")
            .map_or(0, |u| u.audio_packets_received)
    };
    let before = packets(&call_stats(dave).await);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = packets(&call_stats(dave).await);
    assert!(
        after >= before + 50,
        "dave got {} of alice's audio packets in 2 s",
        after - before
    );
    let d = call_stats(dave).await;
    let of_alice = d.users.iter().find(|u| u.user_id == "alice").unwrap();
    assert_eq!(
        (of_alice.video_width, of_alice.video_height),
        SMALL,
        "dave's stats: {d:#?}"
    );

    // Bob asks for alice's small stream (a thumbnail); carol is unaffected.
    bob.phone
        .engine
        .set_remote_video_stream_type("alice", VideoStreamType::Small);
    until(
        "bob to get the small stream",
        Duration::from_secs(20),
        || bob_sees.size() == SMALL,
    )
    .await;
    step("bob gets the small stream he asked for");
    let (bob_small, carol_above) = tokio::join!(
        bob_sees.share_at(SMALL, 30),
        carol_sees.share_above_small(30)
    );
    assert!(bob_small >= 0.9, "bob: {bob_small}");
    assert!(carol_above >= 0.9, "carol: {carol_above}");
    // And back to the big one.
    bob.phone
        .engine
        .set_remote_video_stream_type("alice", VideoStreamType::Big);
    until(
        "bob to get the big stream back",
        Duration::from_secs(20),
        || bob_sees.size().1 > SMALL.1,
    )
    .await;
    step("bob gets the big stream back");
    let (bob_above, dave_small) = tokio::join!(
        bob_sees.share_above_small(30),
        dave_sees.share_at(SMALL, 30)
    );
    assert!(bob_above >= 0.9, "bob: {bob_above}");
    assert!(dave_small >= 0.9, "dave: {dave_small}");

    // Nobody's call ended along the way.
    for p in std::iter::once(&alice).chain(&subscribers) {
        assert!(
            p.phone
                .events
                .count(|e| matches!(e, Event::CallEnd { .. } | Event::Error { .. }))
                == 0,
            "{} saw the call end or an error",
            p.phone.user
        );
    }
    let metrics = server.handle.as_ref().unwrap().metrics.clone();
    let switches = metrics
        .sfu_layer_switches_total
        .load(std::sync::atomic::Ordering::Relaxed);
    // Dave down, bob down and up again.
    assert!(switches >= 3, "{switches} layer switches");
}
