//! The audio thread, ticking every 10 ms for the whole call:
//! - **capture**: 10 ms from the audio source → Opus (20 ms packets, FEC,
//!   DTX) → RTP out, while the microphone is open; the FEC's strength
//!   follows the loss the SFU reports (the bitrate stays);
//! - **playout**: each remote user's jitter buffer → Opus decode (FEC for a
//!   lost packet when the next one is there, else concealment) → that user's
//!   sink, and the mix of everyone → the playback sink;
//! - **levels**: 0–100 per user, reported as `onUserVoiceVolumeChanged`
//!   every [`VOLUME_INTERVAL`].

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use hotline_core::{Event, UserVolume};
use hotline_media::mixer::{mix, LevelMeter, SpeakingLevels};
use hotline_media::rtp::opus::OpusPayloader;
use hotline_media::{
    AudioFrame, JitterOutput, OpusDecoder, OpusEncoder, OpusEncoderConfig, SAMPLES_PER_FRAME,
};

use super::adapt::opus_expected_loss;
use super::peer::OPUS_PT;
use super::receive::Remotes;
use super::send::{rtp_packet, RtpOut};
use super::shared::MediaShared;

const TICK: Duration = Duration::from_millis(10);
/// How often speaking levels are reported.
pub(crate) const VOLUME_INTERVAL: Duration = Duration::from_millis(300);

/// Everything the audio thread needs.
pub(crate) struct AudioThread {
    pub(crate) shared: Arc<MediaShared>,
    pub(crate) remotes: Arc<Remotes>,
    pub(crate) out: RtpOut,
    pub(crate) ssrc: u32,
    pub(crate) call_id: String,
    pub(crate) me: String,
    pub(crate) events: std::sync::mpsc::Sender<Event>,
}

/// One remote user's playout state (owned by the audio thread).
struct Playout {
    decoder: OpusDecoder,
    pcm: VecDeque<i16>,
    started: bool,
}

impl AudioThread {
    pub(crate) fn spawn(self, stop: Arc<AtomicBool>) {
        thread::Builder::new()
            .name("hotline-audio".into())
            .spawn(move || self.run(&stop))
            .expect("spawn the audio thread");
    }

    fn run(self, stop: &AtomicBool) {
        let mut encoder = match OpusEncoder::new(OpusEncoderConfig::default()) {
            Ok(e) => Some(e),
            Err(e) => {
                log::error!("no Opus encoder: {e}; audio is not sent");
                None
            }
        };
        let mut payloader = OpusPayloader::new(self.ssrc, OPUS_PT, rand::random(), rand::random());
        let mut own_level = LevelMeter::default();
        let mut levels: SpeakingLevels<String> = SpeakingLevels::new();
        let mut playouts: HashMap<String, Playout> = HashMap::new();
        let mut next = Instant::now();
        let mut next_volume = Instant::now() + VOLUME_INTERVAL;
        let mut capture_us: u64 = 0;
        while !stop.load(Relaxed) {
            next += TICK;
            let now = Instant::now();
            if next > now {
                thread::sleep(next - now);
            } else if now - next > Duration::from_millis(200) {
                next = now; // a long stall: don't try to catch up
            }

            // Capture.
            if self.shared.microphone_open.load(Relaxed) {
                let source = self
                    .shared
                    .audio_source
                    .lock()
                    .expect("audio source")
                    .clone();
                let frame = source
                    .and_then(|s| s.read_audio())
                    .unwrap_or_else(|| AudioFrame::silence(capture_us));
                capture_us += 10_000;
                own_level.update(&frame);
                if let Some(enc) = encoder.as_mut() {
                    let expected = opus_expected_loss(self.shared.estimate.loss_percent());
                    if expected != enc.config().packet_loss_percent {
                        if let Err(e) = enc.set_packet_loss_percent(expected) {
                            log::warn!("cannot tune Opus FEC: {e}");
                        }
                    }
                    match enc.push(&frame) {
                        Ok(Some(encoded)) => {
                            if let Some(p) = payloader.payload(&encoded) {
                                let c = &self.shared.counters;
                                c.audio_packets_sent.fetch_add(1, Relaxed);
                                c.audio_bytes_sent
                                    .fetch_add(p.payload.len() as u64, Relaxed);
                                let h = p.header;
                                let pkt = rtp_packet(
                                    h.payload_type,
                                    h.ssrc,
                                    h.sequence,
                                    h.timestamp,
                                    h.marker,
                                    p.payload,
                                );
                                if !self.out.send(vec![pkt]) {
                                    log::debug!("audio thread: connection gone");
                                }
                            }
                        }
                        Ok(None) => {}
                        Err(e) => log::warn!("Opus encode failed: {e}"),
                    }
                }
            } else {
                own_level.update_silence();
            }

            // Playout.
            let mut frames: Vec<(String, AudioFrame)> = Vec::new();
            {
                let now_ms = self.remotes.now_ms();
                let mut audio = self.remotes.audio.lock().expect("remote audio");
                playouts.retain(|u, _| audio.contains_key(u));
                for (user, remote) in audio.iter_mut() {
                    let p = playouts.entry(user.clone()).or_insert_with(|| Playout {
                        decoder: OpusDecoder::new().expect("an Opus decoder"),
                        pcm: VecDeque::new(),
                        started: false,
                    });
                    if p.pcm.len() < SAMPLES_PER_FRAME {
                        let decoded = match remote.jitter.poll(now_ms) {
                            JitterOutput::Packet { payload, .. } => {
                                p.started = true;
                                p.decoder.decode(&payload)
                            }
                            JitterOutput::Lost {
                                next_payload: Some(next),
                                ..
                            } => p.decoder.decode_fec(&next),
                            JitterOutput::Lost {
                                next_payload: None, ..
                            } => p.decoder.conceal(),
                            JitterOutput::Empty if p.started => p.decoder.conceal(),
                            JitterOutput::Empty => Ok(vec![0; 2 * SAMPLES_PER_FRAME]),
                        };
                        match decoded {
                            Ok(pcm) => p.pcm.extend(pcm),
                            Err(e) => {
                                log::debug!("Opus decode for {user} failed: {e}");
                                p.pcm.extend(std::iter::repeat_n(0, SAMPLES_PER_FRAME));
                            }
                        }
                    }
                    let take: Vec<i16> =
                        p.pcm.drain(..SAMPLES_PER_FRAME.min(p.pcm.len())).collect();
                    if let Ok(frame) = AudioFrame::from_slice(&take, capture_us) {
                        frames.push((user.clone(), frame));
                    }
                }
            }
            for (user, frame) in &frames {
                levels.update(user, Some(frame));
                if let Some(sink) = self
                    .shared
                    .remote_audio_sinks
                    .lock()
                    .expect("audio sinks")
                    .get(user)
                {
                    sink.deliver(frame);
                }
            }
            if let Some(playback) = self.shared.playback.lock().expect("playback").as_ref() {
                let refs: Vec<&AudioFrame> = frames.iter().map(|(_, f)| f).collect();
                playback.deliver(&mix(&refs, capture_us));
            }

            if Instant::now() >= next_volume {
                next_volume += VOLUME_INTERVAL;
                let mut volumes = vec![UserVolume {
                    user_id: self.me.clone(),
                    volume: own_level.level(),
                }];
                let mut others = levels.levels();
                others.sort();
                volumes.extend(
                    others
                        .into_iter()
                        .map(|(user_id, volume)| UserVolume { user_id, volume }),
                );
                let _ = self.events.send(Event::UserVoiceVolumeChanged {
                    call_id: self.call_id.clone(),
                    volumes,
                });
            }
        }
    }
}
