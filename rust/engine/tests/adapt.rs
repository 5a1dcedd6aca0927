//! Calls that adapt to their link: real engines and the real SFU with a
//! netsim proxy between them whose bandwidth limit, loss and delay change
//! mid-call. Assertions are on what the engines report and what arrives,
//! with generous time limits (they must hold on a loaded machine too).

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::media::*;
use hotline_engine::media::stats::CallStats;
use hotline_engine::media::synthetic::FrameCollector;
use hotline_engine::Event;
use hotline_media::synthetic::tone_window_correlations;
use hotline_media::{Orientation, VideoEncoderParams, VideoResolution};
use hotline_netsim::Impairment;

/// One scenario at a time: each measures a network, not how two calls in
/// one process share the machine's cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn p720() -> VideoEncoderParams {
    VideoEncoderParams::preset(VideoResolution::R1280x720, Orientation::Landscape)
}

/// Poll `phone`'s statistics every half second until `cond` holds; the
/// time it took, or a panic with the last statistics after `limit`.
async fn stats_until(
    phone: &MediaPhone,
    what: &str,
    limit: Duration,
    cond: impl Fn(&CallStats) -> bool,
) -> Duration {
    let start = Instant::now();
    // Rates are over the time since the previous query.
    call_stats(phone).await;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let s = call_stats(phone).await;
        if cond(&s) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{}: no {what} within {limit:?}; last stats {s:#?}",
            phone.phone.user
        );
    }
}

/// The share of 200 ms windows (one every 200 ms, from half a second into
/// `samples`) in which the tone `hz` dominates (correlation over 0.75: a
/// concealed 20 ms packet costs a window about 0.15, a lost stretch or
/// silence takes it under 0.5).
fn clear_share(samples: &[i16], hz: f64) -> f64 {
    let windows = tone_window_correlations(samples, hz, 9_600, 1_000);
    assert!(windows.len() >= 10, "{} windows of audio", windows.len());
    eprintln!(
        "tone correlation per 200 ms: {:?}",
        windows
            .iter()
            .map(|c| (c * 100.0).round() / 100.0)
            .collect::<Vec<_>>()
    );
    windows.iter().filter(|&&c| c > 0.75).count() as f64 / windows.len() as f64
}

/// When each frame of one view arrived.
#[derive(Default)]
struct Arrivals(Mutex<Vec<Instant>>);

impl Arrivals {
    /// A collector that records arrivals (and compares every 10th frame).
    fn collector(self: &Arc<Self>, size: (u32, u32)) -> Arc<FrameCollector> {
        let me = self.clone();
        Arc::new(
            FrameCollector::new(Some(size))
                .compare_every(10)
                .with_callback(move |_| me.0.lock().unwrap().push(Instant::now())),
        )
    }

    /// The longest gap between frames (or between `from` and the first, or
    /// the last and `to`) within `from..to`.
    fn longest_gap(&self, from: Instant, to: Instant) -> Duration {
        let times = self.0.lock().unwrap();
        let mut last = from;
        let mut longest = Duration::ZERO;
        for &t in times.iter().filter(|&&t| t >= from && t <= to) {
            longest = longest.max(t - last);
            last = t;
        }
        longest.max(to.saturating_duration_since(last))
    }
}

/// Alice estimates and sends less than 300 kbps, at a size under 720p.
fn sending_under_300_kbps(s: &CallStats) -> bool {
    s.estimated_bandwidth_kbps > 0.0
        && s.estimated_bandwidth_kbps < 300.0
        && s.send_bitrate_kbps < 300.0
        && s.send_height < 720
}

/// The 720p preset's size and bitrate.
fn at_720p_full_rate(s: &CallStats) -> bool {
    (s.send_width, s.send_height) == (1280, 720) && s.video_target_kbps == 1200
}

/// Bob decodes alice's video at a smaller size than 720p.
async fn until_bob_sees_smaller_pictures(bob: &MediaPhone) {
    stats_until(
        bob,
        "smaller pictures decoded",
        Duration::from_secs(10),
        |s| {
            s.users
                .iter()
                .any(|u| u.user_id == "alice" && u.video_height < 720 && u.video_fps >= 5.0)
        },
    )
    .await;
}

/// Bob's audio delay has come back down from a queue's.
async fn until_bobs_audio_delay_is_back_down(bob: &MediaPhone) {
    stats_until(
        bob,
        "the audio delay back down",
        Duration::from_secs(15),
        |s| {
            s.users
                .iter()
                .any(|u| u.user_id == "alice" && u.jitter_buffer_delay_ms < 100.0)
        },
    )
    .await;
}

/// What ten seconds under a cap looked like.
struct UnderTheCap {
    /// The longest gap between alice's frames at bob.
    gap: Duration,
    /// Alice's statistics, rates over the ten seconds.
    sent: CallStats,
    /// The share of bob's 200 ms windows in which alice's tone was clear.
    clear: f64,
}

