//! Watching remote users: a video sink and an audio sink per user that count
//! what arrives, report the first frame and first sound, and (with
//! `--record DIR` / `demo --out DIR`) write `DIR/<user>.y4m` and
//! `DIR/<user>.wav`.
//!
//! Recorded video is shown as a renderer would: upright (the frame's own
//! rotation plus the user's render rotation applied) and, with `--view WxH`,
//! scaled into a view of that size by the user's fill mode. The render
//! params are the ones the engine last handed the phone's device delegate
//! for that user ([`RenderParamsMap`]). The counting sink sees the frames as
//! decoded.
//!
//! Sinks never block the engine: each file has its own writer thread fed
//! through a bounded queue, and a frame that finds the queue full is dropped
//! (and counted). [`Watcher::finish`] closes the queues, lets the writers
//! drain, and finishes the files (the WAV header gets its real sizes).

use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use hotline_engine::media::devices::{AudioSink, VideoRenderParams};
use hotline_engine::media::synthetic::{CollectedVideo, FrameCollector, PcmCollector};
use hotline_engine::CallEngine;
use hotline_media::render::{combine, render, upright};
use hotline_media::synthetic::read_frame_number;
use hotline_media::{AudioFrame, Rotation, VideoFrame, WavWriter, Y4mWriter};
use serde_json::{json, Value};

use crate::devices::RenderParamsMap;

/// Frames a video file's queue holds (about two seconds at 15 fps).
const VIDEO_QUEUE: usize = 32;
/// 10 ms audio frames an audio file's queue holds (two seconds).
const AUDIO_QUEUE: usize = 200;

/// Where milestones go (printed as JSON lines by the phone).
pub type Notify = Arc<dyn Fn(Value) + Send + Sync>;

/// What a file writer thread did.
#[derive(Debug, Clone, Default)]
pub struct FileSummary {
    /// The file, if it was created.
    pub path: Option<PathBuf>,
    /// Video frames or 10 ms audio frames written.
    pub frames: u64,
    /// Video frames of another size than the first one, not written.
    pub skipped: u64,
    /// Frames dropped because the writer fell behind.
    pub dropped: u64,
    /// Why writing stopped early, if it did.
    pub error: Option<String>,
}

/// One file fed by a writer thread.
struct FileTrack<T: Send + 'static> {
    tx: Mutex<Option<SyncSender<T>>>,
    thread: Mutex<Option<JoinHandle<FileSummary>>>,
    dropped: AtomicU64,
}

impl<T: Send + 'static> FileTrack<T> {
    fn spawn(
        name: String,
        queue: usize,
        write: impl FnOnce(Receiver<T>) -> FileSummary + Send + 'static,
    ) -> FileTrack<T> {
        let (tx, rx) = sync_channel(queue);
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || write(rx))
            .expect("spawn a recording thread");
        FileTrack {
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            dropped: AtomicU64::new(0),
        }
    }

    fn push(&self, item: T) {
        if let Some(tx) = self.tx.lock().expect("file queue").as_ref() {
            match tx.try_send(item) {
                Ok(()) | Err(TrySendError::Disconnected(_)) => {}
                Err(TrySendError::Full(_)) => {
                    self.dropped.fetch_add(1, Relaxed);
                }
            }
        }
    }

    /// Close the queue, wait for the writer to drain it and finish the file.
    fn finish(&self) -> FileSummary {
        self.tx.lock().expect("file queue").take();
        let thread = self.thread.lock().expect("file thread").take();
        let mut summary = thread
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default();
        summary.dropped = self.dropped.load(Relaxed);
        summary
    }
}

/// How a recorder shows one user's video.
#[derive(Clone)]
struct FileRender {
    /// Render into a view of this size (`--view`), or keep the decoded size.
    view: Option<(u32, u32)>,
    /// Where the user's render params are found.
    params: RenderParamsMap,
}

/// `frame` as a renderer with `params` shows it: upright, and in the view if any.
fn shown(
    frame: VideoFrame,
    view: Option<(u32, u32)>,
    params: VideoRenderParams,
) -> Result<VideoFrame, String> {
    // The engine accepts only 0, 90, 180 and 270.
    let extra = Rotation::from_degrees(params.rotation).map_err(|e| e.to_string())?;
    match view {
        Some((w, h)) => render(&frame, extra, params.fill_mode, w, h).map_err(|e| e.to_string()),
        None if combine(frame.rotation, extra) == Rotation::R0 => Ok(frame),
        None => Ok(upright(&frame, extra)),
    }
}

