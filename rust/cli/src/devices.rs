//! The CLI's media devices: `--camera synthetic|FILE.y4m`, `--mic
//! tone|FILE.wav`, `--resolution`, `--fps`. Files are checked (opened,
//! header parsed, one frame read) before anything connects, so a bad file
//! fails fast with a clear message.
//!
//! Also the phone's [`DeviceDelegate`]: it keeps the render params the engine
//! hands it per user (`setVideoRenderParams`) in a [`RenderParamsMap`], which
//! the recorder's video sinks read (`--view`, `--fill-mode`,
//! `--render-rotation`).

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use clap::Args;
use hotline_engine::media::devices::{
    AudioPlaybackDevice, AudioSource, Camera, DeviceDelegate, FillMode, VideoRenderParams,
    VideoSource,
};
use hotline_engine::media::synthetic::{SyntheticCamera, ToneMicrophone, TurnedCamera};
use hotline_media::{
    AudioFrame, FileError, Orientation, Rotation, VideoEncoderParams, VideoFrame, VideoResolution,
    WavReader, Y4mReader,
};

/// Amplitude of the tone microphone (of full scale).
pub const TONE_AMPLITUDE: f64 = 0.3;

/// Media flags shared by `hotline phone`.
#[derive(Args, Debug, Clone)]
pub struct MediaArgs {
    /// Camera: `synthetic` (numbered test pictures at --resolution) or a
    /// `.y4m` file (8-bit 4:2:0, looped; its own size is sent). Opens the camera.
    #[arg(long, value_name = "synthetic|FILE.y4m")]
    pub camera: Option<String>,
    /// Microphone: `tone` (a sine at --tone-hz) or a 48 kHz 16-bit `.wav`
    /// file (mono or stereo, looped). Without it the phone sends silence.
    #[arg(long, value_name = "tone|FILE.wav")]
    pub mic: Option<String>,
    /// Frequency of `--mic tone` in Hz.
    #[arg(long, default_value_t = 440.0, value_parser = parse_tone_hz)]
    pub tone_hz: f64,
    /// Encoder resolution, a TUICallEngine preset: 640x360, 960x540,
    /// 1280x720 or 1920x1080 (portrait as 360x640 etc.).
    #[arg(long, default_value = "640x360", value_parser = parse_resolution)]
    pub resolution: Resolution,
    /// Encoder frame rate (1–60).
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=60))]
    pub fps: u32,
    /// The camera is held turned: its frames carry this clockwise rotation
    /// (0, 90, 180 or 270), which travels to the receivers with the video.
    #[arg(long, default_value_t = 0, value_parser = parse_rotation)]
    pub camera_rotation: u32,
}

/// A preset and its orientation, from `WxH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolution {
    /// The TUICallEngine preset.
    pub preset: VideoResolution,
    /// Landscape (`640x360`) or portrait (`360x640`).
    pub orientation: Orientation,
}

impl Resolution {
    /// Width and height in pixels.
    pub fn size(self) -> (u32, u32) {
        let (w, h) = self.preset.landscape_size();
        match self.orientation {
            Orientation::Landscape => (w, h),
            Orientation::Portrait => (h, w),
        }
    }

    /// The preset's encoder settings at `fps`.
    pub fn encoder_params(self, fps: u32) -> VideoEncoderParams {
        VideoEncoderParams::preset(self.preset, self.orientation).with_fps(fps)
    }
}

impl std::fmt::Display for Resolution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (w, h) = self.size();
        write!(f, "{w}x{h}")
    }
}

const PRESETS: [VideoResolution; 4] = [
    VideoResolution::R640x360,
    VideoResolution::R960x540,
    VideoResolution::R1280x720,
    VideoResolution::R1920x1080,
];

