//! `hotline bench signaling`: a bounded load generator on loopback.
//!
//! It starts `hotline server` as a child process (so the server's memory can
//! be read from /proc), logs in many raw protocol clients spread over several
//! 127.0.0.x source addresses, measures logins per second and server memory
//! per idle connection, then drives invitations at a fixed rate between
//! caller/callee pairs and reports delivery latency percentiles.

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command as Process, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use futures_util::{SinkExt, StreamExt};
use hotline_proto::{usersig, ClientFrame, ClientMsg, MediaType, ServerMsg, PROTOCOL_VERSION};
use serde_json::json;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Mutex, Semaphore};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Benchmarks.
#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Logins per second, memory per idle connection, invite delivery latency.
    Signaling(SignalingArgs),
    /// Offline pushes per second and invitation-to-provider latency, against local fake APNs/FCM.
    Push(crate::bench_push::PushArgs),
    /// Load a running server's SFU with lightweight publishers and subscribers.
    Sfu(crate::bench_sfu::SfuArgs),
}

/// Signaling benchmark settings (every loop is bounded by these).
#[derive(Args, Debug)]
pub struct SignalingArgs {
    /// Idle logged-in connections to hold open (bounded by the fd limit).
    #[arg(long, default_value_t = 5000)]
    connections: usize,
    /// Invitations per second during the latency phase.
    #[arg(long, default_value_t = 2000)]
    rate: u32,
    /// Seconds the latency phase lasts (at most 120).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Caller/callee pairs taking turns in the latency phase.
    #[arg(long, default_value_t = 400)]
    pairs: usize,
    /// Print the summary as one JSON line at the end.
    #[arg(long)]
    json: bool,
}

const APP: u64 = 1400000000;
const KEY: &str = "bench-secret-key-0123456789abcdef";
pub(crate) type Ws = WebSocketStream<TcpStream>;

