//! `hotline demo` and the phone's media flags end to end, with the built
//! binary: the demo's JSON summary, two phones (one sending from files, both
//! recording) through a `hotline server` process, and bad files refused
//! before anything connects. Every wait is bounded.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hotline_media::render::rotate;
use hotline_media::synthetic::{
    read_frame_number, tone_window_correlations, ToneGenerator, VideoPattern,
};
use hotline_media::{Rotation, VideoFrame, WavReader, WavWriter, Y4mReader, Y4mWriter};
use serde_json::Value;

mod common;

use common::*;

/// The JSON lines a [`ready_then_collect`] thread gathered (once the phone exited).
fn collected_json(rest: std::thread::JoinHandle<String>) -> Vec<Value> {
    rest.join()
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Wait for a phone's `ready` line; the rest of its stdout is collected on a
/// thread (join it once the phone exits).
fn ready_then_collect(child: &mut Child) -> std::thread::JoinHandle<String> {
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(first.contains("\"ready\""), "{first}");
    std::thread::spawn(move || {
        let mut rest = String::new();
        out.read_to_string(&mut rest).unwrap();
        rest
    })
}

fn phone(url: &str, user: &str, extra: &[&str]) -> Command {
    let mut c = hotline();
    c.args(["phone", "--server", url, "--sdk-app-id", APP])
        .args(["--secret-key", KEY, "--user-id", user])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Every frame of a recorded `.y4m`: (count, frame numbers read).
fn read_y4m(path: &Path) -> (u64, Vec<Option<u32>>, (u32, u32)) {
    let mut r = Y4mReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let size = (r.width(), r.height());
    let mut numbers = Vec::new();
    while let Some(f) = r.read_frame().unwrap() {
        numbers.push(read_frame_number(&f));
    }
    (numbers.len() as u64, numbers, size)
}

fn rms(samples: &[i16]) -> f64 {
    let sum: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    (sum / samples.len().max(1) as f64).sqrt()
}

#[test]
fn demo_prints_a_sane_json_summary_and_records_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let child = hotline()
        .args([
            "demo",
            "--duration",
            "5",
            "--resolution",
            "640x360",
            "--json",
        ])
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let result = finish(child, "hotline demo");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "demo failed: {stderr}");
    let stdout = String::from_utf8_lossy(&result.stdout);
    let last = stdout.lines().last().expect("output");
    let s: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last}"));
    let f = |k: &str| {
        s[k].as_f64()
            .unwrap_or_else(|| panic!("{k} missing or not a number in {s}"))
    };
    assert!(f("setup_ms") > 0.0, "{s}");
    assert!(f("first_frame_ms") > 0.0, "{s}");
    assert!(f("video_frames_sent") > 0.0, "{s}");
    assert!(f("video_frames_received") > 0.0, "{s}");
    assert!(f("video_fps") > 5.0, "{s}");
    assert!(f("psnr_db") > 30.0, "{s}");
    assert!(f("audio_frames_received") > 0.0, "{s}");
    assert!(f("audio_correlation") > 0.8, "{s}");
    assert!(f("bitrate_kbps") > 50.0, "{s}");
    assert!(f("loss_percent") >= 0.0 && f("rtt_ms") >= 0.0, "{s}");
    assert!(f("duration_s") >= 5.0, "{s}");
    assert_eq!(s["resolution"], "640x360");
    // A progress line and a human summary came first.
    assert!(stderr.contains("fps"), "{stderr}");
    assert!(stdout.contains("PSNR"), "{stdout}");

    // Both sides' received media were recorded.
    for user in ["alice", "bob"] {
        let (frames, numbers, size) = read_y4m(&out.join(format!("{user}.y4m")));
        assert!(frames > 0, "{user}.y4m is empty");
        assert_eq!(size, (640, 360));
        assert!(numbers.iter().flatten().count() as u64 * 10 >= frames * 9);
        let pcm = WavReader::open(out.join(format!("{user}.wav")))
            .unwrap()
            .read_all_samples()
            .unwrap();
        assert!(rms(&pcm) > 500.0, "{user}.wav is silent");
    }
    assert!(out.join("hotline.db").exists());
}