/// Parse `WxH` into one of the presets (either orientation).
pub fn parse_resolution(s: &str) -> Result<Resolution, String> {
    let bad = || {
        format!(
            "'{s}' is not a supported resolution: use 640x360, 960x540, 1280x720 or 1920x1080 \
             (or portrait: 360x640, 540x960, 720x1280, 1080x1920)"
        )
    };
    let (w, h) = s
        .to_ascii_lowercase()
        .split_once('x')
        .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)))
        .ok_or_else(bad)?;
    preset_for(w, h).ok_or_else(bad)
}

/// The preset with exactly this size, if any.
fn preset_for(w: u32, h: u32) -> Option<Resolution> {
    PRESETS.iter().find_map(|&preset| {
        let (lw, lh) = preset.landscape_size();
        if (w, h) == (lw, lh) {
            Some(Resolution {
                preset,
                orientation: Orientation::Landscape,
            })
        } else if (w, h) == (lh, lw) {
            Some(Resolution {
                preset,
                orientation: Orientation::Portrait,
            })
        } else {
            None
        }
    })
}

fn parse_tone_hz(s: &str) -> Result<f64, String> {
    let hz: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if (20.0..=20_000.0).contains(&hz) {
        Ok(hz)
    } else {
        Err(format!("{hz} Hz is outside 20–20000 Hz"))
    }
}

/// Parse `--view WxH`: a renderer's view, both sides even and 2–8192.
pub fn parse_view(s: &str) -> Result<(u32, u32), String> {
    let bad = |why: &str| format!("'{s}' is not a view size: {why}");
    let (w, h) = s
        .to_ascii_lowercase()
        .split_once('x')
        .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)))
        .ok_or_else(|| bad("use WxH, e.g. 360x640"))?;
    VideoFrame::black(w, h).map_err(|_| bad("both sides must be even and 2-8192"))?;
    Ok((w, h))
}

/// Parse `--fill-mode fill|fit`.
pub fn parse_fill_mode(s: &str) -> Result<FillMode, String> {
    match s.to_ascii_lowercase().as_str() {
        "fill" => Ok(FillMode::Fill),
        "fit" => Ok(FillMode::Fit),
        _ => Err(format!("'{s}' is not a fill mode: use fill or fit")),
    }
}

/// Parse `--render-rotation 0|90|180|270` (degrees clockwise).
pub fn parse_rotation(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(d @ (0 | 90 | 180 | 270)) => Ok(d),
        _ => Err(format!("'{s}' is not a rotation: use 0, 90, 180 or 270")),
    }
}

/// The render params the engine last handed the phone's delegate, per user
/// (shared with the recorder's sinks; a user never set gets the defaults:
/// fill, no extra rotation).
#[derive(Clone, Default)]
pub struct RenderParamsMap(Arc<Mutex<HashMap<String, VideoRenderParams>>>);

impl RenderParamsMap {
    /// `user`'s params (the defaults if none were set).
    pub fn get(&self, user: &str) -> VideoRenderParams {
        self.0
            .lock()
            .expect("render params")
            .get(user)
            .copied()
            .unwrap_or_default()
    }

    fn set(&self, user: &str, params: VideoRenderParams) {
        self.0
            .lock()
            .expect("render params")
            .insert(user.to_string(), params);
    }
}

/// The phone's device delegate. Its camera and microphone are opened from the
/// flags before anything connects, so device requests are only logged; render
/// params are kept for the recorder.
pub struct PhoneDelegate {
    render: RenderParamsMap,
}

impl PhoneDelegate {
    /// A delegate that stores render params in `render`.
    pub fn new(render: RenderParamsMap) -> PhoneDelegate {
        PhoneDelegate { render }
    }
}

impl DeviceDelegate for PhoneDelegate {
    fn open_camera(&self, camera: Camera) {
        log::debug!("device delegate: open the {camera:?} camera");
    }
    fn close_camera(&self) {
        log::debug!("device delegate: close the camera");
    }
    fn switch_camera(&self, camera: Camera) {
        log::debug!("device delegate: switch to the {camera:?} camera");
    }
    fn open_microphone(&self) {
        log::debug!("device delegate: open the microphone");
    }
    fn close_microphone(&self) {
        log::debug!("device delegate: close the microphone");
    }
    fn select_audio_playback_device(&self, device: AudioPlaybackDevice) {
        log::debug!("device delegate: play through the {device:?}");
    }
    fn set_video_render_params(&self, user_id: &str, params: VideoRenderParams) {
        log::debug!("device delegate: render {user_id:?} with {params:?}");
        self.render.set(user_id, params);
    }
}

