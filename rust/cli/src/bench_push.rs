//! `hotline bench push`: the server's offline-push path against local fake
//! providers, on loopback.
//!
//! One process holds three parts, each on its own threads so their CPU can
//! be told apart: the server (`hotline_server::start`, on a runtime of two
//! workers named `hl-server`, plus its SQLite and SFU threads), and the fake
//! APNs/FCM/OAuth providers (`hotline-pushfake`, HTTP/2 over TLS) together
//! with the load generator (one worker named `hl-bench`, and the main
//! thread). Every callee logs in once, registers a push token and leaves;
//! then callers place calls at a fixed rate, each to an offline callee, and
//! hang up their previous call first. The fake records when each request's
//! body arrived, which is compared with the `Instant` the `call` frame was
//! sent: that is the time from the invitation to the provider's request.
//! Hangups make cancel pushes; they are counted (and timed from the hangup)
//! but kept out of the invitation latency, by the payload's kind.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use hotline_proto::push::{PushEnvironment, PushKind, PushPayload, PushProvider};
use hotline_proto::{usersig, ClientMsg, MediaType, ServerMsg, PROTOCOL_VERSION};
use hotline_pushfake::FakeProviders;
use hotline_server::push::FailReason;
use hotline_server::{ServerConfig, ServerHandle};
use serde_json::json;
use tokio::sync::Semaphore;

use crate::bench_cmd::{connect, percentile, recv, send, Ws};

/// Push benchmark settings (every loop is bounded by these).
#[derive(Args, Debug)]
pub struct PushArgs {
    /// Invitations per second.
    #[arg(long, default_value_t = 500)]
    rate: u32,
    /// Seconds of invitations (at most 120).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Offline callees, each with a push token; calls go round them (at
    /// least twice --callers, at most 50,000).
    #[arg(long, default_value_t = 2000)]
    callees: usize,
    /// Caller connections; each hangs up its previous call before the next
    /// (at most 2,000).
    #[arg(long, default_value_t = 100)]
    callers: usize,
    /// The provider of every callee's token.
    #[arg(long, value_enum, default_value_t = Provider::ApnsVoip)]
    provider: Provider,
    /// Print the summary as one JSON line at the end.
    #[arg(long)]
    json: bool,
}

/// Which fake provider the callees' tokens belong to.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Provider {
    /// APNs VoIP pushes (PushKit), 64-hex-digit tokens.
    ApnsVoip,
    /// FCM HTTP v1 data messages.
    Fcm,
}

impl Provider {
    fn push_provider(self) -> PushProvider {
        match self {
            Provider::ApnsVoip => PushProvider::ApnsVoip,
            Provider::Fcm => PushProvider::Fcm,
        }
    }

    fn token(self, i: usize) -> String {
        match self {
            Provider::ApnsVoip => format!("{i:064x}"),
            Provider::Fcm => format!("bench-callee-{i}:APA91bHun4MxP5egoKMwt2KZFBaFUH"),
        }
    }

    fn app(self) -> &'static str {
        match self {
            Provider::ApnsVoip => TOPIC,
            Provider::Fcm => FakeProviders::FCM_PROJECT,
        }
    }
}

const APP: u64 = 1400000000;
const KEY: &str = "bench-secret-key-0123456789abcdef";
const TOPIC: &str = "io.hotline.bench";
/// The target this benchmark checks: invitation to provider request, p99.
const TARGET_P99_MS: f64 = 20.0;
/// The fakes keep their newest 100,000 requests; a ring and a cancel per
/// invitation must fit.
const MAX_INVITATIONS: u64 = 40_000;
/// How long any one answer from the server may take.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// Run the push benchmark.
pub fn run(args: PushArgs) -> ExitCode {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("hl-server")
        .enable_all()
        .build()
        .expect("runtime");
    let bench_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("hl-bench")
        .enable_all()
        .build()
        .expect("runtime");
    let result = bench_rt.block_on(bench(args, server_rt.handle().clone()));
    drop(bench_rt);
    server_rt.shutdown_timeout(Duration::from_secs(5));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// CPU seconds (user + system) of this process's threads, in two groups:
/// the server's (its runtime, SQLite and SFU threads), and the rest (the
/// fake providers, the load generator and the main thread).
#[derive(Debug, Clone, Copy, Default)]
struct ThreadCpu {
    server: f64,
    bench: f64,
}

fn thread_cpu() -> ThreadCpu {
    let mut cpu = ThreadCpu::default();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return cpu;
    };
    for task in tasks.flatten() {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = &stat[open + 1..close];
        let f: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        let s = (ticks(11) + ticks(12)) / 100.0;
        if name.starts_with("hl-server")
            || name.starts_with("sqlx-sqlite")
            || name.starts_with("hotline-sfu")
        {
            cpu.server += s;
        } else {
            cpu.bench += s;
        }
    }
    cpu
}

fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Wait (bounded) for the answer to `seq`, skipping call updates.
async fn answer(ws: &mut Ws, seq: u64) -> Result<ServerMsg, String> {
    let until = tokio::time::Instant::now() + ANSWER_WITHIN;
    loop {
        match tokio::time::timeout_at(until, recv(ws)).await {
            Ok(Ok(msg @ ServerMsg::Response { seq: s, .. })) if s == seq => return Ok(msg),
            Ok(Ok(_)) => continue,
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(format!(
                    "no answer to request {seq} within {ANSWER_WITHIN:?}"
                ))
            }
        }
    }
}

async fn request(ws: &mut Ws, seq: u64, msg: ClientMsg) -> Result<ServerMsg, String> {
    let what = msg.type_name();
    send(ws, seq, msg).await?;
    match answer(ws, seq).await? {
        ok @ ServerMsg::Response { code: 0, .. } => Ok(ok),
        other => Err(format!("{what} refused: {other:?}")),
    }
}

async fn login(server: SocketAddr, i: usize, user: &str) -> Result<Ws, String> {
    let mut ws = connect(server, i).await?;
    let msg = ClientMsg::Login {
        protocol_version: PROTOCOL_VERSION,
        sdk_app_id: APP,
        user_id: user.to_string(),
        user_sig: usersig::generate(APP, KEY, user, 86400, now_s()),
        device_id: "phone".into(),
        multi_device: false,
        known_calls: vec![],
    };
    request(&mut ws, 1, msg).await?;
    Ok(ws)
}

/// Log a callee in, register its token, and leave (a locked phone).
async fn register_callee(server: SocketAddr, i: usize, provider: Provider) -> Result<(), String> {
    let mut ws = login(server, i, &format!("callee{i}")).await?;
    let msg = ClientMsg::RegisterPush {
        provider: provider.push_provider(),
        token: provider.token(i),
        app: provider.app().into(),
        environment: PushEnvironment::Production,
    };
    request(&mut ws, 2, msg).await?;
    let _ = ws.close(None).await;
    Ok(())
}

/// A server whose push providers are the fakes, started on `server_rt`.
async fn start_server(
    fakes: &FakeProviders,
    dir: &std::path::Path,
    server_rt: &tokio::runtime::Handle,
) -> Result<ServerHandle, String> {
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text)
            .map(|()| path)
            .map_err(|e| e.to_string())
    };
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        db: dir.join("bench.db"),
        sdk_app_id: APP,
        secret_key: KEY.into(),
        idle_timeout_s: 600,
        // Callers place and hang up several calls a second each.
        rate_limit_per_s: 1000,
        rate_limit_burst: 1000,
        apns_key_file: Some(write("AuthKey.p8", fakes.apns_key_pem())?),
        apns_key_id: Some(FakeProviders::APNS_KEY_ID.into()),
        apns_team_id: Some(FakeProviders::APNS_TEAM_ID.into()),
        apns_topic: Some(TOPIC.into()),
        apns_url: Some(fakes.apns_url()),
        fcm_service_account: Some(write("service-account.json", fakes.service_account_json())?),
        fcm_url: Some(fakes.fcm_url()),
        push_ca_file: Some(write("ca.pem", fakes.ca_pem())?),
        ..Default::default()
    };
    server_rt
        .spawn(hotline_server::start(config))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("the server did not start: {e}"))
}

/// What one caller did.
#[derive(Default)]
struct CallerLog {
    /// call_id → when its `call` frame was sent.
    calls: Vec<(String, Instant)>,
    /// call_id → when its `hangup` frame was sent.
    hangups: Vec<(String, Instant)>,
    refused: u64,
}