/// A 640x360 `.y4m` of `frames` numbered pictures and a 1 s `.wav` tone.
fn media_files(dir: &Path, frames: u32, hz: f64) -> (String, String) {
    let y4m = dir.join("camera.y4m");
    let file = std::io::BufWriter::new(std::fs::File::create(&y4m).unwrap());
    let mut w = Y4mWriter::new(file, 640, 360, 15, 1).unwrap();
    let pattern = VideoPattern::new(640, 360);
    for n in 0..frames {
        w.write_frame(&pattern.frame(n, 0)).unwrap();
    }
    drop(w.finish().unwrap());
    let wav = dir.join("mic.wav");
    let mut w = WavWriter::create(std::fs::File::create(&wav).unwrap()).unwrap();
    let mut tone = ToneGenerator::new(hz, 0.3);
    for _ in 0..100 {
        w.write_frame(&tone.next_frame()).unwrap();
    }
    w.finish().unwrap();
    (
        y4m.to_string_lossy().into_owned(),
        wav.to_string_lossy().into_owned(),
    )
}

#[test]
fn phones_send_from_files_and_record_what_they_receive() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let (y4m, wav) = media_files(dir.path(), 20, 500.0);
    let bob_dir = dir.path().join("bob-rec");
    let alice_dir = dir.path().join("alice-rec");
    let mut bob = phone(
        &server.1,
        "bob",
        &["--answer", "accept", "--exit-after", "40"],
    )
    .args(["--camera", "synthetic", "--mic", "tone", "--tone-hz", "660"])
    .arg("--record")
    .arg(&bob_dir)
    .spawn()
    .unwrap();
    // Wait for bob's "ready" line before alice calls.
    let bob_rest = ready_then_collect(&mut bob);
    let alice = phone(
        &server.1,
        "alice",
        &["--call", "bob", "--hangup-after", "6"],
    )
    .args(["--exit-after", "40", "--camera", &y4m, "--mic", &wav])
    .arg("--record")
    .arg(&alice_dir)
    .spawn()
    .unwrap();
    let alice_result = finish(alice, "alice's phone");
    assert!(alice_result.status.success(), "{alice_result:?}");
    let bob_result = finish(bob, "bob's phone");
    assert!(bob_result.status.success(), "{bob_result:?}");
    let bob_lines = collected_json(bob_rest);
    let alice_lines = json_lines(&alice_result);

    for (who, lines, peer) in [("bob", &bob_lines, "alice"), ("alice", &alice_lines, "bob")] {
        let find = |name: &str| {
            lines
                .iter()
                .find(|v| v["event"] == name)
                .unwrap_or_else(|| panic!("{who} printed no {name}: {lines:?}"))
        };
        let first_frame = find("firstRemoteFrame");
        assert_eq!(first_frame["userId"], peer);
        assert_eq!(first_frame["width"], 640);
        assert!(find("mediaConnected")["publisherMs"].as_u64().unwrap() > 0);
        let stats = find("callStats");
        assert!(stats["videoFramesSent"].as_u64().unwrap() > 0, "{stats}");
        assert!(
            stats["received"][0]["videoFrames"].as_u64().unwrap() > 0,
            "{stats}"
        );
        find("firstRemoteAudio");
    }

    // Bob's recording of alice: her file's pictures, numbered 0..20, looping.
    let (frames, numbers, size) = read_y4m(&bob_dir.join("alice.y4m"));
    assert_eq!(size, (640, 360));
    assert!(frames > 20, "{frames} frames of alice recorded");
    let read: Vec<u32> = numbers.iter().flatten().copied().collect();
    assert!(read.len() as u64 * 10 >= frames * 9, "{numbers:?}");
    assert!(read.iter().all(|&n| n < 20), "{read:?}");
    assert!(
        read.windows(2).any(|w| w[1] < w[0]),
        "the file looped: {read:?}"
    );
    let finished = bob_lines
        .iter()
        .find(|v| v["event"] == "recordingFinished" && v["kind"] == "video")
        .expect("recordingFinished");
    assert_eq!(finished["frames"].as_u64(), Some(frames));
    let pcm = WavReader::open(bob_dir.join("alice.wav"))
        .unwrap()
        .read_all_samples()
        .unwrap();
    let start = pcm
        .iter()
        .position(|&s| s != 0)
        .expect("alice.wav is silent");
    assert!(rms(&pcm[start..]) > 1000.0, "alice.wav is nearly silent");
    let corr = tone_window_correlations(&pcm, 500.0, 4_800, 6)
        .into_iter()
        .fold(f64::MIN, f64::max);
    assert!(corr > 0.8, "alice's 500 Hz file correlates at {corr:.3}");

    // Alice's recording of bob: the synthetic camera, numbers rising.
    let (frames, numbers, _) = read_y4m(&alice_dir.join("bob.y4m"));
    let read: Vec<u32> = numbers.iter().flatten().copied().collect();
    assert!(
        frames > 0 && read.len() as u64 * 10 >= frames * 9,
        "{numbers:?}"
    );
    assert!(read.windows(2).all(|w| w[1] > w[0]), "{read:?}");
    let pcm = WavReader::open(alice_dir.join("bob.wav"))
        .unwrap()
        .read_all_samples()
        .unwrap();
    assert!(rms(&pcm) > 500.0, "bob.wav is silent");
}

