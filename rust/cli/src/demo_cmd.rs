//! `hotline demo`: an embedded server and two in-process phones in a real
//! video call. Alice calls Bob, both with a synthetic camera (numbered
//! pictures) and a tone microphone; Bob accepts at once. While the call runs
//! a progress line is shown on stderr; at the end a summary is printed (and,
//! with `--json`, one JSON object as the last line of stdout).
//!
//! How the figures are measured:
//! - `setup_ms`: from just before `calls()` to the later of the two sides'
//!   "publisher and subscriber both connected" (the engine stamps these in
//!   ms after its media session started, which happens as it delivers
//!   `onCallBegin`; the demo notes when each `onCallBegin` reached it).
//! - `first_frame_ms`: from just before `accept()` to the first decoded
//!   remote frame reaching the video sink, the worse of the two sides.
//! - `psnr_db`: each received frame's number is read from the picture and
//!   the frame is compared (Y plane) with the picture of that number.
//! - `audio_correlation`: the received audio against the sender's tone, the
//!   median over 200 ms windows of the best-aligned normalized correlation.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use hotline_engine::media::devices::Camera;
use hotline_engine::media::stats::CallStats;
use hotline_engine::media::synthetic::{SyntheticCamera, ToneMicrophone};
use hotline_engine::{CallEngine, CallObserver, CallParams, EngineConfig, Event, MediaType};
use hotline_media::synthetic::tone_window_correlations;
use hotline_server::ServerConfig;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::devices::{parse_resolution, Resolution, TONE_AMPLITUDE};
use crate::event_json::round1;
use crate::record::Watcher;

const APP: u64 = 1400000000;
/// Longest wait for any one step of call setup.
const STEP_LIMIT: Duration = Duration::from_secs(15);

/// Run a demo call.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Seconds the call lasts after Bob accepts (1–600).
    #[arg(long, default_value_t = 10.0, value_parser = parse_duration)]
    duration: f64,
    /// Video resolution, a TUICallEngine preset: 640x360, 960x540, 1280x720
    /// or 1920x1080 (portrait as 360x640 etc.).
    #[arg(long, default_value = "640x360", value_parser = parse_resolution)]
    resolution: Resolution,
    /// Video frame rate (1–60).
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=60))]
    fps: u32,
    /// Keep the server's database here and record what each phone received:
    /// DIR/alice.y4m and DIR/alice.wav are Alice's video and audio as Bob
    /// received them, DIR/bob.* Bob's as Alice received them.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// End with the summary as one JSON object on the last line of stdout.
    #[arg(long)]
    json: bool,
}

fn parse_duration(s: &str) -> Result<f64, String> {
    let d: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if (1.0..=600.0).contains(&d) {
        Ok(d)
    } else {
        Err(format!("{d} s is outside 1–600 s"))
    }
}