/// One caller: every `interval`, hang up the previous call and call the
/// next callee, until `deadline`.
#[allow(clippy::too_many_arguments)]
async fn caller(
    mut ws: Ws,
    k: usize,
    callers: usize,
    callees: usize,
    interval: Duration,
    deadline: Instant,
    next_callee: Arc<AtomicUsize>,
    sent: Arc<AtomicU64>,
) -> Result<CallerLog, String> {
    let mut log = CallerLog::default();
    // Stagger the callers so the aggregate rate is smooth.
    tokio::time::sleep(interval.mul_f64(k as f64 / callers as f64)).await;
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seq = 10;
    let mut previous: Option<String> = None;
    while Instant::now() < deadline {
        tick.tick().await;
        if let Some(call_id) = previous.take() {
            seq += 1;
            log.hangups.push((call_id.clone(), Instant::now()));
            send(&mut ws, seq, ClientMsg::Hangup { call_id }).await?;
            // Its answer is read with the call's, below.
        }
        let callee = next_callee.fetch_add(1, Ordering::Relaxed) % callees;
        seq += 1;
        let call = ClientMsg::call_with_defaults(vec![format!("callee{callee}")], MediaType::Audio);
        let t0 = Instant::now();
        send(&mut ws, seq, call).await?;
        sent.fetch_add(1, Ordering::Relaxed);
        match answer(&mut ws, seq).await? {
            ServerMsg::Response {
                code: 0,
                call: Some(call),
                ..
            } => {
                log.calls.push((call.call_id.clone(), t0));
                previous = Some(call.call_id);
            }
            _ => log.refused += 1,
        }
    }
    if let Some(call_id) = previous {
        seq += 1;
        log.hangups.push((call_id.clone(), Instant::now()));
        request(&mut ws, seq, ClientMsg::Hangup { call_id }).await?;
    }
    Ok(log)
}

/// A request the fake took, reduced to what is matched.
struct Arrival {
    call_id: String,
    ring: bool,
    status: u16,
    at: Instant,
}

