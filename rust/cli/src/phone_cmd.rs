//! `hotline phone`: a simulated phone. Logs in, optionally calls, answers as
//! told, and prints every observer event as one JSON line on stdout.
//!
//! With `--camera` and `--mic` it sends real media (synthetic or from
//! files); it watches every remote user (first frame, first sound), prints a
//! `callStats` line when a call ends, and with `--record DIR` writes each
//! remote user's video and audio to `DIR/<user>.y4m` and `DIR/<user>.wav`.
//! The video is recorded as a renderer shows it: the phone sets each remote
//! user's render params (`--fill-mode`, `--render-rotation`) through the
//! engine, its device delegate receives them, and the recorder applies them
//! (into a `--view WxH` if given).
//!
//! With `--push-provider` and `--push-token` it registers a push token after
//! login (the engine sends it again after every reconnect), and on exit it
//! only disconnects, as a locked phone does: the token stays registered, so
//! the server pushes the next invitation to it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use hotline_engine::media::devices::{Camera, FillMode, VideoRenderParams};
use hotline_engine::media::stats::CallStats;
use hotline_engine::{
    CallEngine, CallObserver, CallParams, EngineConfig, Event, MediaType, PushEnvironment,
    PushProvider, VideoStreamType,
};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::devices::{self, MediaArgs, PhoneDelegate, RenderParamsMap};
use crate::event_json::{round1, stats_json};
use crate::record::Watcher;

/// How the phone answers incoming calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Answer {
    /// Accept.
    Accept,
    /// Reject.
    Reject,
    /// Ignore (the caller sees a busy line).
    Ignore,
    /// Let it ring.
    None,
}

/// Media type flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Media {
    /// Audio only.
    Audio,
    /// Audio and video.
    Video,
}

/// `--push-provider`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PushProviderArg {
    /// Apple VoIP pushes (PushKit).
    #[value(name = "apns_voip")]
    ApnsVoip,
    /// Apple alert pushes.
    Apns,
    /// Firebase Cloud Messaging.
    Fcm,
}

/// `--push-environment`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PushEnvironmentArg {
    /// APNs production.
    Production,
    /// APNs sandbox (development builds).
    Sandbox,
}

