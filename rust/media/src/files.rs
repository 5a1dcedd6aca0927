//! Raw media files: `.y4m` (YUV4MPEG2) video and `.wav` (16-bit PCM) audio.
//!
//! These back the CLI's `--camera FILE.y4m`, `--mic FILE.wav` and
//! `--record DIR`. Video is 8-bit 4:2:0 only, which is what
//! [`VideoFrame`] holds; audio is read as 48 kHz mono (stereo is averaged)
//! in 10 ms [`AudioFrame`]s and written as 48 kHz mono.
//!
//! Readers and writers do no buffering of their own: wrap files in
//! [`BufReader`] / [`std::io::BufWriter`] (the `open` constructors do so).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

use thiserror::Error;

use crate::frame::{AudioFrame, Rotation, VideoFrame, AUDIO_SAMPLE_RATE, SAMPLES_PER_FRAME};

/// Longest header line accepted in a `.y4m` file.
const MAX_Y4M_LINE: u64 = 4096;
/// Largest `fmt ` chunk accepted in a `.wav` file.
const MAX_FMT_CHUNK: u32 = 1024;
/// Chroma tags of 8-bit 4:2:0 YUV4MPEG2 streams (they differ only in siting).
const CHROMA_420: [&str; 4] = ["420", "420jpeg", "420paldv", "420mpeg2"];

