//! State shared by the engine API and the media threads of the current call:
//! the app's devices, what is switched on, encoder settings, keyframe
//! requests and counters. Lives as long as the engine, across calls.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use hotline_media::{AudioFrame, VideoEncoderParams, VideoFrame};
use hotline_proto::VideoStreamType;

use super::devices::{AudioSink, DeviceDelegate, SharedAudioSource, SharedVideoSource, VideoSink};
use super::estimate::SharedEstimate;
use super::mailbox::Mailbox;

/// A sink behind its mailbox (see [`Mailbox`]).
pub(crate) struct VideoView {
    pub(crate) mailbox: Mailbox<VideoFrame>,
}

impl VideoView {
    pub(crate) fn new(name: &str, sink: Arc<dyn VideoSink>) -> VideoView {
        VideoView {
            mailbox: Mailbox::spawn(name, move |f: VideoFrame| sink.on_frame(&f)),
        }
    }
}

/// Audio frames an [`AudioOut`] may hold for a slow sink (half a second);
/// beyond that, new frames are dropped.
const AUDIO_QUEUE: usize = 50;

/// An audio sink behind a short queue and its own thread: audio sinks get
/// every 10 ms frame in order, and a slow or re-entrant sink never holds up
/// the audio thread (or the engine's locks).
pub(crate) struct AudioOut {
    tx: std::sync::mpsc::SyncSender<AudioFrame>,
}

impl AudioOut {
    pub(crate) fn new(sink: Arc<dyn AudioSink>) -> AudioOut {
        let (tx, rx) = std::sync::mpsc::sync_channel::<AudioFrame>(AUDIO_QUEUE);
        std::thread::Builder::new()
            .name("hotline-audio-sink".into())
            .spawn(move || {
                for frame in rx {
                    sink.on_audio(&frame);
                }
            })
            .expect("spawn an audio sink thread");
        AudioOut { tx }
    }

    /// Queue a frame without waiting (dropped if the sink is half a second behind).
    pub(crate) fn deliver(&self, frame: &AudioFrame) {
        let _ = self.tx.try_send(frame.clone());
    }
}

/// Counters the media threads bump; [`super::stats`] turns them into rates.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) video_frames_sent: AtomicU64,
    pub(crate) video_bytes_sent: AtomicU64,
    pub(crate) audio_packets_sent: AtomicU64,
    pub(crate) audio_bytes_sent: AtomicU64,
    pub(crate) keyframes_sent: AtomicU64,
    pub(crate) keyframe_requests_received: AtomicU64,
}

impl Counters {
    /// Zero everything (a new call's media starts).
    pub(crate) fn reset(&self) {
        for c in [
            &self.video_frames_sent,
            &self.video_bytes_sent,
            &self.audio_packets_sent,
            &self.audio_bytes_sent,
            &self.keyframes_sent,
            &self.keyframe_requests_received,
        ] {
            c.store(0, Relaxed);
        }
    }
}

/// See the module docs.
#[derive(Default)]
pub(crate) struct MediaShared {
    pub(crate) video_source: Mutex<Option<SharedVideoSource>>,
    pub(crate) audio_source: Mutex<Option<SharedAudioSource>>,
    pub(crate) delegate: Mutex<Option<Arc<dyn DeviceDelegate>>>,
    pub(crate) local_view: Mutex<Option<VideoView>>,
    pub(crate) remote_views: Mutex<HashMap<String, VideoView>>,
    pub(crate) playback: Mutex<Option<AudioOut>>,
    pub(crate) remote_audio_sinks: Mutex<HashMap<String, AudioOut>>,
    pub(crate) camera_open: AtomicBool,
    pub(crate) microphone_open: AtomicBool,
    pub(crate) encoder_params: Mutex<Option<VideoEncoderParams>>,
    /// Every layer's next frame is a keyframe (the publisher connected, or
    /// restarted ICE); the video thread clears it. Receivers' requests set
    /// their layer's own flag.
    pub(crate) keyframe_wanted: AtomicBool,
    /// Stream types asked for with `setRemoteVideoStreamType` (the big
    /// stream is the default and is not kept), sent to the SFU in each call.
    pub(crate) stream_types: Mutex<HashMap<String, VideoStreamType>>,
    pub(crate) counters: Counters,
    /// The publisher's bandwidth estimate (written by its congestion control).
    pub(crate) estimate: Arc<SharedEstimate>,
    /// What the video encoder does now (the adaptation's choice).
    pub(crate) video_send: Mutex<VideoSendState>,
}

/// What the video thread chose last, for statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct VideoSendState {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) fps: u32,
    pub(crate) bitrate_kbps: u32,
    /// Rung of the adaptation ladder (0 = the preset's own size and rate);
    /// with simulcast, how many of the largest layers are paused.
    pub(crate) rung: usize,
    /// Simulcast layers being sent (1 without simulcast).
    pub(crate) layers: u32,
}

impl MediaShared {
    pub(crate) fn encoder_params(&self) -> VideoEncoderParams {
        self.encoder_params
            .lock()
            .expect("encoder params")
            .unwrap_or_default()
    }
}
