//! Raw media frames: I420 video pictures and 10 ms blocks of 48 kHz mono PCM.
//!
//! These are the types that cross the device boundary (camera, renderer,
//! microphone, speaker) and the codec boundary. They carry their capture
//! timestamp in microseconds; video frames also carry their rotation, which
//! travels with the frame to the remote renderer instead of being applied to
//! the pixels.

use thiserror::Error;

/// Audio sample rate used everywhere in Hotline (Hz).
pub const AUDIO_SAMPLE_RATE: u32 = 48_000;
/// Samples in one [`AudioFrame`]: 10 ms at 48 kHz, mono.
pub const SAMPLES_PER_FRAME: usize = 480;
/// Duration of one [`AudioFrame`] in microseconds.
pub const AUDIO_FRAME_US: u64 = 10_000;

/// Errors building frames from caller-supplied buffers.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// Width or height is zero, odd, or larger than 8192.
    #[error("invalid frame size {width}x{height}: both must be even and between 2 and 8192")]
    InvalidDimensions {
        /// Requested width in pixels.
        width: u32,
        /// Requested height in pixels.
        height: u32,
    },
    /// A stride is smaller than the row it must hold.
    #[error("stride {stride} of plane {plane} is smaller than its row width {row}")]
    StrideTooSmall {
        /// Plane name (`Y`, `U`, `V` or `UV`).
        plane: &'static str,
        /// Given stride in bytes.
        stride: usize,
        /// Minimum row width in bytes.
        row: usize,
    },
    /// A plane buffer is too short for its stride and height.
    #[error("plane {plane} has {got} bytes, needs at least {need}")]
    PlaneTooSmall {
        /// Plane name (`Y`, `U`, `V` or `UV`).
        plane: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes given.
        got: usize,
    },
    /// Rotation was not 0, 90, 180 or 270 degrees.
    #[error("invalid rotation {0}: must be 0, 90, 180 or 270")]
    InvalidRotation(u32),
    /// PCM input was not exactly one frame long.
    #[error("audio frame needs {SAMPLES_PER_FRAME} samples, got {0}")]
    WrongSampleCount(usize),
}

/// Clockwise rotation the renderer must apply to show a frame upright.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Rotation {
    /// No rotation.
    #[default]
    R0,
    /// 90 degrees clockwise.
    R90,
    /// 180 degrees.
    R180,
    /// 270 degrees clockwise.
    R270,
}

impl Rotation {
    /// The rotation in degrees (0, 90, 180 or 270).
    pub fn degrees(self) -> u32 {
        match self {
            Rotation::R0 => 0,
            Rotation::R90 => 90,
            Rotation::R180 => 180,
            Rotation::R270 => 270,
        }
    }

    /// Parses 0, 90, 180 or 270 degrees.
    pub fn from_degrees(degrees: u32) -> Result<Self, FrameError> {
        match degrees {
            0 => Ok(Rotation::R0),
            90 => Ok(Rotation::R90),
            180 => Ok(Rotation::R180),
            270 => Ok(Rotation::R270),
            other => Err(FrameError::InvalidRotation(other)),
        }
    }
}

/// One video picture in I420 (planar Y, then quarter-size U and V).
///
/// Planes are stored with explicit strides so decoder output can be kept
/// without repacking; frames built by this crate use tight strides.
#[derive(Clone, PartialEq, Eq)]
pub struct VideoFrame {
    width: u32,
    height: u32,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
    stride_y: usize,
    stride_uv: usize,
    /// Capture time in microseconds (any epoch, monotonic per source).
    pub timestamp_us: u64,
    /// Rotation the renderer applies; it travels with the frame.
    pub rotation: Rotation,
}

impl std::fmt::Debug for VideoFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoFrame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("timestamp_us", &self.timestamp_us)
            .field("rotation", &self.rotation)
            .finish_non_exhaustive()
    }
}

