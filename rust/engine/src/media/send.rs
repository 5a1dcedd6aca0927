//! The publishing side: camera frames → (scaled to the adaptation's size)
//! → H.264 at the adaptation's bitrate → RTP, on a dedicated thread paced
//! at the adaptation's frame rate (see [`super::adapt`]); and RTP packets
//! out through a local track (packets are handed to the connection's tokio
//! driver). In group calls each frame is encoded once per simulcast layer,
//! each layer on a track of its own (see [`super::simulcast`]).

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hotline_media::render::resize;
use hotline_media::rtp::h264::H264Packetizer;
use hotline_media::rtp::{rtp_timestamp, DEFAULT_MAX_PAYLOAD, VIDEO_CLOCK_RATE};
use hotline_media::{H264Encoder, Rotation, VideoEncoderParams, VideoFrame};
use rtc::rtp;
use rtc::rtp::extension::video_orientation_extension::{
    CameraDirection, VideoOrientationExtension, VideoRotation,
};
use rtc::rtp::extension::HeaderExtension;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;

use super::adapt::{pushed_back, scaled_size, Adaptation, VideoTarget, AUDIO_RESERVE_KBPS};
use super::pace::{frame_pacing_rate, Pacer};
use super::peer::H264_PT;
use super::pushback::Pushback;
use super::shared::{MediaShared, VideoSendState};
use super::simulcast::Simulcast;

/// RTP, SRTP, UDP and IP headers of a video packet, for pacing.
const RTP_OVERHEAD: usize = 60;
/// A new bitrate smaller than this share of the current one is not worth
/// reconfiguring the encoder for (the estimate moves with every feedback).
const BITRATE_STEP: f64 = 0.05;

/// Writes RTP packets to a local track from a plain thread.
#[derive(Clone)]
pub(crate) struct RtpOut {
    pub(crate) track: Arc<TrackLocalStaticRTP>,
    pub(crate) runtime: tokio::runtime::Handle,
}

impl RtpOut {
    /// Send packets in order; false once the connection is gone.
    pub(crate) fn send(&self, packets: Vec<rtp::Packet>) -> bool {
        self.send_with_last(packets, None)
    }

    /// Like [`Self::send`], with `extension` on the last packet (if the
    /// connection negotiated it; the track maps it to its negotiated ID).
    pub(crate) fn send_with_last(
        &self,
        packets: Vec<rtp::Packet>,
        extension: Option<HeaderExtension>,
    ) -> bool {
        let track = self.track.clone();
        let last = packets.len().saturating_sub(1);
        self.runtime.block_on(async move {
            for (i, p) in packets.into_iter().enumerate() {
                let sent = match &extension {
                    Some(ext) if i == last => {
                        track
                            .write_rtp_with_extensions(p, std::slice::from_ref(ext))
                            .await
                    }
                    _ => track.write_rtp(p).await,
                };
                if let Err(e) = sent {
                    log::debug!("RTP write failed: {e}");
                    return false;
                }
            }
            true
        })
    }
}

/// The video-orientation (CVO) header extension for a frame's rotation. It
/// goes on the last packet of every frame, as libwebrtc reads it, so the
/// receiver's renderer turns the picture upright.
fn orientation_extension(rotation: Rotation) -> HeaderExtension {
    let rotation = match rotation {
        Rotation::R0 => VideoRotation::Degree0,
        Rotation::R90 => VideoRotation::Degree90,
        Rotation::R180 => VideoRotation::Degree180,
        Rotation::R270 => VideoRotation::Degree270,
    };
    HeaderExtension::VideoOrientation(VideoOrientationExtension {
        direction: CameraDirection::Front,
        flip: false,
        rotation,
    })
}

pub(crate) fn rtp_packet(
    pt: u8,
    ssrc: u32,
    seq: u16,
    ts: u32,
    marker: bool,
    payload: Vec<u8>,
) -> rtp::Packet {
    rtp::Packet {
        header: rtp::header::Header {
            version: 2,
            marker,
            payload_type: pt,
            sequence_number: seq,
            timestamp: ts,
            ssrc,
            ..Default::default()
        },
        payload: Bytes::from(payload),
    }
}

