//! Synthetic media for tests, the CLI's `--camera synthetic` and `--mic tone`,
//! and the measurements that compare received media with what was sent.
//!
//! The video pattern writes its frame number into the picture as a block code
//! that survives H.264 compression: two rows of 16 cells in the top-left
//! corner, each cell a flat black or white square aligned to 8×8 blocks.
//! Row 0 holds the marker cells white, black and 14 data bits; row 1 holds
//! black, white, 10 data bits and a 4-bit check. That is 24 bits of frame
//! number (it wraps after 16,777,216 frames, 13 days at 15 fps). The rest of
//! the picture is a moving diagonal gradient with a moving square, so the
//! encoder has real motion to code.

use crate::frame::{AudioFrame, VideoFrame, AUDIO_FRAME_US, AUDIO_SAMPLE_RATE, SAMPLES_PER_FRAME};

const CELLS_PER_ROW: u32 = 16;
const CODE_BITS: u32 = 24;
const WHITE: u8 = 235;
const BLACK: u8 = 16;

/// Side of one code cell in pixels for a picture of this size: 16 px at
/// 360p, scaled with the shorter side, a multiple of 8, at least 8.
fn cell_size(width: u32, height: u32) -> u32 {
    let short = width.min(height);
    let c = (short * 16 / 360) / 8 * 8;
    c.clamp(8, 64).min(width / CELLS_PER_ROW / 8 * 8).max(8)
}

fn check_nibble(n: u32) -> u32 {
    // Sum of the six nibbles plus a constant, so all-black or all-white
    // pictures do not validate.
    ((0..6).map(|i| (n >> (4 * i)) & 0xF).sum::<u32>() + 5) & 0xF
}

/// The 32 cell values (true = white), row 0 then row 1.
fn code_cells(number: u32) -> [bool; 32] {
    let n = number & ((1 << CODE_BITS) - 1);
    let mut cells = [false; 32];
    cells[0] = true;
    cells[1] = false;
    for i in 0..14 {
        cells[2 + i] = (n >> (23 - i)) & 1 == 1;
    }
    cells[16] = false;
    cells[17] = true;
    for i in 0..10 {
        cells[18 + i] = (n >> (9 - i)) & 1 == 1;
    }
    let check = check_nibble(n);
    for i in 0..4 {
        cells[28 + i] = (check >> (3 - i)) & 1 == 1;
    }
    cells
}

/// Generates test pictures whose frame number can be read back after coding.
#[derive(Debug, Clone)]
pub struct VideoPattern {
    width: u32,
    height: u32,
    next_number: u32,
}

impl VideoPattern {
    /// A generator for pictures of this size (even, at least 128×64 so the
    /// code fits).
    pub fn new(width: u32, height: u32) -> Self {
        VideoPattern {
            width,
            height,
            next_number: 0,
        }
    }

    /// The next picture, numbered 0, 1, 2, … .
    pub fn next_frame(&mut self, timestamp_us: u64) -> VideoFrame {
        let frame = self.frame(self.next_number, timestamp_us);
        self.next_number = self.next_number.wrapping_add(1);
        frame
    }

