//! `hotline`: run the server, work with UserSigs, simulate phones, benchmark.

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
    /// Generate or verify UserSigs (TLS-sig-api-v2 compatible).
    #[command(subcommand)]
    Usersig(usersig_cmd::UsersigCommand),
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    match cli.command {
        Command::Usersig(cmd) => usersig_cmd::run(cmd),
    }
}