/// Ten seconds in which alice's video must keep coming to bob (no gap of a
/// second) and her audio stay clear (80 % of the windows).
async fn ten_seconds_under_the_cap(call: &ProxiedCall, arrivals: &Arrivals) -> UnderTheCap {
    let (alice, bob) = (&call.alice, &call.bob);
    let settled = Instant::now();
    let heard = call.bob_hears.samples().len();
    call_stats(alice).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let sent = call_stats(alice).await;
    let gap = arrivals.longest_gap(settled, Instant::now());
    assert!(
        gap < Duration::from_secs(1),
        "a {gap:?} freeze under the cap; alice sent {sent:#?}, bob received {:#?}",
        call_stats(bob).await
    );
    let clear = clear_share(&call.bob_hears.samples()[heard..], alice.tone_hz);
    assert!(
        clear >= 0.8,
        "under the cap only {clear:.2} of the audio was clear"
    );
    UnderTheCap { gap, sent, clear }
}

/// The ISSUE's first scenario: a 720p call through a 300 kbps cap (each
/// phone, each direction), then the cap lifted to 5 Mbps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_720p_call_through_a_300_kbps_cap_adapts_and_recovers() {
    let _one = ONE_AT_A_TIME.lock().await;
    let call = ProxiedCall::start_with(p720()).await;
    let (alice, bob, proxy) = (&call.alice, &call.bob, &call.proxy);
    // Bob's view of alice, now also recording arrival times.
    let arrivals = Arc::new(Arrivals::default());
    let bob_sees = arrivals.collector(alice.size);
    bob.phone
        .engine
        .start_remote_view("alice", bob_sees.clone());
    stats_until(
        alice,
        "720p sent at full rate",
        Duration::from_secs(30),
        at_720p_full_rate,
    )
    .await;

    let capped_at = Instant::now();
    proxy.set_impairment(Impairment {
        bandwidth_kbps: 300,
        ..Default::default()
    });
    let adapted = stats_until(
        alice,
        "sending under the cap",
        Duration::from_secs(5),
        sending_under_300_kbps,
    )
    .await;
    eprintln!("sending under the cap {adapted:?} after it was set");
    // Adapted once bob decodes the smaller pictures.
    until_bob_sees_smaller_pictures(bob).await;
    eprintln!("adapted {:?} after the cap", capped_at.elapsed());

    // The link's queue has drained once it stops overflowing...
    let mut drops = proxy.stats().queue_full;
    until(
        "the bottleneck's queue to drain",
        Duration::from_secs(10),
        || {
            let now = proxy.stats().queue_full;
            std::mem::replace(&mut drops, now) == now
        },
    )
    .await;

    // ...and bob's audio delay has come back down from the queue's.
    until_bobs_audio_delay_is_back_down(bob).await;
    eprintln!("adapted {:?} after the cap", capped_at.elapsed());

    // Adapted: ten seconds in which video keeps coming and audio is clear.
    let drops = proxy.stats().queue_full;
    let UnderTheCap {
        gap,
        sent: capped,
        clear,
    } = ten_seconds_under_the_cap(&call, &arrivals).await;
    assert!(
        capped.send_bitrate_kbps < 300.0 && capped.send_height < 720,
        "{capped:#?}"
    );
    let view = call_stats(bob).await;
    let from_alice = view.users.iter().find(|u| u.user_id == "alice").unwrap();
    assert!(from_alice.video_height < 720, "{from_alice:#?}");
    eprintln!(
        "under the cap: longest gap {gap:?}, {} queue drops in 10 s, {:.0} kbps sent at {}x{}, \
         {:.0} % of the audio clear",
        proxy.stats().queue_full - drops,
        capped.send_bitrate_kbps,
        capped.send_width,
        capped.send_height,
        clear * 100.0
    );

    proxy.set_impairment(Impairment {
        bandwidth_kbps: 5000,
        ..Default::default()
    });
    let recovered = stats_until(
        alice,
        "the preset's size and bitrate again",
        Duration::from_secs(15),
        at_720p_full_rate,
    )
    .await;
    eprintln!(
        "recovered {recovered:?} after the cap was lifted ({:?} since it was set)",
        capped_at.elapsed()
    );
    // Bob decodes the full size again.
    until("720p decoded at bob", Duration::from_secs(10), || {
        bob_sees.collected().last_size == (1280, 720)
    })
    .await;
    assert_eq!(
        alice
            .phone
            .events
            .count(|e| matches!(e, Event::CallEnd { .. })),
        0
    );
    alice.phone.engine.hangup().await.unwrap();
}

