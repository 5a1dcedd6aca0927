//! `hotline phone --push-provider … --push-token …`: the token is registered
//! after login and stays registered when the phone goes away.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_hotline");
const APP: &str = "1400000000";
const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn hotline() -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("HOTLINE_LISTEN")
        .env_remove("HOTLINE_DB")
        .env_remove("HOTLINE_DEV_USERSIG")
        .env_remove("HOTLINE_WEB_DIR")
        .env("RUST_LOG", "warn,rtc=error,rtc_dtls=error,rtc_ice=error");
    c
}

/// A server on a free port with its database in `db`; returns it and its URL.
fn server(db: &std::path::Path) -> (Server, String) {
    let mut child = hotline()
        .args(["server", "--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .args(["--sdk-app-id", APP, "--secret-key", KEY])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("ws://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();
    (Server(child), url)
}

/// Run a phone to its end; returns its exit status and JSON lines.
fn phone(url: &str, user: &str, extra: &[&str]) -> (std::process::ExitStatus, Vec<Value>) {
    let out = hotline()
        .args([
            "phone",
            "--server",
            url,
            "--sdk-app-id",
            APP,
            "--secret-key",
            KEY,
        ])
        .args(["--user-id", user])
        .args(extra)
        .stderr(Stdio::null())
        .output()
        .expect("run phone");
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (out.status, lines)
}

fn events(lines: &[Value]) -> Vec<&str> {
    lines.iter().map(|v| v["event"].as_str().unwrap()).collect()
}

#[test]
fn a_phone_registers_its_token_and_keeps_it_when_it_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hotline.db");
    let (_server, url) = server(&db);
    let (status, lines) = phone(
        &url,
        "bob",
        &[
            "--push-provider",
            "apns_voip",
            "--push-token",
            "0123abcd",
            "--push-app",
            "com.example.calls",
            "--push-environment",
            "sandbox",
            "--answer",
            "none",
            "--exit-after",
            "0.5",
        ],
    );
    assert!(status.success(), "{lines:?}");
    assert_eq!(events(&lines), vec!["ready", "pushRegistered"]);
    let device = lines[0]["deviceId"].as_str().unwrap().to_string();

    // The phone has exited (a locked phone): its token is still there.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tokens = rt.block_on(async {
        let store = hotline_server::store::Store::open(&db).await.unwrap();
        store.push_tokens("bob").await.unwrap()
    });
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    let t = &tokens[0];
    assert_eq!(
        (
            t.device_id.as_str(),
            t.provider.as_str(),
            t.token.as_str(),
            t.app.as_str(),
            t.environment.as_str()
        ),
        (
            device.as_str(),
            "apns_voip",
            "0123abcd",
            "com.example.calls",
            "sandbox"
        )
    );
}

#[test]
fn a_refused_token_is_a_command_failed_line_and_the_flags_go_together() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = server(&dir.path().join("hotline.db"));
    let long = "a".repeat(513);
    let (status, lines) = phone(
        &url,
        "bob",
        &[
            "--push-provider",
            "fcm",
            "--push-token",
            &long,
            "--exit-after",
            "0.2",
        ],
    );
    assert!(status.success(), "{lines:?}");
    let failed = lines
        .iter()
        .find(|v| v["event"] == "commandFailed")
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert_eq!(failed["command"], "registerPushToken");
    assert_eq!(failed["code"], -1202);

    // A token without a provider, or a provider without a token, is a usage error.
    for extra in [["--push-token", "abc"], ["--push-provider", "fcm"]] {
        let (status, _) = phone(&url, "bob", &extra);
        assert_eq!(status.code(), Some(2), "{extra:?}");
    }
}
