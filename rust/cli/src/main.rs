//! `hotline`: run the server, work with UserSigs, simulate phones.

mod bench_cmd;
mod event_json;
mod phone_cmd;
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
    /// Simulate a phone: log in, call or answer, print events as JSON lines.
    Phone(phone_cmd::PhoneArgs),
    /// Load-test on loopback (bounded in count and time).
    #[command(subcommand)]
    Bench(bench_cmd::BenchCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr; stdout is for machine-readable output.
    let default_level = if matches!(cli.command, Command::Server(_)) {
        "info"
    } else {
        "warn"
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_level))
        .init();
    match cli.command {
        Command::Server(args) => server_cmd::run(args),
        Command::Usersig(cmd) => usersig_cmd::run(cmd),
        Command::Phone(args) => phone_cmd::run(args),
        Command::Bench(cmd) => bench_cmd::run(cmd),
    }
}
