//! `hotline`: run the server, work with UserSigs, simulate phones, run the demo,
//! impair a link.

mod bench_cmd;
mod bench_push;
mod bench_sfu;
mod demo_cmd;
mod devices;
mod event_json;
mod netsim_cmd;
mod phone_cmd;
mod push_cmd;
mod record;
mod server_cmd;
mod usersig_cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Hotline: an open, self-hostable calling SDK and server.
#[derive(Parser)]
#[command(name = "hotline", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the signaling server.
    Server(server_cmd::ServerArgs),
    /// Generate or verify UserSigs (TLS-sig-api-v2 compatible).
    #[command(subcommand)]
    Usersig(usersig_cmd::UsersigCommand),
    /// Simulate a phone: log in, call or answer, send and record media, print events as JSON lines.
    Phone(phone_cmd::PhoneArgs),
    /// A real video call between two in-process phones through an embedded server, with a summary.
    Demo(demo_cmd::DemoArgs),
    /// Offline push: send a test push with the server's credentials.
    #[command(subcommand)]
    Push(push_cmd::PushCommand),
    /// Load-test on loopback (bounded in count and time).
    #[command(subcommand)]
    Bench(bench_cmd::BenchCommand),
    /// A UDP impairment proxy on loopback (bandwidth cap, loss, delay) that
    /// follows a schedule and prints its counters as JSON lines.
    Netsim(netsim_cmd::NetsimArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr; stdout is for machine-readable output.
    // The WebRTC stack warns about harmless start-up conditions (DTLS server
    // name, RTP before SRTP keys, ICE checks before candidates); RUST_LOG
    // shows them.
    let default_level = match cli.command {
        Command::Server(_) => "info",
        Command::Phone(_) | Command::Demo(_) => "warn,rtc=error,rtc_dtls=error,rtc_ice=error",
        _ => "warn",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_level))
        .format_timestamp_millis()
        .init();
    match cli.command {
        Command::Server(args) => server_cmd::run(args),
        Command::Usersig(cmd) => usersig_cmd::run(cmd),
        Command::Phone(args) => phone_cmd::run(args),
        Command::Demo(args) => demo_cmd::run(args),
        Command::Bench(cmd) => bench_cmd::run(cmd),
        Command::Push(cmd) => push_cmd::run(cmd),
        Command::Netsim(args) => netsim_cmd::run(args),
    }
}
