//! Video frames to the app. Media itself arrives with a later milestone; for
//! now only the benchmark helper (`push_test_frames`) produces frames.

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
    pub i420: Vec<u8>,
}

/// Receives decoded video frames (a renderer).
///
/// Called on a Rust media thread, not your main thread. Return quickly: a
/// sink that is slower than the stream loses frames (they are dropped, never
/// queued without bound).
#[uniffi::export(with_foreign)]
pub trait VideoSink: Send + Sync {
    /// One frame. The frame's bytes are the sink's own copy.
    fn on_frame(&self, frame: VideoFrame);
}
