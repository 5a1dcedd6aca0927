//! Video frames to the app: decoded remote video (`start_remote_view`), the
//! local camera preview (`start_local_view`) and the benchmark helper
//! (`push_test_frames`).
//!
//! Pixels do not cross the FFI as a byte array: a frame carries a
//! [`FrameBuffer`] object that owns them in Rust, and the foreign side reads
//! them in place (Kotlin: a direct `ByteBuffer`; Swift: an
//! `UnsafeRawBufferPointer`). Copying 1.4 MB per 720p frame into a
//! `ByteArray` cost 1.6 ms of CPU per frame, ten percent of a core at 60 fps.
//! The engine lends its sinks a frame whose planes may be padded, so the
//! adapter packs it once, in Rust, into the buffer the app then owns.

use std::sync::Arc;

use crate::guard::foreign;
use crate::HotlineError;

/// One decoded video frame in I420 (planar Y, then U, then V; chroma at half
/// resolution in both directions).
#[derive(Debug, Clone, uniffi::Record)]
pub struct VideoFrame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Clockwise rotation to apply when rendering: 0, 90, 180 or 270.
    pub rotation: u32,
    /// Capture time in microseconds (monotonic, per stream).
    pub timestamp_us: i64,
    /// The pixels: `width * height` bytes of Y, then two planes of
    /// `(width / 2) * (height / 2)` bytes (U, then V).
    pub i420: Arc<FrameBuffer>,
}

impl From<&hotline_media::VideoFrame> for VideoFrame {
    fn from(f: &hotline_media::VideoFrame) -> Self {
        VideoFrame {
            width: f.width(),
            height: f.height(),
            rotation: f.rotation.degrees(),
            timestamp_us: f.timestamp_us.min(i64::MAX as u64) as i64,
            i420: Arc::new(FrameBuffer::new(f.to_packed_i420())),
        }
    }
}

/// Pixels owned by Rust, read in place by the app.
///
/// The memory stays valid and unchanged until the object is freed: call
/// `close()` in Kotlin (or let `use {}` do it) and drop the last reference in
/// Swift as soon as the frame is rendered, so buffers are not held until a
/// garbage collection.
#[derive(Debug, uniffi::Object)]
pub struct FrameBuffer {
    bytes: Box<[u8]>,
}

impl FrameBuffer {
    /// Wrap pixels for the app.
    pub fn new(bytes: Vec<u8>) -> FrameBuffer {
        FrameBuffer {
            bytes: bytes.into_boxed_slice(),
        }
    }
}

#[uniffi::export]
impl FrameBuffer {
    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// Whether the buffer holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Address of the first byte, for reading in place (the platform layers
    /// wrap it: `FrameBuffer.asByteBuffer()` in Kotlin, `withBytes` in Swift).
    /// Valid while this object is alive.
    pub fn address(&self) -> u64 {
        self.bytes.as_ptr() as u64
    }

    /// A copy of the bytes (convenient, but 1.4 MB per 720p frame).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bytes.to_vec()
    }
}

/// Receives video frames (a renderer): one user's decoded video
/// (`start_remote_view`) or this user's camera (`start_local_view`).
///
/// Each sink is called on its own Rust delivery thread, not your main
/// thread, one frame at a time. Return quickly: a sink that is slower than
/// the stream loses frames (the newest waiting frame replaces an older one;
/// nothing queues without bound, and decoding never waits for the sink).
/// Implementations need not throw; exceptions are logged and ignored.
#[uniffi::export(with_foreign)]
pub trait VideoSink: Send + Sync {
    /// One frame. Its `i420` buffer is the sink's own: close it when done.
    fn on_frame(&self, frame: VideoFrame) -> Result<(), HotlineError>;
}

/// A foreign video sink as the engine's.
pub(crate) struct VideoSinkAdapter(pub(crate) Arc<dyn VideoSink>);

impl hotline_engine::media::devices::VideoSink for VideoSinkAdapter {
    fn on_frame(&self, frame: &hotline_media::VideoFrame) {
        let frame = VideoFrame::from(frame);
        foreign("VideoSink.onFrame", || self.0.on_frame(frame));
    }
}
