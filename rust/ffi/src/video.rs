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
    pub i420: FrameBytes,
}

/// Frame pixels. Crosses the FFI exactly like `Vec<u8>` (same wire format;
/// `ByteArray` in Kotlin, `Data` in Swift) but is copied in bulk: UniFFI's
/// generic `Vec<T>` conversion writes a `Vec<u8>` byte by byte, which cost
/// about 2 ms per 720p frame.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrameBytes(pub Vec<u8>);

// SAFETY: the conversions below produce and consume the same format as
// UniFFI's own `Vec<u8>` (a big-endian i32 length, then the bytes) and declare
// `Vec<u8>`'s type metadata, so foreign code reads and writes them as bytes.
unsafe impl uniffi::FfiConverter<crate::UniFfiTag> for FrameBytes {
    type FfiType = uniffi::RustBuffer;

    fn lower(obj: Self) -> uniffi::RustBuffer {
        let mut buf = Vec::with_capacity(4 + obj.0.len());
        Self::write(obj, &mut buf);
        uniffi::RustBuffer::from_vec(buf)
    }

    fn try_lift(v: uniffi::RustBuffer) -> uniffi::Result<Self> {
        let vec = v.destroy_into_vec();
        let mut rest = vec.as_slice();
        let bytes = Self::try_read(&mut rest)?;
        if !rest.is_empty() {
            uniffi::deps::anyhow::bail!("{} junk bytes after frame bytes", rest.len());
        }
        Ok(bytes)
    }

    fn write(obj: Self, buf: &mut Vec<u8>) {
        let len = i32::try_from(obj.0.len()).expect("a frame is smaller than 2 GiB");
        buf.reserve(4 + obj.0.len());
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(&obj.0);
    }

    fn try_read(buf: &mut &[u8]) -> uniffi::Result<Self> {
        if buf.len() < 4 {
            uniffi::deps::anyhow::bail!("frame bytes: no length");
        }
        let len = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
        let len = usize::try_from(len)?;
        if buf.len() < 4 + len {
            uniffi::deps::anyhow::bail!("frame bytes: {} announced, {} present", len, buf.len() - 4);
        }
        let bytes = buf[4..4 + len].to_vec();
        *buf = &buf[4 + len..];
        Ok(FrameBytes(bytes))
    }

    const TYPE_ID_META: uniffi::MetadataBuffer = <Vec<u8> as uniffi::TypeId<crate::UniFfiTag>>::TYPE_ID_META;
}

uniffi::derive_ffi_traits!(local FrameBytes);

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