    /// The picture with a given number.
    pub fn frame(&self, number: u32, timestamp_us: u64) -> VideoFrame {
        let (w, h) = (self.width, self.height);
        let mut frame = VideoFrame::black(w, h).expect("VideoPattern needs even dimensions");
        frame.timestamp_us = timestamp_us;
        let stride = frame.stride_y();
        let shift = number.wrapping_mul(4);
        // Moving diagonal gradient.
        {
            let y_plane = frame.y_mut();
            let period = 2 * (w + h);
            for row in 0..h {
                for col in 0..w {
                    let t = (col + row + shift) % period;
                    let tri = if t < period / 2 { t } else { period - t }; // 0..=period/2
                    y_plane[row as usize * stride + col as usize] =
                        (40 + tri * 170 / (period / 2)) as u8;
                }
            }
            // Moving square, a quarter of the height.
            let side = (h / 4).max(8);
            let x0 = (number.wrapping_mul(6)) % (w.saturating_sub(side).max(1));
            let y0 = h / 2;
            for row in y0..(y0 + side).min(h) {
                for col in x0..(x0 + side).min(w) {
                    y_plane[row as usize * stride + col as usize] = 200;
                }
            }
        }
        let cstride = frame.stride_uv();
        for (plane, phase) in [(0usize, 0u32), (1, 37)] {
            let data = if plane == 0 {
                frame.u_mut()
            } else {
                frame.v_mut()
            };
            for row in 0..h / 2 {
                for col in 0..w / 2 {
                    let t = (col * 2 + phase + shift / 2) % 256;
                    let tri = if t < 128 { t } else { 255 - t };
                    data[row as usize * cstride + col as usize] = (96 + tri / 2) as u8;
                }
            }
        }
        self.draw_code(&mut frame, number);
        frame
    }

    fn draw_code(&self, frame: &mut VideoFrame, number: u32) {
        let c = cell_size(self.width, self.height);
        let stride = frame.stride_y();
        let cstride = frame.stride_uv();
        let cells = code_cells(number);
        for (i, &white) in cells.iter().enumerate() {
            let (cx, cy) = (
                (i as u32 % CELLS_PER_ROW) * c,
                (i as u32 / CELLS_PER_ROW) * c,
            );
            let value = if white { WHITE } else { BLACK };
            for row in cy..cy + c {
                let start = row as usize * stride + cx as usize;
                frame.y_mut()[start..start + c as usize].fill(value);
            }
            for row in cy / 2..(cy + c) / 2 {
                let start = row as usize * cstride + cx as usize / 2;
                frame.u_mut()[start..start + c as usize / 2].fill(128);
                frame.v_mut()[start..start + c as usize / 2].fill(128);
            }
        }
    }
}

/// Reads the frame number written by [`VideoPattern`], or `None` when the
/// code is missing or damaged (markers or check bits wrong).
pub fn read_frame_number(frame: &VideoFrame) -> Option<u32> {
    let c = cell_size(frame.width(), frame.height());
    if c * CELLS_PER_ROW > frame.width() || 2 * c > frame.height() {
        return None;
    }
    let mut cells = [false; 32];
    for (i, cell) in cells.iter_mut().enumerate() {
        let (cx, cy) = (
            (i as u32 % CELLS_PER_ROW) * c,
            (i as u32 / CELLS_PER_ROW) * c,
        );
        // Average the middle half of the cell.
        let (mut sum, mut n) = (0u32, 0u32);
        for y in cy + c / 4..cy + 3 * c / 4 {
            for x in cx + c / 4..cx + 3 * c / 4 {
                sum += u32::from(frame.luma(x, y));
                n += 1;
            }
        }
        let mean = sum / n;
        *cell = mean > 126;
    }
    let mut n = 0u32;
    for i in 0..14 {
        n = (n << 1) | u32::from(cells[2 + i]);
    }
    for i in 0..10 {
        n = (n << 1) | u32::from(cells[18 + i]);
    }
    (code_cells(n) == cells).then_some(n)
}

/// Peak signal-to-noise ratio of the Y planes, in dB. Identical pictures give
/// `f64::INFINITY`; pictures of different sizes give 0.
pub fn psnr(a: &VideoFrame, b: &VideoFrame) -> f64 {
    if a.width() != b.width() || a.height() != b.height() {
        return 0.0;
    }
    let (w, h) = (a.width() as usize, a.height() as usize);
    mse_to_psnr(plane_sse(a.y(), a.stride_y(), b.y(), b.stride_y(), w, h) / (w * h) as f64)
}