fn arrivals(fakes: &FakeProviders, provider: Provider) -> Vec<Arrival> {
    let parse = |text: &str| PushPayload::parse(text).ok();
    match provider {
        Provider::ApnsVoip => fakes
            .apns_requests()
            .into_iter()
            .filter_map(|r| {
                let p = parse(&r.body.to_string())?;
                Some(Arrival {
                    call_id: p.call_id,
                    ring: matches!(p.kind, PushKind::Call { .. }),
                    status: r.status,
                    at: r.received_at,
                })
            })
            .collect(),
        Provider::Fcm => fakes
            .fcm_requests()
            .into_iter()
            .filter_map(|r| {
                let data = serde_json::Value::Object(r.data()?.clone()).to_string();
                let p = parse(&data)?;
                Some(Arrival {
                    call_id: p.call_id,
                    ring: matches!(p.kind, PushKind::Call { .. }),
                    status: r.status,
                    at: r.received_at,
                })
            })
            .collect(),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn bench(args: PushArgs, server_rt: tokio::runtime::Handle) -> Result<(), String> {
    let duration = args.duration.clamp(1, 120);
    let rate = args.rate.max(1);
    let callers = args.callers.clamp(1, 2000);
    let callees = args.callees.min(50_000);
    if callees < 2 * callers {
        return Err(format!(
            "--callees ({callees}) must be at least twice --callers ({callers}): a callee is called again only after its previous call was hung up"
        ));
    }
    if u64::from(rate) * duration > MAX_INVITATIONS {
        return Err(format!(
            "--rate × --duration must be at most {MAX_INVITATIONS} invitations (the fakes keep the newest 100,000 requests)"
        ));
    }
    let interval = Duration::from_secs_f64(callers as f64 / f64::from(rate));
    if interval.as_secs_f64() * 1.5 * f64::from(rate) > callees as f64 {
        return Err(format!(
            "--callees ({callees}) too few for {callers} callers at {rate}/s: a callee would be called again while still ringing"
        ));
    }

    let fakes = FakeProviders::start()
        .await
        .map_err(|e| format!("fake providers: {e}"))?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let server = start_server(&fakes, dir.path(), &server_rt).await?;
    let addr = server.local_addr();
    let provider = args.provider.push_provider();
    eprintln!(
        "bench: server {} (push to fake {} at {}), registering {callees} callees",
        server.ws_url(),
        provider.as_str(),
        match args.provider {
            Provider::ApnsVoip => fakes.apns_url(),
            Provider::Fcm => fakes.fcm_url(),
        }
    );

    // Every callee registers a token and leaves.
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(64));
    let mut tasks = Vec::with_capacity(callees);
    for i in 0..callees {
        let gate = gate.clone();
        let p = args.provider;
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.expect("semaphore");
            register_callee(addr, i, p).await
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        t.await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("callee {i}: {e}"))?;
        if (i + 1) % 1000 == 0 {
            eprintln!("bench: {} callees registered", i + 1);
        }
    }
    let online = &server.metrics.users_online;
    let until = Instant::now() + Duration::from_secs(30);
    while online.load(Ordering::Relaxed) != 0 {
        if Instant::now() > until {
            return Err(format!(
                "{} callees still online after 30 s",
                online.load(Ordering::Relaxed)
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "bench: {callees} tokens registered in {:.1} s; every callee offline",
        started.elapsed().as_secs_f64()
    );

    // Callers, from other source addresses than the callees used.
    let mut sockets = Vec::with_capacity(callers);
    for k in 0..callers {
        let user = format!("caller{k}");
        let mut ws = login(addr, callees + k, &user)
            .await
            .map_err(|e| format!("{user}: {e}"))?;
        let info = ClientMsg::SetSelfInfo {
            nickname: format!("Caller {k}"),
            avatar_url: String::new(),
        };
        request(&mut ws, 2, info).await?;
        sockets.push(ws);
    }
    eprintln!(
        "bench: {rate} invitations/s for {duration} s from {callers} callers (each every {:.0} ms, hanging up its previous call first)",
        interval.as_secs_f64() * 1000.0
    );

    let next_callee = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    let cpu_start = thread_cpu();
    let t_start = Instant::now();
    let deadline = t_start + Duration::from_secs(duration);
    let mut workers = Vec::with_capacity(callers);
    for (k, ws) in sockets.into_iter().enumerate() {
        workers.push(tokio::spawn(caller(
            ws,
            k,
            callers,
            callees,
            interval,
            deadline,
            next_callee.clone(),
            sent.clone(),
        )));
    }
    // Progress once a second while the callers run (bounded by the deadline
    // plus the time their last answers may take).
    let push_metrics = server.metrics.push.clone();
    let progress = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        let last = deadline + ANSWER_WITHIN * 2;
        let mut cpu = thread_cpu();
        while Instant::now() < last {
            tick.tick().await;
            let now = thread_cpu();
            eprintln!(
                "{:5.1} s  invitations {:6}  pushes accepted {:6}  server CPU {:3.0}%",
                t_start.elapsed().as_secs_f64(),
                sent.load(Ordering::Relaxed),
                push_metrics.sent_count(provider),
                100.0 * (now.server - cpu.server),
            );
            cpu = now;
        }
    });
    let mut logs = Vec::with_capacity(callers);
    for w in workers {
        logs.push(w.await.map_err(|e| e.to_string())??);
    }
    progress.abort();
    let calls_done = Instant::now();
    let placed: usize = logs.iter().map(|l| l.calls.len()).sum();
    let hung_up: usize = logs.iter().map(|l| l.hangups.len()).sum();
    let refused: u64 = logs.iter().map(|l| l.refused).sum();
    // A ring and a cancel per call; wait (bounded) for the last of them.
    let expected = placed + hung_up;
    let got = match args.provider {
        Provider::ApnsVoip => fakes
            .wait_for_apns(expected, Duration::from_secs(10))
            .await
            .len(),
        Provider::Fcm => fakes
            .wait_for_fcm(expected, Duration::from_secs(10))
            .await
            .len(),
    };
    let cpu_end = thread_cpu();
    let wall = t_start.elapsed().as_secs_f64();
    if got < expected {
        eprintln!("bench: {got} of {expected} pushes arrived within 10 s of the last call");
    }

    // Match the provider's requests to the calls and hangups.
    let called: HashMap<String, Instant> =
        logs.iter().flat_map(|l| l.calls.iter().cloned()).collect();
    let hangups: HashMap<String, Instant> = logs
        .iter()
        .flat_map(|l| l.hangups.iter().cloned())
        .collect();
    let all = arrivals(&fakes, args.provider);
    let (mut ring_ms, mut cancel_ms) = (Vec::new(), Vec::new());
    let (mut refused_by_provider, mut unmatched) = (0u64, 0u64);
    let mut last_arrival = t_start;
    for a in &all {
        if a.status != 200 {
            refused_by_provider += 1;
            continue;
        }
        let sent_at = if a.ring {
            called.get(&a.call_id)
        } else {
            hangups.get(&a.call_id)
        };
        let Some(sent_at) = sent_at else {
            unmatched += 1;
            continue;
        };
        last_arrival = last_arrival.max(a.at);
        let d = ms(a.at.saturating_duration_since(*sent_at));
        if a.ring {
            ring_ms.push(d)
        } else {
            cancel_ms.push(d)
        }
    }
    ring_ms.sort_by(f64::total_cmp);
    cancel_ms.sort_by(f64::total_cmp);
    let pushes = ring_ms.len() + cancel_ms.len();
    // Throughput over the span the pushes actually took.
    let span = last_arrival
        .saturating_duration_since(t_start)
        .as_secs_f64()
        .max(1e-3);
    let achieved = placed as f64 / calls_done.duration_since(t_start).as_secs_f64();
    let server_cpu = cpu_end.server - cpu_start.server;
    let bench_cpu = cpu_end.bench - cpu_start.bench;
    let p = |v: &[f64], q: f64| percentile(v, q);
    let met = ring_ms.len() == placed && p(&ring_ms, 0.99) < TARGET_P99_MS;
    let server_metrics = &server.metrics.push;
    let summary = json!({
        "provider": provider.as_str(),
        "rate": rate,
        "duration_s": duration,
        "callees": callees,
        "callers": callers,
        "invitations_sent": placed,
        "invitations_refused": refused,
        "invitation_rate_achieved": achieved.round(),
        "ring_pushes_received": ring_ms.len(),
        "cancel_pushes_received": cancel_ms.len(),
        "pushes_received": pushes,
        "pushes_per_s": (pushes as f64 / span).round(),
        "provider_refused": refused_by_provider,
        "unmatched": unmatched,
        "server_push_dropped_queue_full": server_metrics.failed_count(None, FailReason::QueueFull),
        "server_push_dropped_deadline": server_metrics.failed_count(Some(provider), FailReason::Deadline),
        "ring_latency_ms_p50": p(&ring_ms, 0.50),
        "ring_latency_ms_p90": p(&ring_ms, 0.90),
        "ring_latency_ms_p99": p(&ring_ms, 0.99),
        "ring_latency_ms_max": ring_ms.last().copied().unwrap_or(f64::NAN),
        "cancel_latency_ms_p50": p(&cancel_ms, 0.50),
        "cancel_latency_ms_p99": p(&cancel_ms, 0.99),
        "server_cpu_share": server_cpu / wall,
        "server_cpu_us_per_invitation": (server_cpu * 1e6 / placed.max(1) as f64).round(),
        "bench_cpu_share": bench_cpu / wall,
        "target_p99_ms": TARGET_P99_MS,
        "target_met": met,
    });
    eprintln!(
        "bench: {placed} invitations ({achieved:.0}/s, {refused} refused), {} ring and {} cancel pushes accepted by the fake {} ({:.0} pushes/s), {refused_by_provider} refused by it, {unmatched} unmatched",
        ring_ms.len(),
        cancel_ms.len(),
        provider.as_str(),
        pushes as f64 / span,
    );
    eprintln!(
        "bench: invitation -> provider request: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 < {TARGET_P99_MS} ms: {}); hangup -> cancel request: p50 {:.2} ms, p99 {:.2} ms",
        p(&ring_ms, 0.50),
        p(&ring_ms, 0.90),
        p(&ring_ms, 0.99),
        ring_ms.last().copied().unwrap_or(f64::NAN),
        if met { "met" } else { "not met" },
        p(&cancel_ms, 0.50),
        p(&cancel_ms, 0.99),
    );
    eprintln!(
        "bench: CPU over {wall:.1} s: server {:.0}% of a core ({:.0} us per invitation with its cancel), fake providers and load generator {:.0}%",
        100.0 * server_cpu / wall,
        server_cpu * 1e6 / placed.max(1) as f64,
        100.0 * bench_cpu / wall,
    );
    if args.json {
        println!("{summary}");
    }
    server_rt
        .spawn(server.shutdown())
        .await
        .map_err(|e| e.to_string())?;
    drop(fakes);
    Ok(())
}
