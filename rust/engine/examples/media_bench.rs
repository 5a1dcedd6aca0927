//! Media benchmarks for docs/benchmarks.md (run in release):
//!
//! ```text
//! cargo run --release -p hotline-engine --example media_bench -- [calls] [seconds] [rounds]
//! ```
//!
//! One process holds a server (signaling + SFU) and two engines on loopback.
//! 1. **Setup**: `calls` 1v1 video calls (default 20); per call, invite →
//!    both sides' publisher and subscriber connected, and accept → first
//!    decoded remote frame on each side. Prints p50/p90/max.
//! 2. **CPU**: a bidirectional call for `seconds` (default 10) at 720p30
//!    1.2 Mbps and at 360p15 550 kbps, each with the test pattern moving
//!    across the whole picture (the encoder's worst case) and with a still
//!    background around a moving box (closer to a person in a call); CPU
//!    time of the engines' threads (from /proc, so the server's threads are
//!    excluded) per engine, as a share of one core, and by thread. The four
//!    calls repeat for `rounds` rounds (default 3), interleaved, and a
//!    summary gives each one's median and range: this machine is shared
//!    and its speed swings by a third from one minute to the next.
//! 3. **Latency**: capture → render of each frame (both engines share this
//!    process's clock), p50/p90.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hotline_engine::media::devices::{Camera, VideoSink, VideoSource};
use hotline_engine::media::synthetic::ToneMicrophone;
use hotline_engine::{CallEngine, CallObserver, CallParams, EngineConfig, Event, MediaType};
use hotline_media::synthetic::{read_frame_number, VideoPattern};
use hotline_media::{Orientation, VideoEncoderParams, VideoFrame, VideoResolution};
use hotline_server::ServerConfig;

const APP: u64 = 1400000000;
const KEY: &str = "bench-secret-key";

/// Frames a [`TimedCamera`] cycles through: drawing the pattern is the
/// camera's cost, not the engine's, so it is done once up front.
const CYCLE: u32 = 30;

/// Plays pre-drawn numbered frames and remembers when each was captured.
struct TimedCamera {
    frames: Vec<VideoFrame>,
    captured: Arc<Mutex<HashMap<u32, Instant>>>,
    n: AtomicU64,
    epoch: Instant,
}

/// What the camera shows.
#[derive(Clone, Copy, PartialEq)]
enum Scene {
    /// The test pattern moving across the whole picture: every macroblock
    /// changes in every frame, the encoder's worst case.
    FullMotion,
    /// A call-like picture: the pattern's first frame stands still, except
    /// a head-and-shoulders box (the middle third, lower three quarters) and
    /// the frame-number code in the top-left corner.
    StillBackground,
}

impl Scene {
    fn label(self) -> &'static str {
        match self {
            Scene::FullMotion => "full-picture motion",
            Scene::StillBackground => "still background",
        }
    }

    fn frames(self, width: u32, height: u32) -> Vec<VideoFrame> {
        let pattern = VideoPattern::new(width, height);
        let mut frames: Vec<VideoFrame> = (0..CYCLE).map(|n| pattern.frame(n, 0)).collect();
        if self == Scene::StillBackground {
            let moving = |x: u32, y: u32| {
                let code = x < width / 2 && y < height / 8;
                let person = (width / 3..2 * width / 3).contains(&x) && y >= height / 4;
                code || person
            };
            let background = frames[0].clone();
            for frame in &mut frames[1..] {
                keep_still(frame, &background, moving);
            }
        }
        frames
    }
}

/// Copies `background` into `frame` wherever `moving(x, y)` is false (luma
/// and chroma).
fn keep_still(frame: &mut VideoFrame, background: &VideoFrame, moving: impl Fn(u32, u32) -> bool) {
    let (w, h) = (frame.width(), frame.height());
    let (sy, suv) = (frame.stride_y(), frame.stride_uv());
    for y in 0..h {
        for x in 0..w {
            if !moving(x, y) {
                let i = y as usize * sy + x as usize;
                frame.y_mut()[i] = background.y()[i];
                if x % 2 == 0 && y % 2 == 0 {
                    let j = (y / 2) as usize * suv + (x / 2) as usize;
                    frame.u_mut()[j] = background.u()[j];
                    frame.v_mut()[j] = background.v()[j];
                }
            }
        }
    }
}