/// What the phone's devices turned out to be.
pub struct Devices {
    /// The camera, if `--camera` was given.
    pub camera: Option<Arc<dyn VideoSource>>,
    /// The microphone, if `--mic` was given.
    pub mic: Option<Arc<dyn AudioSource>>,
    /// Encoder settings (a `.y4m` camera's size overrides `--resolution`).
    pub encoder: VideoEncoderParams,
    /// One line describing each device, for people.
    pub description: Vec<String>,
}

/// Check and open the devices the flags name. Errors name the flag and file.
pub fn open(args: &MediaArgs) -> Result<Devices, String> {
    let mut encoder = args.resolution.encoder_params(args.fps);
    let mut description = Vec::new();
    let camera: Option<Arc<dyn VideoSource>> = match args.camera.as_deref() {
        None => None,
        Some("synthetic") => {
            let (w, h) = args.resolution.size();
            description.push(format!("camera: synthetic {w}x{h} at {} fps", args.fps));
            Some(Arc::new(SyntheticCamera::new(w, h)))
        }
        Some(path) => {
            let cam = Y4mCamera::open(Path::new(path)).map_err(|e| {
                format!("--camera {path}: {e} (expected `synthetic` or a .y4m file)")
            })?;
            let (w, h) = cam.size;
            encoder = match preset_for(w, h) {
                Some(r) => r.encoder_params(args.fps),
                None => VideoEncoderParams {
                    width: w,
                    height: h,
                    ..encoder
                },
            };
            description.push(format!(
                "camera: {path} ({w}x{h}, looped) at {} fps",
                args.fps
            ));
            Some(Arc::new(cam))
        }
    };
    let camera = match (camera, Rotation::from_degrees(args.camera_rotation)) {
        (Some(source), Ok(rotation)) if rotation != Rotation::R0 => {
            description.push(format!(
                "camera held turned {} degrees",
                args.camera_rotation
            ));
            Some(Arc::new(TurnedCamera { source, rotation }) as Arc<dyn VideoSource>)
        }
        (camera, _) => camera,
    };
    hotline_media::H264Encoder::new(encoder).map_err(|e| {
        format!(
            "cannot encode {}x{} at {} fps: {e}",
            encoder.width, encoder.height, encoder.fps
        )
    })?;
    let mic: Option<Arc<dyn AudioSource>> = match args.mic.as_deref() {
        None => None,
        Some("tone") => {
            description.push(format!("microphone: {} Hz tone", args.tone_hz));
            Some(Arc::new(ToneMicrophone::new(args.tone_hz, TONE_AMPLITUDE)))
        }
        Some(path) => {
            let mic = WavMicrophone::open(Path::new(path))
                .map_err(|e| format!("--mic {path}: {e} (expected `tone` or a .wav file)"))?;
            description.push(format!("microphone: {path} (looped)"));
            Some(Arc::new(mic))
        }
    };
    Ok(Devices {
        camera,
        mic,
        encoder,
        description,
    })
}

/// An error opening or reading a media file, for people.
fn describe(e: FileError) -> String {
    match e {
        FileError::Io(io) if io.kind() == std::io::ErrorKind::NotFound => {
            "no such file".to_string()
        }
        FileError::Io(io) => format!("cannot read it: {io}"),
        other => other.to_string(),
    }
}

/// A media file read frame by frame.
trait FrameFile: Sized {
    type Frame;
    fn open(path: &Path) -> Result<Self, FileError>;
    fn read(&mut self) -> Result<Option<Self::Frame>, FileError>;
}