/// Simulate a phone.
#[derive(Args, Debug)]
pub struct PhoneArgs {
    /// The WebSocket URL `hotline server` printed.
    #[arg(long, env = "HOTLINE_SERVER_URL")]
    server: String,
    /// The application's SDKAppID.
    #[arg(long, env = "HOTLINE_SDK_APP_ID")]
    sdk_app_id: u64,
    /// The secret key; the phone signs its own UserSig (development only).
    #[arg(long, env = "HOTLINE_SECRET_KEY", hide_env_values = true)]
    secret_key: String,
    /// Who this phone is.
    #[arg(long)]
    user_id: String,
    /// A PEM file of certificates to trust for `turns:` relays, besides the
    /// built-in roots (a relay with a self-signed certificate).
    #[arg(long, value_name = "PEM")]
    trusted_ca: Option<std::path::PathBuf>,
    /// Call these users (comma-separated) once logged in.
    #[arg(long, value_delimiter = ',')]
    call: Vec<String>,
    /// Media type of the call.
    #[arg(long, value_enum, default_value = "video")]
    media: Media,
    /// Invitation timeout in seconds (10–600; 0 = 30).
    #[arg(long, default_value_t = 0)]
    timeout: u32,
    /// Make even a single-callee call a group call.
    #[arg(long)]
    group: bool,
    /// How to answer incoming calls.
    #[arg(long, value_enum, default_value = "accept")]
    answer: Answer,
    /// Seconds to wait before answering.
    #[arg(long, default_value_t = 0.0)]
    answer_delay: f64,
    /// Hang up this many seconds after the call begins.
    #[arg(long)]
    hangup_after: Option<f64>,
    /// Exit after this many seconds whatever happens.
    #[arg(long)]
    exit_after: Option<f64>,
    /// During a call, print a `callStats` line (`"ended": false`) this
    /// often, in seconds (0.1–60); rates are over the interval. Without it
    /// the line comes only when the call ends.
    #[arg(long, value_name = "SECONDS", value_parser = parse_stats_every)]
    stats_every: Option<f64>,
    /// Receive these users' small video stream (comma-separated), as an app
    /// does for thumbnails (setRemoteVideoStreamType SMALL); group calls'
    /// senders send it.
    #[arg(long, value_delimiter = ',', value_name = "USERS")]
    small_stream: Vec<String>,
    /// Let several devices of this user ring.
    #[arg(long)]
    multi_device: bool,
    /// Stay running after a call ends (wait for the next one).
    #[arg(long)]
    stay: bool,
    /// Record each remote user's video as DIR/<user>.y4m and audio as
    /// DIR/<user>.wav (later calls with --stay: <user>-call2.y4m, ...).
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
    /// Record each remote user's video rendered into a view of this size
    /// (even sides), by --fill-mode. Without it the decoded size is kept.
    #[arg(long, value_name = "WxH", value_parser = devices::parse_view)]
    view: Option<(u32, u32)>,
    /// Show no remote video, so none is decoded (the engine decodes only
    /// what a view shows): a receive-only phone for load tests costs a
    /// fraction of a core. `callStats` still counts packets and the frames
    /// put together from them (`videoFramesReceived`). Not with --record.
    #[arg(long, conflicts_with_all = ["record", "view"])]
    no_decode: bool,
    /// How remote video fits the view: `fill` (cover it, cropping) or `fit`
    /// (the whole picture, with black bars). Set through
    /// setVideoRenderParams for each remote user.
    #[arg(long, value_name = "fill|fit", default_value = "fill", value_parser = devices::parse_fill_mode)]
    fill_mode: FillMode,
    /// Extra clockwise rotation of remote video, on top of each frame's own
    /// (0, 90, 180 or 270). Set through setVideoRenderParams.
    #[arg(long, value_name = "DEGREES", default_value = "0", value_parser = devices::parse_rotation)]
    render_rotation: u32,
    /// Register a push token after login with this provider (needs --push-token).
    #[arg(long, value_enum, requires = "push_token")]
    push_provider: Option<PushProviderArg>,
    /// The push token to register (needs --push-provider).
    #[arg(long, requires = "push_provider")]
    push_token: Option<String>,
    /// The app the token belongs to: iOS bundle ID or FCM project ID.
    #[arg(long, default_value = "io.hotline.phone", requires = "push_token")]
    push_app: String,
    /// The APNs endpoint of the token.
    #[arg(
        long,
        value_enum,
        default_value = "production",
        requires = "push_token"
    )]
    push_environment: PushEnvironmentArg,
    #[command(flatten)]
    media_args: MediaArgs,
}

struct Forward(mpsc::UnboundedSender<Event>);

impl CallObserver for Forward {
    fn on_event(&self, event: &Event) {
        let _ = self.0.send(event.clone());
    }
}

fn print(v: Value) {
    println!("{v}");
}

