//! Ready-made devices for tests, the CLI (`--camera synthetic`, `--mic
//! tone`) and benchmarks: a camera that draws numbered pictures, a tone
//! microphone, and sinks that count and keep what they receive.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Instant;

use hotline_media::synthetic::{psnr, read_frame_number, ToneGenerator, VideoPattern};
use hotline_media::{AudioFrame, Rotation, VideoFrame};

use super::devices::{AudioSink, AudioSource, VideoSink, VideoSource};

/// A camera that draws [`VideoPattern`] frames, each carrying its number.
/// Timestamps come from a monotonic clock started at creation.
pub struct SyntheticCamera {
    pattern: Mutex<VideoPattern>,
    epoch: Instant,
    frames: AtomicU64,
}

impl SyntheticCamera {
    /// Frames of `width`×`height` (even sizes).
    pub fn new(width: u32, height: u32) -> SyntheticCamera {
        SyntheticCamera {
            pattern: Mutex::new(VideoPattern::new(width, height)),
            epoch: Instant::now(),
            frames: AtomicU64::new(0),
        }
    }

    /// Frames handed out so far.
    pub fn frames(&self) -> u64 {
        self.frames.load(Relaxed)
    }

    /// The frame this camera produced as number `n` (for PSNR against a received one).
    pub fn reference(&self, n: u32) -> VideoFrame {
        self.pattern.lock().expect("pattern").frame(n, 0)
    }
}

impl VideoSource for SyntheticCamera {
    fn read_frame(&self) -> Option<VideoFrame> {
        self.frames.fetch_add(1, Relaxed);
        let ts = self.epoch.elapsed().as_micros() as u64;
        Some(self.pattern.lock().expect("pattern").next_frame(ts))
    }
}

/// Any video source held turned, like a phone's camera on its side: its
/// frames carry `rotation`, which travels to the receivers with the video.
pub struct TurnedCamera {
    /// The source whose frames are turned.
    pub source: std::sync::Arc<dyn VideoSource>,
    /// The rotation each frame carries.
    pub rotation: Rotation,
}

impl VideoSource for TurnedCamera {
    fn read_frame(&self) -> Option<VideoFrame> {
        let mut frame = self.source.read_frame()?;
        frame.rotation = self.rotation;
        Some(frame)
    }
}

/// A microphone that plays a sine tone.
pub struct ToneMicrophone {
    tone: Mutex<ToneGenerator>,
}

impl ToneMicrophone {
    /// A tone of `frequency_hz` at `amplitude` (0–1 of full scale).
    pub fn new(frequency_hz: f64, amplitude: f64) -> ToneMicrophone {
        ToneMicrophone {
            tone: Mutex::new(ToneGenerator::new(frequency_hz, amplitude)),
        }
    }
}

impl AudioSource for ToneMicrophone {
    fn read_audio(&self) -> Option<AudioFrame> {
        Some(self.tone.lock().expect("tone").next_frame())
    }
}

/// What a [`FrameCollector`] saw.
#[derive(Debug, Clone, Default)]
pub struct CollectedVideo {
    /// Frames received.
    pub frames: u64,
    /// Frames whose number could be read.
    pub numbered: u64,
    /// Sum of PSNR (dB) over the frames compared with their source.
    pub psnr_sum: f64,
    /// Frames compared.
    pub psnr_frames: u64,
    /// Lowest PSNR seen.
    pub psnr_min: f64,
    /// Size of the last frame.
    pub last_size: (u32, u32),
    /// Rotation the last frame carried.
    pub last_rotation: Rotation,
    /// When the first frame arrived.
    pub first_at: Option<Instant>,
    /// The last frame number read.
    pub last_number: Option<u32>,
}

impl CollectedVideo {
    /// Mean PSNR in dB (0 when nothing was compared).
    pub fn mean_psnr(&self) -> f64 {
        if self.psnr_frames == 0 {
            0.0
        } else {
            self.psnr_sum / self.psnr_frames as f64
        }
    }
}

/// Called with each frame a [`FrameCollector`] receives.
type FrameCallback = Box<dyn Fn(&VideoFrame) + Send + Sync>;

/// A video sink that reads each frame's number and, given the sender's
/// pattern size, measures PSNR against the frame that was sent.
pub struct FrameCollector {
    reference: Option<VideoPattern>,
    seen: Mutex<CollectedVideo>,
    /// Every `compare_every`-th numbered frame is compared (PSNR costs CPU).
    compare_every: u64,
    on_frame: Option<FrameCallback>,
}

impl FrameCollector {
    /// Count frames; compare with a synthetic source of `reference` size if given.
    pub fn new(reference: Option<(u32, u32)>) -> FrameCollector {
        FrameCollector {
            reference: reference.map(|(w, h)| VideoPattern::new(w, h)),
            seen: Mutex::new(CollectedVideo {
                psnr_min: f64::INFINITY,
                ..Default::default()
            }),
            compare_every: 1,
            on_frame: None,
        }
    }

    /// Compare only every `n`-th numbered frame.
    pub fn compare_every(mut self, n: u64) -> FrameCollector {
        self.compare_every = n.max(1);
        self
    }

    /// Also call `f` for each frame (e.g. to record it).
    pub fn with_callback(
        mut self,
        f: impl Fn(&VideoFrame) + Send + Sync + 'static,
    ) -> FrameCollector {
        self.on_frame = Some(Box::new(f));
        self
    }

    /// A copy of what was seen so far.
    pub fn collected(&self) -> CollectedVideo {
        self.seen.lock().expect("collected").clone()
    }
}

impl VideoSink for FrameCollector {
    fn on_frame(&self, frame: &VideoFrame) {
        if let Some(f) = &self.on_frame {
            f(frame);
        }
        let number = read_frame_number(frame);
        let mut seen = self.seen.lock().expect("collected");
        seen.frames += 1;
        seen.first_at.get_or_insert_with(Instant::now);
        seen.last_size = (frame.width(), frame.height());
        seen.last_rotation = frame.rotation;
        let Some(n) = number else { return };
        seen.numbered += 1;
        seen.last_number = Some(n);
        if !seen.numbered.is_multiple_of(self.compare_every) {
            return;
        }
        if let Some(pattern) = &self.reference {
            let sent = pattern.frame(n, 0);
            if (sent.width(), sent.height()) == (frame.width(), frame.height()) {
                let p = psnr(&sent, frame);
                seen.psnr_sum += p;
                seen.psnr_frames += 1;
                seen.psnr_min = seen.psnr_min.min(p);
            }
        }
    }
}

/// An audio sink that keeps the samples it gets (up to a cap).
pub struct PcmCollector {
    samples: Mutex<Vec<i16>>,
    frames: AtomicU64,
    cap: usize,
}

impl PcmCollector {
    /// Keep at most `max_seconds` of audio (frames are still counted after).
    pub fn new(max_seconds: u32) -> PcmCollector {
        PcmCollector {
            samples: Mutex::default(),
            frames: AtomicU64::new(0),
            cap: max_seconds as usize * 48_000,
        }
    }

    /// 10 ms frames received.
    pub fn frames(&self) -> u64 {
        self.frames.load(Relaxed)
    }

    /// A copy of the kept samples.
    pub fn samples(&self) -> Vec<i16> {
        self.samples.lock().expect("samples").clone()
    }
}

impl AudioSink for PcmCollector {
    fn on_audio(&self, frame: &AudioFrame) {
        self.frames.fetch_add(1, Relaxed);
        let mut s = self.samples.lock().expect("samples");
        if s.len() < self.cap {
            s.extend_from_slice(&frame.samples);
        }
    }
}
