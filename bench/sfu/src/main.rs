//! SFU core benchmark: forwarded RTP packets per second per core.
//!
//! For each candidate sans-IO WebRTC core (str0m 0.25, rtc 0.21 — the core
//! under webrtc 0.21) this runs a minimal SFU on ONE thread with ONE UDP
//! socket on 127.0.0.1 (ICE-lite, DTLS-SRTP), one publisher peer sending
//! ~1200-byte H.264 RTP packets and K subscriber peers, all on a second
//! thread over real ICE + DTLS-SRTP. The SFU thread's CPU time is read with
//! CLOCK_THREAD_CPUTIME_ID, so the figure is "packets sent by the SFU per
//! CPU-second of the SFU thread".
//!
//! Usage: cargo run --release -- [--seconds S] [--reps N] [--k 1,4,8] [--lib str0m,rtc,raw] [--io sendto,sendmmsg] [--peers same|str0m|rtc]

mod common;
mod raw_impl;
#[cfg(feature = "rtc")]
mod rtc_impl;
#[cfg(feature = "str0m")]
mod str0m_impl;

use std::time::Duration;

use common::{run_case, CaseResult, Lib};

struct Args {
    seconds: f64,
    reps: usize,
    ks: Vec<usize>,
    libs: Vec<Lib>,
    /// false: one sendto(2) per datagram; true: sendmmsg(2) per loop round.
    ios: Vec<bool>,
    /// Peers' library; None = the same as the SFU's (interop checks set it).
    peers: Option<Lib>,
}

fn parse_args() -> Args {
    let mut a = Args {
        seconds: 5.0,
        reps: 3,
        ks: vec![1, 4, 8],
        libs: vec![Lib::Str0m, Lib::Rtc, Lib::Raw],
        ios: vec![false, true],
        peers: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let val = it.next().unwrap_or_default();
        match flag.as_str() {
            "--seconds" => a.seconds = val.parse().expect("--seconds N"),
            "--reps" => a.reps = val.parse().expect("--reps N"),
            "--k" => a.ks = val.split(',').map(|s| s.parse().expect("--k 1,4,8")).collect(),
            "--io" => {
                a.ios = val
                    .split(',')
                    .map(|s| match s {
                        "sendto" => false,
                        "sendmmsg" => true,
                        _ => panic!("--io sendto,sendmmsg"),
                    })
                    .collect()
            }
            "--peers" => {
                a.peers = match val.as_str() {
                    "same" => None,
                    "str0m" => Some(Lib::Str0m),
                    "rtc" => Some(Lib::Rtc),
                    _ => panic!("--peers same|str0m|rtc"),
                }
            }
            "--lib" => {
                a.libs = val
                    .split(',')
                    .map(|s| match s {
                        "str0m" => Lib::Str0m,
                        "rtc" => Lib::Rtc,
                        "raw" => Lib::Raw,
                        _ => panic!("--lib str0m,rtc"),
                    })
                    .collect()
            }
            _ => {
                eprintln!("usage: hotline-sfu-bench [--seconds S] [--reps N] [--k 1,4,8] [--lib str0m,rtc,raw] [--io sendto,sendmmsg] [--peers same|str0m|rtc]");
                std::process::exit(2);
            }
        }
    }
    assert!(a.seconds > 0.0 && a.seconds <= 60.0, "--seconds must be in (0, 60]");
    assert!(a.reps >= 1 && a.reps <= 10, "--reps must be in 1..=10");
    assert!(a.ks.iter().all(|k| (1..=32).contains(k)), "--k values must be in 1..=32");
    a
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        return f64::NAN;
    }
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    let args = parse_args();
    let dur = Duration::from_secs_f64(args.seconds);
    println!(
        "SFU core benchmark: {} s per case, {} repetitions, K = {:?}, 1200-byte H.264 RTP, loopback",
        args.seconds, args.reps, args.ks
    );
    // results[(lib, k)] = Vec<CaseResult>
    let io_name = |b: bool| if b { "sendmmsg" } else { "sendto" };
    let mut results: Vec<((Lib, bool, usize), Vec<CaseResult>)> = vec![];
    for io in &args.ios {
        for lib in &args.libs {
            for k in &args.ks {
                results.push(((*lib, *io, *k), vec![]));
            }
        }
    }
    for lib in &args.libs {
        common::warm_up(args.peers.unwrap_or(*lib));
    }
    if let Some(p) = args.peers {
        println!("peers: {} (interop check)", p.name());
    }
    for rep in 1..=args.reps {
        // Interleave candidates within a repetition so both see the same machine noise.
        let mut cases = vec![];
        for io in &args.ios {
            for k in &args.ks {
                for lib in &args.libs {
                    cases.push((*io, *k, *lib));
                }
            }
        }
        for (io, k, lib) in cases {
            {
                let (k, lib) = (&k, &lib);
                match run_case(*lib, args.peers.unwrap_or(*lib), *k, dur, io) {
                    Ok(r) => {
                        println!(
                            "rep {rep} {:<7} {:<8} K={k}: {:>8.0} pkt/s per SFU-core  ({:.0} pkt/s wall, SFU thread {:.0}% busy, peer thread {:.0}%, in {:.0} pkt/s, {:.1}% delivered, {} verified at subscribers, connect p50 {:.2} ms: {})",
                            lib.name(),
                            io_name(io),
                            r.pps_per_core(),
                            r.pps_wall(),
                            100.0 * r.sfu_cpu_s / r.wall_s,
                            100.0 * r.peer_cpu_s / r.wall_s,
                            r.in_pkts as f64 / r.wall_s,
                            100.0 * r.delivered as f64 / r.fwd.max(1) as f64,
                            r.verified,
                            r.connect_p50_ms(),
                            r.connect_ms.iter().map(|m| format!("{m:.1}")).collect::<Vec<_>>().join(" "),
                        );
                        results
                            .iter_mut()
                            .find(|(key, _)| *key == (*lib, io, *k))
                            .unwrap()
                            .1
                            .push(r);
                    }
                    Err(e) => println!("rep {rep} {:<7} {:<8} K={k}: FAILED: {e}", lib.name(), io_name(io)),
                }
            }
        }
    }

    println!();
    println!("| core | SFU send | K | forwarded pkt/s per SFU core (median) | runs | µs per forwarded pkt | wall pkt/s | SFU thread busy | peer connect p50 / max (ms) |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for ((lib, io, k), runs) in &results {
        if runs.is_empty() {
            println!("| {} | {} | {k} | failed | | | | | |", lib.name(), io_name(*io));
            continue;
        }
        let mut pps: Vec<f64> = runs.iter().map(|r| r.pps_per_core()).collect();
        let each: Vec<String> = pps.iter().map(|p| format!("{:.0}k", p / 1000.0)).collect();
        let mut wall: Vec<f64> = runs.iter().map(|r| r.pps_wall()).collect();
        let mut busy: Vec<f64> = runs.iter().map(|r| r.sfu_cpu_s / r.wall_s).collect();
        let mut conn: Vec<f64> = runs.iter().flat_map(|r| r.connect_ms.iter().copied()).collect();
        let cmax = conn.iter().cloned().fold(0.0, f64::max);
        let med = median(&mut pps);
        println!(
            "| {} | {} | {k} | **{:.0}k** | {} | {:.2} | {:.0}k | {:.0}% | {:.2} / {:.2} |",
            lib.name(),
            io_name(*io),
            med / 1000.0,
            each.join(", "),
            1e6 / med,
            median(&mut wall) / 1000.0,
            100.0 * median(&mut busy),
            median(&mut conn),
            cmax,
        );
    }
}
