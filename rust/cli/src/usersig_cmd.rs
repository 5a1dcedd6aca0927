//! `hotline usersig gen|verify`.

use clap::Subcommand;
use std::process::ExitCode;

/// UserSig subcommands.
#[derive(Subcommand)]
pub enum UsersigCommand {}

/// Run a UserSig subcommand.
pub fn run(cmd: UsersigCommand) -> ExitCode {
    match cmd {}
}
