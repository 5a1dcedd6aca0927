//! `hotline bench sfu` against a real `hotline server` process: a short run
//! whose result says media arrived. Nothing here asserts a speed.

mod common;

use std::process::Stdio;

use common::*;

#[test]
fn a_short_load_run_reports_what_arrived_and_what_the_server_forwarded() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let pid = server.0.id().to_string();
    let run = hotline()
        .args(["bench", "sfu", "--server", &server.1, "--sdk-app-id", APP])
        .args([
            "--secret-key",
            KEY,
            "--publishers",
            "2",
            "--subscribers",
            "3",
        ])
        .args(["--resolution", "320x180", "--fps", "15", "--bitrate", "200"])
        .args(["--duration", "2", "--server-pid", &pid])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = finish(run, "hotline bench sfu");
    assert!(
        out.status.success(),
        "the run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert!(
        lines.iter().any(|l| l["event"] == "progress"),
        "progress lines: {lines:?}"
    );
    let result = lines
        .iter()
        .find(|l| l["event"] == "result")
        .expect("a result line");
    assert_eq!(result["connected"]["publishers"], 2, "{result}");
    assert_eq!(result["connected"]["subscribers"], 3, "{result}");
    let received = &result["received"];
    // Three subscribers, each receiving its own publisher's video.
    assert_eq!(received["streams"], 3, "{result}");
    assert!(received["packets"].as_u64().unwrap() > 0, "{result}");
    assert!(received["frames"].as_u64().unwrap() > 0, "{result}");
    assert!(result["framesSent"].as_u64().unwrap() > 0, "{result}");
    let forwarded = result["server"]["forwardedPackets"].as_u64().unwrap();
    assert!(forwarded > 0, "the server forwarded packets: {result}");
    let udp_in = result["server"]["udpInPerS"].as_f64().unwrap();
    let rtp_in = result["server"]["rtpInPerS"].as_f64().unwrap();
    assert!(
        rtp_in > 0.0 && udp_in >= rtp_in,
        "the server counted the datagrams it read, RTP among them: {result}"
    );
    assert!(
        result["server"]["cpuS"].as_f64().unwrap() > 0.0,
        "the server's CPU time was read: {result}"
    );
}

#[test]
fn bad_load_settings_are_refused_before_anything_connects() {
    let out = hotline()
        .args([
            "bench",
            "sfu",
            "--server",
            "http://127.0.0.1:1/ws",
            "--sdk-app-id",
            APP,
        ])
        .args(["--secret-key", KEY])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ws:// URL"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = hotline()
        .args([
            "bench",
            "sfu",
            "--server",
            "ws://127.0.0.1:1/ws",
            "--sdk-app-id",
            APP,
        ])
        .args(["--secret-key", KEY, "--resolution", "99x99"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("even sizes"));
}