impl FrameFile for Y4mReader<BufReader<File>> {
    type Frame = VideoFrame;
    fn open(path: &Path) -> Result<Self, FileError> {
        Y4mReader::open(path)
    }
    fn read(&mut self) -> Result<Option<VideoFrame>, FileError> {
        self.read_frame()
    }
}

impl FrameFile for WavReader<BufReader<File>> {
    type Frame = AudioFrame;
    fn open(path: &Path) -> Result<Self, FileError> {
        WavReader::open(path)
    }
    fn read(&mut self) -> Result<Option<AudioFrame>, FileError> {
        self.read_frame()
    }
}

/// A media file played in a loop: at its end (or at a damaged frame, with
/// one warning) it starts again from the beginning.
struct LoopedFile<F> {
    path: PathBuf,
    reader: Mutex<F>,
    warned: AtomicBool,
}

impl<F: FrameFile> LoopedFile<F> {
    fn open(path: &Path) -> Result<Self, String> {
        Ok(LoopedFile {
            path: path.to_path_buf(),
            reader: Mutex::new(F::open(path).map_err(describe)?),
            warned: AtomicBool::new(false),
        })
    }

    fn next(&self) -> Option<F::Frame> {
        let mut reader = self.reader.lock().expect("media file");
        // At most two attempts: this pass, then from the start.
        for _ in 0..2 {
            match reader.read() {
                Ok(Some(f)) => return Some(f),
                Ok(None) => {}
                Err(e) => {
                    if !self.warned.swap(true, Relaxed) {
                        log::warn!(
                            "{}: {}; playing from the start",
                            self.path.display(),
                            describe(e)
                        );
                    }
                }
            }
            match F::open(&self.path) {
                Ok(r) => *reader = r,
                Err(e) => {
                    log::warn!("cannot reopen {}: {}", self.path.display(), describe(e));
                    return None;
                }
            }
        }
        None
    }
}

/// A camera that plays a `.y4m` file, one frame per pull (so at the
/// encoder's frame rate), from the start again at the end.
pub struct Y4mCamera {
    size: (u32, u32),
    file: LoopedFile<Y4mReader<BufReader<File>>>,
    epoch: Instant,
}

impl Y4mCamera {
    /// Open and check the file: the header parses, the size can be encoded,
    /// and it holds at least one whole frame.
    pub fn open(path: &Path) -> Result<Y4mCamera, String> {
        let mut probe = Y4mReader::open(path).map_err(describe)?;
        let size = (probe.width(), probe.height());
        if size.0 < 16 || size.1 < 16 || size.0 > 3840 || size.1 > 3840 {
            return Err(format!(
                "pictures of {}x{} cannot be encoded (16x16 to 3840x3840)",
                size.0, size.1
            ));
        }
        match probe.read_frame() {
            Ok(Some(_)) => {}
            Ok(None) => return Err("the file holds no frames".into()),
            Err(e) => return Err(format!("its first frame is unreadable: {}", describe(e))),
        }
        Ok(Y4mCamera {
            size,
            file: LoopedFile::open(path)?,
            epoch: Instant::now(),
        })
    }
}

impl VideoSource for Y4mCamera {
    fn read_frame(&self) -> Option<VideoFrame> {
        let mut frame = self.file.next()?;
        // The file's own timestamps restart at each loop; the engine needs a clock.
        frame.timestamp_us = self.epoch.elapsed().as_micros() as u64;
        Some(frame)
    }
}

/// A microphone that plays a `.wav` file (48 kHz, 16-bit), looped.
pub struct WavMicrophone {
    file: LoopedFile<WavReader<BufReader<File>>>,
    next_us: Mutex<u64>,
}

impl WavMicrophone {
    /// Open and check the file: the header parses and it holds audio.
    pub fn open(path: &Path) -> Result<WavMicrophone, String> {
        let mut probe = WavReader::open(path).map_err(describe)?;
        match probe.read_frame() {
            Ok(Some(_)) => {}
            Ok(None) => return Err("the file holds no audio".into()),
            Err(e) => return Err(format!("its audio is unreadable: {}", describe(e))),
        }
        Ok(WavMicrophone {
            file: LoopedFile::open(path)?,
            next_us: Mutex::new(0),
        })
    }
}