/// Run the demo; exit status 1 if no media flowed or setup failed.
pub fn run(args: DemoArgs) -> ExitCode {
    if let Some(dir) = &args.out {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("error: --out {}: cannot create it: {e}", dir.display());
            return ExitCode::from(2);
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("hotline-demo")
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(demo(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Forwards events with the instant the observer saw them.
struct Timed(mpsc::UnboundedSender<(Instant, Event)>);

impl CallObserver for Timed {
    fn on_event(&self, event: &Event) {
        let _ = self.0.send((Instant::now(), event.clone()));
    }
}

/// One statistics query: the interval it covers and its rates.
struct Sample {
    from: Instant,
    secs: f64,
    recv_kbps: f64,
    send_kbps: f64,
}

/// One phone of the demo.
struct Side {
    name: &'static str,
    peer: &'static str,
    engine: Arc<CallEngine>,
    events: mpsc::UnboundedReceiver<(Instant, Event)>,
    seen: Vec<(Instant, Event)>,
    watcher: Watcher,
    camera: Arc<SyntheticCamera>,
    tone_hz: f64,
    began: Option<Instant>,
    connected: Option<Instant>,
    stats: Option<CallStats>,
    last_query: Option<Instant>,
    samples: Vec<Sample>,
}

impl Side {
    async fn login(
        name: &'static str,
        peer: &'static str,
        url: &str,
        key: &str,
        args: &DemoArgs,
        tone_hz: f64,
    ) -> Result<Side, String> {
        let engine = Arc::new(CallEngine::new());
        let (tx, events) = mpsc::unbounded_channel();
        engine.add_observer(Arc::new(Timed(tx)));
        let now_s = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        engine
            .init(EngineConfig {
                server_url: url.to_string(),
                sdk_app_id: APP,
                user_id: name.to_string(),
                user_sig: hotline_proto::usersig::generate(APP, key, name, 3600, now_s),
                trusted_ca_pem: None,
            })
            .await
            .map_err(|e| format!("{name} cannot log in: {e}"))?;
        engine
            .set_video_encoder_params(args.resolution.encoder_params(args.fps))
            .map_err(|e| e.message)?;
        let (w, h) = args.resolution.size();
        let camera = Arc::new(SyntheticCamera::new(w, h));
        engine.set_video_source(Some(camera.clone()));
        engine.set_audio_source(Some(Arc::new(ToneMicrophone::new(tone_hz, TONE_AMPLITUDE))));
        engine.open_camera(Camera::Front);
        let watcher = Watcher::new(
            args.out.clone(),
            args.fps,
            Some((w, h)),
            1,
            // Enough for the correlation's windows (20 s), bounded in memory.
            (args.duration as u32).saturating_add(2).min(30),
            Arc::new(|_| {}),
        );
        watcher.watch(&engine, peer);
        Ok(Side {
            name,
            peer,
            engine,
            events,
            seen: Vec::new(),
            watcher,
            camera,
            tone_hz,
            began: None,
            connected: None,
            stats: None,
            last_query: None,
            samples: Vec::new(),
        })
    }

    /// Take in events delivered so far.
    fn drain(&mut self) {
        while let Ok((at, event)) = self.events.try_recv() {
            if matches!(event, Event::CallBegin { .. }) {
                self.began.get_or_insert(at);
            }
            self.seen.push((at, event));
        }
    }

    fn find(&self, pred: impl Fn(&Event) -> bool) -> Option<Instant> {
        self.seen.iter().find(|(_, e)| pred(e)).map(|(at, _)| *at)
    }

    /// Wait (bounded) for an event.
    async fn wait_for(
        &mut self,
        what: &str,
        pred: impl Fn(&Event) -> bool,
    ) -> Result<Instant, String> {
        let deadline = Instant::now() + STEP_LIMIT;
        loop {
            self.drain();
            if let Some(at) = self.find(&pred) {
                return Ok(at);
            }
            if Instant::now() >= deadline {
                let names: Vec<&str> = self.seen.iter().map(|(_, e)| e.name()).collect();
                return Err(format!(
                    "{} did not see {what} within {STEP_LIMIT:?} (events: {names:?})",
                    self.name
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Query statistics; note when media connected.
    async fn query(&mut self) {
        let now = Instant::now();
        let from = self.last_query.replace(now);
        let Some(stats) = self.engine.call_stats().await else {
            return;
        };
        if self.connected.is_none()
            && stats.publisher_connected_ms > 0
            && stats.subscriber_connected_ms > 0
        {
            if let Some(began) = self.began {
                let ms = stats
                    .publisher_connected_ms
                    .max(stats.subscriber_connected_ms);
                self.connected = Some(began + Duration::from_millis(ms));
            }
        }
        if let Some(from) = from {
            self.samples.push(Sample {
                from,
                secs: now.duration_since(from).as_secs_f64(),
                recv_kbps: stats.receive_bitrate_kbps,
                send_kbps: stats.send_bitrate_kbps,
            });
        }
        self.stats = Some(stats);
    }

    fn due(&self) -> bool {
        self.last_query
            .is_none_or(|t| t.elapsed() >= Duration::from_millis(100))
    }

    fn frames_received(&self) -> u64 {
        self.watcher
            .seen(self.peer)
            .map_or(0, |(video, _, _)| video.frames)
    }

    fn first_frame_at(&self) -> Option<Instant> {
        self.watcher.seen(self.peer).and_then(|(_, _, at)| at)
    }

    fn ended(&self) -> bool {
        self.seen
            .iter()
            .any(|(_, e)| matches!(e, Event::CallEnd { .. } | Event::CallNotConnected { .. }))
    }
}

fn random_key() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    let seeded = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if seeded.is_err() {
        // Loopback only and for this run only; the time is good enough.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes[..16].copy_from_slice(&t.to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// How well `samples` carry a tone of `hz`: the median, over 200 ms windows
/// every half second (see [`tone_window_correlations`]), of the best
/// correlation with the tone at any phase. `None` if there is too little audio.
pub fn tone_correlation(samples: &[i16], hz: f64) -> Option<f64> {
    let mut scores = tone_window_correlations(samples, hz, 24_000, 40);
    if scores.is_empty() {
        return None;
    }
    scores.sort_by(f64::total_cmp);
    Some(scores[scores.len() / 2])
}

async fn demo(args: DemoArgs) -> Result<(), String> {
    let (w, h) = args.resolution.size();
    let preset = args.resolution.encoder_params(args.fps);
    // The server: loopback, a free port, a temporary database unless --out.
    let temp = match &args.out {
        Some(_) => None,
        None => Some(tempfile::tempdir().map_err(|e| format!("no temporary directory: {e}"))?),
    };
    let db = match (&args.out, &temp) {
        (Some(dir), _) => dir.join("hotline.db"),
        (None, Some(t)) => t.path().join("hotline.db"),
        (None, None) => unreachable!("one of the two is set"),
    };
    let key = random_key();
    let server = hotline_server::start(ServerConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        db: db.clone(),
        sdk_app_id: APP,
        secret_key: key.clone(),
        ..Default::default()
    })
    .await
    .map_err(|e| format!("the embedded server did not start: {e}"))?;
    let url = server.ws_url();
    eprintln!(
        "server   {url} (database {}, media UDP {})",
        db.display(),
        server.media_candidate_addr()
    );

    let mut alice = Side::login("alice", "bob", &url, &key, &args, 440.0).await?;
    let mut bob = Side::login("bob", "alice", &url, &key, &args, 660.0).await?;
    eprintln!(
        "phones   alice (440 Hz tone) calls bob (660 Hz tone): synthetic {w}x{h} cameras at {} fps, {} kbps",
        args.fps, preset.bitrate_kbps
    );

    let invite_at = Instant::now();
    alice
        .engine
        .calls(vec!["bob".into()], MediaType::Video, CallParams::default())
        .await
        .map_err(|e| format!("alice cannot call bob: {e}"))?;
    bob.wait_for("the invitation", |e| {
        matches!(e, Event::CallReceived { .. })
    })
    .await?;
    let accept_at = Instant::now();
    bob.engine
        .accept()
        .await
        .map_err(|e| format!("bob cannot accept: {e}"))?;
    alice
        .wait_for("onCallBegin", |e| matches!(e, Event::CallBegin { .. }))
        .await?;
    bob.wait_for("onCallBegin", |e| matches!(e, Event::CallBegin { .. }))
        .await?;

    // The call runs for --duration seconds after the accept.
    let end_at = accept_at + Duration::from_secs_f64(args.duration);
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut next_progress = accept_at + Duration::from_secs(1);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while Instant::now() < end_at {
        tick.tick().await;
        let progress_due = Instant::now() >= next_progress;
        for side in [&mut alice, &mut bob] {
            side.drain();
            // Until media connects, every 100 ms (to see it); then with the progress line.
            if progress_due || (side.connected.is_none() && side.due()) {
                side.query().await;
            }
        }
        if let Some(side) = [&alice, &bob].into_iter().find(|s| s.ended()) {
            return Err(format!("{}'s call ended early", side.name));
        }
        let connected = alice.connected.is_some() && bob.connected.is_some();
        if !connected && accept_at.elapsed() > STEP_LIMIT {
            return Err(format!(
                "media did not connect within {STEP_LIMIT:?} (alice: {:?}, bob: {:?})",
                alice
                    .stats
                    .as_ref()
                    .map(|s| (s.publisher_connected_ms, s.subscriber_connected_ms)),
                bob.stats
                    .as_ref()
                    .map(|s| (s.publisher_connected_ms, s.subscriber_connected_ms)),
            ));
        }
        if progress_due {
            next_progress += Duration::from_secs(1);
            let line = progress(&alice, &bob, accept_at.elapsed());
            if tty {
                eprint!("\r\x1b[K{line}");
            } else {
                eprintln!("{line}");
            }
        }
    }
    // Final figures, taken while the call still runs.
    for side in [&mut alice, &mut bob] {
        side.drain();
        side.query().await;
    }
    let media_end = Instant::now();
    if tty {
        eprintln!("\r\x1b[K{}", progress(&alice, &bob, accept_at.elapsed()));
    }

    let _ = alice.engine.hangup().await;
    for side in [&mut alice, &mut bob] {
        if let Err(e) = side
            .wait_for("onCallEnd", |e| matches!(e, Event::CallEnd { .. }))
            .await
        {
            log::warn!("{e}");
        }
    }
    let summary = summarize(&args, &alice, &bob, invite_at, accept_at, media_end);
    let (alice_frames, bob_frames) = (alice.frames_received(), bob.frames_received());
    let mut recordings = Vec::new();
    for side in [&alice, &bob] {
        recordings.extend(side.watcher.finish(&side.engine));
    }
    alice.engine.un_init().await;
    bob.engine.un_init().await;
    server.shutdown().await;

    print_human(&summary, &recordings);
    if args.json {
        println!("{summary}");
    }
    let flowed = |k: &str| summary[k].as_u64().unwrap_or(0) > 0;
    if !(flowed("audio_frames_received") && alice_frames > 0 && bob_frames > 0) {
        return Err(format!(
            "no media flowed: alice received {alice_frames} video frames, bob {bob_frames}; \
             {} audio frames in all",
            summary["audio_frames_received"],
        ));
    }
    Ok(())
}

fn progress(alice: &Side, bob: &Side, elapsed: Duration) -> String {
    let (mut sent, mut fps, mut kbps) = (0, Vec::new(), Vec::new());
    for side in [alice, bob] {
        if let Some(s) = &side.stats {
            sent += s.video_frames_sent;
            for u in &s.users {
                fps.push(u.video_fps);
                kbps.push(u.receive_bitrate_kbps);
            }
        }
    }
    let received = alice.frames_received() + bob.frames_received();
    format!(
        "{:5.1} s  video frames sent {sent:5}  received {received:5}  {:4.1} fps  {:5.0} kbps per stream",
        elapsed.as_secs_f64(),
        mean(&fps).unwrap_or(0.0),
        mean(&kbps).unwrap_or(0.0)
    )
}

/// The summary as JSON (snake_case keys; see the module docs for how each is measured).
fn summarize(
    args: &DemoArgs,
    alice: &Side,
    bob: &Side,
    invite_at: Instant,
    accept_at: Instant,
    media_end: Instant,
) -> Value {
    let sides = [alice, bob];
    let setup = sides
        .iter()
        .map(|s| s.connected)
        .collect::<Option<Vec<Instant>>>()
        .and_then(|c| c.into_iter().max())
        .map(|t| t.saturating_duration_since(invite_at));
    let firsts = sides
        .iter()
        .map(|s| s.first_frame_at())
        .collect::<Option<Vec<Instant>>>()
        .and_then(|f| f.into_iter().max());
    let (mut frames_received, mut numbered, mut psnr_sum, mut psnr_frames) = (0, 0, 0.0, 0);
    let mut psnr_min = f64::INFINITY;
    let (mut audio_frames, mut fps) = (0, Vec::new());
    let mut correlations = Vec::new();
    for side in sides {
        if let Some((video, audio, first)) = side.watcher.seen(side.peer) {
            frames_received += video.frames;
            numbered += video.numbered;
            psnr_sum += video.psnr_sum;
            psnr_frames += video.psnr_frames;
            psnr_min = psnr_min.min(video.psnr_min);
            audio_frames += audio;
            if let Some(first) = first {
                let secs = media_end.saturating_duration_since(first).as_secs_f64();
                if secs > 0.0 && video.frames > 1 {
                    fps.push((video.frames - 1) as f64 / secs);
                }
            }
        }
        let sender_hz = if side.name == "alice" {
            bob.tone_hz
        } else {
            alice.tone_hz
        };
        correlations.push(tone_correlation(
            &side.watcher.samples(side.peer),
            sender_hz,
        ));
    }
    // Rates over the queries that started once both sides were decoding
    // video, weighted by the time each covers.
    let steady = |s: &Side, f: fn(&Sample) -> f64| {
        let from = firsts.unwrap_or(accept_at);
        let (mut sum, mut secs) = (0.0, 0.0);
        for x in s.samples.iter().filter(|x| x.from >= from) {
            sum += f(x) * x.secs;
            secs += x.secs;
        }
        (secs > 0.0).then(|| sum / secs)
    };
    let recv_kbps: Vec<f64> = sides
        .iter()
        .filter_map(|s| steady(s, |x| x.recv_kbps))
        .collect();
    let send_kbps: Vec<f64> = sides
        .iter()
        .filter_map(|s| steady(s, |x| x.send_kbps))
        .collect();
    let stats: Vec<&CallStats> = sides.iter().filter_map(|s| s.stats.as_ref()).collect();
    let users: Vec<_> = stats.iter().flat_map(|s| s.users.iter()).collect();
    let sent: u64 = stats.iter().map(|s| s.video_frames_sent).sum();
    let decoded: u64 = users.iter().map(|u| u.video_frames_decoded).sum();
    let audio_packets: u64 = users.iter().map(|u| u.audio_packets_received).sum();
    let loss = users.iter().map(|u| u.loss_percent).fold(0.0, f64::max);
    let rtt = mean(&stats.iter().map(|s| s.rtt_ms).collect::<Vec<_>>());
    let e2e = mean(
        &stats
            .iter()
            .map(|s| s.end_to_end_delay_ms)
            .collect::<Vec<_>>(),
    );
    let jb = mean(
        &users
            .iter()
            .map(|u| u.jitter_buffer_delay_ms)
            .collect::<Vec<_>>(),
    );
    let keyframes: u64 = stats.iter().map(|s| s.keyframes_sent).sum();
    let correlation = correlations
        .iter()
        .map(|c| c.unwrap_or(0.0))
        .fold(f64::INFINITY, f64::min);
    let psnr = (psnr_frames > 0).then(|| psnr_sum / psnr_frames as f64);
    json!({
        "setup_ms": setup.map(|d| round1(ms(d))),
        "first_frame_ms": firsts.map(|t| round1(ms(t.saturating_duration_since(accept_at)))),
        "first_frame_from_invite_ms": firsts.map(|t| round1(ms(t.saturating_duration_since(invite_at)))),
        "accept_ms": round1(ms(accept_at.saturating_duration_since(invite_at))),
        "video_frames_sent": sent,
        "video_frames_decoded": decoded,
        "video_frames_received": frames_received,
        "video_frames_numbered": numbered,
        "video_fps": round1(mean(&fps).unwrap_or(0.0)),
        "psnr_db": psnr.map(round1),
        "psnr_min_db": psnr.map(|_| round1(psnr_min)),
        "psnr_frames": psnr_frames,
        "audio_frames_received": audio_frames,
        "audio_packets_received": audio_packets,
        "audio_correlation": if correlation.is_finite() { (correlation * 1000.0).round() / 1000.0 } else { 0.0 },
        "bitrate_kbps": round1(mean(&recv_kbps).unwrap_or(0.0)),
        "send_bitrate_kbps": round1(mean(&send_kbps).unwrap_or(0.0)),
        "target_bitrate_kbps": args.resolution.encoder_params(args.fps).bitrate_kbps,
        "keyframes_sent": keyframes,
        "loss_percent": round1(loss),
        "rtt_ms": round1(rtt.unwrap_or(0.0)),
        "jitter_buffer_ms": round1(jb.unwrap_or(0.0)),
        "end_to_end_delay_estimate_ms": round1(e2e.unwrap_or(0.0)),
        "resolution": args.resolution.to_string(),
        "fps": args.fps,
        "duration_s": round1(media_end.saturating_duration_since(accept_at).as_secs_f64()),
        "camera_frames": alice.camera.frames() + bob.camera.frames(),
    })
}

fn print_human(s: &Value, recordings: &[Value]) {
    let num = |k: &str| s[k].as_f64().unwrap_or(0.0);
    let opt = |k: &str, unit: &str| match s[k].as_f64() {
        Some(v) => format!("{v:.1} {unit}"),
        None => "n/a".to_string(),
    };
    println!(
        "Hotline demo: alice called bob; {} s of {} video at {} fps",
        s["duration_s"],
        s["resolution"].as_str().unwrap_or("?"),
        s["fps"]
    );
    println!(
        "  setup, invite to media connected on both sides   {}",
        opt("setup_ms", "ms")
    );
    println!(
        "  first remote frame after accept (worse side)     {} ({} after the invite)",
        opt("first_frame_ms", "ms"),
        opt("first_frame_from_invite_ms", "ms")
    );
    println!(
        "  video frames sent / received, both directions    {} / {} at {:.1} fps per stream",
        s["video_frames_sent"],
        s["video_frames_received"],
        num("video_fps")
    );
    println!(
        "  picture quality                                  {} mean PSNR (lowest {}), {} of {} frames numbered",
        opt("psnr_db", "dB"),
        opt("psnr_min_db", "dB"),
        s["video_frames_numbered"],
        s["video_frames_received"]
    );
    println!(
        "  bitrate per stream, video and audio              {:.0} kbps received, {:.0} kbps sent (video target {} kbps)",
        num("bitrate_kbps"),
        num("send_bitrate_kbps"),
        s["target_bitrate_kbps"]
    );
    println!(
        "  network                                          rtt {:.1} ms, loss {:.1} %, jitter buffer {:.0} ms",
        num("rtt_ms"),
        num("loss_percent"),
        num("jitter_buffer_ms")
    );
    println!(
        "  audio frames received (10 ms)                    {}, correlation with the sent tone {:.3}",
        s["audio_frames_received"],
        num("audio_correlation")
    );
    for r in recordings {
        if r["event"] == "recordingFinished" {
            println!(
                "  recorded                                         {} ({} {} frames)",
                r["path"].as_str().unwrap_or("?"),
                r["frames"],
                r["kind"].as_str().unwrap_or("")
            );
        } else {
            println!("  recording failed                                 {r}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotline_media::synthetic::ToneGenerator;

    #[test]
    fn tone_correlation_finds_the_tone_at_any_phase_and_not_another() {
        let mut tone = ToneGenerator::new(440.0, 0.3);
        let mut pcm: Vec<i16> = vec![0; 1234];
        pcm.extend((0..300).flat_map(|_| tone.next_frame().samples));
        assert!(tone_correlation(&pcm, 440.0).unwrap() > 0.99);
        assert!(tone_correlation(&pcm, 660.0).unwrap() < 0.5);
        assert_eq!(tone_correlation(&[0; 48_000], 440.0), None);
    }
}