fn write_video(
    rx: Receiver<VideoFrame>,
    path: PathBuf,
    fps: u32,
    user: String,
    how: FileRender,
) -> FileSummary {
    let mut summary = FileSummary::default();
    let mut writer: Option<Y4mWriter<BufWriter<File>>> = None;
    let mut warned_sizes: Vec<(u32, u32)> = Vec::new();
    for frame in rx {
        if summary.error.is_some() {
            continue; // keep draining so the sink never blocks
        }
        let frame = match shown(frame, how.view, how.params.get(&user)) {
            Ok(f) => f,
            Err(e) => {
                log::error!("cannot render {user}'s video for {}: {e}", path.display());
                summary.error = Some(e);
                continue;
            }
        };
        let made = open_once(&mut writer, &path, &mut summary, &user, "video", |f| {
            Y4mWriter::new(
                BufWriter::with_capacity(1 << 20, f),
                frame.width(),
                frame.height(),
                fps,
                1,
            )
        });
        let Some(w) = made else { continue };
        match w.write_frame(&frame) {
            Ok(()) => summary.frames += 1,
            Err(hotline_media::FileError::SizeMismatch {
                expected_width,
                expected_height,
                width,
                height,
            }) => {
                summary.skipped += 1;
                if !warned_sizes.contains(&(width, height)) {
                    warned_sizes.push((width, height));
                    log::warn!(
                        "{user}'s video changed to {width}x{height}; {} holds \
                         {expected_width}x{expected_height}, so those frames are not recorded",
                        path.display()
                    );
                }
            }
            Err(e) => {
                log::error!("recording {user}'s video to {}: {e}", path.display());
                summary.error = Some(e.to_string());
            }
        }
    }
    if let Some(w) = writer {
        if let Err(e) = w.finish() {
            summary.error.get_or_insert(e.to_string());
        }
    }
    summary
}

/// The recording's writer, created with the first frame; a file that cannot
/// be created is logged and noted in `summary` (and `None` is returned).
fn open_once<'w, W>(
    writer: &'w mut Option<W>,
    path: &Path,
    summary: &mut FileSummary,
    user: &str,
    kind: &str,
    make: impl FnOnce(File) -> Result<W, hotline_media::FileError>,
) -> Option<&'w mut W> {
    if writer.is_none() {
        let made = File::create(path)
            .map_err(|e| e.to_string())
            .and_then(|f| make(f).map_err(|e| e.to_string()));
        match made {
            Ok(w) => {
                summary.path = Some(path.to_path_buf());
                *writer = Some(w);
            }
            Err(e) => {
                log::error!("cannot record {user}'s {kind} to {}: {e}", path.display());
                summary.error = Some(e);
                return None;
            }
        }
    }
    writer.as_mut()
}

fn write_audio(rx: Receiver<AudioFrame>, path: PathBuf, user: String) -> FileSummary {
    let mut summary = FileSummary::default();
    let mut writer: Option<WavWriter<BufWriter<File>>> = None;
    for frame in rx {
        if summary.error.is_some() {
            continue;
        }
        let made = open_once(&mut writer, &path, &mut summary, &user, "audio", |f| {
            WavWriter::create(BufWriter::with_capacity(64 << 10, f))
        });
        let Some(w) = made else { continue };
        match w.write_frame(&frame) {
            Ok(()) => summary.frames += 1,
            Err(e) => {
                log::error!("recording {user}'s audio to {}: {e}", path.display());
                summary.error = Some(e.to_string());
            }
        }
    }
    if let Some(w) = writer {
        if let Err(e) = w.finish() {
            summary.error.get_or_insert(e.to_string());
        }
    }
    summary
}

/// One remote user's audio: counted, optionally kept (for analysis) and recorded.
pub struct AudioTap {
    collector: PcmCollector,
    file: Option<FileTrack<AudioFrame>>,
    heard: AtomicBool,
    on_first_sound: Box<dyn Fn() + Send + Sync>,
}

impl AudioTap {
    /// 10 ms frames received.
    pub fn frames(&self) -> u64 {
        self.collector.frames()
    }

    /// The samples kept (up to the cap given to [`Watcher::new`]).
    pub fn samples(&self) -> Vec<i16> {
        self.collector.samples()
    }
}

impl AudioSink for AudioTap {
    fn on_audio(&self, frame: &AudioFrame) {
        self.collector.on_audio(frame);
        if !self.heard.load(Relaxed) && frame.samples.iter().any(|&s| s != 0) {
            self.heard.store(true, Relaxed);
            (self.on_first_sound)();
        }
        if let Some(file) = &self.file {
            file.push(frame.clone());
        }
    }
}