fn check_dimensions(width: u32, height: u32) -> Result<(), FrameError> {
    let ok = |d: u32| (2..=8192).contains(&d) && d & 1 == 0;
    if ok(width) && ok(height) {
        Ok(())
    } else {
        Err(FrameError::InvalidDimensions { width, height })
    }
}

fn check_plane(
    plane: &'static str,
    data: &[u8],
    stride: usize,
    row: usize,
    rows: usize,
) -> Result<(), FrameError> {
    if stride < row {
        return Err(FrameError::StrideTooSmall { plane, stride, row });
    }
    let need = stride * (rows - 1) + row;
    if data.len() < need {
        return Err(FrameError::PlaneTooSmall {
            plane,
            need,
            got: data.len(),
        });
    }
    Ok(())
}

impl VideoFrame {
    /// A frame filled with one colour (Y, U, V), with tight strides.
    pub fn filled(width: u32, height: u32, yuv: (u8, u8, u8)) -> Result<Self, FrameError> {
        check_dimensions(width, height)?;
        let (w, h) = (width as usize, height as usize);
        Ok(VideoFrame {
            width,
            height,
            y: vec![yuv.0; w * h],
            u: vec![yuv.1; w * h / 4],
            v: vec![yuv.2; w * h / 4],
            stride_y: w,
            stride_uv: w / 2,
            timestamp_us: 0,
            rotation: Rotation::R0,
        })
    }

    /// A black frame (Y=16, U=V=128).
    pub fn black(width: u32, height: u32) -> Result<Self, FrameError> {
        Self::filled(width, height, (16, 128, 128))
    }

    /// Copies an I420 picture given as three planes with their strides
    /// (U and V share `stride_uv`). The result has tight strides.
    #[allow(clippy::too_many_arguments)]
    pub fn from_i420(
        width: u32,
        height: u32,
        y: &[u8],
        stride_y: usize,
        u: &[u8],
        v: &[u8],
        stride_uv: usize,
        timestamp_us: u64,
        rotation: Rotation,
    ) -> Result<Self, FrameError> {
        check_dimensions(width, height)?;
        let (w, h) = (width as usize, height as usize);
        check_plane("Y", y, stride_y, w, h)?;
        check_plane("U", u, stride_uv, w / 2, h / 2)?;
        check_plane("V", v, stride_uv, w / 2, h / 2)?;
        // Gathered row by row into fresh buffers: no zero-filling first
        // (this runs for every decoded frame).
        Ok(VideoFrame {
            width,
            height,
            y: gather_plane(y, stride_y, w, h),
            u: gather_plane(u, stride_uv, w / 2, h / 2),
            v: gather_plane(v, stride_uv, w / 2, h / 2),
            stride_y: w,
            stride_uv: w / 2,
            timestamp_us,
            rotation,
        })
    }