/// Parse `--stats-every`: seconds, 0.1–60.
fn parse_stats_every(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.1..=60.0).contains(&v) => Ok(v),
        _ => Err(format!("`{s}`: seconds between 0.1 and 60")),
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// Run the phone until its call ends, `--exit-after`, Ctrl-C or SIGTERM.
pub fn run(args: PhoneArgs) -> ExitCode {
    if let Err(e) = hotline_proto::user_id::validate_user_id(&args.user_id) {
        eprintln!("error: --user-id: {e}");
        return ExitCode::from(2);
    }
    // Devices and the recording directory are checked before connecting.
    let devices = match devices::open(&args.media_args) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = &args.record {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("error: --record {}: cannot create it: {e}", dir.display());
            return ExitCode::from(2);
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(phone(args, devices))
}

/// The call in progress, as the phone follows it.
struct InCall {
    call_id: String,
    began: Instant,
    stats: Option<(Instant, CallStats)>,
    last_query: Option<Instant>,
    connected_reported: bool,
    /// `--stats-every`: query this often once connected, and print each.
    stats_every: Option<Duration>,
}

impl InCall {
    /// Query the engine's statistics; report `mediaConnected` once.
    async fn refresh(&mut self, engine: &CallEngine) {
        self.last_query = Some(Instant::now());
        let Some(stats) = engine.call_stats().await else {
            return;
        };
        if !self.connected_reported
            && stats.publisher_connected_ms > 0
            && stats.subscriber_connected_ms > 0
        {
            self.connected_reported = true;
            print(json!({
                "event": "mediaConnected",
                "callId": self.call_id,
                "publisherMs": stats.publisher_connected_ms,
                "subscriberMs": stats.subscriber_connected_ms,
            }));
        }
        self.stats = Some((Instant::now(), stats));
    }

    /// Time for the next statistics query: every 50 ms until media is
    /// connected (to report the milestone promptly), then every second
    /// (or every `--stats-every`).
    fn due(&self) -> bool {
        let every = if self.connected_reported {
            self.stats_every.unwrap_or(Duration::from_secs(1))
        } else {
            Duration::from_millis(50)
        };
        self.last_query.is_none_or(|t| t.elapsed() >= every)
    }

    /// The `callStats` line: the engine's last statistics plus what the
    /// sinks received from each user.
    fn stats_line(&self, watcher: &Watcher, ended: bool) -> Value {
        let mut line = json!({
            "event": "callStats",
            "callId": self.call_id,
            "ended": ended,
            "durationMs": self.began.elapsed().as_millis() as u64,
        });
        let obj = line.as_object_mut().expect("object");
        if let Some((at, stats)) = &self.stats {
            obj.insert(
                "sampledAtMs".into(),
                json!(at.duration_since(self.began).as_millis() as u64),
            );
            if let Value::Object(fields) = stats_json(stats) {
                obj.extend(fields);
            }
        }
        let received: Vec<Value> = watcher
            .users()
            .iter()
            .filter_map(|u| {
                let (video, audio_frames, _) = watcher.seen(u)?;
                Some(json!({
                    "userId": u,
                    "videoFrames": video.frames,
                    "numberedFrames": video.numbered,
                    "lastFrameNumber": video.last_number,
                    "psnrDb": (video.psnr_frames > 0).then(|| round1(video.mean_psnr())),
                    "audioFrames": audio_frames,
                }))
            })
            .collect();
        obj.insert("received".into(), Value::Array(received));
        line
    }
}

async fn phone(args: PhoneArgs, devices: devices::Devices) -> ExitCode {
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let user_sig = hotline_proto::usersig::generate(
        args.sdk_app_id,
        &args.secret_key,
        &args.user_id,
        86400,
        now_s,
    );
    let engine = Arc::new(CallEngine::new());
    let (tx, mut events) = mpsc::unbounded_channel();
    engine.add_observer(Arc::new(Forward(tx)));
    if let Err(e) = engine.set_video_encoder_params(devices.encoder) {
        eprintln!("error: {}", e.message);
        return ExitCode::from(2);
    }
    for line in &devices.description {
        log::info!("{line}");
    }
    for user in &args.small_stream {
        engine.set_remote_video_stream_type(user, VideoStreamType::Small);
    }
    // The delegate keeps the render params the engine hands it; the
    // recorder's sinks read them.
    let render_params = RenderParamsMap::default();
    engine.set_device_delegate(Some(Arc::new(PhoneDelegate::new(render_params.clone()))));
    // As an app does: open the camera for each video call placed or
    // received; the engine closes it when the call ends.
    let camera_given = devices.camera.is_some();
    let open_camera_for = |media: MediaType| {
        if camera_given && media == MediaType::Video {
            engine.open_camera(Camera::Front);
        }
    };
    engine.set_video_source(devices.camera);
    engine.set_audio_source(devices.mic);
    let (milestone_tx, mut milestones) = mpsc::unbounded_channel::<Value>();
    let watcher = Watcher::new(
        args.record.clone(),
        devices.encoder.fps,
        Some((devices.encoder.width, devices.encoder.height)),
        3,
        0,
        Arc::new(move |v| {
            let _ = milestone_tx.send(v);
        }),
    )
    .with_render(args.view, render_params);
    let me = args.user_id.clone();
    let no_decode = args.no_decode;
    let wanted = VideoRenderParams {
        fill_mode: args.fill_mode,
        rotation: args.render_rotation,
    };
    let watch = |user: &str| {
        if user != me && !no_decode && !watcher.watching(user) {
            // Before the sinks exist, so the first frame is rendered this way.
            if let Err(e) = engine.set_video_render_params(user, wanted) {
                print(
                    json!({"event": "commandFailed", "command": "setVideoRenderParams", "code": e.code.as_i32(), "message": e.message}),
                );
            }
            watcher.watch(&engine, user);
        }
    };
    let mut in_call: Option<InCall> = None;
    let mut calls_ended = 0u32;
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot handle SIGTERM: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    if args.multi_device {
        let _ = engine.enable_multi_device_ability(true).await;
    }
    let trusted_ca_pem = match &args.trusted_ca {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(pem) => Some(pem),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let config = EngineConfig {
        server_url: args.server.clone(),
        sdk_app_id: args.sdk_app_id,
        user_id: args.user_id.clone(),
        user_sig,
        trusted_ca_pem,
    };
    if let Err(e) = engine.init(config).await {
        print(json!({"event": "loginFailed", "code": e.code.as_i32(), "message": e.message}));
        return ExitCode::FAILURE;
    }
    print(json!({"event": "ready", "userId": args.user_id, "deviceId": engine.device_id()}));
    if let (Some(provider), Some(token)) = (args.push_provider, args.push_token.clone()) {
        let provider = match provider {
            PushProviderArg::ApnsVoip => PushProvider::ApnsVoip,
            PushProviderArg::Apns => PushProvider::Apns,
            PushProviderArg::Fcm => PushProvider::Fcm,
        };
        let environment = match args.push_environment {
            PushEnvironmentArg::Production => PushEnvironment::Production,
            PushEnvironmentArg::Sandbox => PushEnvironment::Sandbox,
        };
        match engine
            .register_push_token(provider, token, args.push_app.clone(), environment)
            .await
        {
            Ok(()) => print(json!({"event": "pushRegistered"})),
            Err(e) => print(
                json!({"event": "commandFailed", "command": "registerPushToken", "code": e.code.as_i32(), "message": e.message}),
            ),
        }
    }
    let deadline = args
        .exit_after
        .map(|s| tokio::time::Instant::now() + secs(s));
    if !args.call.is_empty() {
        let media = match args.media {
            Media::Audio => MediaType::Audio,
            Media::Video => MediaType::Video,
        };
        let params = CallParams {
            timeout_s: args.timeout,
            is_group: args.group,
            ..Default::default()
        };
        open_camera_for(media);
        match engine.calls(args.call.clone(), media, params).await {
            Ok(call_id) => print(json!({"event": "callPlaced", "callId": call_id})),
            Err(e) => {
                print(
                    json!({"event": "commandFailed", "command": "calls", "code": e.code.as_i32(), "message": e.message}),
                );
                if !args.stay && deadline.is_none() {
                    engine.un_init().await;
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    let (act_tx, mut act_rx) = mpsc::unbounded_channel::<&'static str>();
    loop {
        let sleep_deadline = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = sleep_deadline => break,
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            Some(milestone) = milestones.recv() => print(milestone),
            _ = tick.tick() => {
                if let Some(call) = in_call.as_mut().filter(|c| c.due()) {
                    let periodic = call.connected_reported && call.stats_every.is_some();
                    call.refresh(&engine).await;
                    if periodic {
                        print(call.stats_line(&watcher, false));
                    }
                }
            }
            action = act_rx.recv() => {
                let Some(action) = action else { continue };
                if action == "hangup" {
                    // The engine's statistics end with the call: take them now.
                    if let Some(call) = in_call.as_mut() {
                        call.refresh(&engine).await;
                    }
                }
                let result = match action {
                    "accept" => engine.accept().await,
                    "reject" => engine.reject().await,
                    "ignore" => engine.ignore().await,
                    _ => engine.hangup().await,
                };
                if let Err(e) = result {
                    print(json!({"event": "commandFailed", "command": action, "code": e.code.as_i32(), "message": e.message}));
                }
            }
            event = events.recv() => {
                let Some(event) = event else { break };
                print(crate::event_json::event_json(&event));
                match &event {
                    Event::UserInviting { user_id, .. }
                    | Event::UserJoin { user_id, .. }
                    | Event::UserVideoAvailable { user_id, .. }
                    | Event::UserAudioAvailable { user_id, .. } => watch(user_id),
                    _ => {}
                }
                match &event {
                    Event::CallReceived { caller_id, callee_ids, media_type, .. } => {
                        open_camera_for(*media_type);
                        watch(caller_id);
                        callee_ids.iter().for_each(|u| watch(u));
                        let action = match args.answer {
                            Answer::Accept => Some("accept"),
                            Answer::Reject => Some("reject"),
                            Answer::Ignore => Some("ignore"),
                            Answer::None => None,
                        };
                        if let Some(action) = action {
                            schedule(&act_tx, action, args.answer_delay);
                        }
                    }
                    Event::CallBegin { call_id, .. } => {
                        let began = Instant::now();
                        watcher.set_epoch(began);
                        in_call = Some(InCall {
                            call_id: call_id.clone(),
                            began,
                            stats: None,
                            last_query: None,
                            connected_reported: false,
                            stats_every: args.stats_every.map(secs),
                        });
                        if let Some(after) = args.hangup_after {
                            schedule(&act_tx, "hangup", after);
                        }
                    }
                    _ => {}
                }
                if matches!(event, Event::CallEnd { .. } | Event::CallNotConnected { .. }) {
                    if let Some(call) = in_call.take() {
                        print(call.stats_line(&watcher, true));
                    }
                    watcher.finish(&engine).into_iter().for_each(print);
                    calls_ended += 1;
                    watcher.set_suffix(&format!("-call{}", calls_ended + 1));
                }
                match &event {
                    Event::CallEnd { .. } | Event::CallNotConnected { .. } if !args.stay => break,
                    Event::KickedOffline | Event::UserSigExpired => break,
                    _ => {}
                }
            }
        }
    }
    // Leaving during a call (--exit-after, a signal): report what it carried.
    // Leaving only disconnects: a registered push token stays registered.
    if let Some(mut call) = in_call.take() {
        call.refresh(&engine).await;
        print(call.stats_line(&watcher, false));
    }
    engine.un_init().await;
    // Let the event thread flush anything already queued.
    while let Ok(event) = events.try_recv() {
        print(crate::event_json::event_json(&event));
    }
    while let Ok(milestone) = milestones.try_recv() {
        print(milestone);
    }
    watcher.finish(&engine).into_iter().for_each(print);
    ExitCode::SUCCESS
}

fn schedule(tx: &mpsc::UnboundedSender<&'static str>, action: &'static str, after_s: f64) {
    let tx = tx.clone();
    tokio::spawn(async move {
        tokio::time::sleep(secs(after_s)).await;
        let _ = tx.send(action);
    });
}