/// A `--stay` phone opens its camera for every video call it answers (the
/// engine closes the camera when a call ends, as TUICallEngine does), so
/// each caller receives its video, not just the first.
#[test]
fn a_staying_phone_sends_video_in_every_call() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let mut bob = phone(&server.1, "bob", &["--stay", "--answer", "accept"])
        .args(["--exit-after", "80", "--camera", "synthetic"])
        .spawn()
        .unwrap();
    let bob_rest = ready_then_collect(&mut bob);
    for round in 1..=3 {
        let alice = phone(
            &server.1,
            "alice",
            &["--call", "bob", "--hangup-after", "5"],
        )
        .args(["--exit-after", "40"])
        .spawn()
        .unwrap();
        let out = finish(alice, "alice's phone");
        assert!(out.status.success(), "round {round}: {out:?}");
        let lines = json_lines(&out);
        let stats = lines
            .iter()
            .find(|v| v["event"] == "callStats")
            .unwrap_or_else(|| panic!("round {round}: no callStats in {lines:?}"));
        assert!(
            stats["received"][0]["videoFrames"].as_u64().unwrap_or(0) > 0,
            "round {round}: no video from bob: {stats}"
        );
    }
    Command::new("kill")
        .args(["-TERM", &bob.id().to_string()])
        .status()
        .unwrap();
    let bob_result = finish(bob, "bob's phone");
    assert!(bob_result.status.success(), "{bob_result:?}");
    let bob_lines = bob_rest.join().unwrap();
    assert_eq!(
        bob_lines.matches("\"onCallBegin\"").count(),
        3,
        "{bob_lines}"
    );
}

/// Every frame of a recorded `.y4m`, and its size.
fn y4m_frames(path: &Path) -> ((u32, u32), Vec<VideoFrame>) {
    let mut r = Y4mReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let size = (r.width(), r.height());
    let mut frames = Vec::new();
    while let Some(f) = r.read_frame().unwrap() {
        frames.push(f);
    }
    (size, frames)
}

#[test]
fn recordings_follow_the_render_params() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let bob_dir = dir.path().join("bob-rec");
    let alice_dir = dir.path().join("alice-rec");
    // Bob shows alice's 640x360 video fitted into a portrait 360x640 view.
    let mut bob = phone(
        &server.1,
        "bob",
        &[
            "--answer",
            "accept",
            "--exit-after",
            "40",
            "--camera",
            "synthetic",
        ],
    )
    .args(["--view", "360x640", "--fill-mode", "fit", "--record"])
    .arg(&bob_dir)
    .spawn()
    .unwrap();
    let bob_rest = ready_then_collect(&mut bob);
    // Alice turns bob's video a quarter turn, at its decoded size.
    let alice = phone(
        &server.1,
        "alice",
        &["--call", "bob", "--hangup-after", "5", "--exit-after", "40"],
    )
    .args([
        "--camera",
        "synthetic",
        "--render-rotation",
        "90",
        "--record",
    ])
    .arg(&alice_dir)
    .spawn()
    .unwrap();
    let alice_result = finish(alice, "alice's phone");
    assert!(alice_result.status.success(), "{alice_result:?}");
    let bob_result = finish(bob, "bob's phone");
    assert!(bob_result.status.success(), "{bob_result:?}");
    let bob_lines = bob_rest.join().unwrap();
    // The sinks still count frames as decoded.
    assert!(bob_lines.contains("\"width\":640"), "{bob_lines}");

    // Bob's recording: the view's size, black bars above and below a
    // 360x202 band of picture (640x360 scaled by 360/640), centred.
    let (size, frames) = y4m_frames(&bob_dir.join("alice.y4m"));
    assert_eq!(size, (360, 640));
    assert!(!frames.is_empty(), "nothing recorded");
    for f in &frames {
        let picture_rows: Vec<u32> = (0..640)
            .filter(|&y| (0..360).any(|x| f.luma(x, y) != 16))
            .collect();
        assert_eq!(picture_rows.len(), 202, "{picture_rows:?}");
        let (top, bottom) = (picture_rows[0], 639 - picture_rows[201]);
        assert!(top.abs_diff(bottom) <= 2, "bars of {top} and {bottom} rows");
        let cs = f.stride_uv();
        for y in (0..top / 2).chain(320 - bottom / 2..320) {
            let row = &f.u()[y as usize * cs..][..180];
            assert!(row.iter().all(|&c| c == 128), "chroma row {y} of a bar");
        }
        let mean = (0..360).map(|x| u32::from(f.luma(x, 320))).sum::<u32>() / 360;
        assert!(mean > 40, "the middle row is the picture, mean luma {mean}");
    }

    // Alice's recording: bob's 640x360 turned to 360x640; turning it back
    // gives his numbered pictures.
    let (size, frames) = y4m_frames(&alice_dir.join("bob.y4m"));
    assert_eq!(size, (360, 640));
    assert!(!frames.is_empty(), "nothing recorded");
    let numbered = frames
        .iter()
        .filter(|f| read_frame_number(&rotate(f, Rotation::R270)).is_some())
        .count();
    assert!(
        numbered * 10 >= frames.len() * 9,
        "{numbered} of {}",
        frames.len()
    );
    assert!(frames.iter().all(|f| read_frame_number(f).is_none()));
}