    #[allow(clippy::too_many_arguments)]
    /// Converts an NV12 picture (Y plane, then one plane of interleaved U,V
    /// pairs, as Android and iOS cameras deliver) to I420.
    pub fn from_nv12(
        width: u32,
        height: u32,
        y: &[u8],
        stride_y: usize,
        uv: &[u8],
        stride_uv: usize,
        timestamp_us: u64,
        rotation: Rotation,
    ) -> Result<Self, FrameError> {
        check_dimensions(width, height)?;
        let (w, h) = (width as usize, height as usize);
        check_plane("Y", y, stride_y, w, h)?;
        check_plane("UV", uv, stride_uv, w, h / 2)?;
        let cw = w / 2;
        // Split into fresh buffers, like `gather_plane`: no zero-filling first.
        let (mut u, mut v) = (
            Vec::with_capacity(cw * h / 2),
            Vec::with_capacity(cw * h / 2),
        );
        for row in 0..h / 2 {
            for pair in uv[row * stride_uv..row * stride_uv + w].chunks_exact(2) {
                u.push(pair[0]);
                v.push(pair[1]);
            }
        }
        Ok(VideoFrame {
            width,
            height,
            y: gather_plane(y, stride_y, w, h),
            u,
            v,
            stride_y: w,
            stride_uv: cw,
            timestamp_us,
            rotation,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }
    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }
    /// The Y plane (`stride_y() * height` bytes, rows may be padded).
    pub fn y(&self) -> &[u8] {
        &self.y
    }
    /// The U plane (`stride_uv() * height / 2` bytes).
    pub fn u(&self) -> &[u8] {
        &self.u
    }
    /// The V plane (`stride_uv() * height / 2` bytes).
    pub fn v(&self) -> &[u8] {
        &self.v
    }
    /// Mutable Y plane, for generators.
    pub fn y_mut(&mut self) -> &mut [u8] {
        &mut self.y
    }
    /// Mutable U plane, for generators.
    pub fn u_mut(&mut self) -> &mut [u8] {
        &mut self.u
    }
    /// Mutable V plane, for generators.
    pub fn v_mut(&mut self) -> &mut [u8] {
        &mut self.v
    }
    /// Bytes per Y row.
    pub fn stride_y(&self) -> usize {
        self.stride_y
    }
    /// Bytes per U or V row.
    pub fn stride_uv(&self) -> usize {
        self.stride_uv
    }

    /// The luma value at (x, y).
    pub fn luma(&self, x: u32, y: u32) -> u8 {
        self.y[y as usize * self.stride_y + x as usize]
    }

    /// The picture as packed I420 (Y, U, V without padding), e.g. for `.y4m`.
    pub fn to_packed_i420(&self) -> Vec<u8> {
        let (w, h) = (self.width as usize, self.height as usize);
        let mut out = Vec::with_capacity(w * h * 3 / 2);
        for row in 0..h {
            out.extend_from_slice(&self.y[row * self.stride_y..row * self.stride_y + w]);
        }
        for plane in [&self.u, &self.v] {
            for row in 0..h / 2 {
                out.extend_from_slice(&plane[row * self.stride_uv..row * self.stride_uv + w / 2]);
            }
        }
        out
    }
}

/// The first `row` bytes of each of `rows` rows, `stride` apart, as one
/// tight plane.
fn gather_plane(src: &[u8], stride: usize, row: usize, rows: usize) -> Vec<u8> {
    let mut plane = Vec::with_capacity(row * rows);
    for r in 0..rows {
        plane.extend_from_slice(&src[r * stride..r * stride + row]);
    }
    plane
}

impl openh264::formats::YUVSource for VideoFrame {
    fn dimensions(&self) -> (usize, usize) {
        (self.width as usize, self.height as usize)
    }
    fn strides(&self) -> (usize, usize, usize) {
        (self.stride_y, self.stride_uv, self.stride_uv)
    }
    fn y(&self) -> &[u8] {
        &self.y
    }
    fn u(&self) -> &[u8] {
        &self.u
    }
    fn v(&self) -> &[u8] {
        &self.v
    }
}

/// 10 ms of 48 kHz mono signed 16-bit PCM (480 samples).
#[derive(Clone, PartialEq, Eq)]
pub struct AudioFrame {
    /// The samples, oldest first.
    pub samples: [i16; SAMPLES_PER_FRAME],
    /// Capture (or playout) time of the first sample, in microseconds.
    pub timestamp_us: u64,
}

impl std::fmt::Debug for AudioFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioFrame")
            .field("timestamp_us", &self.timestamp_us)
            .finish_non_exhaustive()
    }
}

impl AudioFrame {
    /// A silent frame.
    pub fn silence(timestamp_us: u64) -> Self {
        AudioFrame {
            samples: [0; SAMPLES_PER_FRAME],
            timestamp_us,
        }
    }

    /// Copies exactly [`SAMPLES_PER_FRAME`] samples.
    pub fn from_slice(samples: &[i16], timestamp_us: u64) -> Result<Self, FrameError> {
        let samples: [i16; SAMPLES_PER_FRAME] = samples
            .try_into()
            .map_err(|_| FrameError::WrongSampleCount(samples.len()))?;
        Ok(AudioFrame {
            samples,
            timestamp_us,
        })
    }