/// PSNR over Y, U and V together (the 4:2:0 samples weighted equally, so Y
/// counts four times as much as each chroma plane). Sizes must match, as in
/// [`psnr`].
pub fn psnr_yuv(a: &VideoFrame, b: &VideoFrame) -> f64 {
    if a.width() != b.width() || a.height() != b.height() {
        return 0.0;
    }
    let (w, h) = (a.width() as usize, a.height() as usize);
    let sse = plane_sse(a.y(), a.stride_y(), b.y(), b.stride_y(), w, h)
        + plane_sse(a.u(), a.stride_uv(), b.u(), b.stride_uv(), w / 2, h / 2)
        + plane_sse(a.v(), a.stride_uv(), b.v(), b.stride_uv(), w / 2, h / 2);
    mse_to_psnr(sse / (w * h * 3 / 2) as f64)
}

fn plane_sse(a: &[u8], sa: usize, b: &[u8], sb: usize, w: usize, h: usize) -> f64 {
    let mut sse = 0u64;
    for row in 0..h {
        let ra = &a[row * sa..row * sa + w];
        let rb = &b[row * sb..row * sb + w];
        for (&x, &y) in ra.iter().zip(rb) {
            let d = i64::from(x) - i64::from(y);
            sse += (d * d) as u64;
        }
    }
    sse as f64
}

fn mse_to_psnr(mse: f64) -> f64 {
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0 * 255.0 / mse).log10()
    }
}

/// A sine tone split into [`AudioFrame`]s, phase-continuous across frames.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    frequency_hz: f64,
    amplitude: f64,
    sample_index: u64,
    start_timestamp_us: u64,
}

impl ToneGenerator {
    /// A tone of `frequency_hz` with peak `amplitude` (0.0–1.0 of full scale).
    pub fn new(frequency_hz: f64, amplitude: f64) -> Self {
        ToneGenerator {
            frequency_hz,
            amplitude: amplitude.clamp(0.0, 1.0),
            sample_index: 0,
            start_timestamp_us: 0,
        }
    }

    /// The next 10 ms; timestamps start at 0 and advance by 10 ms.
    pub fn next_frame(&mut self) -> AudioFrame {
        let mut frame = AudioFrame::silence(
            self.start_timestamp_us + self.sample_index / SAMPLES_PER_FRAME as u64 * AUDIO_FRAME_US,
        );
        for s in frame.samples.iter_mut() {
            let t = self.sample_index as f64 / f64::from(AUDIO_SAMPLE_RATE);
            *s = (self.amplitude
                * 32767.0
                * (2.0 * std::f64::consts::PI * self.frequency_hz * t).sin())
            .round() as i16;
            self.sample_index += 1;
        }
        frame
    }
}

/// Normalized cross-correlation of two signals at zero lag, over their
/// common length: 1.0 for identical shapes, about 0 for unrelated signals.
/// Returns 0 when either signal is silent.
pub fn normalized_cross_correlation(a: &[i16], b: &[i16]) -> f64 {
    let n = a.len().min(b.len());
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for i in 0..n {
        let (x, y) = (f64::from(a[i]), f64::from(b[i]));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        ab / (aa.sqrt() * bb.sqrt())
    }
}

/// Finds the delay of `received` against `reference` (0..=`max_lag`
/// samples, `received` lagging) with the highest normalized
/// cross-correlation, and returns `(lag, correlation)`.
pub fn align_and_correlate(reference: &[i16], received: &[i16], max_lag: usize) -> (usize, f64) {
    let mut best = (0, f64::MIN);
    for lag in 0..=max_lag.min(received.len()) {
        let ncc = normalized_cross_correlation(reference, &received[lag..]);
        if ncc > best.1 {
            best = (lag, ncc);
        }
    }
    best
}