#[test]
fn bad_media_flags_fail_fast_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.y4m");
    std::fs::write(&text, "hello\n").unwrap();
    let mut cd = WavWriter::create(std::io::Cursor::new(Vec::new())).unwrap();
    cd.write_samples(&[0; 480]).unwrap();
    let mut bytes = cd.finish().unwrap().into_inner();
    bytes[24..28].copy_from_slice(&44_100u32.to_le_bytes()); // a 44.1 kHz header
    let cd_wav = dir.path().join("cd.wav");
    std::fs::write(&cd_wav, bytes).unwrap();
    let missing = dir.path().join("missing.y4m");
    let cases: [(&str, &Path, &[&str]); 3] = [
        ("--camera", &missing, &["missing.y4m", "no such file"]),
        ("--camera", &text, &["notes.y4m", "YUV4MPEG2"]),
        ("--mic", &cd_wav, &["cd.wav", "48 kHz"]),
    ];
    for (flag, path, expect) in cases {
        let started = Instant::now();
        // Nothing listens on port 9: a phone that tried to connect would fail differently.
        let child = phone("ws://127.0.0.1:9/ws", "alice", &["--exit-after", "30"])
            .arg(flag)
            .arg(path)
            .spawn()
            .unwrap();
        let out = finish(child, "a phone with a bad file");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{flag} {}: {stderr}",
            path.display()
        );
        for e in expect {
            assert!(stderr.contains(e), "{flag}: expected {e:?} in {stderr}");
        }
        assert!(out.stdout.is_empty(), "nothing connected: {out:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    let out = finish(
        phone("ws://127.0.0.1:9/ws", "alice", &["--resolution", "800x600"])
            .spawn()
            .unwrap(),
        "a phone with a bad resolution",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1280x720"));
    for (flag, value) in [
        ("--view", "361x640"),
        ("--fill-mode", "stretch"),
        ("--render-rotation", "45"),
    ] {
        let out = finish(
            phone("ws://127.0.0.1:9/ws", "alice", &[flag, value])
                .spawn()
                .unwrap(),
            "a phone with a bad render flag",
        );
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(flag),
            "{out:?}"
        );
    }
}

#[test]
fn a_phone_that_does_not_decode_still_counts_the_video_it_receives() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let mut bob = phone(&server.1, "bob", &["--answer", "accept", "--no-decode"])
        .args(["--stats-every", "1"])
        .args(["--exit-after", "40"])
        .spawn()
        .unwrap();
    let bob_rest = ready_then_collect(&mut bob);
    let alice = phone(
        &server.1,
        "alice",
        &["--call", "bob", "--hangup-after", "4"],
    )
    .args(["--camera", "synthetic", "--exit-after", "40"])
    .spawn()
    .unwrap();
    let out = finish(alice, "alice's phone");
    assert!(out.status.success(), "{out:?}");
    let bob_result = finish(bob, "bob's phone");
    assert!(bob_result.status.success(), "{bob_result:?}");
    let lines = collected_json(bob_rest);
    let last = lines
        .iter()
        .rfind(|v| v["event"] == "callStats")
        .unwrap_or_else(|| panic!("no callStats: {lines:?}"));
    let alice = &last["users"][0];
    assert_eq!(alice["userId"], "alice", "{last}");
    assert!(
        alice["videoFramesReceived"].as_u64().unwrap() > 10,
        "frames put together: {last}"
    );
    assert_eq!(alice["videoFramesDecoded"], 0, "nothing decoded: {last}");
    assert!(
        !lines.iter().any(|v| v["event"] == "firstRemoteFrame"),
        "no frame was shown"
    );
}
