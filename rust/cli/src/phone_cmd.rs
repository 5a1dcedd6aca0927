//! `hotline phone`: a simulated phone. Logs in, optionally calls, answers as
//! told, and prints every observer event as one JSON line on stdout.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use hotline_engine::{CallEngine, CallObserver, CallParams, EngineConfig, Event, MediaType};
use serde_json::{json, Value};
use tokio::sync::mpsc;

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
    /// Let several devices of this user ring.
    #[arg(long)]
    multi_device: bool,
    /// Stay running after a call ends (wait for the next one).
    #[arg(long)]
    stay: bool,
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

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// Run the phone until its call ends, `--exit-after`, or Ctrl-C.
pub fn run(args: PhoneArgs) -> ExitCode {
    if let Err(e) = hotline_proto::user_id::validate_user_id(&args.user_id) {
        eprintln!("error: --user-id: {e}");
        return ExitCode::from(2);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(phone(args))
}

async fn phone(args: PhoneArgs) -> ExitCode {
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
    if args.multi_device {
        let _ = engine.enable_multi_device_ability(true).await;
    }
    let config = EngineConfig {
        server_url: args.server.clone(),
        sdk_app_id: args.sdk_app_id,
        user_id: args.user_id.clone(),
        user_sig,
    };
    if let Err(e) = engine.init(config).await {
        print(json!({"event": "loginFailed", "code": e.code.as_i32(), "message": e.message}));
        return ExitCode::FAILURE;
    }
    print(json!({"event": "ready", "userId": args.user_id, "deviceId": engine.device_id()}));
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
            action = act_rx.recv() => {
                let Some(action) = action else { continue };
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
                    Event::CallReceived { .. } => {
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
                    Event::CallBegin { .. } => {
                        if let Some(after) = args.hangup_after {
                            schedule(&act_tx, "hangup", after);
                        }
                    }
                    Event::CallEnd { .. } | Event::CallNotConnected { .. } if !args.stay => break,
                    Event::KickedOffline | Event::UserSigExpired => break,
                    _ => {}
                }
            }
        }
    }
    engine.un_init().await;
    // Let the event thread flush anything already queued.
    while let Ok(event) = events.try_recv() {
        print(crate::event_json::event_json(&event));
    }
    ExitCode::SUCCESS
}

fn schedule(tx: &mpsc::UnboundedSender<&'static str>, action: &'static str, after_s: f64) {
    let tx = tx.clone();
    tokio::spawn(async move {
        tokio::time::sleep(secs(after_s)).await;
        let _ = tx.send(action);
    });
}