/// 5 % loss and 100 ms of round trip: loss that is not congestion must not
/// collapse the estimate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_percent_loss_and_100_ms_rtt_keep_a_usable_rate() {
    let _one = ONE_AT_A_TIME.lock().await;
    let preset = VideoEncoderParams::preset(VideoResolution::R640x360, Orientation::Landscape);
    let call = ProxiedCall::start_with(preset).await;
    let (alice, proxy) = (&call.alice, &call.proxy);
    proxy.set_impairment(Impairment {
        loss: 0.05,
        delay_ms: 50,
        ..Default::default()
    });
    // Give the estimator time to react to the loss, then watch it.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut lowest = f64::MAX;
    let frames = call.bob_sees.collected().frames;
    let heard = call.bob_hears.samples().len();
    call_stats(alice).await;
    let mut s = CallStats::default();
    let mut loss_seen: f64 = 0.0;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        s = call_stats(alice).await;
        lowest = lowest.min(s.estimated_bandwidth_kbps);
        loss_seen = loss_seen.max(s.send_loss_percent);
    }
    eprintln!("lowest estimate {lowest:.0} kbps; last second {s:#?}");
    // Usable: enough for the preset's own 640×360 (its floor, 138 kbps,
    // plus audio, is about 210 kbps of estimate); a collapse is 60.
    assert!(lowest > 210.0, "the estimate collapsed to {lowest:.0} kbps");
    assert!(loss_seen > 1.0, "the loss is never seen: {s:#?}");
    assert!(s.rtt_ms > 80.0, "{s:#?}");
    let decoded = call.bob_sees.collected().frames - frames;
    assert!(decoded > 50, "{decoded} frames decoded in 10 s");
    assert_tone(
        &call.bob_hears.samples()[heard..],
        alice.tone_hz,
        "bob, at 5 % loss",
    );
    alice.phone.engine.hangup().await.unwrap();
}

/// The proxy client that receives the most over two seconds: with only one
/// camera open in a 1v1 call, the other phone's subscriber connection.
async fn busiest_receiver(proxy: &hotline_netsim::UdpImpairmentProxy) -> std::net::SocketAddr {
    let clients = proxy.clients();
    let before: Vec<u64> = clients
        .iter()
        .map(|c| proxy.client_bytes(*c).down)
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut got: Vec<(u64, std::net::SocketAddr)> = clients
        .iter()
        .zip(before)
        .map(|(c, b)| (proxy.client_bytes(*c).down - b, *c))
        .collect();
    got.sort();
    eprintln!("bytes received per client in 2 s: {got:?}");
    let (most, addr) = *got.last().expect("clients");
    let next = got.iter().rev().nth(1).map_or(0, |g| g.0);
    assert!(
        most > 3 * next,
        "no one connection carries the video: {got:?}"
    );
    addr
}

/// A 1v1 callee behind a slow downlink while the caller's link is fast: the
/// SFU forwards one layer, so the caller must send less (the SFU's REMB);
/// and once the link recovers, the caller goes back to full quality.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callee_behind_a_slow_downlink_holds_the_caller_back_until_it_recovers() {
    let _one = ONE_AT_A_TIME.lock().await;
    let call = ProxiedCall::start_with(p720()).await;
    let (alice, bob, proxy) = (&call.alice, &call.bob, &call.proxy);
    // Only alice's video flows, so bob's receiving connection stands out.
    bob.phone.engine.close_camera();
    let arrivals = Arc::new(Arrivals::default());
    let bob_sees = arrivals.collector(alice.size);
    bob.phone
        .engine
        .start_remote_view("alice", bob_sees.clone());
    stats_until(
        alice,
        "720p sent at full rate",
        Duration::from_secs(30),
        at_720p_full_rate,
    )
    .await;
    let bobs_downlink = busiest_receiver(proxy).await;

    let capped_at = Instant::now();
    proxy.set_client_impairment(
        bobs_downlink,
        Some(Impairment {
            bandwidth_kbps: 300,
            ..Default::default()
        }),
    );
    // Alice's own link is fast: only the word from the SFU can slow her.
    let adapted = stats_until(
        alice,
        "sending under bob's cap",
        Duration::from_secs(10),
        sending_under_300_kbps,
    )
    .await;
    eprintln!("alice sends under bob's cap {adapted:?} after it was set");
    until_bob_sees_smaller_pictures(bob).await;
    // The proxy's queue has drained once bob's audio delay is back down.
    until_bobs_audio_delay_is_back_down(bob).await;
    eprintln!("adapted {:?} after the cap", capped_at.elapsed());

    // Adapted: ten seconds in which video keeps coming and audio is clear.
    let UnderTheCap {
        gap,
        sent: capped,
        clear,
    } = ten_seconds_under_the_cap(&call, &arrivals).await;
    assert!(capped.send_bitrate_kbps < 300.0, "{capped:#?}");
    eprintln!(
        "under bob's cap: longest gap {gap:?}, alice sends {:.0} kbps at {}x{}, {:.0} % of the audio clear",
        capped.send_bitrate_kbps,
        capped.send_width,
        capped.send_height,
        clear * 100.0
    );

    proxy.set_client_impairment(bobs_downlink, None);
    // The 15 s, plus one period of the SFU's probes (3 s), through
    // which the limit lifts.
    let recovered = stats_until(
        alice,
        "the preset's size and bitrate again",
        Duration::from_secs(18),
        at_720p_full_rate,
    )
    .await;
    eprintln!("recovered {recovered:?} after bob's cap was lifted");
    until("720p decoded at bob", Duration::from_secs(10), || {
        bob_sees.collected().last_size == (1280, 720)
    })
    .await;
    assert_eq!(
        alice
            .phone
            .events
            .count(|e| matches!(e, Event::CallEnd { .. })),
        0
    );
    alice.phone.engine.hangup().await.unwrap();
}
