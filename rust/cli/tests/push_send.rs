//! `hotline push send` against local providers speaking APNs' and FCM's
//! protocols: an operator's check of the credentials.

use std::process::Command;

use hotline_pushfake::{Answer, FakeProviders};

const BIN: &str = env!("CARGO_BIN_EXE_hotline");
const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Run `hotline push send` with the fakes' credentials and extra args.
fn push_send(fakes: &FakeProviders, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let key = dir.join("AuthKey.p8");
    let account = dir.join("account.json");
    let ca = dir.join("ca.pem");
    std::fs::write(&key, fakes.apns_key_pem()).unwrap();
    std::fs::write(&account, fakes.service_account_json()).unwrap();
    std::fs::write(&ca, fakes.ca_pem()).unwrap();
    Command::new(BIN)
        .args(["push", "send", "--apns-key-id", FakeProviders::APNS_KEY_ID])
        .args([
            "--apns-team-id",
            FakeProviders::APNS_TEAM_ID,
            "--apns-topic",
            "io.hotline.demo",
        ])
        .args([
            "--apns-url",
            &fakes.apns_url(),
            "--fcm-url",
            &fakes.fcm_url(),
        ])
        .arg("--apns-key-file")
        .arg(&key)
        .arg("--fcm-service-account")
        .arg(&account)
        .arg("--push-ca-file")
        .arg(&ca)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_test_push_reports_what_the_provider_answered() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fakes = rt.block_on(FakeProviders::start()).unwrap();
    let dir = tempfile::tempdir().unwrap();

    let out = push_send(
        &fakes,
        dir.path(),
        &["--provider", "apns-voip", "--token", TOKEN],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.starts_with("sent"),
        "{out:?}"
    );
    let sent = fakes.apns_requests();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].jwt_ok);
    assert_eq!(sent[0].header("apns-topic"), Some("io.hotline.demo.voip"));

    let out = push_send(
        &fakes,
        dir.path(),
        &[
            "--provider",
            "fcm",
            "--token",
            "fcm-token-1",
            "--kind",
            "cancel",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(fakes.fcm_requests().len(), 1);

    fakes.answer_apns(TOKEN, vec![Answer::status(410, "Unregistered")]);
    let out = push_send(
        &fakes,
        dir.path(),
        &["--provider", "apns-voip", "--token", TOKEN],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stdout.contains("Unregistered") && stdout.contains("dead"),
        "{stdout}"
    );

    // Missing credentials are named.
    let out = Command::new(BIN)
        .args(["push", "send", "--provider", "apns", "--token", TOKEN])
        .env_remove("HOTLINE_APNS_KEY_FILE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--apns-key-file"),
        "{out:?}"
    );
}