impl TimedCamera {
    fn new(
        width: u32,
        height: u32,
        scene: Scene,
        captured: Arc<Mutex<HashMap<u32, Instant>>>,
    ) -> TimedCamera {
        let frames = scene.frames(width, height);
        TimedCamera {
            frames,
            captured,
            n: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }
}

impl VideoSource for TimedCamera {
    fn read_frame(&self) -> Option<VideoFrame> {
        let n = (self.n.fetch_add(1, Relaxed) % u64::from(CYCLE)) as u32;
        let mut frame = self.frames[n as usize].clone();
        frame.timestamp_us = self.epoch.elapsed().as_micros() as u64;
        self.captured.lock().unwrap().insert(n, Instant::now());
        Some(frame)
    }
}

/// Notes when frames arrive and how long after capture.
struct TimedView {
    captured: Arc<Mutex<HashMap<u32, Instant>>>,
    first: Mutex<Option<Instant>>,
    frames: AtomicU64,
    latencies_us: Mutex<Vec<u64>>,
}

impl VideoSink for TimedView {
    fn on_frame(&self, frame: &VideoFrame) {
        let now = Instant::now();
        self.first.lock().unwrap().get_or_insert(now);
        self.frames.fetch_add(1, Relaxed);
        if let Some(n) = read_frame_number(frame) {
            if let Some(t) = self.captured.lock().unwrap().get(&n) {
                self.latencies_us
                    .lock()
                    .unwrap()
                    .push(now.duration_since(*t).as_micros() as u64);
            }
        }
    }
}

#[derive(Default)]
struct Events {
    log: Mutex<Vec<(Instant, Event)>>,
}

impl CallObserver for Events {
    fn on_event(&self, event: &Event) {
        self.log
            .lock()
            .unwrap()
            .push((Instant::now(), event.clone()));
    }
}

impl Events {
    async fn wait(&self, what: &str, pred: impl Fn(&Event) -> bool) -> Instant {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some((t, _)) = self.log.lock().unwrap().iter().find(|(_, e)| pred(e)) {
                return *t;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    fn clear(&self) {
        self.log.lock().unwrap().clear();
    }
}

struct Side {
    engine: CallEngine,
    events: Arc<Events>,
    captured: Arc<Mutex<HashMap<u32, Instant>>>,
    view: Option<Arc<TimedView>>,
}

async fn side(url: &str, user: &str) -> Side {
    let engine = CallEngine::new();
    let events = Arc::new(Events::default());
    engine.add_observer(events.clone());
    let sig = hotline_proto::usersig::generate(APP, KEY, user, 3600, now_s());
    engine
        .init(EngineConfig {
            server_url: url.into(),
            sdk_app_id: APP,
            user_id: user.into(),
            user_sig: sig,
            trusted_ca_pem: None,
        })
        .await
        .expect("login");
    engine.set_audio_source(Some(Arc::new(ToneMicrophone::new(440.0, 0.3))));
    Side {
        engine,
        events,
        captured: Arc::default(),
        view: None,
    }
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl Side {
    /// The remote view `configure` set up.
    fn view(&self) -> &TimedView {
        self.view.as_deref().expect("configured")
    }

    fn configure(
        &mut self,
        params: VideoEncoderParams,
        scene: Scene,
        other: &str,
        other_captured: Arc<Mutex<HashMap<u32, Instant>>>,
    ) {
        self.engine.set_video_encoder_params(params).unwrap();
        self.engine.set_video_source(Some(Arc::new(TimedCamera::new(
            params.width,
            params.height,
            scene,
            self.captured.clone(),
        ))));
        let view = Arc::new(TimedView {
            captured: other_captured,
            first: Mutex::new(None),
            frames: AtomicU64::new(0),
            latencies_us: Mutex::default(),
        });
        self.engine.start_remote_view(other, view.clone());
        self.view = Some(view);
        self.engine.open_camera(Camera::Front);
    }
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// CPU seconds (user + system) of this process's threads, by thread name.
fn thread_cpu() -> HashMap<String, f64> {
    let tick = 100.0; // USER_HZ on Linux
    let mut out: HashMap<String, f64> = HashMap::new();
    for entry in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let path = entry.path();
        let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
            continue;
        };
        let Ok(comm) = std::fs::read_to_string(path.join("comm")) else {
            continue;
        };
        // Fields after the ")" that closes the name: utime is the 12th, stime the 13th.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let secs = (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / tick;
        *out.entry(comm.trim().to_string()).or_default() += secs;
    }
    out
}

/// Engine threads are named `hotline-engine`, `hotline-video-send`, `hotline-audio`,
/// `hotline-decode-*`, `hotline-view-*`, `hotline-events`; the server's are not.
fn is_engine_thread(name: &str) -> bool {
    [
        "hotline-engine",
        "hotline-video",
        "hotline-audio",
        "hotline-decode",
        "hotline-view",
        "hotline-events",
        "hotline-local",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

fn engine_cpu(before: &HashMap<String, f64>, after: &HashMap<String, f64>) -> f64 {
    after
        .iter()
        .filter(|(k, _)| is_engine_thread(k))
        .map(|(k, v)| v - before.get(k).copied().unwrap_or(0.0))
        .sum()
}

/// Engine CPU by thread kind (digits stripped, so both engines' threads add
/// up), in percent of one core, largest first: where the time goes.
fn engine_cpu_by_thread(
    before: &HashMap<String, f64>,
    after: &HashMap<String, f64>,
    wall: f64,
) -> String {
    let mut kinds: HashMap<String, f64> = HashMap::new();
    for (name, v) in after.iter().filter(|(k, _)| is_engine_thread(k)) {
        let kind = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-');
        *kinds.entry(kind.to_string()).or_default() += v - before.get(name).copied().unwrap_or(0.0);
    }
    let mut kinds: Vec<_> = kinds.into_iter().collect();
    kinds.sort_by(|a, b| b.1.total_cmp(&a.1));
    kinds
        .iter()
        .map(|(k, v)| format!("{k} {:.1} %", 100.0 * v / wall))
        .collect::<Vec<_>>()
        .join(", ")
}

/// CPU seconds of the server's SFU thread (it forwards every packet of the call).
fn sfu_cpu(before: &HashMap<String, f64>, after: &HashMap<String, f64>) -> f64 {
    let of = |m: &HashMap<String, f64>| m.get("hotline-sfu").copied().unwrap_or(0.0);
    of(after) - of(before)
}

async fn call(alice: &Side, bob: &Side) -> (Instant, Instant) {
    alice.events.clear();
    bob.events.clear();
    let invite = Instant::now();
    alice
        .engine
        .calls(vec!["bob".into()], MediaType::Video, CallParams::default())
        .await
        .unwrap();
    bob.events
        .wait("ring", |e| matches!(e, Event::CallReceived { .. }))
        .await;
    let accept = Instant::now();
    bob.engine.accept().await.unwrap();
    (invite, accept)
}

async fn hangup(alice: &Side, bob: &Side) {
    alice.engine.hangup().await.unwrap();
    bob.events
        .wait("end", |e| matches!(e, Event::CallEnd { .. }))
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    env_logger::builder().format_timestamp_micros().init();
    let args: Vec<String> = std::env::args().collect();
    let calls: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let seconds: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10);
    let rounds: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let server = hotline_server::start(ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        db: dir.path().join("bench.db"),
        sdk_app_id: APP,
        secret_key: KEY.into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let url = server.ws_url();
    let mut alice = side(&url, "alice").await;
    let mut bob = side(&url, "bob").await;

    // 1. Setup.
    let p360 = VideoEncoderParams::preset(VideoResolution::R640x360, Orientation::Landscape);
    let (mut connect_ms, mut first_frame_ms) = (vec![], vec![]);
    for i in 0..calls {
        let (ac, bc) = (alice.captured.clone(), bob.captured.clone());
        alice.configure(p360, Scene::FullMotion, "bob", bc);
        bob.configure(p360, Scene::FullMotion, "alice", ac);
        let (invite, accept) = call(&alice, &bob).await;
        let mut connected = invite;
        for s in [&alice, &bob] {
            let begin = s
                .events
                .wait("begin", |e| matches!(e, Event::CallBegin { .. }))
                .await;
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let st = s.engine.call_stats().await.unwrap_or_default();
                if st.publisher_connected_ms > 0 && st.subscriber_connected_ms > 0 {
                    let at = begin
                        + Duration::from_millis(
                            st.publisher_connected_ms.max(st.subscriber_connected_ms),
                        );
                    connected = connected.max(at);
                    break;
                }
                assert!(Instant::now() < deadline, "call {i}: media did not connect");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let first = loop {
            let firsts: Vec<Option<Instant>> = [&alice, &bob]
                .iter()
                .map(|s| *s.view().first.lock().unwrap())
                .collect();
            if let [Some(a), Some(b)] = firsts[..] {
                break a.max(b);
            }
            assert!(Instant::now() < deadline, "call {i}: no first frame");
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        connect_ms.push(connected.duration_since(invite).as_secs_f64() * 1000.0);
        first_frame_ms.push(first.duration_since(accept).as_secs_f64() * 1000.0);
        hangup(&alice, &bob).await;
    }
    println!(
        "setup over {calls} calls: invite → both media-connected p50 {:.1} ms p90 {:.1} ms max {:.1} ms; accept → first remote frame (both sides) p50 {:.1} ms p90 {:.1} ms max {:.1} ms",
        pct(&mut connect_ms, 0.5),
        pct(&mut connect_ms, 0.9),
        pct(&mut connect_ms, 1.0),
        pct(&mut first_frame_ms, 0.5),
        pct(&mut first_frame_ms, 0.9),
        pct(&mut first_frame_ms, 1.0),
    );

    // 2 and 3. CPU and latency, in rounds that interleave the presets so a
    // slow spell of this shared machine does not land on one preset only.
    let p720 =
        VideoEncoderParams::preset(VideoResolution::R1280x720, Orientation::Landscape).with_fps(30);
    let presets = [
        ("720p30 1.2 Mbps", p720, Scene::FullMotion),
        ("720p30 1.2 Mbps", p720, Scene::StillBackground),
        ("360p15 550 kbps", p360, Scene::FullMotion),
        ("360p15 550 kbps", p360, Scene::StillBackground),
    ];
    let mut per_engine: Vec<Vec<f64>> = vec![Vec::new(); presets.len()];
    for round in 1..=rounds {
        println!("-- round {round} of {rounds}");
        for (i, &(label, params, scene)) in presets.iter().enumerate() {
            let label = format!("{label}, {}", scene.label());
            let share = measure(&mut alice, &mut bob, &label, params, scene, seconds).await;
            per_engine[i].push(share);
        }
    }
    println!("-- per engine, % of one core, over {rounds} windows of {seconds} s:");
    for (i, (label, _, scene)) in presets.iter().enumerate() {
        let v = &mut per_engine[i];
        println!(
            "{label}, {}: median {:.1} %, least {:.1} %, most {:.1} %",
            scene.label(),
            pct(v, 0.5),
            pct(v, 0.0),
            pct(v, 1.0)
        );
    }
    server.shutdown().await;
}

/// One bidirectional call with these settings: prints its CPU, bitrate and
/// latency figures and returns the CPU per engine as a percentage of one core.
async fn measure(
    alice: &mut Side,
    bob: &mut Side,
    label: &str,
    params: VideoEncoderParams,
    scene: Scene,
    seconds: u64,
) -> f64 {
    let (ac, bc) = (alice.captured.clone(), bob.captured.clone());
    alice.configure(params, scene, "bob", bc);
    bob.configure(params, scene, "alice", ac);
    call(alice, bob).await;
    // Let it settle (connect, first keyframes).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let frames0: u64 = [&*alice, &*bob]
        .iter()
        .map(|s| s.view().frames.load(Relaxed))
        .sum();
    for s in [&*alice, &*bob] {
        s.view().latencies_us.lock().unwrap().clear();
    }
    let _ = alice.engine.call_stats().await; // start the bitrate window after the settling
    let cpu0 = thread_cpu();
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let cpu1 = thread_cpu();
    let cpu = engine_cpu(&cpu0, &cpu1);
    let sfu = sfu_cpu(&cpu0, &cpu1);
    let wall = t0.elapsed().as_secs_f64();
    let frames: u64 = [&*alice, &*bob]
        .iter()
        .map(|s| s.view().frames.load(Relaxed))
        .sum::<u64>()
        - frames0;
    let stats = alice.engine.call_stats().await.unwrap_or_default();
    let mut lat: Vec<f64> = [&*alice, &*bob]
        .iter()
        .flat_map(|s| s.view().latencies_us.lock().unwrap().clone())
        .map(|us| us as f64 / 1000.0)
        .collect();
    println!(
        "{label}: per engine {:.1} % of one core (encode + decode + transport; {:.2} CPU-s over {wall:.1} s for two engines); \
         received {:.1} fps per side, send {:.0} kbps; capture → render p50 {:.1} ms p90 {:.1} ms ({} frames); \
         SFU thread {:.1} % of one core for this call",
        100.0 * cpu / 2.0 / wall,
        cpu,
        frames as f64 / 2.0 / wall,
        stats.send_bitrate_kbps,
        pct(&mut lat, 0.5),
        pct(&mut lat, 0.9),
        lat.len(),
        100.0 * sfu / wall,
    );
    println!("  by thread: {}", engine_cpu_by_thread(&cpu0, &cpu1, wall));
    hangup(alice, bob).await;
    100.0 * cpu / 2.0 / wall
}
