//! Benchmark and test helpers: they drive foreign observers, sinks and
//! sources from a Rust thread, the way the engine does, without a server or
//! media. For measuring and testing the FFI itself (`tests/kotlin`); not for
//! apps.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use hotline_engine::Event;

use hotline_engine::media::devices::VideoSource as _;

use crate::devices::{VideoSource, VideoSourceAdapter};
use crate::observer::{deliver, CallObserver};
use crate::video::{FrameBuffer, VideoFrame, VideoSink};

/// FOR BENCHMARKS AND TESTS: deliver `count` synthetic `on_user_join` events
/// (call ID `"bench"`, user IDs `"u0"`, `"u1"`, … in order) to `observer` from
/// a new Rust thread, the same path engine events take. Blocks until all were
/// delivered; returns the elapsed time in microseconds.
#[uniffi::export]
pub fn fire_test_events(observer: Arc<dyn CallObserver>, count: u32) -> u64 {
    let worker = thread::Builder::new()
        .name("hotline-bench-events".into())
        .spawn(move || {
            let start = Instant::now();
            for i in 0..count {
                deliver(
                    &*observer,
                    Event::UserJoin {
                        call_id: "bench".into(),
                        user_id: format!("u{i}"),
                    },
                );
            }
            start.elapsed().as_micros() as u64
        })
        .expect("spawn bench thread");
    worker.join().unwrap_or(0)
}

/// What `push_test_frames` did.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FramePushStats {
    /// Frames handed to the sink.
    pub delivered: u32,
    /// Frames skipped because the sink was too slow to keep the pace.
    pub dropped: u32,
    /// Wall time of the whole run, in microseconds.
    pub elapsed_us: u64,
}

/// FOR BENCHMARKS AND TESTS: push `count` synthetic I420 frames of
/// `width`×`height` (even numbers; 1280×720 for the 720p benchmark) into
/// `sink` from a new Rust thread. `fps` > 0 paces them (a frame more than one
/// interval late is dropped, as a renderer would); `fps` = 0 pushes as fast as
/// the sink takes them. Each frame is a fresh copy of one synthetic image with
/// its index written into the first 4 bytes (little endian). Blocks until done.
#[uniffi::export]
pub fn push_test_frames(
    sink: Arc<dyn VideoSink>,
    width: u32,
    height: u32,
    count: u32,
    fps: u32,
) -> FramePushStats {
    let (w, h) = (width & !1, height & !1);
    let y = (w * h) as usize;
    let mut image = vec![0u8; y + y / 2];
    for (i, b) in image.iter_mut().enumerate() {
        *b = if i < y {
            (i % w.max(1) as usize) as u8
        } else {
            128
        };
    }
    let worker = thread::Builder::new()
        .name("hotline-bench-frames".into())
        .spawn(move || {
            let interval = if fps > 0 {
                Some(Duration::from_secs_f64(1.0 / fps as f64))
            } else {
                None
            };
            let start = Instant::now();
            let (mut delivered, mut dropped) = (0u32, 0u32);
            for i in 0..count {
                if let Some(iv) = interval {
                    let due = start + iv * i;
                    let now = Instant::now();
                    if now > due + iv {
                        dropped += 1;
                        continue;
                    }
                    if due > now {
                        thread::sleep(due - now);
                    }
                }
                let mut i420 = image.clone();
                if i420.len() >= 4 {
                    i420[..4].copy_from_slice(&i.to_le_bytes());
                }
                let timestamp_us = start.elapsed().as_micros() as i64;
                // A sink that throws still counts as delivered: this measures the FFI.
                let _ = sink.on_frame(VideoFrame {
                    width: w,
                    height: h,
                    rotation: 0,
                    timestamp_us,
                    i420: Arc::new(FrameBuffer::new(i420)),
                });
                delivered += 1;
            }
            FramePushStats {
                delivered,
                dropped,
                elapsed_us: start.elapsed().as_micros() as u64,
            }
        })
        .expect("spawn bench thread");
    worker.join().unwrap_or(FramePushStats {
        delivered: 0,
        dropped: 0,
        elapsed_us: 0,
    })
}

/// What `pull_test_frames` did.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FramePullStats {
    /// Frames read and converted into the engine's I420 frames.
    pub converted: u32,
    /// Calls that gave no usable frame: nothing, a malformed frame or an
    /// exception (each logged).
    pub skipped: u32,
    /// Wall time of the whole run, in microseconds.
    pub elapsed_us: u64,
    /// Width and height of the last converted frame (0 if none).
    pub last_width: u32,
    /// See `last_width`.
    pub last_height: u32,
}

/// FOR BENCHMARKS AND TESTS: read `count` frames from `source` on a new Rust
/// thread exactly as the engine's video thread does (the same conversion,
/// the same handling of malformed frames and exceptions), as fast as the
/// source gives them. Blocks until done.
#[uniffi::export]
pub fn pull_test_frames(source: Arc<dyn VideoSource>, count: u32) -> FramePullStats {
    let failed = FramePullStats {
        converted: 0,
        skipped: count,
        elapsed_us: 0,
        last_width: 0,
        last_height: 0,
    };
    let worker = thread::Builder::new()
        .name("hotline-bench-source".into())
        .spawn(move || {
            let adapter = VideoSourceAdapter(source);
            let start = Instant::now();
            let mut stats = FramePullStats {
                converted: 0,
                skipped: 0,
                elapsed_us: 0,
                last_width: 0,
                last_height: 0,
            };
            for _ in 0..count {
                match adapter.read_frame() {
                    Some(f) => {
                        stats.converted += 1;
                        stats.last_width = f.width();
                        stats.last_height = f.height();
                    }
                    None => stats.skipped += 1,
                }
            }
            stats.elapsed_us = start.elapsed().as_micros() as u64;
            stats
        })
        .expect("spawn bench thread");
    worker.join().unwrap_or(failed)
}