/// Where one video layer goes: its track, its SSRC, and the flag its
/// receivers' keyframe requests set.
pub(crate) struct VideoLayerOut {
    pub(crate) out: RtpOut,
    pub(crate) ssrc: u32,
    pub(crate) keyframe_wanted: Arc<AtomicBool>,
}

/// Start the video thread; it runs until `stop` is set. One layer adapts
/// along the ladder; several are simulcast.
pub(crate) fn spawn_video_sender(
    shared: Arc<MediaShared>,
    layers: Vec<VideoLayerOut>,
    stop: Arc<AtomicBool>,
) {
    thread::Builder::new()
        .name("hotline-video-send".into())
        .spawn(move || VideoSender::new(shared, layers).run(&stop))
        .expect("spawn the video thread");
}

/// How the estimate becomes encoder targets.
enum Plan {
    /// One layer down the adaptation ladder.
    Ladder(Adaptation),
    /// Several layers, the large ones paused when they do not fit.
    Simulcast(Simulcast),
}

impl Plan {
    fn preset(&self) -> VideoEncoderParams {
        match self {
            Plan::Ladder(a) => a.preset(),
            Plan::Simulcast(s) => s.preset(),
        }
    }
}

/// One layer's encoder and RTP numbering.
struct LayerSender {
    out: RtpOut,
    ssrc: u32,
    seq: u16,
    packetizer: H264Packetizer,
    encoder: Option<H264Encoder>,
    keyframe_wanted: Arc<AtomicBool>,
}

/// A layer's frame, encoded and packetized, waiting to be sent.
struct EncodedLayer {
    layer: usize,
    packets: Vec<rtp::Packet>,
    bytes: usize,
    keyframe: bool,
}

struct VideoSender {
    shared: Arc<MediaShared>,
    layers: Vec<LayerSender>,
    /// Made on the first frame, and again when the preset changes.
    plan: Option<Plan>,
    pacer: Pacer,
    /// Cuts the bitrate while data piles up in flight.
    pushback: Pushback,
    /// Capture time of the first frame, so RTP time starts near zero. All
    /// layers share it: the SFU switches between them without rewriting
    /// timestamps.
    first_us: Option<u64>,
}

impl VideoSender {
    fn new(shared: Arc<MediaShared>, layers: Vec<VideoLayerOut>) -> VideoSender {
        VideoSender {
            shared,
            layers: layers
                .into_iter()
                .map(|l| LayerSender {
                    out: l.out,
                    ssrc: l.ssrc,
                    seq: rand::random(),
                    packetizer: H264Packetizer::new(DEFAULT_MAX_PAYLOAD),
                    encoder: None,
                    keyframe_wanted: l.keyframe_wanted,
                })
                .collect(),
            plan: None,
            pacer: Pacer::default(),
            pushback: Pushback::default(),
            first_us: None,
        }
    }

    fn run(mut self, stop: &AtomicBool) {
        let mut next = Instant::now();
        while !stop.load(Relaxed) {
            let targets = self.adapt(Instant::now());
            let fps = targets.iter().flatten().map(|t| t.fps).max().unwrap_or(15);
            next += Duration::from_micros(1_000_000 / u64::from(fps.clamp(1, 60)));
            let now = Instant::now();
            if next > now {
                thread::sleep(next - now);
            } else {
                // Fell behind (slow encoder, busy machine): don't burst.
                next = now;
            }
            if !self.shared.camera_open.load(Relaxed) {
                // The next frame after reopening is a keyframe.
                self.layers.iter_mut().for_each(|l| l.encoder = None);
                continue;
            }
            let source = self
                .shared
                .video_source
                .lock()
                .expect("video source")
                .clone();
            let Some(frame) = source.and_then(|s| s.read_frame()) else {
                continue;
            };
            if let Some(view) = self.shared.local_view.lock().expect("local view").as_ref() {
                view.mailbox.post(frame.clone());
            }
            if !self.send_frame(&frame, &targets) {
                log::debug!("video thread: connection gone");
                return;
            }
        }
    }

