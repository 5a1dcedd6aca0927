//! The publishing side: camera frames → H.264 → RTP, on a dedicated thread
//! paced at the encoder's frame rate; and RTP packets out through a local
//! track (packets are handed to the connection's tokio driver).

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
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

use super::peer::H264_PT;
use super::shared::MediaShared;

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

/// Start the video thread; it runs until `stop` is set.
pub(crate) fn spawn_video_sender(
    shared: Arc<MediaShared>,
    out: RtpOut,
    ssrc: u32,
    stop: Arc<AtomicBool>,
) {
    thread::Builder::new()
        .name("hotline-video-send".into())
        .spawn(move || VideoSender::new(shared, out, ssrc).run(&stop))
        .expect("spawn the video thread");
}

struct VideoSender {
    shared: Arc<MediaShared>,
    out: RtpOut,
    ssrc: u32,
    seq: u16,
    packetizer: H264Packetizer,
    encoder: Option<H264Encoder>,
    /// Capture time of the first frame, so RTP time starts near zero.
    first_us: Option<u64>,
}

impl VideoSender {
    fn new(shared: Arc<MediaShared>, out: RtpOut, ssrc: u32) -> VideoSender {
        VideoSender {
            shared,
            out,
            ssrc,
            seq: rand::random(),
            packetizer: H264Packetizer::new(DEFAULT_MAX_PAYLOAD),
            encoder: None,
            first_us: None,
        }
    }

    fn run(mut self, stop: &AtomicBool) {
        let mut next = Instant::now();
        while !stop.load(Relaxed) {
            let fps = self.shared.encoder_params().fps.clamp(1, 60);
            next += Duration::from_micros(1_000_000 / u64::from(fps));
            let now = Instant::now();
            if next > now {
                thread::sleep(next - now);
            } else {
                // Fell behind (slow encoder, busy machine): don't burst.
                next = now;
            }
            if !self.shared.camera_open.load(Relaxed) {
                self.encoder = None; // the next frame after reopening is a keyframe
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
            if !self.send_frame(&frame) {
                log::debug!("video thread: connection gone");
                return;
            }
        }
    }

    /// The encoder for this frame, (re)made when the settings or the frame size change.
    fn encoder_for(&mut self, frame: &VideoFrame) -> Option<&mut H264Encoder> {
        let mut want: VideoEncoderParams = self.shared.encoder_params();
        want.width = frame.width();
        want.height = frame.height();
        let rebuild = match &mut self.encoder {
            Some(enc) => {
                let have = enc.params();
                if (have.width, have.height, have.fps) != (want.width, want.height, want.fps) {
                    true
                } else {
                    if have.bitrate_kbps != want.bitrate_kbps {
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

    fn send_frame(&mut self, frame: &VideoFrame) -> bool {
        let wants_keyframe = self.shared.keyframe_wanted.swap(false, Relaxed);
        let Some(encoder) = self.encoder_for(frame) else {
            return true;
        };
        if wants_keyframe {
            encoder.request_keyframe();
        }
        let encoded = match encoder.encode(frame) {
            Ok(Some(e)) => e,
            Ok(None) => return true,
            Err(e) => {
                log::warn!("video encode failed: {e}");
                return true;
            }
        };
        let first = *self.first_us.get_or_insert(frame.timestamp_us);
        let ts = rtp_timestamp(frame.timestamp_us.saturating_sub(first), VIDEO_CLOCK_RATE);
        let payloads = self.packetizer.packetize(&encoded.nals);
        let last = payloads.len().saturating_sub(1);
        let mut bytes = 0;
        let packets: Vec<rtp::Packet> = payloads
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                bytes += p.len();
                let seq = self.seq;
                self.seq = self.seq.wrapping_add(1);
                rtp_packet(H264_PT, self.ssrc, seq, ts, i == last, p)
            })
            .collect();
        let c = &self.shared.counters;
        c.video_frames_sent.fetch_add(1, Relaxed);
        c.video_bytes_sent.fetch_add(bytes as u64, Relaxed);
        if encoded.keyframe {
            c.keyframes_sent.fetch_add(1, Relaxed);
        }
        self.out
            .send_with_last(packets, Some(orientation_extension(frame.rotation)))
    }
}
