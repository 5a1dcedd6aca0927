//! `hotline bench sfu`: a load generator for a running `hotline server`'s
//! SFU that does not need the whole machine.
//!
//! Participants are str0m connections with a raw signaling client each:
//! nothing is decoded, no audio is processed, and the publishers replay one
//! clip encoded before the run. `--publishers P` calls of one publisher and
//! `--subscribers K` receivers shared among them (a group video call each),
//! for `--duration` seconds. It prints a progress line per second and a
//! result line (JSON) with what arrived: packets, loss, frames and freezes
//! (frame gaps, counted as the engine counts them). With `--server-pid` it
//! also reads the server's CPU time, and from its `/metrics` the packets it
//! forwarded, and reports packets per CPU-second.

mod conn;
mod participant;
mod tally;
mod video;

use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use serde_json::json;

use participant::{Live, Login, Participant, Role};
use tally::Totals;

/// Longest run allowed.
const MAX_DURATION_S: u64 = 3600;

/// Load the SFU of a running server with lightweight participants.
#[derive(Args, Debug)]
pub struct SfuArgs {
    /// The server's WebSocket URL (ws:// only).
    #[arg(long, env = "HOTLINE_SERVER_URL")]
    server: String,
    /// The application's SDKAppID.
    #[arg(long, env = "HOTLINE_SDK_APP_ID")]
    sdk_app_id: u64,
    /// The secret key; participants sign their own UserSigs.
    #[arg(long, env = "HOTLINE_SECRET_KEY", hide_env_values = true)]
    secret_key: String,
    /// Publishers, each in a call of its own.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    publishers: u32,
    /// Receivers in all, shared among the publishers' calls (each call holds
    /// at most the server's `max_participants`).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1000))]
    subscribers: u32,
    /// Picture size of the clip, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x720", value_parser = parse_resolution)]
    resolution: (u32, u32),
    /// Frames per second.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=60))]
    fps: u32,
    /// The clip's bitrate, kbps.
    #[arg(long, default_value_t = 1300, value_parser = clap::value_parser!(u32).range(50..=20_000))]
    bitrate: u32,
    /// Seconds of media (after everyone has joined, bounded by 3600).
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// The server's process ID, to read its CPU time from /proc.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Prefix of the participants' user IDs.
    #[arg(long, default_value = "bench")]
    prefix: String,
}

fn parse_resolution(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once('x')
        .ok_or_else(|| format!("{s:?}: want WIDTHxHEIGHT, e.g. 1280x720"))?;
    let (w, h): (u32, u32) = (
        w.parse().map_err(|_| format!("{s:?}: bad width"))?,
        h.parse().map_err(|_| format!("{s:?}: bad height"))?,
    );
    if w < 16 || h < 16 || w > 1920 || h > 1920 || w % 2 == 1 || h % 2 == 1 {
        return Err(format!("{s:?}: even sizes from 16 to 1920"));
    }
    Ok((w, h))
}

fn print(v: serde_json::Value) {
    println!("{v}");
}

