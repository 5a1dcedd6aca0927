//! `hotline netsim`: the netsim UDP impairment proxy as a process, for
//! benchmarks and manual experiments. It sits in front of one upstream UDP
//! address on loopback (the SFU's media port; start the server with
//! `--media-public-addr` set to the proxy's address), changes its impairment
//! on a schedule, and prints one JSON line per interval with the proxy's
//! counters and the impairment in force.
//!
//! The schedule is a list of `--at TIME=IMPAIRMENT` steps, for example
//! `--at 0s=none --at 20s=bw:300 --at 50s=bw:5000`: from each step's time
//! until the next, that impairment applies to every client, in each
//! direction on its own. Before the first step there is none.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use hotline_netsim::{Impairment, ProxyStats, UdpImpairmentProxy};
use serde_json::{json, Value};
use tokio::time::Instant;

/// Longest run allowed (`--duration`), so nothing is left running forever.
const MAX_DURATION_S: f64 = 3600.0;

/// Run an impairment proxy with a schedule (loopback only, bounded in time).
#[derive(Args, Debug)]
#[command(after_help = "\
SCHEDULE

  --at TIME=IMPAIRMENT, repeated. TIME is seconds from the start of the
  schedule: `20`, `20s`, `1.5s` or `500ms`. IMPAIRMENT is `none` or
  comma-separated KEY:VALUE pairs:

    bw:KBPS       bandwidth limit per client and direction, kbit/s with
                  IP and UDP headers (0 = unlimited)
    queue:MS      longest queueing delay before tail drop (default 300)
    loss:PERCENT  random loss, 0-100
    delay:MS      fixed one-way delay
    jitter:MS     extra random delay, 0..=MS (reorders)
    dup:PERCENT   duplication, 0-100

  Each step replaces the whole impairment (keys not named are 0). Before the
  first step there is no impairment. Steps may be given in any order; two
  steps at one time are an error.