impl AudioSource for WavMicrophone {
    fn read_audio(&self) -> Option<AudioFrame> {
        let mut frame = self.file.next()?;
        let mut next = self.next_us.lock().expect("clock");
        frame.timestamp_us = *next;
        *next += 10_000;
        Some(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolutions_are_the_presets_in_either_orientation() {
        let r = parse_resolution("1280x720").unwrap();
        assert_eq!(r.size(), (1280, 720));
        assert_eq!(r.encoder_params(15).bitrate_kbps, 1200);
        let p = parse_resolution("360X640").unwrap();
        assert_eq!(p.orientation, Orientation::Portrait);
        assert_eq!(p.to_string(), "360x640");
        assert_eq!(p.encoder_params(30).fps, 30);
        for bad in ["800x600", "640", "x", "640x360x2", ""] {
            assert!(parse_resolution(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn render_flags_parse_and_bad_ones_are_refused() {
        assert_eq!(parse_view("360X640"), Ok((360, 640)));
        for bad in ["361x640", "0x640", "360", "360x640x2", "9000x2", ""] {
            assert!(parse_view(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_fill_mode("FIT"), Ok(FillMode::Fit));
        assert_eq!(parse_fill_mode("fill"), Ok(FillMode::Fill));
        assert!(parse_fill_mode("stretch").is_err());
        assert_eq!(parse_rotation("270"), Ok(270));
        assert!(parse_rotation("45").is_err());
        assert!(parse_rotation("360").is_err());
    }

    #[test]
    fn the_delegate_keeps_render_params_per_user() {
        let map = RenderParamsMap::default();
        let delegate = PhoneDelegate::new(map.clone());
        let fit = VideoRenderParams {
            fill_mode: FillMode::Fit,
            rotation: 90,
        };
        delegate.set_video_render_params("bob", fit);
        assert_eq!(map.get("bob"), fit);
        assert_eq!(map.get("carol"), VideoRenderParams::default());
        assert_eq!(map.get("carol").fill_mode, FillMode::Fill);
    }

    #[test]
    fn files_loop_and_bad_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let y4m = dir.path().join("two.y4m");
        let mut w =
            hotline_media::Y4mWriter::new(File::create(&y4m).unwrap(), 32, 16, 15, 1).unwrap();
        for v in [10u8, 200] {
            w.write_frame(&VideoFrame::filled(32, 16, (v, 128, 128)).unwrap())
                .unwrap();
        }
        drop(w.finish().unwrap());
        let cam = Y4mCamera::open(&y4m).unwrap();
        let lumas: Vec<u8> = (0..5)
            .map(|_| cam.read_frame().unwrap().luma(0, 0))
            .collect();
        assert_eq!(lumas, [10, 200, 10, 200, 10]);

        let wav = dir.path().join("short.wav");
        let mut w = hotline_media::WavWriter::create(File::create(&wav).unwrap()).unwrap();
        w.write_samples(&[1000; 480]).unwrap();
        w.finish().unwrap();
        let mic = WavMicrophone::open(&wav).unwrap();
        let stamps: Vec<u64> = (0..3)
            .map(|_| mic.read_audio().unwrap().timestamp_us)
            .collect();
        assert_eq!(stamps, [0, 10_000, 20_000]);

        let missing = Y4mCamera::open(&dir.path().join("missing.y4m"))
            .err()
            .unwrap();
        assert!(missing.contains("no such file"), "{missing}");
        let not_y4m = Y4mCamera::open(&wav).err().unwrap();
        assert!(not_y4m.contains("YUV4MPEG2"), "{not_y4m}");
        let not_wav = WavMicrophone::open(&y4m).err().unwrap();
        assert!(not_wav.contains("RIFF"), "{not_wav}");
    }
}