    /// What each layer should do now, for the preset as set and the
    /// publisher's current estimate (a new preset starts a new plan).
    fn adapt(&mut self, now: Instant) -> Vec<Option<VideoTarget>> {
        let preset = self.shared.encoder_params();
        let layers = self.layers.len();
        let plan = match &mut self.plan {
            Some(p) if p.preset() == preset => p,
            slot if layers > 1 => slot.insert(Plan::Simulcast(Simulcast::new(preset, layers))),
            slot => slot.insert(Plan::Ladder(Adaptation::new(preset))),
        };
        let estimate = self.shared.estimate.bits_per_second();
        let mut targets = match plan {
            Plan::Ladder(a) => vec![Some(a.update(now, estimate))],
            Plan::Simulcast(s) => s.update(now, estimate),
        };
        // A queue building up cuts every layer's bitrate at once; the
        // picture sizes follow the estimate alone (each change costs a
        // keyframe into that queue).
        let newest_reported = self.shared.estimate.newest_reported();
        let asked_kbps: u32 = targets.iter().flatten().map(|t| t.bitrate_kbps).sum();
        let send_rate =
            estimate.map(|e| e.min((f64::from(asked_kbps) + AUDIO_RESERVE_KBPS) * 1000.0));
        let ratio = self.pushback.update(now, newest_reported, send_rate);
        for t in targets.iter_mut().flatten() {
            t.bitrate_kbps = pushed_back(t.bitrate_kbps, ratio);
        }
        // A preset too small for every offered layer leaves the rest paused.
        targets.resize(layers, None);
        targets
    }

    /// Encode `frame` for every layer that goes, then send the layers'
    /// packets, paced together (they share the uplink).
    fn send_frame(&mut self, frame: &VideoFrame, targets: &[Option<VideoTarget>]) -> bool {
        let all_keyframe = self.shared.keyframe_wanted.swap(false, Relaxed);
        let first = *self.first_us.get_or_insert(frame.timestamp_us);
        let ts = rtp_timestamp(frame.timestamp_us.saturating_sub(first), VIDEO_CLOCK_RATE);
        let preset = self.shared.encoder_params();
        let mut encoded = vec![];
        let mut state: Option<VideoSendState> = None;
        for (i, target) in targets.iter().enumerate() {
            let layer = &mut self.layers[i];
            let Some(target) = target else {
                // Paused: the first frame after it resumes is a keyframe.
                layer.encoder = None;
                continue;
            };
            let keyframe = layer.keyframe_wanted.swap(false, Relaxed) || all_keyframe;
            if let Some(e) = layer.encode(frame, *target, preset, keyframe, ts) {
                if state.is_none() {
                    let params = layer.encoder.as_ref().expect("encoded").params();
                    state = Some(VideoSendState {
                        width: params.width,
                        height: params.height,
                        fps: params.fps,
                        bitrate_kbps: params.bitrate_kbps,
                        rung: target.rung,
                        layers: 0,
                    });
                }
                encoded.push(EncodedLayer { layer: i, ..e });
            }
        }
        if let Some(mut state) = state {
            state.layers = targets.iter().flatten().count() as u32;
            if self.layers.len() > 1 {
                // Simulcast: the step is how many large layers are paused.
                state.rung = targets.iter().take_while(|t| t.is_none()).count();
            }
            *self.shared.video_send.lock().expect("video send state") = state;
        }
        if encoded.is_empty() {
            return true;
        }
        let c = &self.shared.counters;
        c.video_frames_sent.fetch_add(1, Relaxed);
        let keyframes = encoded.iter().filter(|e| e.keyframe).count();
        c.keyframes_sent.fetch_add(keyframes as u64, Relaxed);
        let bytes: usize = encoded.iter().map(|e| e.bytes).sum();
        c.video_bytes_sent.fetch_add(bytes as u64, Relaxed);
        let packets: usize = encoded.iter().map(|e| e.packets.len()).sum();
        self.pushback
            .on_sent(Instant::now(), bytes + packets * RTP_OVERHEAD);
        let rate = self
            .shared
            .estimate
            .bits_per_second()
            .map(|estimate| frame_pacing_rate(estimate, bytes + packets * RTP_OVERHEAD));
        for e in encoded {
            let out = self.layers[e.layer].out.clone();
            let extension = Some(orientation_extension(frame.rotation));
            let sent = match rate {
                Some(rate) => self.send_paced(&out, e.packets, extension, rate),
                None => out.send_with_last(e.packets, extension),
            };
            if !sent {
                return false;
            }
        }
        true
    }

