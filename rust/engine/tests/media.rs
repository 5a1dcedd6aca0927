//! Real media between engines through the server's SFU over loopback:
//! synthetic cameras (numbered pictures) and tone microphones; decoded
//! frames are matched to their source frames (PSNR) and received audio is
//! correlated with the tone.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use hotline_engine::media::devices::Camera;
use hotline_engine::media::synthetic::{
    FrameCollector, PcmCollector, SyntheticCamera, ToneMicrophone,
};
use hotline_engine::{CallParams, Event, MediaType};
use hotline_media::synthetic::{align_and_correlate, ToneGenerator};
use hotline_media::{Orientation, VideoEncoderParams, VideoResolution};

const W: u32 = 640;
const H: u32 = 360;

/// A phone with a synthetic camera at 360p and a tone microphone.
struct MediaPhone {
    phone: Phone,
    tone_hz: f64,
}

impl MediaPhone {
    async fn login(url: &str, user: &str, tone_hz: f64) -> MediaPhone {
        let phone = Phone::login(url, user).await;
        let e = &phone.engine;
        e.set_video_encoder_params(VideoEncoderParams::preset(
            VideoResolution::R640x360,
            Orientation::Landscape,
        ))
        .unwrap();
        e.set_video_source(Some(Arc::new(SyntheticCamera::new(W, H))));
        e.set_audio_source(Some(Arc::new(ToneMicrophone::new(tone_hz, 0.3))));
        e.open_camera(Camera::Front);
        MediaPhone { phone, tone_hz }
    }

    fn watch(&self, other: &str) -> (Arc<FrameCollector>, Arc<PcmCollector>) {
        let video = Arc::new(FrameCollector::new(Some((W, H))));
        let audio = Arc::new(PcmCollector::new(30));
        self.phone.engine.start_remote_view(other, video.clone());
        self.phone.engine.start_remote_audio(other, audio.clone());
        (video, audio)
    }
}

/// Wait (polling, bounded) until `cond` holds.
async fn until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The received PCM correlates with a tone of `hz` (after the codec's delay).
fn assert_tone(samples: &[i16], hz: f64, who: &str) {
    assert!(
        samples.len() > 48_000,
        "{who}: {} samples of audio",
        samples.len()
    );
    // Skip the first half second (start-up, jitter buffer filling).
    let received = &samples[24_000..];
    let mut tone = ToneGenerator::new(hz, 0.3);
    let reference: Vec<i16> = (0..20).flat_map(|_| tone.next_frame().samples).collect();
    // Any phase: search a lag within one period plus some.
    let (_, best) = (0..48_000usize.min(received.len() - reference.len()))
        .step_by(480)
        .map(|start| align_and_correlate(&reference, &received[start..], 480))
        .fold((0, f64::MIN), |a, b| if b.1 > a.1 { b } else { a });
    assert!(
        best > 0.9,
        "{who}: received audio correlates with the {hz} Hz tone at only {best:.3}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_to_one_video_call_carries_matching_video_and_audio() {
    let s = TestServer::start().await;
    let alice = MediaPhone::login(&s.url(), "alice", 440.0).await;
    let bob = MediaPhone::login(&s.url(), "bob", 660.0).await;
    let (alice_sees, alice_hears) = alice.watch("bob");
    let (bob_sees, bob_hears) = bob.watch("alice");

    let invite = Instant::now();
    alice
        .phone
        .engine
        .calls(vec!["bob".into()], MediaType::Video, CallParams::default())
        .await
        .unwrap();
    bob.phone
        .wait("onCallReceived", |e| {
            matches!(e, Event::CallReceived { .. })
        })
        .await;
    bob.phone.engine.accept().await.unwrap();

    until("both sides decode video", Duration::from_secs(30), || {
        alice_sees.collected().frames >= 30 && bob_sees.collected().frames >= 30
    })
    .await;
    let first_frames = invite.elapsed();
    // Let audio run for two seconds more.
    tokio::time::sleep(Duration::from_secs(2)).await;

    for (who, seen) in [("alice", &alice_sees), ("bob", &bob_sees)] {
        let v = seen.collected();
        assert!(
            v.numbered * 10 >= v.frames * 9,
            "{who}: {} of {} frames carry a readable number",
            v.numbered,
            v.frames
        );
        assert!(
            v.mean_psnr() > 30.0,
            "{who}: mean PSNR {:.1} dB",
            v.mean_psnr()
        );
        assert_eq!(v.last_size, (W, H));
    }
    assert_tone(&alice_hears.samples(), bob.tone_hz, "alice hears bob");
    assert_tone(&bob_hears.samples(), alice.tone_hz, "bob hears alice");

    // Availability and levels reached the other side.
    alice.phone.wait("onUserVideoAvailable bob", |e| matches!(e, Event::UserVideoAvailable { user_id, available: true, .. } if user_id == "bob")).await;
    bob.phone.wait("onUserAudioAvailable alice", |e| matches!(e, Event::UserAudioAvailable { user_id, available: true, .. } if user_id == "alice")).await;
    bob.phone
        .wait("alice is heard", |e| matches!(e, Event::UserVoiceVolumeChanged { volumes, .. } if volumes.iter().any(|v| v.user_id == "alice" && v.volume > 10)))
        .await;

    let stats = alice
        .phone
        .engine
        .call_stats()
        .await
        .expect("stats during the call");
    assert!(stats.video_frames_sent > 30, "{stats:?}");
    assert!(
        stats.publisher_connected_ms > 0 && stats.subscriber_connected_ms > 0,
        "{stats:?}"
    );
    let bob_stats = stats
        .users
        .iter()
        .find(|u| u.user_id == "bob")
        .expect("bob in the stats");
    assert!(
        bob_stats.video_frames_decoded > 30 && bob_stats.audio_packets_received > 50,
        "{bob_stats:?}"
    );
    eprintln!("first frames both ways {first_frames:?}; alice's stats: {stats:?}");

    alice.phone.engine.hangup().await.unwrap();
    bob.phone
        .wait("onCallEnd", |e| matches!(e, Event::CallEnd { .. }))
        .await;
    assert!(
        alice.phone.engine.call_stats().await.is_none(),
        "media stops with the call"
    );
}
