//! Phones with synthetic media (numbered pictures, tones) and a 1v1 call
//! whose media crosses a netsim proxy, for the media and adaptation tests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hotline_engine::media::devices::Camera;
use hotline_engine::media::stats::CallStats;
use hotline_engine::media::synthetic::{
    FrameCollector, PcmCollector, SyntheticCamera, ToneMicrophone,
};
use hotline_engine::{CallParams, Event, MediaType};
use hotline_media::synthetic::tone_window_correlations;
use hotline_media::{Orientation, VideoEncoderParams, VideoResolution};
use hotline_netsim::{Impairment, UdpImpairmentProxy};

use super::{Phone, TestServer};

/// A phone with a synthetic camera and a tone microphone.
pub struct MediaPhone {
    pub phone: Phone,
    pub tone_hz: f64,
    pub size: (u32, u32),
}

impl MediaPhone {
    /// At 640×360 (the TUICallEngine default preset).
    pub async fn login(url: &str, user: &str, tone_hz: f64) -> MediaPhone {
        let params = VideoEncoderParams::preset(VideoResolution::R640x360, Orientation::Landscape);
        MediaPhone::login_with(url, user, tone_hz, params).await
    }

    pub async fn login_with(
        url: &str,
        user: &str,
        tone_hz: f64,
        params: VideoEncoderParams,
    ) -> MediaPhone {
        MediaPhone::with_media(Phone::login(url, user).await, tone_hz, params)
    }

    /// `phone`, given a synthetic camera and a tone microphone.
    pub fn with_media(phone: Phone, tone_hz: f64, params: VideoEncoderParams) -> MediaPhone {
        let e = &phone.engine;
        e.set_video_encoder_params(params).unwrap();
        e.set_video_source(Some(Arc::new(SyntheticCamera::new(
            params.width,
            params.height,
        ))));
        e.set_audio_source(Some(Arc::new(ToneMicrophone::new(tone_hz, 0.3))));
        e.open_camera(Camera::Front);
        MediaPhone {
            phone,
            tone_hz,
            size: (params.width, params.height),
        }
    }

    /// Place a 1v1 video call that `callee` answers.
    pub async fn video_call_answered_by(&self, callee: &MediaPhone) {
        let to = vec![callee.phone.user.clone()];
        self.phone
            .engine
            .calls(to, MediaType::Video, CallParams::default())
            .await
            .unwrap();
        callee
            .phone
            .wait("onCallReceived", |e| {
                matches!(e, Event::CallReceived { .. })
            })
            .await;
        callee.phone.engine.accept().await.unwrap();
    }

    pub fn watch(&self, other: &str) -> (Arc<FrameCollector>, Arc<PcmCollector>) {
        let video = Arc::new(FrameCollector::new(Some(self.size)));
        let audio = Arc::new(PcmCollector::new(30));
        self.phone.engine.start_remote_view(other, video.clone());
        self.phone.engine.start_remote_audio(other, audio.clone());
        (video, audio)
    }
}

/// Wait (polling, bounded) until `cond` holds.
pub async fn until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The received PCM correlates with a tone of `hz`: the best of the 200 ms
/// windows, one every 100 ms, from half a second to two seconds after the
/// first sound (as far as the samples go). On a loaded machine playout may
/// conceal through its first second; one clean window shows the tone came.
pub fn assert_tone(samples: &[i16], hz: f64, who: &str) {
    assert!(
        samples.len() > 48_000,
        "{who}: {} samples of audio",
        samples.len()
    );
    let best = tone_window_correlations(samples, hz, 4_800, 15)
        .into_iter()
        .fold(f64::MIN, f64::max);
    assert!(
        best > 0.9,
        "{who}: received audio correlates with the {hz} Hz tone at only {best:.3}"
    );
}

/// A server whose SFU announces a netsim proxy in front of it, so all media
/// crosses the proxy (unimpaired until the test says otherwise). Its random
/// choices follow `seed`, if given.
pub async fn proxied_server(seed: Option<u64>) -> (TestServer, UdpImpairmentProxy) {
    let _ = env_logger::builder().is_test(true).try_init();
    let sfu_addr = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let proxy = match seed {
        Some(seed) => {
            UdpImpairmentProxy::start_with_seed(sfu_addr, Impairment::default(), seed).await
        }
        None => UdpImpairmentProxy::start(sfu_addr, Impairment::default()).await,
    }
    .unwrap();
    let server = TestServer::start_with(|c| {
        c.media_listen = sfu_addr;
        c.media_public_addr = Some(proxy.local_addr());
        // All media crosses the proxy: no ICE-TCP path around it.
        c.media_tcp = false;
    })
    .await;
    (server, proxy)
}

/// The statistics of `phone`'s call (which must have media).
pub async fn call_stats(phone: &MediaPhone) -> CallStats {
    phone
        .phone
        .engine
        .call_stats()
        .await
        .expect("a call with media")
}

/// A 1v1 video call whose media goes through a netsim proxy (the SFU
/// announces the proxy's address), with video flowing both ways.
pub struct ProxiedCall {
    pub server: TestServer,
    pub proxy: UdpImpairmentProxy,
    pub alice: MediaPhone,
    pub bob: MediaPhone,
    pub alice_sees: Arc<FrameCollector>,
    pub bob_sees: Arc<FrameCollector>,
    pub alice_hears: Arc<PcmCollector>,
    pub bob_hears: Arc<PcmCollector>,
}

impl ProxiedCall {
    /// At 640×360 (the TUICallEngine default preset).
    pub async fn start() -> ProxiedCall {
        let params = VideoEncoderParams::preset(VideoResolution::R640x360, Orientation::Landscape);
        ProxiedCall::start_with(params).await
    }

    /// Both phones send `params`.
    pub async fn start_with(params: VideoEncoderParams) -> ProxiedCall {
        ProxiedCall::start_seeded(params, None).await
    }

    /// The proxy's random choices follow `seed`, if given.
    pub async fn start_seeded(params: VideoEncoderParams, seed: Option<u64>) -> ProxiedCall {
        let (server, proxy) = proxied_server(seed).await;
        let alice = MediaPhone::login_with(&server.url(), "alice", 440.0, params).await;
        let bob = MediaPhone::login_with(&server.url(), "bob", 660.0, params).await;
        let (alice_sees, alice_hears) = alice.watch("bob");
        let (bob_sees, bob_hears) = bob.watch("alice");
        alice.video_call_answered_by(&bob).await;
        until("video both ways", Duration::from_secs(30), || {
            alice_sees.collected().frames >= 15 && bob_sees.collected().frames >= 15
        })
        .await;
        ProxiedCall {
            server,
            proxy,
            alice,
            bob,
            alice_sees,
            bob_sees,
            alice_hears,
            bob_hears,
        }
    }
}