/// How well received audio carries a tone of `hz`, window by window.
///
/// Windows of 200 ms start half a second after the first non-zero sample
/// (start-up and the jitter buffer filling), one every `step` samples, at
/// most `max_windows`. Each is scored by its best normalized correlation with
/// the tone at any phase (a lag within one period); the amplitude does not
/// matter. Empty when the audio is silent or too short for one window.
pub fn tone_window_correlations(
    samples: &[i16],
    hz: f64,
    step: usize,
    max_windows: usize,
) -> Vec<f64> {
    let Some(first_sound) = samples.iter().position(|&s| s != 0) else {
        return Vec::new();
    };
    let start = first_sound + AUDIO_SAMPLE_RATE as usize / 2;
    let mut tone = ToneGenerator::new(hz, 0.5);
    let reference: Vec<i16> = (0..20).flat_map(|_| tone.next_frame().samples).collect();
    let period = (f64::from(AUDIO_SAMPLE_RATE) / hz).ceil() as usize + 1;
    (0..max_windows)
        .map(|i| start + i * step.max(1))
        .take_while(|&s| s + reference.len() + period <= samples.len())
        .map(|s| {
            align_and_correlate(
                &reference,
                &samples[s..s + reference.len() + period],
                period,
            )
            .1
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_number_round_trips_raw_at_several_sizes() {
        for (w, h) in [(640, 360), (360, 640), (1280, 720), (160, 120)] {
            let pattern = VideoPattern::new(w, h);
            for n in [0u32, 1, 2, 255, 4096, 65_535, 0xAB_CDEF] {
                assert_eq!(
                    read_frame_number(&pattern.frame(n, 0)),
                    Some(n),
                    "{w}x{h} #{n}"
                );
            }
        }
    }

    #[test]
    fn unmarked_pictures_have_no_number() {
        assert_eq!(
            read_frame_number(&VideoFrame::black(640, 360).unwrap()),
            None
        );
        assert_eq!(
            read_frame_number(&VideoFrame::filled(640, 360, (235, 128, 128)).unwrap()),
            None
        );
    }

    #[test]
    fn psnr_of_identical_and_shifted_pictures() {
        let p = VideoPattern::new(320, 240);
        let a = p.frame(3, 0);
        assert!(psnr(&a, &a).is_infinite());
        let b = p.frame(4, 0);
        let d = psnr(&a, &b);
        assert!(d > 5.0 && d < 40.0, "{d}");
        assert!(psnr_yuv(&a, &b).is_finite());
    }

    #[test]
    fn tone_is_continuous_and_correlates_with_itself_only_when_aligned() {
        let mut g = ToneGenerator::new(440.0, 0.5);
        let pcm: Vec<i16> = (0..10).flat_map(|_| g.next_frame().samples).collect();
        assert!((normalized_cross_correlation(&pcm, &pcm) - 1.0).abs() < 1e-9);
        let delayed: Vec<i16> = std::iter::repeat_n(0, 37)
            .chain(pcm.iter().copied())
            .collect();
        let (lag, ncc) = align_and_correlate(&pcm, &delayed, 200);
        assert_eq!(lag, 37);
        assert!(ncc > 0.99);
        let mut g2 = ToneGenerator::new(440.0, 0.5);
        assert_eq!(g2.next_frame().timestamp_us, 0);
        assert_eq!(g2.next_frame().timestamp_us, 10_000);
    }

    #[test]
    fn tone_windows_find_the_tone_at_any_phase_and_not_another() {
        let mut pcm = vec![0i16; 4_800];
        let mut tone = ToneGenerator::new(440.0, 0.2);
        for _ in 0..7 {
            tone.next_frame(); // an arbitrary phase
        }
        pcm.extend((0..200).flat_map(|_| tone.next_frame().samples));
        let at_440 = tone_window_correlations(&pcm, 440.0, 4_800, 10);
        assert_eq!(at_440.len(), 10);
        assert!(at_440.iter().all(|&c| c > 0.99), "{at_440:?}");
        let at_660 = tone_window_correlations(&pcm, 660.0, 4_800, 10);
        assert!(at_660.iter().all(|&c| c < 0.5), "{at_660:?}");
        assert!(tone_window_correlations(&[0; 48_000], 440.0, 4_800, 10).is_empty());
        assert!(tone_window_correlations(&pcm[..30_000], 440.0, 4_800, 10).len() < 10);
    }
}