OUTPUT (stdout, one JSON object per line)

  {\"event\":\"listening\",\"listen\":\"127.0.0.1:P\",\"upstream\":...}
  {\"event\":\"started\",\"unixMs\":...}               the schedule's time 0
  {\"event\":\"impairment\",\"t\":20.0,\"unixMs\":...,\"impairment\":{...}}
  {\"event\":\"stats\",\"t\":21.0,\"unixMs\":...,\"impairment\":{...},
   \"forwardedUp\":..,\"forwardedDown\":..,\"droppedUp\":..,\"droppedDown\":..,
   \"queueFull\":..,\"duplicated\":.., and per-second deltas upPerS, downPerS,
   droppedPerS}
  {\"event\":\"done\",...}                           at --duration

  \"t\" is seconds since the schedule started. Up is client -> upstream.

EXAMPLE

  hotline netsim --upstream 127.0.0.1:40123 \\
      --at 0s=none --at 20s=bw:300,queue:300 --at 50s=bw:5000 --duration 90")]
pub struct NetsimArgs {
    /// The UDP address to forward to (a loopback address: the SFU's
    /// `--media-listen`).
    #[arg(long)]
    upstream: SocketAddr,
    /// A step of the schedule, `TIME=IMPAIRMENT` (see below); repeat it.
    #[arg(long = "at", value_name = "TIME=IMPAIRMENT", value_parser = parse_step)]
    steps: Vec<Step>,
    /// Seconds to run in all, from the process start; then the proxy stops
    /// and the command exits (at most 3600).
    #[arg(long, value_parser = parse_duration_s)]
    duration: f64,
    /// Seconds between stats lines.
    #[arg(long, default_value_t = 1.0, value_parser = parse_interval_s)]
    interval: f64,
    /// Start the schedule's clock when a line (or end of file) arrives on
    /// standard input instead of at once: the proxy forwards from the start,
    /// unimpaired until then. `--duration` still counts from the process
    /// start.
    #[arg(long)]
    wait_start: bool,
    /// Seed the proxy's random generator (loss, jitter, duplication) for
    /// reproducible runs.
    #[arg(long)]
    seed: Option<u64>,
    /// Never impair datagrams from this IP, whatever the schedule says
    /// (repeatable): a TURN relay's address, so a test can lose every
    /// phone's UDP and still let the relay through.
    #[arg(long, value_name = "IP")]
    spare: Vec<std::net::IpAddr>,
}

/// One step of the schedule: from `at` on, `impairment`.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    at: Duration,
    impairment: Impairment,
}

/// Parse a time: `20`, `20s`, `1.5s`, `500ms`.
fn parse_time(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a time (like 20s, 1.5s or 500ms)"))?;
    let secs = v * scale;
    if !secs.is_finite() || !(0.0..=MAX_DURATION_S).contains(&secs) {
        return Err(format!("`{s}` is not within 0-{MAX_DURATION_S} s"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse_u32(key: &str, v: &str) -> Result<u32, String> {
    v.trim()
        .parse()
        .map_err(|_| format!("{key}:{v}: not a whole number"))
}

fn parse_percent(key: &str, v: &str) -> Result<f64, String> {
    let p: f64 = v
        .trim()
        .parse()
        .map_err(|_| format!("{key}:{v}: not a number"))?;
    if !(0.0..=100.0).contains(&p) {
        return Err(format!("{key}:{v}: a percentage is 0-100"));
    }
    Ok(p / 100.0)
}

/// Parse an impairment: `none`, or `bw:300,queue:300,loss:5,delay:50,...`.
fn parse_impairment(s: &str) -> Result<Impairment, String> {
    let s = s.trim();
    let mut imp = Impairment::default();
    if s == "none" {
        return Ok(imp);
    }
    if s.is_empty() {
        return Err("an empty impairment (say `none`)".into());
    }
    let mut seen = Vec::new();
    for part in s.split(',') {
        let (key, value) = part.split_once(':').ok_or_else(|| {
            format!("`{part}`: expected KEY:VALUE (bw, queue, loss, delay, jitter, dup)")
        })?;
        let key = key.trim();
        if seen.contains(&key) {
            return Err(format!("`{key}` given twice"));
        }
        seen.push(key);
        match key {
            "bw" => imp.bandwidth_kbps = parse_u32(key, value)?,
            "queue" => imp.queue_ms = parse_u32(key, value)?,
            "loss" => imp.loss = parse_percent(key, value)?,
            "delay" => imp.delay_ms = parse_u32(key, value)?,
            "jitter" => imp.jitter_ms = parse_u32(key, value)?,
            "dup" => imp.duplicate = parse_percent(key, value)?,
            other => {
                return Err(format!(
                    "unknown key `{other}` (bw, queue, loss, delay, jitter, dup)"
                ))
            }
        }
    }
    Ok(imp)
}

/// Parse one `--at TIME=IMPAIRMENT`.
fn parse_step(s: &str) -> Result<Step, String> {
    let (time, imp) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected TIME=IMPAIRMENT, like 20s=bw:300"))?;
    Ok(Step {
        at: parse_time(time)?,
        impairment: parse_impairment(imp)?,
    })
}

/// The steps in time order; two at the same time are an error.
fn schedule(mut steps: Vec<Step>) -> Result<Vec<Step>, String> {
    steps.sort_by_key(|s| s.at);
    if let Some(w) = steps.windows(2).find(|w| w[0].at == w[1].at) {
        return Err(format!("two steps at {} s", w[0].at.as_secs_f64()));
    }
    Ok(steps)
}

fn parse_duration_s(s: &str) -> Result<f64, String> {
    let d = parse_time(s)?.as_secs_f64();
    if d <= 0.0 {
        return Err("the duration must be positive".into());
    }
    Ok(d)
}

fn parse_interval_s(s: &str) -> Result<f64, String> {
    let d = parse_time(s)?.as_secs_f64();
    if d < 0.1 {
        return Err("the interval is at least 0.1 s".into());
    }
    Ok(d)
}

/// The impairment as JSON (percentages as given).
fn impairment_json(imp: &Impairment) -> Value {
    json!({
        "bandwidthKbps": imp.bandwidth_kbps,
        "queueMs": imp.queue_ms,
        "lossPercent": imp.loss * 100.0,
        "delayMs": imp.delay_ms,
        "jitterMs": imp.jitter_ms,
        "duplicatePercent": imp.duplicate * 100.0,
    })
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn print(v: Value) {
    println!("{v}");
}

/// Run the proxy until `--duration`, Ctrl-C or SIGTERM.
pub fn run(args: NetsimArgs) -> ExitCode {
    if !args.upstream.ip().is_loopback() {
        eprintln!("error: --upstream must be a loopback address (netsim stays on 127.0.0.1)");
        return ExitCode::from(2);
    }
    let steps = match schedule(args.steps.clone()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: --at: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(proxy(args, steps))
}

async fn proxy(args: NetsimArgs, steps: Vec<Step>) -> ExitCode {
    let process_start = Instant::now();
    let end = process_start + Duration::from_secs_f64(args.duration);
    let started = match args.seed {
        Some(seed) => {
            UdpImpairmentProxy::start_with_seed(args.upstream, Impairment::default(), seed).await
        }
        None => UdpImpairmentProxy::start(args.upstream, Impairment::default()).await,
    };
    let proxy = match started {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot start the proxy: {e}");
            return ExitCode::FAILURE;
        }
    };
    for ip in &args.spare {
        proxy.set_client_impairment(SocketAddr::new(*ip, 0), Some(Impairment::default()));
    }
    print(json!({
        "event": "listening",
        "listen": proxy.local_addr().to_string(),
        "upstream": args.upstream.to_string(),
        "unixMs": unix_ms(),
    }));
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot handle SIGTERM: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The schedule's clock: now, or when standard input says so.
    if args.wait_start {
        // A plain thread reads the line (it ends with the process).
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
            let _ = tx.send(());
        });
        tokio::select! {
            _ = rx => {}
            _ = tokio::time::sleep_until(end) => {}
            _ = tokio::signal::ctrl_c() => return done(&proxy, process_start, None),
            _ = term.recv() => return done(&proxy, process_start, None),
        }
    }
    let t0 = Instant::now();
    print(json!({"event": "started", "unixMs": unix_ms()}));
    let t = |now: Instant| (now.duration_since(t0).as_secs_f64() * 1000.0).round() / 1000.0;
    let mut next_step = 0;
    let mut last = proxy.stats();
    let interval = Duration::from_secs_f64(args.interval);
    let mut next_stats = t0 + interval;
    loop {
        let now = Instant::now();
        // Apply every step that is due.
        while next_step < steps.len() && t0 + steps[next_step].at <= now {
            let imp = steps[next_step].impairment.clone();
            proxy.set_impairment(imp.clone());
            print(json!({
                "event": "impairment",
                "t": t(now),
                "unixMs": unix_ms(),
                "impairment": impairment_json(&imp),
            }));
            next_step += 1;
        }
        if now >= next_stats {
            let s = proxy.stats();
            print(stats_line(
                t(now),
                &proxy.impairment(),
                &s,
                &last,
                args.interval,
            ));
            last = s;
            next_stats += interval;
            if next_stats <= now {
                next_stats = now + interval;
            }
        }
        if now >= end {
            break;
        }
        let mut wake = next_stats.min(end);
        if let Some(step) = steps.get(next_step) {
            wake = wake.min(t0 + step.at);
        }
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        }
    }
    done(&proxy, process_start, Some(t(Instant::now())))
}

fn stats_line(t: f64, imp: &Impairment, s: &ProxyStats, last: &ProxyStats, dt: f64) -> Value {
    let per_s = |now: u64, before: u64| ((now.saturating_sub(before)) as f64 / dt).round();
    json!({
        "event": "stats",
        "t": t,
        "unixMs": unix_ms(),
        "impairment": impairment_json(imp),
        "forwardedUp": s.forwarded_up,
        "forwardedDown": s.forwarded_down,
        "droppedUp": s.dropped_up,
        "droppedDown": s.dropped_down,
        "queueFull": s.queue_full,
        "duplicated": s.duplicated,
        "upPerS": per_s(s.forwarded_up, last.forwarded_up),
        "downPerS": per_s(s.forwarded_down, last.forwarded_down),
        "droppedPerS": per_s(s.dropped_up + s.dropped_down, last.dropped_up + last.dropped_down),
    })
}

fn done(proxy: &UdpImpairmentProxy, process_start: Instant, t: Option<f64>) -> ExitCode {
    let s = proxy.stats();
    print(json!({
        "event": "done",
        "t": t,
        "ranS": (process_start.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        "forwardedUp": s.forwarded_up,
        "forwardedDown": s.forwarded_down,
        "droppedUp": s.dropped_up,
        "droppedDown": s.dropped_down,
        "queueFull": s.queue_full,
    }));
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_take_seconds_or_milliseconds() {
        assert_eq!(parse_time("20").unwrap(), Duration::from_secs(20));
        assert_eq!(parse_time("20s").unwrap(), Duration::from_secs(20));
        assert_eq!(parse_time("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_time("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_time("0s").unwrap(), Duration::ZERO);
        for bad in ["", "s", "-1s", "twenty", "1h", "5000s", "nan", "inf"] {
            assert!(parse_time(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn impairments_are_none_or_key_value_pairs() {
        assert_eq!(parse_impairment("none").unwrap(), Impairment::default());
        assert_eq!(
            parse_impairment("bw:300").unwrap(),
            Impairment {
                bandwidth_kbps: 300,
                ..Default::default()
            }
        );
        assert_eq!(
            parse_impairment("bw:300, queue:300,loss:5,delay:50,jitter:10,dup:1").unwrap(),
            Impairment {
                bandwidth_kbps: 300,
                queue_ms: 300,
                loss: 0.05,
                delay_ms: 50,
                jitter_ms: 10,
                duplicate: 0.01,
            }
        );
        for bad in [
            "",
            "bw",
            "bw:",
            "bw:-3",
            "bw:1.5",
            "loss:101",
            "loss:x",
            "speed:3",
            "bw:1,bw:2",
            "none,bw:3",
        ] {
            assert!(parse_impairment(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn a_schedule_is_sorted_and_has_one_step_per_time() {
        let steps: Vec<Step> = ["50s=bw:5000", "0s=none", "20s=bw:300,queue:300"]
            .iter()
            .map(|s| parse_step(s).unwrap())
            .collect();
        let s = schedule(steps).unwrap();
        let times: Vec<u64> = s.iter().map(|s| s.at.as_secs()).collect();
        assert_eq!(times, [0, 20, 50]);
        assert_eq!(s[1].impairment.bandwidth_kbps, 300);
        assert_eq!(s[1].impairment.queue_ms, 300);
        assert_eq!(s[2].impairment.bandwidth_kbps, 5000);
        assert!(s[0].impairment.is_none());

        let twice = vec![
            parse_step("20=bw:300").unwrap(),
            parse_step("20s=bw:500").unwrap(),
        ];
        assert!(schedule(twice).is_err());
        for bad in ["20s", "=bw:300", "20s=", "x=none", "20s=bw:300=1"] {
            assert!(parse_step(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn the_command_line_parses() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: NetsimArgs,
        }
        let cli = Cli::try_parse_from([
            "netsim",
            "--upstream",
            "127.0.0.1:4000",
            "--at",
            "0s=none",
            "--at",
            "20s=bw:300",
            "--duration",
            "90",
            "--wait-start",
        ])
        .unwrap();
        assert_eq!(cli.args.steps.len(), 2);
        assert_eq!(cli.args.duration, 90.0);
        assert!(cli.args.wait_start);
        assert_eq!(cli.args.interval, 1.0);
        assert!(Cli::try_parse_from(["netsim", "--upstream", "127.0.0.1:4000"]).is_err());
        assert!(
            Cli::try_parse_from(["netsim", "--upstream", "127.0.0.1:4000", "--duration", "0"])
                .is_err()
        );
    }
}