/// The sinks watching one remote user.
pub struct UserTaps {
    /// Video: counts, frame numbers, PSNR against the synthetic pattern.
    pub video: Arc<FrameCollector>,
    /// Audio.
    pub audio: Arc<AudioTap>,
    /// When the first video frame reached the sink.
    pub first_frame_at: Arc<Mutex<Option<Instant>>>,
    video_file: Option<Arc<FileTrack<VideoFrame>>>,
}

/// Watches (and records) every remote user of an engine's calls.
pub struct Watcher {
    dir: Option<PathBuf>,
    suffix: Mutex<String>,
    fps: u32,
    reference: Option<(u32, u32)>,
    compare_every: u64,
    keep_audio_s: u32,
    notify: Notify,
    since: Arc<Mutex<Instant>>,
    users: Mutex<HashMap<String, UserTaps>>,
    render: FileRender,
}

impl Watcher {
    /// Record into `dir` if given; y4m headers say `fps`. Frames are compared
    /// with the synthetic pattern of size `reference` (every `compare_every`-th);
    /// up to `keep_audio_s` seconds of each user's audio are kept.
    pub fn new(
        dir: Option<PathBuf>,
        fps: u32,
        reference: Option<(u32, u32)>,
        compare_every: u64,
        keep_audio_s: u32,
        notify: Notify,
    ) -> Watcher {
        Watcher {
            dir,
            suffix: Mutex::new(String::new()),
            fps,
            reference,
            compare_every,
            keep_audio_s,
            notify,
            since: Arc::new(Mutex::new(Instant::now())),
            users: Mutex::default(),
            render: FileRender {
                view: None,
                params: RenderParamsMap::default(),
            },
        }
    }

    /// Record video rendered into a `view` of this size (or at the decoded
    /// size), with the render params found in `params` for each user.
    /// Without this, video is recorded upright at the decoded size.
    pub fn with_render(mut self, view: Option<(u32, u32)>, params: RenderParamsMap) -> Watcher {
        self.render = FileRender { view, params };
        self
    }

    /// Whether `user` is being watched.
    pub fn watching(&self, user: &str) -> bool {
        self.users.lock().expect("users").contains_key(user)
    }

    /// Milestones are reported in ms since this instant (the call's start).
    pub fn set_epoch(&self, at: Instant) {
        *self.since.lock().expect("epoch") = at;
    }

    /// Name files `<user><suffix>.y4m` from now on (for later calls of one process).
    pub fn set_suffix(&self, suffix: &str) {
        *self.suffix.lock().expect("suffix") = suffix.to_string();
    }

    /// Start watching `user` (once; later calls do nothing).
    pub fn watch(&self, engine: &CallEngine, user: &str) {
        let mut users = self.users.lock().expect("users");
        if users.contains_key(user) {
            return;
        }
        let suffix = self.suffix.lock().expect("suffix").clone();
        let path = |ext: &str| {
            self.dir
                .as_ref()
                .map(|d| d.join(format!("{user}{suffix}.{ext}")))
        };
        let video_file = path("y4m").map(|p| {
            let (fps, u, how) = (self.fps, user.to_string(), self.render.clone());
            Arc::new(FileTrack::spawn(
                format!("hotline-rec-video-{user}"),
                VIDEO_QUEUE,
                move |rx| write_video(rx, p, fps, u, how),
            ))
        });
        let audio_file = path("wav").map(|p| {
            let u = user.to_string();
            FileTrack::spawn(
                format!("hotline-rec-audio-{user}"),
                AUDIO_QUEUE,
                move |rx| write_audio(rx, p, u),
            )
        });

        let first_frame_at: Arc<Mutex<Option<Instant>>> = Arc::default();
        let video = {
            let notify = self.notify.clone();
            let since = self.since.clone();
            let first = first_frame_at.clone();
            let file = video_file.clone();
            let user = user.to_string();
            FrameCollector::new(self.reference)
                .compare_every(self.compare_every)
                .with_callback(move |frame: &VideoFrame| {
                    if let Some(f) = &file {
                        f.push(frame.clone());
                    }
                    let mut first = first.lock().expect("first frame");
                    if first.is_none() {
                        let now = Instant::now();
                        *first = Some(now);
                        let ms = now
                            .duration_since(*since.lock().expect("epoch"))
                            .as_millis();
                        notify(json!({
                            "event": "firstRemoteFrame",
                            "userId": user,
                            "ms": ms as u64,
                            "width": frame.width(),
                            "height": frame.height(),
                            "frameNumber": read_frame_number(frame),
                        }));
                    }
                })
        };
        let audio = {
            let notify = self.notify.clone();
            let since = self.since.clone();
            let user = user.to_string();
            AudioTap {
                collector: PcmCollector::new(self.keep_audio_s),
                file: audio_file,
                heard: AtomicBool::new(false),
                on_first_sound: Box::new(move || {
                    let ms = since.lock().expect("epoch").elapsed().as_millis() as u64;
                    notify(json!({"event": "firstRemoteAudio", "userId": user, "ms": ms}));
                }),
            }
        };
        let taps = UserTaps {
            video: Arc::new(video),
            audio: Arc::new(audio),
            first_frame_at,
            video_file,
        };
        engine.start_remote_view(user, taps.video.clone());
        engine.start_remote_audio(user, taps.audio.clone());
        users.insert(user.to_string(), taps);
    }

