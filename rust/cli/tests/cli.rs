//! The `hotline` binary end to end: server processes, simulated phones,
//! configuration layering, signals, and the UserSig commands.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_hotline");
const APP: &str = "1400000000";
const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// The WebSocket URL from the line a starting server prints.
fn read_url(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    line.split_whitespace()
        .find(|w| w.starts_with("ws://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string()
}

/// Start `hotline server` and read the URL line it prints.
fn start_server(args: &[&str], env: &[(&str, &str)]) -> Server {
    let mut cmd = hotline();
    cmd.arg("server")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn server");
    let url = read_url(&mut child);
    Server { child, url }
}

fn server_in(dir: &std::path::Path, listen: &str) -> Server {
    let db = dir.join("hotline.db");
    start_server(
        &[
            "--listen",
            listen,
            "--db",
            db.to_str().unwrap(),
            "--sdk-app-id",
            APP,
            "--secret-key",
            KEY,
        ],
        &[],
    )
}

/// Run a phone to completion and return its JSON lines.
fn phone(url: &str, user: &str, extra: &[&str]) -> Child {
    hotline()
        .args([
            "phone",
            "--server",
            url,
            "--sdk-app-id",
            APP,
            "--secret-key",
            KEY,
            "--user-id",
            user,
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn phone")
}

fn lines(child: Child) -> Vec<Value> {
    let out = child.wait_with_output().expect("phone exits");
    assert!(out.status.success(), "phone failed: {out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn events(lines: &[Value]) -> Vec<&str> {
    lines.iter().map(|v| v["event"].as_str().unwrap()).collect()
}

/// Wait until a phone has printed its "ready" line, by polling a log file.
fn wait_ready(child: &mut Child) -> BufReader<std::process::ChildStdout> {
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.contains("\"ready\""), "{line}");
    reader
}

fn rest(mut reader: BufReader<std::process::ChildStdout>, mut child: Child) -> Vec<Value> {
    let mut all = String::new();
    std::io::Read::read_to_string(&mut reader, &mut all).unwrap();
    assert!(child.wait().unwrap().success());
    all.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn two_phones_place_and_end_a_call() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_in(dir.path(), "127.0.0.1:0");
    let mut bob = phone(
        &server.url,
        "bob",
        &["--answer", "accept", "--exit-after", "20"],
    );
    let bob_out = wait_ready(&mut bob);
    let alice = phone(
        &server.url,
        "alice",
        &[
            "--call",
            "bob",
            "--media",
            "audio",
            "--hangup-after",
            "1",
            "--exit-after",
            "20",
        ],
    );
    let alice = lines(alice);
    let bob = rest(bob_out, bob);
    let a = events(&alice);
    assert_eq!(a.first(), Some(&"ready"));
    for e in ["callPlaced", "onUserInviting", "onCallBegin", "onCallEnd"] {
        assert!(a.contains(&e), "alice missed {e}: {a:?}");
    }
    let b = events(&bob);
    for e in ["onCallReceived", "onCallBegin", "onCallEnd"] {
        assert!(b.contains(&e), "bob missed {e}: {b:?}");
    }
    let received = bob.iter().find(|v| v["event"] == "onCallReceived").unwrap();
    assert_eq!(received["callerId"], "alice");
    assert_eq!(received["mediaType"], "audio");
    let end = alice.iter().find(|v| v["event"] == "onCallEnd").unwrap();
    assert_eq!(end["reason"], "hangup");
    // Alice hung up one second after her onCallBegin, which follows the
    // server's start of the call: at least 1 s, and not many more even on a
    // loaded machine.
    let total = end["totalTimeS"].as_u64().unwrap();
    assert!((1..=5).contains(&total), "{end}");
}

#[test]
fn reject_and_busy_as_seen_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_in(dir.path(), "127.0.0.1:0");
    let mut bob = phone(
        &server.url,
        "bob",
        &["--answer", "reject", "--exit-after", "20"],
    );
    let bob_out = wait_ready(&mut bob);
    let alice = lines(phone(
        &server.url,
        "alice",
        &["--call", "bob", "--exit-after", "20"],
    ));
    let not_connected = alice
        .iter()
        .find(|v| v["event"] == "onCallNotConnected")
        .expect("onCallNotConnected");
    assert_eq!(not_connected["reason"], "reject");
    assert!(events(&alice).contains(&"onUserReject"));
    drop(rest(bob_out, bob));
}

#[test]
fn a_pending_invitation_survives_sigkill_and_sigterm_is_graceful() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = server_in(dir.path(), "127.0.0.1:0");
    let addr = server
        .url
        .trim_start_matches("ws://")
        .trim_end_matches("/ws")
        .to_string();
    // Alice calls bob, who is offline; the phone exits once the call is placed.
    let alice = lines(phone(
        &server.url,
        "alice",
        &["--call", "bob", "--timeout", "120", "--exit-after", "1"],
    ));
    assert!(events(&alice).contains(&"callPlaced"), "{alice:?}");
    server.child.kill().unwrap(); // SIGKILL: no chance to flush anything
    server.child.wait().unwrap();
    let mut server = server_in(dir.path(), &addr);
    let bob = lines(phone(
        &server.url,
        "bob",
        &["--answer", "none", "--exit-after", "2"],
    ));
    let received = bob
        .iter()
        .find(|v| v["event"] == "onCallReceived")
        .unwrap_or_else(|| panic!("{bob:?}"));
    assert_eq!(received["callerId"], "alice");

    Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = server.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "graceful exit: {status}");
}

#[test]
fn flags_beat_environment_beat_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("from-file.db");
    let toml = format!(
        "sdk_app_id = {APP}\nsecret_key = \"{KEY}\"\nlisten = \"127.0.0.1:1\"\ndb = \"{}\"\n",
        db.display()
    );
    let config = dir.path().join("hotline.toml");
    std::fs::write(&config, toml).unwrap();
    // The environment overrides the file's (unusable) port; the db comes from the file.
    let server = start_server(
        &["--config", config.to_str().unwrap()],
        &[("HOTLINE_LISTEN", "127.0.0.1:0")],
    );
    assert!(!server.url.contains(":1/"), "{}", server.url);
    assert!(db.exists(), "the file's db setting was used");
    drop(server);
    // A flag overrides the environment.
    let other = dir.path().join("from-flag.db");
    let server = start_server(
        &[
            "--config",
            config.to_str().unwrap(),
            "--db",
            other.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        &[
            ("HOTLINE_LISTEN", "127.0.0.1:1"),
            ("HOTLINE_DB", "/nonexistent/x.db"),
        ],
    );
    assert!(other.exists());
    drop(server);
}

#[test]
fn bad_configuration_is_refused_with_the_setting_named() {
    let out = hotline()
        .args(["server", "--sdk-app-id", APP])
        .env_remove("HOTLINE_SECRET_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("secret_key"),
        "{out:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "sdk_app_id = 1\nsecret_keyy = \"x\"\n").unwrap();
    let out = hotline()
        .args(["server", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("secret_keyy"),
        "{out:?}"
    );
}

#[test]
fn usersig_gen_then_verify_and_clear_failures() {
    let out = hotline()
        .args([
            "usersig",
            "gen",
            "--sdk-app-id",
            APP,
            "--secret-key",
            KEY,
            "--user-id",
            "xiaojun",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let sig = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let out = hotline()
        .args([
            "usersig",
            "verify",
            "--sdk-app-id",
            APP,
            "--secret-key",
            KEY,
            "--user-sig",
            &sig,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let claims: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(claims["identifier"], "xiaojun");
    assert_eq!(claims["sdkappid"], 1400000000u64);
    let out = hotline()
        .args([
            "usersig",
            "verify",
            "--sdk-app-id",
            APP,
            "--secret-key",
            "wrong-key",
            "--user-sig",
            &sig,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("error:"),
        "{out:?}"
    );
    let out = hotline()
        .args([
            "usersig",
            "gen",
            "--sdk-app-id",
            APP,
            "--secret-key",
            KEY,
            "--user-id",
            "bad id",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `GET path` on a server started by [`dev_server`], returning the status and body.
fn http_get(url: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let host = url
        .strip_prefix("ws://")
        .and_then(|r| r.split('/').next())
        .unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

/// Start `hotline server` with `extra` flags and `env`, stderr captured.
fn dev_server(dir: &std::path::Path, extra: &[&str], env: &[(&str, &str)]) -> (Child, String) {
    let db = dir.join("hotline.db");
    let mut cmd = hotline();
    cmd.args([
        "server",
        "--listen",
        "127.0.0.1:0",
        "--db",
        db.to_str().unwrap(),
        "--sdk-app-id",
        APP,
    ])
    .args(extra)
    .env("HOTLINE_SECRET_KEY", KEY)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn server");
    let url = read_url(&mut child);
    (child, url)
}

/// Stop the server and return everything it wrote to stderr.
fn stop_and_stderr(mut child: Child) -> String {
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn dev_usersig_warns_on_stderr_and_is_off_without_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    const WARNING: &str = "warning: --dev-usersig is on: anyone who can reach this server can obtain a UserSig for any user. Development only.";

    // Off by default: the endpoint explains itself and nothing is printed.
    let (child, url) = dev_server(dir.path(), &[], &[]);
    let (status, body) = http_get(&url, "/dev/usersig?user_id=alice");
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("--dev-usersig"), "{body}");
    let (status, body) = http_get(&url, "/config.json");
    assert_eq!(status, 200);
    assert!(body.contains("\"dev_usersig\":false"), "{body}");
    let stderr = stop_and_stderr(child);
    assert!(!stderr.contains("dev-usersig"), "{stderr}");

    // The flag (or the environment) turns it on, with a warning line.
    for (flags, env) in [
        (&["--dev-usersig"][..], &[][..]),
        (&[][..], &[("HOTLINE_DEV_USERSIG", "true")][..]),
    ] {
        let (child, url) = dev_server(dir.path(), flags, env);
        let (status, body) = http_get(&url, "/dev/usersig?user_id=alice");
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        hotline_proto::usersig::verify_for_user(
            APP.parse().unwrap(),
            KEY,
            v["user_sig"].as_str().unwrap(),
            "alice",
            now,
        )
        .unwrap();
        let stderr = stop_and_stderr(child);
        assert!(
            stderr.lines().any(|l| l == WARNING),
            "{flags:?} {env:?}: {stderr}"
        );
    }
}

#[test]
fn web_client_is_served_at_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let (child, url) = dev_server(dir.path(), &[], &[]);
    let (status, body) = http_get(&url, "/");
    assert_eq!(status, 200);
    assert!(!body.is_empty());
    stop_and_stderr(child);
    let out = hotline()
        .args([
            "server",
            "--sdk-app-id",
            APP,
            "--secret-key",
            KEY,
            "--web-dir",
            dir.path().join("missing").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("web_dir"),
        "{out:?}"
    );
}
