//! Video frames to the app. Media itself arrives with a later milestone; for
//! now only the benchmark helper (`push_test_frames`) produces frames.
//!
//! Pixels do not cross the FFI as a byte array: a frame carries a
//! [`FrameBuffer`] object that owns them in Rust, and the foreign side reads
//! them in place (Kotlin: a direct `ByteBuffer`; Swift: an
//! `UnsafeRawBufferPointer`). Copying 1.4 MB per 720p frame into a
//! `ByteArray` cost 1.6 ms of CPU per frame, ten percent of a core at 60 fps.

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
    pub i420: std::sync::Arc<FrameBuffer>,
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

/// Receives decoded video frames (a renderer).
///
/// Called on a Rust media thread, not your main thread. Return quickly: a
/// sink that is slower than the stream loses frames (they are dropped, never
/// queued without bound).
#[uniffi::export(with_foreign)]
pub trait VideoSink: Send + Sync {
    /// One frame. Its `i420` buffer is the sink's own: close it when done.
    fn on_frame(&self, frame: VideoFrame);
}