    /// The users watched, sorted.
    pub fn users(&self) -> Vec<String> {
        let mut u: Vec<String> = self.users.lock().expect("users").keys().cloned().collect();
        u.sort();
        u
    }

    /// What arrived from `user` so far: video, audio frames, first frame.
    pub fn seen(&self, user: &str) -> Option<(CollectedVideo, u64, Option<Instant>)> {
        let users = self.users.lock().expect("users");
        let t = users.get(user)?;
        let first = *t.first_frame_at.lock().expect("first frame");
        Some((t.video.collected(), t.audio.frames(), first))
    }

    /// `user`'s kept audio samples.
    pub fn samples(&self, user: &str) -> Vec<i16> {
        self.users
            .lock()
            .expect("users")
            .get(user)
            .map(|t| t.audio.samples())
            .unwrap_or_default()
    }

    /// Stop watching everyone; finish the files. Returns one JSON object per
    /// file written, `{"event":"recordingFinished", ...}`.
    pub fn finish(&self, engine: &CallEngine) -> Vec<Value> {
        let users: Vec<(String, UserTaps)> = self.users.lock().expect("users").drain().collect();
        let mut out = Vec::new();
        let mut users = users;
        users.sort_by(|a, b| a.0.cmp(&b.0));
        for (user, taps) in users {
            engine.stop_remote_view(&user);
            engine.stop_remote_audio(&user);
            let mut files = Vec::new();
            if let Some(f) = &taps.video_file {
                files.push(("video", f.finish()));
            }
            if let Some(f) = &taps.audio.file {
                files.push(("audio", f.finish()));
            }
            for (kind, s) in files {
                let Some(path) = &s.path else {
                    if let Some(e) = s.error {
                        out.push(json!({"event": "recordingFailed", "userId": user, "kind": kind, "message": e}));
                    }
                    continue;
                };
                out.push(json!({
                    "event": "recordingFinished",
                    "userId": user,
                    "kind": kind,
                    "path": path_str(path),
                    "frames": s.frames,
                    "skipped": s.skipped,
                    "dropped": s.dropped,
                    "error": s.error,
                }));
            }
        }
        out
    }
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hotline_engine::media::devices::FillMode;

    #[test]
    fn recorded_frames_are_shown_upright_and_in_the_view() {
        let mut frame = VideoFrame::filled(64, 32, (180, 128, 128)).unwrap();
        let plain = VideoRenderParams::default();
        // Nothing to do: the same frame.
        assert_eq!(shown(frame.clone(), None, plain).unwrap(), frame);
        // The frame's own rotation is applied...
        frame.rotation = Rotation::R90;
        let up = shown(frame.clone(), None, plain).unwrap();
        assert_eq!(
            (up.width(), up.height(), up.rotation),
            (32, 64, Rotation::R0)
        );
        // ...plus the render rotation (here cancelling it).
        let turned = VideoRenderParams {
            fill_mode: FillMode::Fit,
            rotation: 270,
        };
        let back = shown(frame.clone(), None, turned).unwrap();
        assert_eq!((back.width(), back.height()), (64, 32));
        // With a view, the view's size; fit leaves bars.
        let fit = VideoRenderParams {
            fill_mode: FillMode::Fit,
            rotation: 90,
        };
        let v = shown(frame.clone(), Some((64, 64)), fit).unwrap();
        assert_eq!((v.width(), v.height()), (64, 64));
        assert_eq!((v.luma(32, 0), v.luma(32, 32)), (16, 180));
        let bad = VideoRenderParams {
            fill_mode: FillMode::Fill,
            rotation: 45,
        };
        assert!(shown(frame, None, bad).is_err());
    }
}
