//! `hotline phone --push-provider … --push-token …`: the token is registered
//! after login and stays registered when the phone goes away.

mod common;

use common::*;
use std::process::Stdio;

use serde_json::Value;

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
    let server = server(dir.path());
    let url = server.1.clone();
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
    let server = server(dir.path());
    let url = server.1.clone();
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