/// Run a benchmark.
pub fn run(cmd: BenchCommand) -> ExitCode {
    let args = match cmd {
        BenchCommand::Signaling(args) => args,
        BenchCommand::Push(args) => return crate::bench_push::run(args),
        BenchCommand::Sfu(args) => return crate::bench_sfu::run(args),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    match rt.block_on(signaling(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    _dir: std::path::PathBuf,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

fn start_server() -> Result<ServerProcess, String> {
    let dir = std::env::temp_dir().join(format!("hotline-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Process::new(exe)
        .args([
            "server",
            "--listen",
            "127.0.0.1:0",
            "--sdk-app-id",
            &APP.to_string(),
            "--idle-timeout",
            "600",
        ])
        .args(["--rate-limit", "1000", "--rate-burst", "1000"])
        .arg("--db")
        .arg(dir.join("bench.db"))
        .env("HOTLINE_SECRET_KEY", KEY)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("ws://"))
        .ok_or(format!("unexpected server output: {line}"))?;
    let addr = url
        .trim_start_matches("ws://")
        .trim_end_matches("/ws")
        .parse()
        .map_err(|e| format!("{e}: {url}"))?;
    Ok(ServerProcess {
        child,
        addr,
        _dir: dir,
    })
}

pub(crate) fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// CPU seconds (user + system) a process has used, from /proc (clock ticks of 10 ms).
pub(crate) fn cpu_s(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

pub(crate) async fn connect(server: SocketAddr, i: usize) -> Result<Ws, String> {
    // Spread source addresses so 5-tuples never run out of ports.
    let src = IpAddr::V4(Ipv4Addr::new(
        127,
        0,
        (i / 250 / 250) as u8,
        (1 + (i / 250) % 250) as u8,
    ));
    let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket
        .bind(SocketAddr::new(src, 0))
        .map_err(|e| format!("bind {src}: {e}"))?;
    let stream = socket
        .connect(server)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let url = format!("ws://{server}/ws");
    let (ws, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    Ok(ws)
}

pub(crate) async fn send(ws: &mut Ws, seq: u64, msg: ClientMsg) -> Result<(), String> {
    let text = serde_json::to_string(&ClientFrame { seq, msg }).expect("serialises");
    ws.send(Message::Text(text.into()))
        .await
        .map_err(|e| e.to_string())
}

pub(crate) async fn recv(ws: &mut Ws) -> Result<ServerMsg, String> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                return serde_json::from_str(&t).map_err(|e| e.to_string())
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("connection closed".into()),
        }
    }
}

async fn login(server: SocketAddr, i: usize, now_s: u64) -> Result<Ws, String> {
    let mut ws = connect(server, i).await?;
    let user = format!("u{i}");
    let user_sig = usersig::generate(APP, KEY, &user, 86400, now_s);
    let msg = ClientMsg::Login {
        protocol_version: PROTOCOL_VERSION,
        sdk_app_id: APP,
        user_id: user,
        user_sig,
        device_id: "bench".into(),
        multi_device: false,
        known_calls: vec![],
    };
    send(&mut ws, 1, msg).await?;
    match recv(&mut ws).await? {
        ServerMsg::Response { code: 0, .. } => Ok(ws),
        other => Err(format!("login refused: {other:?}")),
    }
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn signaling(args: SignalingArgs) -> Result<(), String> {
    let duration = args.duration.min(120);
    let connections = args.connections.max(args.pairs * 2);
    let server = start_server()?;
    let pid = server.child.id();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = rss_kib(pid);
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());

    eprintln!(
        "bench: logging in {connections} connections to {}",
        server.addr
    );
    let server_pid = pid.to_string();
    let cpu_login_start = cpu_s(&server_pid);
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(256));
    let mut tasks = Vec::with_capacity(connections);
    for i in 0..connections {
        let gate = gate.clone();
        let addr = server.addr;
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.expect("semaphore");
            login(addr, i, now_s).await
        }));
    }
    let mut sockets = Vec::with_capacity(connections);
    for (i, t) in tasks.into_iter().enumerate() {
        sockets.push(
            t.await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("connection {i}: {e}"))?,
        );
        if (i + 1) % 5000 == 0 {
            eprintln!("bench: {} logged in", i + 1);
        }
    }
    let login_secs = started.elapsed().as_secs_f64();
    let server_cpu_login = cpu_s(&server_pid) - cpu_login_start;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_idle = rss_kib(pid);
    let per_conn_bytes = (rss_idle.saturating_sub(rss_before) * 1024) as f64 / connections as f64;
    eprintln!(
        "bench: {connections} logins in {login_secs:.2} s ({:.0}/s); server RSS {rss_before} KiB -> {rss_idle} KiB ({per_conn_bytes:.0} B per idle connection)",
        connections as f64 / login_secs
    );

    eprintln!(
        "bench: {} invitations/s for {duration} s over {} pairs",
        args.rate, args.pairs
    );
    let mut pairs: Vec<(Ws, Ws)> = Vec::new();
    let mut rest = sockets.split_off(args.pairs * 2);
    std::mem::swap(&mut rest, &mut sockets);
    let mut it = rest.into_iter().enumerate();
    let mut callee_ids = Vec::new();
    while let (Some((ci, caller)), Some((ei, callee))) = (it.next(), it.next()) {
        let _ = ci;
        callee_ids.push(format!("u{ei}"));
        pairs.push((caller, callee));
    }
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let interval = Duration::from_secs_f64(args.pairs as f64 / args.rate.max(1) as f64);
    let deadline = Instant::now() + Duration::from_secs(duration);
    let (server_cpu_start, bench_cpu_start) = (cpu_s(&server_pid), cpu_s("self"));
    let mut workers = Vec::new();
    for (k, ((mut caller, mut callee), callee_id)) in pairs.into_iter().zip(callee_ids).enumerate()
    {
        let latencies = latencies.clone();
        workers.push(tokio::spawn(async move {
            // Stagger the pairs so the aggregate rate is smooth.
            tokio::time::sleep(interval.mul_f64(k as f64 / args.pairs as f64)).await;
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut seq = 10;
            let (mut sent, mut missed) = (0u64, 0u64);
            while Instant::now() < deadline {
                tick.tick().await;
                seq += 1;
                let call = ClientMsg::call_with_defaults(vec![callee_id.clone()], MediaType::Audio);
                let t0 = Instant::now();
                send(&mut caller, seq, call).await?;
                sent += 1;
                // The callee's first sight of the invitation is what we time.
                let call_id = loop {
                    match tokio::time::timeout(Duration::from_secs(5), recv(&mut callee)).await {
                        Ok(Ok(ServerMsg::CallUpdate { call }))
                            if call.state == hotline_proto::CallState::Ringing =>
                        {
                            break Some(call.call_id)
                        }
                        Ok(Ok(_)) => continue,
                        Ok(Err(e)) => return Err(e),
                        Err(_) => break None,
                    }
                };
                let Some(call_id) = call_id else {
                    missed += 1;
                    continue;
                };
                latencies
                    .lock()
                    .await
                    .push(t0.elapsed().as_secs_f64() * 1000.0);
                send(&mut callee, seq, ClientMsg::Reject { call_id }).await?;
                // Drain until both sides have seen the end, so the next call is clean.
                for ws in [&mut caller, &mut callee] {
                    loop {
                        match tokio::time::timeout(Duration::from_secs(5), recv(ws)).await {
                            Ok(Ok(ServerMsg::CallUpdate { call }))
                                if call.state == hotline_proto::CallState::Ended =>
                            {
                                break
                            }
                            Ok(Ok(_)) => continue,
                            _ => break,
                        }
                    }
                }
            }
            Ok::<(u64, u64), String>((sent, missed))
        }));
    }
    let (mut sent, mut missed) = (0, 0);
    for w in workers {
        let (s, m) = w.await.map_err(|e| e.to_string())??;
        sent += s;
        missed += m;
    }
    let server_cpu_invites = cpu_s(&server_pid) - server_cpu_start;
    let bench_cpu_invites = cpu_s("self") - bench_cpu_start;
    let mut lat = latencies.lock().await.clone();
    lat.sort_by(|a, b| a.total_cmp(b));
    let achieved = sent as f64 / duration as f64;
    let summary = json!({
        "connections": connections,
        "logins_per_s": (connections as f64 / login_secs).round(),
        "server_rss_idle_kib": rss_idle,
        "server_bytes_per_idle_connection": per_conn_bytes.round(),
        "invites_sent": sent,
        "invites_missed": missed,
        "invite_rate_achieved": achieved.round(),
        "invite_latency_ms_p50": percentile(&lat, 0.50),
        "invite_latency_ms_p99": percentile(&lat, 0.99),
        "invite_latency_ms_max": lat.last().copied().unwrap_or(f64::NAN),
        "server_cpu_us_per_login": (server_cpu_login * 1e6 / connections as f64).round(),
        "server_cpu_us_per_invite": (server_cpu_invites * 1e6 / sent.max(1) as f64).round(),
        "server_cpu_share_during_invites": server_cpu_invites / duration as f64,
        "bench_cpu_share_during_invites": bench_cpu_invites / duration as f64,
    });
    eprintln!(
        "bench: {sent} invitations ({achieved:.0}/s), {missed} not delivered within 5 s; delivery latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(f64::NAN)
    );
    eprintln!(
        "bench: server CPU {:.0} us per login, {:.0} us per invitation cycle (call, ring, reject, end); during invitations the server used {:.0}% of a core and the load generator {:.0}%",
        server_cpu_login * 1e6 / connections as f64,
        server_cpu_invites * 1e6 / sent.max(1) as f64,
        100.0 * server_cpu_invites / duration as f64,
        100.0 * bench_cpu_invites / duration as f64
    );
    if args.json {
        println!("{summary}");
    }
    drop(sockets);
    Ok(())
}