pub fn run(args: SfuArgs) -> ExitCode {
    // One worker: the generator should leave the machine to the server.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    match rt.block_on(bench(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The calls: publisher `i` and its share of the subscribers.
fn calls(prefix: &str, publishers: u32, subscribers: u32) -> Vec<(String, Vec<String>)> {
    (0..publishers)
        .map(|i| {
            let subs = (0..subscribers)
                .filter(|j| j % publishers == i)
                .map(|j| format!("{prefix}-s{j}"))
                .collect();
            (format!("{prefix}-p{i}"), subs)
        })
        .collect()
}

async fn bench(args: SfuArgs) -> Result<(), String> {
    if !args.server.starts_with("ws://") {
        return Err("--server must be a ws:// URL".into());
    }
    if args.duration == 0 || args.duration > MAX_DURATION_S {
        return Err(format!("--duration must be 1 to {MAX_DURATION_S} seconds"));
    }
    hotline_server::sfu::init_crypto();
    let (w, h) = args.resolution;
    eprintln!(
        "encoding a 2 s clip at {w}x{h}, {} fps, {} kbps",
        args.fps, args.bitrate
    );
    let clip = Arc::new(video::encode(w, h, args.fps, args.bitrate, 2)?);
    let login = Login {
        url: args.server.clone(),
        sdk_app_id: args.sdk_app_id,
        secret_key: args.secret_key.clone(),
    };
    let live = Arc::new(Live::default());
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let ip = match server_addr(&args.server) {
        Some(server) if !server.ip().is_loopback() => local_ip_towards(server.ip()).unwrap_or(ip),
        _ => ip,
    };
    let plan = calls(&args.prefix, args.publishers, args.subscribers);
    let total = args.publishers + args.subscribers;
    eprintln!(
        "logging in {total} participants: {} calls of 1 publisher and about {} subscribers",
        plan.len(),
        args.subscribers.div_ceil(args.publishers)
    );
    // Subscribers first, so every invitation finds its callee online.
    let mut people = Vec::with_capacity(total as usize);
    for (_, subs) in &plan {
        for s in subs {
            let p = Participant::login(
                &login,
                s.clone(),
                Role::Subscriber,
                ip,
                clip.clone(),
                live.clone(),
            )
            .await?;
            people.push(p);
        }
    }
    for (publisher, subs) in &plan {
        let role = Role::Publisher {
            subscribers: subs.clone(),
        };
        people.push(
            Participant::login(
                &login,
                publisher.clone(),
                role,
                ip,
                clip.clone(),
                live.clone(),
            )
            .await?,
        );
    }
    let metrics_url = server_addr(&args.server);
    let start = Instant::now();
    // Joining (calls, accepts, ICE, DTLS) is included in the run but not
    // in the figures: they are taken over the last `duration` seconds.
    let join = Duration::from_secs(5);
    let end = start + join + Duration::from_secs(args.duration);
    let tasks: Vec<_> = people
        .into_iter()
        .map(|p| tokio::spawn(p.run(start, end)))
        .collect();
    tokio::time::sleep(join).await;
    let measured_from = server_sample(args.server_pid, metrics_url).await;
    let packets_at_join = live.packets_received.load(Relaxed);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let mut last = packets_at_join;
    while Instant::now() + Duration::from_millis(500) < end {
        tick.tick().await;
        let now = live.packets_received.load(Relaxed);
        print(json!({
            "event": "progress",
            "t": (start.elapsed().as_secs_f64() * 10.0).round() / 10.0,
            "packetsPerS": now - last,
            "framesSent": live.frames_sent.load(Relaxed),
        }));
        last = now;
    }
    let measured_to = server_sample(args.server_pid, metrics_url).await;
    let mut reports = Vec::new();
    for t in tasks {
        reports.push(
            t.await
                .map_err(|e| format!("a participant failed: {e}"))??,
        );
    }
    let mut received = Totals::default();
    let (mut connected_subs, mut connected_pubs, mut frames_sent, mut drops) = (0, 0, 0, 0);
    let mut first: Vec<f64> = Vec::new();
    for r in &reports {
        received += r.received;
        frames_sent += r.frames_sent;
        drops += r.send_drops;
        match (r.publisher, r.connected) {
            (true, true) => connected_pubs += 1,
            (false, true) => connected_subs += 1,
            _ => {}
        }
        if let Some(f) = r.first_packet {
            first.push(f.as_secs_f64());
        }
    }
    first.sort_by(f64::total_cmp);
    let measured_s = args.duration as f64;
    let server = match (measured_from, measured_to) {
        (Some(a), Some(b)) => {
            let cpu = b.cpu_s - a.cpu_s;
            let fwd = b.forwarded.saturating_sub(a.forwarded);
            let per_s = |to: u64, from: u64| (to.saturating_sub(from) as f64 / measured_s).round();
            json!({
                "cpuS": cpu,
                "cpuShare": cpu / measured_s,
                "forwardedPackets": fwd,
                "forwardedPerS": fwd as f64 / measured_s,
                "packetsPerCpuS": if cpu > 0.0 { (fwd as f64 / cpu).round() } else { 0.0 },
                "rssKib": b.rss_kib,
                "udpInPerS": per_s(b.udp_in, a.udp_in),
                "udpOutPerS": per_s(b.udp_out, a.udp_out),
                "rtpInPerS": per_s(b.rtp_in, a.rtp_in),
                // RTCP, STUN and DTLS from the participants.
                "otherInPerS": per_s(b.udp_in.saturating_sub(b.rtp_in), a.udp_in.saturating_sub(a.rtp_in)),
            })
        }
        _ => serde_json::Value::Null,
    };
    print(json!({
        "event": "result",
        "publishers": args.publishers,
        "subscribers": args.subscribers,
        "resolution": format!("{w}x{h}"),
        "fps": args.fps,
        "clipKbps": clip.bytes_per_s * 8 / 1000,
        "durationS": args.duration,
        "connected": {"publishers": connected_pubs, "subscribers": connected_subs},
        "firstPacketMedianS": first.get(first.len() / 2),
        "framesSent": frames_sent,
        "received": {
            "streams": received.streams,
            "packets": received.packets,
            "packetsPerSInMeasurement": (live.packets_received.load(Relaxed) - packets_at_join) as f64 / measured_s,
            "lost": received.lost,
            "frames": received.frames,
            "freezes": received.freezes,
            "frozenMs": received.frozen_ms,
        },
        "sendDrops": drops,
        "server": server,
    }));
    if connected_subs < args.subscribers {
        return Err(format!(
            "only {connected_subs} of {} subscribers connected",
            args.subscribers
        ));
    }
    Ok(())
}

/// The server's CPU time and RSS (with its pid) and forwarded packets (from
/// `/metrics`).
#[derive(Clone, Copy)]
struct ServerSample {
    cpu_s: f64,
    rss_kib: u64,
    forwarded: u64,
    rtp_in: u64,
    udp_in: u64,
    udp_out: u64,
}

async fn server_sample(
    pid: Option<u32>,
    http: Option<std::net::SocketAddr>,
) -> Option<ServerSample> {
    let pid = pid?;
    let metrics = metrics_text(http?).await?;
    let counter = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    Some(ServerSample {
        cpu_s: crate::bench_cmd::cpu_s(&pid.to_string()),
        rss_kib: crate::bench_cmd::rss_kib(pid),
        forwarded: counter("hotline_sfu_rtp_forwarded_total"),
        rtp_in: counter("hotline_sfu_rtp_in_total"),
        udp_in: counter("hotline_sfu_udp_in_total"),
        udp_out: counter("hotline_sfu_udp_out_total"),
    })
}

/// The server's `/metrics` page.
async fn metrics_text(http: std::net::SocketAddr) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(http).await.ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: bench\r\n\r\n")
        .await
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).await.ok()?;
    Some(body)
}

/// The host and port of a `ws://host:port/path` URL, resolved.
fn server_addr(url: &str) -> Option<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    let rest = url.strip_prefix("ws://")?;
    let authority = rest.split('/').next()?;
    let authority = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    authority.to_socket_addrs().ok()?.next()
}

/// The local address that routes to `server`.
fn local_ip_towards(server: IpAddr) -> Option<IpAddr> {
    let s = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    s.connect((server, 9)).ok()?;
    Some(s.local_addr().ok()?.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribers_are_dealt_among_the_publishers() {
        let plan = calls("b", 2, 5);
        assert_eq!(plan[0].0, "b-p0");
        assert_eq!(plan[0].1, ["b-s0", "b-s2", "b-s4"]);
        assert_eq!(plan[1].1, ["b-s1", "b-s3"]);
    }

    #[test]
    fn resolutions_parse() {
        assert_eq!(parse_resolution("1280x720"), Ok((1280, 720)));
        assert!(parse_resolution("1280").is_err());
        assert!(parse_resolution("1281x720").is_err());
    }
}