    /// Send a frame's packets through the [`Pacer`], the extension on the
    /// last; false once the connection is gone.
    fn send_paced(
        &mut self,
        out: &RtpOut,
        packets: Vec<rtp::Packet>,
        extension: Option<HeaderExtension>,
        rate_bps: f64,
    ) -> bool {
        let mut chunk = Vec::new();
        for packet in packets {
            let wait = self.pacer.book(
                Instant::now(),
                packet.payload.len() + RTP_OVERHEAD,
                rate_bps,
            );
            if !wait.is_zero() {
                if !chunk.is_empty() && !out.send(std::mem::take(&mut chunk)) {
                    return false;
                }
                thread::sleep(wait);
            }
            chunk.push(packet);
        }
        out.send_with_last(chunk, extension)
    }
}

impl LayerSender {
    /// The encoder for this frame at `target`, (re)made when the picture
    /// size or frame rate changes; a new bitrate is applied in place when it
    /// moved by more than [`BITRATE_STEP`].
    fn encoder_for(
        &mut self,
        frame: &VideoFrame,
        target: VideoTarget,
        preset: VideoEncoderParams,
    ) -> Option<&mut H264Encoder> {
        let (width, height) = scaled_size(frame.width(), frame.height(), target.scale);
        let mut want: VideoEncoderParams = preset.with_fps(target.fps);
        want.width = width;
        want.height = height;
        want.bitrate_kbps = target.bitrate_kbps;
        want.allow_frame_skip = false;
        let rebuild = match &mut self.encoder {
            Some(enc) => {
                let have = enc.params();
                if (have.width, have.height, have.fps) != (want.width, want.height, want.fps) {
                    true
                } else {
                    let moved = f64::from(have.bitrate_kbps.abs_diff(want.bitrate_kbps))
                        / f64::from(have.bitrate_kbps.max(1));
                    // Small moves wait, but the preset's own rate is
                    // always reached.
                    let to_preset = want.bitrate_kbps == preset.bitrate_kbps;
                    if moved > BITRATE_STEP || (to_preset && moved > 0.0) {
                        if let Err(e) = enc.set_bitrate_kbps(want.bitrate_kbps) {
                            log::warn!("cannot change the video bitrate: {e}");
                        }
                    }
                    false
                }
            }
            None => true,
        };
        if rebuild {
            log::debug!(
                "video encoder: {}x{} at {} fps, {} kbps (step {})",
                want.width,
                want.height,
                want.fps,
                want.bitrate_kbps,
                target.rung
            );
            self.encoder = match H264Encoder::new(want) {
                Ok(e) => Some(e),
                Err(e) => {
                    log::warn!("cannot encode {}x{} video: {e}", want.width, want.height);
                    None
                }
            };
        }
        self.encoder.as_mut()
    }

    /// Encode and packetize one frame (`None`: nothing to send).
    fn encode(
        &mut self,
        frame: &VideoFrame,
        target: VideoTarget,
        preset: VideoEncoderParams,
        keyframe: bool,
        ts: u32,
    ) -> Option<EncodedLayer> {
        let params = self.encoder_for(frame, target, preset)?.params();
        let scaled;
        let picture = if (params.width, params.height) == (frame.width(), frame.height()) {
            frame
        } else {
            match resize(frame, params.width, params.height) {
                Ok(f) => {
                    scaled = f;
                    &scaled
                }
                Err(e) => {
                    log::warn!("cannot scale the camera's picture: {e}");
                    return None;
                }
            }
        };
        let encoder = self.encoder.as_mut().expect("made by encoder_for");
        if keyframe {
            encoder.request_keyframe();
        }
        let encoded = match encoder.encode(picture) {
            Ok(Some(e)) => e,
            Ok(None) => return None,
            Err(e) => {
                log::warn!("video encode failed: {e}");
                return None;
            }
        };
        let payloads = self.packetizer.packetize(&encoded.nals);
        let last = payloads.len().saturating_sub(1);
        let mut bytes = 0;
        let packets = payloads
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                bytes += p.len();
                let seq = self.seq;
                self.seq = self.seq.wrapping_add(1);
                rtp_packet(H264_PT, self.ssrc, seq, ts, i == last, p)
            })
            .collect();
        Some(EncodedLayer {
            layer: 0,
            packets,
            bytes,
            keyframe: encoded.keyframe,
        })
    }
}