/// Errors reading or writing `.y4m` and `.wav` files.
#[derive(Debug, Error)]
pub enum FileError {
    /// The underlying reader or writer failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The file is not a well-formed `.y4m` / `.wav` file.
    #[error("bad header: {0}")]
    BadHeader(String),
    /// The file is well-formed but uses a format Hotline does not handle.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The file ends in the middle of a frame, line or chunk.
    #[error("truncated: {0}")]
    Truncated(String),
    /// A video frame does not have the size given in the file header.
    #[error("frame is {width}x{height} but the file is {expected_width}x{expected_height}")]
    SizeMismatch {
        /// Width from the file header.
        expected_width: u32,
        /// Height from the file header.
        expected_height: u32,
        /// Width of the offending frame.
        width: u32,
        /// Height of the offending frame.
        height: u32,
    },
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn check_video_size(width: u32, height: u32) -> Result<(), FileError> {
    let ok = |d: u32| (2..=8192).contains(&d) && d & 1 == 0;
    if ok(width) && ok(height) {
        Ok(())
    } else {
        Err(FileError::Unsupported(format!(
            "video size {width}x{height}: width and height must be even and between 2 and 8192"
        )))
    }
}

fn check_fps(num: u32, den: u32) -> Result<(), FileError> {
    if num == 0 || den == 0 {
        return Err(FileError::BadHeader(format!(
            "frame rate {num}:{den}: both parts must be positive"
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// YUV4MPEG2
// ---------------------------------------------------------------------------

/// Writes [`VideoFrame`]s as a YUV4MPEG2 (`.y4m`) stream, 8-bit 4:2:0.
///
/// Frame timestamps and rotation are not stored; the frame rate in the
/// header is what players use.
pub struct Y4mWriter<W: Write> {
    out: W,
    width: u32,
    height: u32,
    frames: u64,
}

impl<W: Write> Y4mWriter<W> {
    /// Writes the stream header
    /// (`YUV4MPEG2 W.. H.. F.. Ip A1:1 C420jpeg`) at once.
    ///
    /// Fails if the size is not even and within 2..=8192, or if either part
    /// of the frame rate `fps_num:fps_den` is zero.
    pub fn new(
        mut out: W,
        width: u32,
        height: u32,
        fps_num: u32,
        fps_den: u32,
    ) -> Result<Self, FileError> {
        check_video_size(width, height)?;
        check_fps(fps_num, fps_den)?;
        writeln!(
            out,
            "YUV4MPEG2 W{width} H{height} F{fps_num}:{fps_den} Ip A1:1 C420jpeg"
        )?;
        Ok(Y4mWriter {
            out,
            width,
            height,
            frames: 0,
        })
    }

    /// Appends one frame (`FRAME` line plus packed Y, U and V planes).
    ///
    /// A frame of another size than the header is refused with
    /// [`FileError::SizeMismatch`] and nothing is written.
    pub fn write_frame(&mut self, frame: &VideoFrame) -> Result<(), FileError> {
        if (frame.width(), frame.height()) != (self.width, self.height) {
            return Err(FileError::SizeMismatch {
                expected_width: self.width,
                expected_height: self.height,
                width: frame.width(),
                height: frame.height(),
            });
        }
        self.out.write_all(b"FRAME\n")?;
        self.out.write_all(&frame.to_packed_i420())?;
        self.frames += 1;
        Ok(())
    }

    /// Number of frames written so far.
    pub fn frames_written(&self) -> u64 {
        self.frames
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> Result<W, FileError> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Reads a YUV4MPEG2 (`.y4m`) stream of 8-bit 4:2:0 pictures.
pub struct Y4mReader<R: BufRead> {
    inner: R,
    width: u32,
    height: u32,
    fps: (u32, u32),
    frames: u64,
}

impl Y4mReader<BufReader<File>> {
    /// Opens a `.y4m` file and parses its header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, FileError> {
        Self::new(BufReader::new(File::open(path)?))
    }
}

/// Reads one `\n`-terminated line starting with `prefix` (returned without
/// the `\n`); `None` at clean EOF.
fn read_y4m_line(r: &mut impl BufRead, prefix: &str) -> Result<Option<Vec<u8>>, FileError> {
    let mut line = Vec::new();
    r.take(MAX_Y4M_LINE).read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Ok(None);
    }
    let p = prefix.as_bytes();
    if !line.starts_with(p) && !p.starts_with(&line) {
        let start = String::from_utf8_lossy(&line[..line.len().min(16)]).into_owned();
        return Err(FileError::BadHeader(format!(
            "expected a {prefix} line, found '{}'",
            start.trim_end()
        )));
    }
    if line.pop() != Some(b'\n') {
        return Err(if line.len() as u64 + 1 >= MAX_Y4M_LINE {
            FileError::BadHeader(format!("{prefix} line is longer than {MAX_Y4M_LINE} bytes"))
        } else {
            FileError::Truncated(format!("{prefix} line ends without a newline"))
        });
    }
    Ok(Some(line))
}

fn parse_ratio(s: &str, what: &str) -> Result<(u32, u32), FileError> {
    s.split_once(':')
        .and_then(|(n, d)| Some((n.parse().ok()?, d.parse().ok()?)))
        .ok_or_else(|| FileError::BadHeader(format!("bad {what} '{s}', expected N:D")))
}

impl<R: BufRead> Y4mReader<R> {
    /// Parses the stream header.
    ///
    /// `W` and `H` are required; `F` defaults to 30:1; `I`, `A` and `X`
    /// parameters are ignored. The chroma tag (`C`) must be absent or one of
    /// `420`, `420jpeg`, `420paldv`, `420mpeg2`; anything else (e.g. `C444`,
    /// `C420p10`) is [`FileError::Unsupported`], as are sizes that are odd,
    /// zero or above 8192.
    pub fn new(mut inner: R) -> Result<Self, FileError> {
        let line = read_y4m_line(&mut inner, "YUV4MPEG2")?
            .ok_or_else(|| FileError::BadHeader("empty file, not a YUV4MPEG2 stream".into()))?;
        let line = String::from_utf8_lossy(&line);
        let mut tokens = line.split(' ').filter(|t| !t.is_empty());
        if tokens.next() != Some("YUV4MPEG2") {
            return Err(FileError::BadHeader(
                "missing YUV4MPEG2 signature, not a .y4m file".into(),
            ));
        }
        let (mut width, mut height, mut fps) = (None, None, (30, 1));
        for token in tokens {
            let (tag, value) = token.split_at(token.chars().next().map_or(0, char::len_utf8));
            let dim = || {
                value
                    .parse::<u32>()
                    .map_err(|_| FileError::BadHeader(format!("bad size parameter '{token}'")))
            };
            match tag {
                "W" => width = Some(dim()?),
                "H" => height = Some(dim()?),
                "F" => fps = parse_ratio(value, "frame rate")?,
                "C" if !CHROMA_420.contains(&value) => {
                    return Err(FileError::Unsupported(format!(
                        "chroma format C{value}: only 8-bit 4:2:0 (C420, C420jpeg, \
                         C420paldv, C420mpeg2) is supported"
                    )))
                }
                _ => {} // C420*, I (interlacing), A (aspect), X (extensions), unknown
            }
        }
        let (Some(width), Some(height)) = (width, height) else {
            return Err(FileError::BadHeader(
                "YUV4MPEG2 header lacks the W or H parameter".into(),
            ));
        };
        check_video_size(width, height)?;
        check_fps(fps.0, fps.1)?;
        Ok(Y4mReader {
            inner,
            width,
            height,
            fps,
            frames: 0,
        })
    }

    /// Picture width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Picture height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Frame rate as (numerator, denominator); 30:1 when the header has none.
    pub fn fps(&self) -> (u32, u32) {
        self.fps
    }

    /// Reads the next frame; `Ok(None)` at a clean end of the stream.
    ///
    /// Parameters after `FRAME` are skipped. Frame `n` gets the timestamp
    /// `n / fps` seconds (in microseconds) and no rotation. A frame cut
    /// short by the end of the file is [`FileError::Truncated`].
    pub fn read_frame(&mut self) -> Result<Option<VideoFrame>, FileError> {
        let index = self.frames;
        let Some(line) = read_y4m_line(&mut self.inner, "FRAME")? else {
            return Ok(None);
        };
        if !(line == b"FRAME" || line.starts_with(b"FRAME ")) {
            let start = String::from_utf8_lossy(&line[..line.len().min(16)]).into_owned();
            return Err(FileError::BadHeader(format!(
                "frame {index}: expected a FRAME line, found '{start}'"
            )));
        }
        let mut frame = VideoFrame::black(self.width, self.height)
            .map_err(|e| FileError::Unsupported(e.to_string()))?;
        // `black` has tight strides, so the planes are exactly the packed layout.
        let need = frame.y().len() + frame.u().len() + frame.v().len();
        let mut got = read_full(&mut self.inner, frame.y_mut())?;
        got += read_full(&mut self.inner, frame.u_mut())?;
        got += read_full(&mut self.inner, frame.v_mut())?;
        if got < need {
            return Err(FileError::Truncated(format!(
                "frame {index} has {got} of its {need} bytes"
            )));
        }
        let (num, den) = self.fps;
        frame.timestamp_us =
            (u128::from(index) * 1_000_000 * u128::from(den) / u128::from(num)) as u64;
        frame.rotation = Rotation::R0;
        self.frames += 1;
        Ok(Some(frame))
    }
}

// ---------------------------------------------------------------------------
// WAV
// ---------------------------------------------------------------------------

/// The 44-byte header of a 48 kHz mono 16-bit PCM WAV file.
fn wav_header(riff_size: u32, data_size: u32) -> [u8; 44] {
    let mut h = [0u8; 44];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&riff_size.to_le_bytes());
    h[8..16].copy_from_slice(b"WAVEfmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes()); // PCM
    h[22..24].copy_from_slice(&1u16.to_le_bytes()); // mono
    h[24..28].copy_from_slice(&AUDIO_SAMPLE_RATE.to_le_bytes());
    h[28..32].copy_from_slice(&(AUDIO_SAMPLE_RATE * 2).to_le_bytes()); // byte rate
    h[32..34].copy_from_slice(&2u16.to_le_bytes()); // block align
    h[34..36].copy_from_slice(&16u16.to_le_bytes()); // bits per sample
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_size.to_le_bytes());
    h
}

/// Writes 48 kHz mono 16-bit PCM `.wav` files.
///
/// The header is written with "unknown" sizes (`0xFFFFFFFF`, which
/// [`WavReader`] reads as "until end of file") and [`finish`](Self::finish)
/// patches the real sizes, so the output must be seekable (a [`File`], a
/// [`std::io::BufWriter`] around one, or an [`io::Cursor`]).
pub struct WavWriter<W: Write + Seek> {
    out: W,
    start: u64,
    data_bytes: u32,
}

impl<W: Write + Seek> WavWriter<W> {
    /// Writes the header at the current position of `out`.
    pub fn create(mut out: W) -> Result<Self, FileError> {
        let start = out.stream_position()?;
        out.write_all(&wav_header(u32::MAX, u32::MAX))?;
        Ok(WavWriter {
            out,
            start,
            data_bytes: 0,
        })
    }

    /// Appends samples (48 kHz mono).
    ///
    /// Fails with [`FileError::Unsupported`] once the file would exceed the
    /// 4 GiB limit of WAV (about 12 hours).
    pub fn write_samples(&mut self, samples: &[i16]) -> Result<(), FileError> {
        let added = u32::try_from(samples.len() * 2)
            .ok()
            .and_then(|n| n.checked_add(self.data_bytes))
            .filter(|&total| total <= u32::MAX - 36)
            .ok_or_else(|| FileError::Unsupported("WAV files are limited to 4 GiB".into()))?;
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        self.out.write_all(&bytes)?;
        self.data_bytes = added;
        Ok(())
    }

    /// Appends one 10 ms frame.
    pub fn write_frame(&mut self, frame: &AudioFrame) -> Result<(), FileError> {
        self.write_samples(&frame.samples)
    }

    /// Number of samples written so far.
    pub fn samples_written(&self) -> u64 {
        u64::from(self.data_bytes / 2)
    }

    /// Patches the RIFF and data chunk sizes, flushes and returns the writer
    /// positioned at the end of the file.
    pub fn finish(mut self) -> Result<W, FileError> {
        let end = self.start + 44 + u64::from(self.data_bytes);
        self.out.seek(SeekFrom::Start(self.start + 4))?;
        self.out.write_all(&(36 + self.data_bytes).to_le_bytes())?;
        self.out.seek(SeekFrom::Start(self.start + 40))?;
        self.out.write_all(&self.data_bytes.to_le_bytes())?;
        self.out.seek(SeekFrom::Start(end))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Reads 16-bit PCM `.wav` files at 48 kHz as mono 10 ms [`AudioFrame`]s.
///
/// Mono and stereo are accepted; stereo is averaged to mono. Other sample
/// rates, sample formats and channel counts are [`FileError::Unsupported`].
pub struct WavReader<R: Read> {
    inner: R,
    channels: u16,
    /// Bytes left in the data chunk; `None` means "until end of file".
    remaining: Option<u64>,
    samples_read: u64,
    buf: Vec<u8>,
}

impl WavReader<BufReader<File>> {
    /// Opens a `.wav` file and parses its header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, FileError> {
        Self::new(BufReader::new(File::open(path)?))
    }
}

fn le16(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Checks a `fmt ` chunk body; returns the channel count.
fn parse_fmt(body: &[u8]) -> Result<u16, FileError> {
    if body.len() < 16 {
        return Err(FileError::BadHeader(format!(
            "fmt chunk has {} bytes, needs at least 16",
            body.len()
        )));
    }
    let (tag, channels, rate) = (le16(&body[0..]), le16(&body[2..]), le32(&body[4..]));
    let (block_align, bits) = (le16(&body[12..]), le16(&body[14..]));
    // WAVE_FORMAT_EXTENSIBLE with the PCM sub-format GUID is PCM too.
    let pcm = tag == 1 || (tag == 0xFFFE && body.len() >= 40 && le16(&body[24..]) == 1);
    if !pcm || bits != 16 {
        return Err(FileError::Unsupported(format!(
            "WAV format tag {tag:#06x} with {bits} bits per sample: only 16-bit integer PCM \
             (format 1) is supported"
        )));
    }
    if !(1..=2).contains(&channels) {
        return Err(FileError::Unsupported(format!(
            "WAV with {channels} channels: only mono and stereo are supported"
        )));
    }
    if rate != AUDIO_SAMPLE_RATE {
        return Err(FileError::Unsupported(format!(
            "WAV sample rate {rate} Hz: only {AUDIO_SAMPLE_RATE} Hz is supported, \
             resample the file to 48 kHz (e.g. `ffmpeg -i in.wav -ar 48000 out.wav`)"
        )));
    }
    if block_align != channels * 2 {
        return Err(FileError::BadHeader(format!(
            "WAV block align {block_align} does not match {channels} channel(s) of 16 bits"
        )));
    }
    Ok(channels)
}

impl<R: Read> WavReader<R> {
    /// Parses the RIFF/WAVE header up to the start of the `data` chunk.
    ///
    /// Chunks other than `fmt ` and `data` (`LIST`, `fact`, …) are skipped,
    /// including the pad byte after odd-sized chunks. A data size of
    /// `0xFFFFFFFF` (an unfinished or streamed file) means "until end of
    /// file".
    pub fn new(mut inner: R) -> Result<Self, FileError> {
        let mut riff = [0u8; 12];
        let n = read_full(&mut inner, &mut riff)?;
        if n < 12 || &riff[0..4] != b"RIFF" || &riff[8..12] != b"WAVE" {
            return Err(FileError::BadHeader("not a RIFF/WAVE file".into()));
        }
        let mut channels = None;
        loop {
            let mut head = [0u8; 8];
            match read_full(&mut inner, &mut head)? {
                0 => return Err(FileError::BadHeader("WAV file has no data chunk".into())),
                8 => {}
                _ => return Err(FileError::Truncated("WAV chunk header cut short".into())),
            }
            let (id, size) = (&head[0..4], le32(&head[4..8]));
            let name = String::from_utf8_lossy(id).into_owned();
            match id {
                b"data" => {
                    let Some(channels) = channels else {
                        return Err(FileError::BadHeader(
                            "WAV data chunk before fmt chunk".into(),
                        ));
                    };
                    return Ok(WavReader {
                        inner,
                        channels,
                        remaining: (size != u32::MAX).then_some(u64::from(size)),
                        samples_read: 0,
                        buf: Vec::new(),
                    });
                }
                b"fmt " => {
                    if size > MAX_FMT_CHUNK {
                        return Err(FileError::BadHeader(format!("fmt chunk of {size} bytes")));
                    }
                    let mut body = vec![0u8; (size + (size & 1)) as usize];
                    if read_full(&mut inner, &mut body)? < body.len() {
                        return Err(FileError::Truncated("WAV fmt chunk cut short".into()));
                    }
                    channels = Some(parse_fmt(&body[..size as usize])?);
                }
                _ => {
                    let skip = u64::from(size) + u64::from(size & 1);
                    if io::copy(&mut (&mut inner).take(skip), &mut io::sink())? < skip {
                        return Err(FileError::Truncated(format!(
                            "WAV '{name}' chunk cut short"
                        )));
                    }
                }
            }
        }
    }

    /// Sample rate of the file in Hz (always 48000; other rates are refused).
    pub fn sample_rate(&self) -> u32 {
        AUDIO_SAMPLE_RATE
    }

    /// Channels in the file (1 or 2); frames are always mono.
    pub fn channels(&self) -> u16 {
        self.channels
    }

    /// Reads up to `max` mono samples onto `out`; returns how many (0 at end).
    fn read_mono(&mut self, max: usize, out: &mut Vec<i16>) -> Result<usize, FileError> {
        let block = usize::from(self.channels) * 2;
        let mut want = (max * block) as u64;
        if let Some(remaining) = self.remaining {
            want = want.min(remaining);
        }
        self.buf.resize(want as usize, 0);
        let got = read_full(&mut self.inner, &mut self.buf)?;
        if let Some(remaining) = &mut self.remaining {
            *remaining -= got as u64;
            if (got as u64) < want {
                return Err(FileError::Truncated(format!(
                    "WAV data ends {remaining} bytes before the size its header declares"
                )));
            }
        }
        if got % block != 0 {
            return Err(FileError::Truncated(
                "WAV data ends in the middle of a sample".into(),
            ));
        }
        out.extend(self.buf[..got].chunks_exact(block).map(|s| {
            if block == 2 {
                le16(s) as i16
            } else {
                ((i32::from(le16(s) as i16) + i32::from(le16(&s[2..]) as i16)) / 2) as i16
            }
        }));
        let n = got / block;
        self.samples_read += n as u64;
        Ok(n)
    }

    /// Reads the next 10 ms frame; `Ok(None)` at the end of the data.
    ///
    /// The last frame is padded with zeros if the data does not fill it.
    /// Frame timestamps start at 0 and advance by 10 ms.
    pub fn read_frame(&mut self) -> Result<Option<AudioFrame>, FileError> {
        let timestamp_us = self.samples_read * 1_000_000 / u64::from(AUDIO_SAMPLE_RATE);
        let mut samples = Vec::with_capacity(SAMPLES_PER_FRAME);
        if self.read_mono(SAMPLES_PER_FRAME, &mut samples)? == 0 {
            return Ok(None);
        }
        let mut frame = AudioFrame::silence(timestamp_us);
        frame.samples[..samples.len()].copy_from_slice(&samples);
        Ok(Some(frame))
    }

    /// Reads all remaining samples as mono, without padding.
    pub fn read_all_samples(&mut self) -> Result<Vec<i16>, FileError> {
        let mut out = Vec::new();
        while self.read_mono(SAMPLES_PER_FRAME * 100, &mut out)? > 0 {}
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A frame whose every byte differs between planes and frames.
    fn pattern(width: u32, height: u32, seed: u8) -> VideoFrame {
        let mut f = VideoFrame::black(width, height).unwrap();
        for (i, b) in f.y_mut().iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(3).wrapping_add(seed);
        }
        for (i, b) in f.u_mut().iter_mut().enumerate() {
            *b = (i as u8).wrapping_add(seed).wrapping_add(100);
        }
        for (i, b) in f.v_mut().iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(7).wrapping_add(seed);
        }
        f
    }

    fn y4m(header: &str, body: &[&[u8]]) -> Vec<u8> {
        let mut out = header.as_bytes().to_vec();
        for part in body {
            out.extend_from_slice(part);
        }
        out
    }

    fn y4m_err(bytes: Vec<u8>) -> FileError {
        Y4mReader::new(Cursor::new(bytes))
            .err()
            .expect("header must be refused")
    }

    #[test]
    fn y4m_round_trip_keeps_planes_size_and_rate() {
        let frames: Vec<_> = (0..3).map(|i| pattern(16, 8, i * 50)).collect();
        let mut w = Y4mWriter::new(Vec::new(), 16, 8, 30000, 1001).unwrap();
        for f in &frames {
            w.write_frame(f).unwrap();
        }
        assert_eq!(w.frames_written(), 3);
        let bytes = w.finish().unwrap();
        let header = b"YUV4MPEG2 W16 H8 F30000:1001 Ip A1:1 C420jpeg\n";
        assert!(bytes.starts_with(header));
        assert_eq!(bytes.len(), header.len() + 3 * (6 + 16 * 8 * 3 / 2));

        let mut r = Y4mReader::new(Cursor::new(bytes)).unwrap();
        assert_eq!((r.width(), r.height(), r.fps()), (16, 8, (30000, 1001)));
        for (i, sent) in frames.iter().enumerate() {
            let got = r.read_frame().unwrap().unwrap();
            assert_eq!((got.y(), got.u(), got.v()), (sent.y(), sent.u(), sent.v()));
            assert_eq!(got.timestamp_us, i as u64 * 1_000_000 * 1001 / 30000);
        }
        assert!(r.read_frame().unwrap().is_none());
        assert!(r.read_frame().unwrap().is_none());
    }

    #[test]
    fn y4m_writer_refuses_other_sizes_and_bad_headers() {
        let mut w = Y4mWriter::new(Vec::new(), 16, 8, 30, 1).unwrap();
        let err = w.write_frame(&pattern(8, 8, 0)).unwrap_err();
        assert!(matches!(
            err,
            FileError::SizeMismatch {
                expected_width: 16,
                expected_height: 8,
                width: 8,
                height: 8
            }
        ));
        assert_eq!(err.to_string(), "frame is 8x8 but the file is 16x8");
        assert_eq!(w.frames_written(), 0);
        let header_len = b"YUV4MPEG2 W16 H8 F30:1 Ip A1:1 C420jpeg\n".len();
        assert_eq!(w.finish().unwrap().len(), header_len);

        assert!(matches!(
            Y4mWriter::new(Vec::new(), 15, 8, 30, 1),
            Err(FileError::Unsupported(_))
        ));
        assert!(matches!(
            Y4mWriter::new(Vec::new(), 16, 8, 30, 0),
            Err(FileError::BadHeader(_))
        ));
    }

    #[test]
    fn y4m_frame_parameters_are_skipped_and_rate_defaults_to_30() {
        let a: Vec<u8> = (0..12).collect();
        let b: Vec<u8> = (100..112).collect();
        let bytes = y4m(
            "YUV4MPEG2 W4 H2 It A0:0 C420mpeg2 XYSCSS=420MPEG2\n",
            &[b"FRAME Ixyz Xfoo=1\n", &a, b"FRAME\n", &b],
        );
        let mut r = Y4mReader::new(Cursor::new(bytes)).unwrap();
        assert_eq!((r.width(), r.height(), r.fps()), (4, 2, (30, 1)));
        assert_eq!(r.read_frame().unwrap().unwrap().to_packed_i420(), a);
        let second = r.read_frame().unwrap().unwrap();
        assert_eq!(second.to_packed_i420(), b);
        assert_eq!(second.timestamp_us, 33_333);
        assert!(r.read_frame().unwrap().is_none());

        for c in ["C420", "C420jpeg", "C420paldv"] {
            let header = format!("YUV4MPEG2 F25:1 H2 W4 {c}\n");
            let r = Y4mReader::new(Cursor::new(header.into_bytes())).unwrap();
            assert_eq!(r.fps(), (25, 1));
        }
    }

    #[test]
    fn y4m_truncated_frames_are_errors() {
        let full: Vec<u8> = (0..12).collect();
        let bytes = y4m(
            "YUV4MPEG2 W4 H2 F30:1\n",
            &[b"FRAME\n", &full, b"FRAME\n", &full[..7]],
        );
        let mut r = Y4mReader::new(Cursor::new(bytes)).unwrap();
        assert!(r.read_frame().unwrap().is_some());
        let err = r.read_frame().unwrap_err();
        assert!(matches!(err, FileError::Truncated(_)), "{err}");
        assert!(err.to_string().contains("7 of its 12 bytes"), "{err}");

        let bytes = y4m("YUV4MPEG2 W4 H2\n", &[b"FRAME"]);
        let mut r = Y4mReader::new(Cursor::new(bytes)).unwrap();
        assert!(matches!(r.read_frame(), Err(FileError::Truncated(_))));

        let bytes = y4m("YUV4MPEG2 W4 H2\n", &[b"FRAMX\n", &full]);
        let mut r = Y4mReader::new(Cursor::new(bytes)).unwrap();
        assert!(matches!(r.read_frame(), Err(FileError::BadHeader(_))));
    }

    #[test]
    fn y4m_refuses_other_chroma_and_absurd_headers() {
        let err = y4m_err(b"YUV4MPEG2 W4 H2 F30:1 C444\n".to_vec());
        assert!(matches!(err, FileError::Unsupported(_)));
        assert!(err.to_string().contains("C444"), "{err}");
        let err = y4m_err(b"YUV4MPEG2 W4 H2 C420p10 XYSCSS=420P10\n".to_vec());
        assert!(err.to_string().contains("C420p10"), "{err}");

        for size in ["W0 H2", "W5 H2", "W4 H8194", "W99999999999 H2"] {
            let err = y4m_err(format!("YUV4MPEG2 {size}\n").into_bytes());
            assert!(
                matches!(err, FileError::Unsupported(_) | FileError::BadHeader(_)),
                "{size}"
            );
        }
        assert!(y4m_err(b"YUV4MPEG2 W4 H8194\n".to_vec())
            .to_string()
            .contains("8192"));
        assert!(matches!(
            y4m_err(b"YUV4MPEG2 W4\n".to_vec()),
            FileError::BadHeader(_)
        ));
        assert!(matches!(
            y4m_err(b"YUV4MPEG2 W4 H2 F30:0\n".to_vec()),
            FileError::BadHeader(_)
        ));
        assert!(matches!(
            y4m_err(b"YUV4MPEG2 W4 H2 F30\n".to_vec()),
            FileError::BadHeader(_)
        ));
        assert!(matches!(
            y4m_err(b"RIFF....WAVE".to_vec()),
            FileError::BadHeader(_)
        ));
        assert!(matches!(y4m_err(Vec::new()), FileError::BadHeader(_)));
        assert!(matches!(
            y4m_err(b"YUV4MPEG2 W4 H2".to_vec()),
            FileError::Truncated(_)
        ));
        let long = format!("YUV4MPEG2 W4 H2 X{}\n", "a".repeat(5000));
        assert!(matches!(
            y4m_err(long.into_bytes()),
            FileError::BadHeader(_)
        ));
    }

    /// A WAV file built by hand: `fmt ` body fields, extra chunks before
    /// `data`, and the raw data bytes.
    fn wav(
        tag: u16,
        channels: u16,
        rate: u32,
        extra: &[(&[u8; 4], &[u8])],
        data: &[u8],
    ) -> Vec<u8> {
        let mut fmt = Vec::new();
        fmt.extend_from_slice(&tag.to_le_bytes());
        fmt.extend_from_slice(&channels.to_le_bytes());
        fmt.extend_from_slice(&rate.to_le_bytes());
        fmt.extend_from_slice(&(rate * u32::from(channels) * 2).to_le_bytes());
        fmt.extend_from_slice(&(channels * 2).to_le_bytes());
        fmt.extend_from_slice(&16u16.to_le_bytes());
        let mut chunks = Vec::new();
        let mut push = |id: &[u8; 4], body: &[u8]| {
            chunks.extend_from_slice(id);
            chunks.extend_from_slice(&(body.len() as u32).to_le_bytes());
            chunks.extend_from_slice(body);
            if body.len() % 2 == 1 {
                chunks.push(0);
            }
        };
        push(b"fmt ", &fmt);
        for (id, body) in extra {
            push(id, body);
        }
        push(b"data", data);
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(4 + chunks.len() as u32).to_le_bytes());
        out.extend_from_slice(b"WAVE");
        out.extend_from_slice(&chunks);
        out
    }

    fn pcm(samples: &[i16]) -> Vec<u8> {
        samples.iter().flat_map(|s| s.to_le_bytes()).collect()
    }

    fn wav_err(bytes: Vec<u8>) -> FileError {
        WavReader::new(Cursor::new(bytes))
            .err()
            .expect("WAV must be refused")
    }

    #[test]
    fn wav_round_trip_and_finish_patches_sizes() {
        let samples: Vec<i16> = (0..960).map(|i| (i * 67 - 30_000) as i16).collect();
        let mut w = WavWriter::create(Cursor::new(Vec::new())).unwrap();
        for frame in AudioFrame::split_pcm(&samples, 0) {
            w.write_frame(&frame).unwrap();
        }
        assert_eq!(w.samples_written(), 960);
        let bytes = w.finish().unwrap().into_inner();

        assert_eq!(bytes.len(), 44 + 1920);
        assert_eq!(&bytes[0..4], b"RIFF");
        assert_eq!(le32(&bytes[4..]), 36 + 1920);
        assert_eq!(&bytes[8..16], b"WAVEfmt ");
        assert_eq!(le32(&bytes[16..]), 16);
        assert_eq!((le16(&bytes[20..]), le16(&bytes[22..])), (1, 1));
        assert_eq!((le32(&bytes[24..]), le32(&bytes[28..])), (48_000, 96_000));
        assert_eq!((le16(&bytes[32..]), le16(&bytes[34..])), (2, 16));
        assert_eq!(&bytes[36..40], b"data");
        assert_eq!(le32(&bytes[40..]), 1920);
        assert_eq!(bytes[44..], pcm(&samples)[..]);

        let mut r = WavReader::new(Cursor::new(bytes)).unwrap();
        assert_eq!((r.sample_rate(), r.channels()), (48_000, 1));
        let first = r.read_frame().unwrap().unwrap();
        assert_eq!(first.samples[..], samples[..480]);
        assert_eq!(first.timestamp_us, 0);
        assert_eq!(r.read_all_samples().unwrap(), samples[480..]);
        assert!(r.read_frame().unwrap().is_none());
    }

    #[test]
    fn wav_writer_works_on_a_file_and_unfinished_files_read_to_the_end() {
        let path =
            std::env::temp_dir().join(format!("hotline-files-test-{}.wav", std::process::id()));
        let samples: Vec<i16> = (0..1234).map(|i| (i * 13) as i16).collect();
        let mut w = WavWriter::create(io::BufWriter::new(File::create(&path).unwrap())).unwrap();
        w.write_samples(&samples).unwrap();
        drop(w.finish().unwrap());
        let got = WavReader::open(&path).unwrap().read_all_samples();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(got.unwrap(), samples);

        // Without finish() the sizes stay 0xFFFFFFFF: read until end of file.
        let mut w = WavWriter::create(Cursor::new(Vec::new())).unwrap();
        w.write_samples(&samples).unwrap();
        let bytes = w.out.into_inner();
        assert_eq!(le32(&bytes[40..]), u32::MAX);
        assert_eq!(
            WavReader::new(Cursor::new(bytes))
                .unwrap()
                .read_all_samples()
                .unwrap(),
            samples
        );
    }

    #[test]
    fn wav_stereo_is_averaged_to_mono() {
        let interleaved = [1000, -200, i16::MAX, i16::MAX, i16::MIN, i16::MIN, -7, 4];
        let mut r =
            WavReader::new(Cursor::new(wav(1, 2, 48_000, &[], &pcm(&interleaved)))).unwrap();
        assert_eq!(r.channels(), 2);
        let frame = r.read_frame().unwrap().unwrap();
        assert_eq!(frame.samples[..4], [400, i16::MAX, i16::MIN, -1]);
        assert!(frame.samples[4..].iter().all(|&s| s == 0));
        assert!(r.read_frame().unwrap().is_none());
    }

    #[test]
    fn wav_skips_unknown_chunks_with_pad_bytes() {
        let samples = [5i16, -5, 300, -300];
        let extra: &[(&[u8; 4], &[u8])] = &[(b"LIST", b"INFOx"), (b"fact", &[4, 0, 0, 0])];
        let bytes = wav(1, 1, 48_000, extra, &pcm(&samples));
        let mut r = WavReader::new(Cursor::new(bytes)).unwrap();
        assert_eq!(r.read_all_samples().unwrap(), samples);

        // The same with WAVE_FORMAT_EXTENSIBLE (PCM sub-format).
        let mut bytes = wav(1, 1, 48_000, &[], &pcm(&samples));
        let mut ext = bytes[20..36].to_vec();
        ext[0..2].copy_from_slice(&0xFFFEu16.to_le_bytes());
        ext.extend_from_slice(&[22, 0, 16, 0, 4, 0, 0, 0, 1, 0]);
        ext.extend_from_slice(&[0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71]);
        bytes.splice(
            16..36,
            [(ext.len() as u32).to_le_bytes().to_vec(), ext].concat(),
        );
        let mut r = WavReader::new(Cursor::new(bytes)).unwrap();
        assert_eq!(r.read_all_samples().unwrap(), samples);
    }

    #[test]
    fn wav_refuses_other_rates_and_formats() {
        let err = wav_err(wav(1, 1, 44_100, &[], &pcm(&[0; 4])));
        assert!(matches!(err, FileError::Unsupported(_)));
        let msg = err.to_string();
        assert!(
            msg.contains("44100") && msg.contains("resample") && msg.contains("48 kHz"),
            "{msg}"
        );

        assert!(wav_err(wav(3, 1, 48_000, &[], &[0; 8]))
            .to_string()
            .contains("16-bit integer PCM"));
        let mut bits24 = wav(1, 1, 48_000, &[], &[0; 6]);
        bits24[34] = 24;
        assert!(matches!(wav_err(bits24), FileError::Unsupported(_)));
        assert!(matches!(
            wav_err(wav(1, 6, 48_000, &[], &[])),
            FileError::Unsupported(_)
        ));
        assert!(matches!(
            wav_err(b"RIFF\0\0\0\0AVI ".to_vec()),
            FileError::BadHeader(_)
        ));
        let mut no_data = wav(1, 1, 48_000, &[], &[]);
        no_data.truncate(36);
        assert!(matches!(wav_err(no_data), FileError::BadHeader(_)));
    }

    #[test]
    fn wav_partial_last_frame_is_zero_padded_and_short_data_is_an_error() {
        let samples: Vec<i16> = (1..=1000).collect();
        let mut r = WavReader::new(Cursor::new(wav(1, 1, 48_000, &[], &pcm(&samples)))).unwrap();
        let frames: Vec<_> = std::iter::from_fn(|| r.read_frame().unwrap()).collect();
        assert_eq!(frames.len(), 3);
        assert_eq!(
            frames.iter().map(|f| f.timestamp_us).collect::<Vec<_>>(),
            [0, 10_000, 20_000]
        );
        assert_eq!(frames[2].samples[..40], samples[960..]);
        assert!(frames[2].samples[40..].iter().all(|&s| s == 0));

        let mut bytes = wav(1, 1, 48_000, &[], &pcm(&samples));
        bytes.truncate(bytes.len() - 20); // 990 of the 1000 samples
        let mut r = WavReader::new(Cursor::new(bytes)).unwrap();
        assert!(r.read_frame().unwrap().is_some());
        assert!(r.read_frame().unwrap().is_some());
        assert!(matches!(r.read_frame(), Err(FileError::Truncated(_))));
    }
}