    /// Splits PCM into whole 10 ms frames starting at `first_timestamp_us`;
    /// a trailing partial frame is zero-padded.
    pub fn split_pcm(pcm: &[i16], first_timestamp_us: u64) -> Vec<AudioFrame> {
        pcm.chunks(SAMPLES_PER_FRAME)
            .enumerate()
            .map(|(i, chunk)| {
                let mut frame = AudioFrame::silence(first_timestamp_us + i as u64 * AUDIO_FRAME_US);
                frame.samples[..chunk.len()].copy_from_slice(chunk);
                frame
            })
            .collect()
    }

    /// Root mean square of the samples, in sample units (0..=32768).
    pub fn rms(&self) -> f64 {
        let sum: f64 = self
            .samples
            .iter()
            .map(|&s| f64::from(s) * f64::from(s))
            .sum();
        (sum / SAMPLES_PER_FRAME as f64).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nv12_to_i420_deinterleaves_chroma_and_honours_strides() {
        let (w, h) = (4u32, 2u32);
        let stride_y = 6;
        let mut y = vec![0u8; stride_y * 2];
        for r in 0..2 {
            for c in 0..4 {
                y[r * stride_y + c] = (r * 4 + c) as u8;
            }
        }
        let uv = vec![10, 20, 11, 21, 99, 99]; // one chroma row, stride 6
        let f = VideoFrame::from_nv12(w, h, &y, stride_y, &uv, 6, 5, Rotation::R90).unwrap();
        assert_eq!(
            f.to_packed_i420(),
            vec![0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 20, 21]
        );
        assert_eq!(f.rotation.degrees(), 90);
        assert_eq!(f.timestamp_us, 5);
    }

    #[test]
    fn i420_with_padded_strides_becomes_tight_planes() {
        // 4x2 picture; Y rows padded to 6 bytes, chroma rows to 3.
        let y = [0, 1, 2, 3, 99, 99, 4, 5, 6, 7, 99, 99];
        let (u, v) = ([10, 11, 99], [20, 21, 99]);
        let f = VideoFrame::from_i420(4, 2, &y, 6, &u, &v, 3, 7, Rotation::R180).unwrap();
        assert_eq!(
            f.to_packed_i420(),
            vec![0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 20, 21]
        );
        assert_eq!((f.rotation.degrees(), f.timestamp_us), (180, 7));
    }

    #[test]
    fn rejects_bad_sizes_and_short_planes() {
        assert!(matches!(
            VideoFrame::black(3, 2),
            Err(FrameError::InvalidDimensions { .. })
        ));
        let err = VideoFrame::from_i420(4, 2, &[0; 7], 4, &[0; 2], &[0; 2], 2, 0, Rotation::R0);
        assert!(matches!(
            err,
            Err(FrameError::PlaneTooSmall { plane: "Y", .. })
        ));
        let err = VideoFrame::from_nv12(4, 2, &[0; 8], 4, &[0; 4], 2, 0, Rotation::R0);
        assert!(matches!(
            err,
            Err(FrameError::StrideTooSmall { plane: "UV", .. })
        ));
        assert_eq!(
            Rotation::from_degrees(45),
            Err(FrameError::InvalidRotation(45))
        );
    }

    #[test]
    fn audio_frames_split_and_measure() {
        let pcm: Vec<i16> = (0..1000).map(|_| 1000).collect();
        let frames = AudioFrame::split_pcm(&pcm, 100);
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[2].timestamp_us, 100 + 20_000);
        assert_eq!(frames[2].samples[39], 1000);
        assert_eq!(frames[2].samples[40], 0);
        assert!((frames[0].rms() - 1000.0).abs() < 1e-9);
        assert!(AudioFrame::from_slice(&pcm[..479], 0).is_err());
    }
}
