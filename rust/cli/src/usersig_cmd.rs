//! `hotline usersig gen|verify`: issue and check UserSigs (TLS-sig-api-v2 compatible).
//!
//! Exit codes: 0 success, 1 the UserSig did not verify, 2 bad arguments.

use clap::{Args, Subcommand};
use hotline_proto::user_id::validate_user_id;
use hotline_proto::usersig;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

/// UserSig subcommands.
#[derive(Subcommand)]
pub enum UsersigCommand {
    /// Generate a UserSig and print it on stdout.
    Gen(GenArgs),
    /// Verify a UserSig; print its claims as one JSON line, or the reason it failed.
    Verify(VerifyArgs),
}

/// The application's credentials, shared by both subcommands.
#[derive(Args)]
pub struct AppArgs {
    /// The SDKAppID.
    #[arg(long, env = "HOTLINE_SDK_APP_ID")]
    pub sdk_app_id: u64,
    /// The secret key, used as text (not hex-decoded).
    #[arg(long, env = "HOTLINE_SECRET_KEY", hide_env_values = true)]
    pub secret_key: String,
}

/// Arguments of `hotline usersig gen`.
#[derive(Args)]
pub struct GenArgs {
    /// The application's credentials.
    #[command(flatten)]
    pub app: AppArgs,
    /// The user ID to issue the UserSig to (A-Z a-z 0-9 _ -, 1 to 32 bytes).
    #[arg(long)]
    pub user_id: String,
    /// Lifetime in seconds from now (default: 180 days).
    #[arg(long, default_value_t = usersig::DEFAULT_EXPIRE_S)]
    pub expire: u64,
    /// Opaque text to sign along (its UTF-8 bytes become TLS.userbuf).
    #[arg(long)]
    pub userbuf: Option<String>,
}

/// Arguments of `hotline usersig verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// The application's credentials.
    #[command(flatten)]
    pub app: AppArgs,
    /// The UserSig to check (surrounding whitespace is ignored).
    #[arg(long)]
    pub user_sig: String,
    /// Also require the UserSig to be issued to this user ID.
    #[arg(long)]
    pub user_id: Option<String>,
}

/// Run a UserSig subcommand.
pub fn run(cmd: UsersigCommand) -> ExitCode {
    match cmd {
        UsersigCommand::Gen(args) => gen(args),
        UsersigCommand::Verify(args) => verify(args),
    }
}

fn gen(args: GenArgs) -> ExitCode {
    if let Err(reason) = validate_user_id(&args.user_id) {
        return fail(2, &format!("invalid --user-id: {reason}"));
    }
    if args.app.secret_key.is_empty() {
        return fail(
            2,
            "the secret key is empty (--secret-key or HOTLINE_SECRET_KEY)",
        );
    }
    let (app, key, id, now) = (
        args.app.sdk_app_id,
        &args.app.secret_key,
        &args.user_id,
        now_s(),
    );
    let sig = match &args.userbuf {
        None => usersig::generate(app, key, id, args.expire, now),
        Some(buf) => usersig::generate_with_userbuf(app, key, id, args.expire, now, buf.as_bytes()),
    };
    println!("{sig}");
    ExitCode::SUCCESS
}

fn verify(args: VerifyArgs) -> ExitCode {
    let (app, key, sig, now) = (
        args.app.sdk_app_id,
        &args.app.secret_key,
        args.user_sig.trim(),
        now_s(),
    );
    let checked = match &args.user_id {
        None => usersig::verify(app, key, sig, now),
        Some(id) => usersig::verify_for_user(app, key, sig, id, now),
    };
    match checked {
        Ok(claims) => {
            println!(
                "{}",
                serde_json::to_string(&claims).expect("claims serialize")
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(1, &e.to_string()),
    }
}

fn fail(code: u8, reason: &str) -> ExitCode {
    eprintln!("error: {reason}");
    ExitCode::from(code)
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
