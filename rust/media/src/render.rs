//! Showing a decoded picture in a view: rotation and fill/fit scaling.
//!
//! A renderer (a shell's view, the CLI's recorder) shows a [`VideoFrame`]
//! upright by applying the frame's own `rotation` plus the extra rotation the
//! app asked for (`setVideoRenderParams`), then fits the result into its view:
//! [`FillMode::Fill`] covers the view and crops what overflows,
//! [`FillMode::Fit`] shows the whole picture with black bars. Both centre the
//! picture.
//!
//! Scaling is separable and linear: bilinear when enlarging, a triangle
//! filter as wide as the step when shrinking (so shrunk pictures do not
//! alias). Luma and chroma are scaled alike; edges repeat the outermost pixel.

use crate::frame::{FrameError, Rotation, VideoFrame};

/// How a renderer fits the picture into its view (TUICallEngine's `fillMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FillMode {
    /// Cover the view, cropping the picture (centred; what overflows the
    /// view is cut off).
    #[default]
    Fill,
    /// Show the whole picture, with bars (letterbox or pillarbox: centred,
    /// the rest of the view black).
    Fit,
}

/// The rotation `a` followed by `b` (the sum of their angles, mod 360).
pub fn combine(a: Rotation, b: Rotation) -> Rotation {
    Rotation::from_degrees((a.degrees() + b.degrees()) % 360).expect("a multiple of 90")
}

/// Rotates the pixels clockwise by `rotation` (the frame's own `rotation`
/// field is not looked at: see [`upright`]). The result is marked
/// [`Rotation::R0`], keeps the timestamp, and for 90 and 270 degrees has
/// width and height swapped.
pub fn rotate(frame: &VideoFrame, rotation: Rotation) -> VideoFrame {
    let (w, h) = (frame.width(), frame.height());
    let (ow, oh) = match rotation {
        Rotation::R90 | Rotation::R270 => (h, w),
        Rotation::R0 | Rotation::R180 => (w, h),
    };
    let mut out = VideoFrame::black(ow, oh).expect("a valid frame's size, maybe swapped");
    let (w, h) = (w as usize, h as usize);
    let (oy, ouv) = (out.stride_y(), out.stride_uv());
    let (sy, suv) = (frame.stride_y(), frame.stride_uv());
    rotate_plane(frame.y(), sy, w, h, out.y_mut(), oy, rotation);
    rotate_plane(frame.u(), suv, w / 2, h / 2, out.u_mut(), ouv, rotation);
    rotate_plane(frame.v(), suv, w / 2, h / 2, out.v_mut(), ouv, rotation);
    out.timestamp_us = frame.timestamp_us;
    out
}

/// The frame as it should be seen: rotated by its own `rotation` plus
/// `extra_rotation`, at its own (possibly swapped) size, marked `R0`.
pub fn upright(frame: &VideoFrame, extra_rotation: Rotation) -> VideoFrame {
    rotate(frame, combine(frame.rotation, extra_rotation))
}

/// Renders `frame` into a view of `view_w`×`view_h`: rotates it by its own
/// rotation plus `extra_rotation`, then scales it to cover the view and
/// centre-crops ([`FillMode::Fill`]) or to fit inside it, centred on black
/// ([`FillMode::Fit`]). The result is the view's size, marked `R0`, with the
/// frame's timestamp. The view's sides must be even and 2–8192.
pub fn render(
    frame: &VideoFrame,
    extra_rotation: Rotation,
    mode: FillMode,
    view_w: u32,
    view_h: u32,
) -> Result<VideoFrame, FrameError> {
    let mut out = VideoFrame::black(view_w, view_h)?;
    let total = combine(frame.rotation, extra_rotation);
    let rotated;
    let src = if total == Rotation::R0 {
        frame
    } else {
        rotated = rotate(frame, total);
        &rotated
    };
    let (sw, sh) = (f64::from(src.width()), f64::from(src.height()));
    let (vw, vh) = (f64::from(view_w), f64::from(view_h));
    match mode {
        FillMode::Fill => {
            // The part of the picture that covers the view, centred.
            let scale = (vw / sw).max(vh / sh);
            let (cw, ch) = ((vw / scale).min(sw), (vh / scale).min(sh));
            let window = Window {
                x: (sw - cw) / 2.0,
                y: (sh - ch) / 2.0,
                w: cw,
                h: ch,
            };
            let area = Area {
                x: 0,
                y: 0,
                w: view_w as usize,
                h: view_h as usize,
            };
            scale_frame(src, window, &mut out, area);
        }
        FillMode::Fit => {
            // The whole picture in an even-sized, even-placed area (so the
            // chroma planes line up), centred; the rest stays black.
            let scale = (vw / sw).min(vh / sh);
            let even = |v: f64, max: u32| (((v / 2.0).round() as u32) * 2).clamp(2, max);
            let (w, h) = (even(sw * scale, view_w), even(sh * scale, view_h));
            let window = Window {
                x: 0.0,
                y: 0.0,
                w: sw,
                h: sh,
            };
            let area = Area {
                x: (((view_w - w) / 2) & !1) as usize,
                y: (((view_h - h) / 2) & !1) as usize,
                w: w as usize,
                h: h as usize,
            };
            scale_frame(src, window, &mut out, area);
        }
    }
    out.timestamp_us = frame.timestamp_us;
    Ok(out)
}

fn rotate_plane(
    src: &[u8],
    src_stride: usize,
    w: usize,
    h: usize,
    dst: &mut [u8],
    dst_stride: usize,
    rotation: Rotation,
) {
    match rotation {
        Rotation::R0 => {
            for row in 0..h {
                dst[row * dst_stride..][..w].copy_from_slice(&src[row * src_stride..][..w]);
            }
        }
        Rotation::R180 => {
            for row in 0..h {
                let s = &src[(h - 1 - row) * src_stride..][..w];
                let d = &mut dst[row * dst_stride..][..w];
                for (d, s) in d.iter_mut().zip(s.iter().rev()) {
                    *d = *s;
                }
            }
        }
        // The result is h wide and w tall.
        Rotation::R90 => {
            // Output (x, y) comes from input (y, h - 1 - x).
            for y in 0..w {
                let d = &mut dst[y * dst_stride..][..h];
                for (x, d) in d.iter_mut().enumerate() {
                    *d = src[(h - 1 - x) * src_stride + y];
                }
            }
        }
        Rotation::R270 => {
            // Output (x, y) comes from input (w - 1 - y, x).
            for y in 0..w {
                let d = &mut dst[y * dst_stride..][..h];
                let col = w - 1 - y;
                for (x, d) in d.iter_mut().enumerate() {
                    *d = src[x * src_stride + col];
                }
            }
        }
    }
}

/// A part of the source picture, in luma pixels (fractional).
#[derive(Debug, Clone, Copy)]
struct Window {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

/// A part of the output picture, in luma pixels (even, for chroma).
/// `frame` scaled to `width`×`height` (stretched if the shapes differ),
/// keeping its rotation and timestamp: the picture an encoder sends when
/// the link cannot carry the camera's size. Sides must be even and 2–8192.
pub fn resize(frame: &VideoFrame, width: u32, height: u32) -> Result<VideoFrame, FrameError> {
    if (width, height) == (frame.width(), frame.height()) {
        return Ok(frame.clone());
    }
    let mut out = VideoFrame::black(width, height)?;
    let window = Window {
        x: 0.0,
        y: 0.0,
        w: f64::from(frame.width()),
        h: f64::from(frame.height()),
    };
    let area = Area {
        x: 0,
        y: 0,
        w: width as usize,
        h: height as usize,
    };
    scale_frame(frame, window, &mut out, area);
    out.timestamp_us = frame.timestamp_us;
    out.rotation = frame.rotation;
    Ok(out)
}

#[derive(Debug, Clone, Copy)]
struct Area {
    x: usize,
    y: usize,
    w: usize,
    h: usize,
}

/// Scales `window` of `src` onto `area` of `out`, all three planes.
fn scale_frame(src: &VideoFrame, window: Window, out: &mut VideoFrame, area: Area) {
    let (sw, sh) = (src.width() as usize, src.height() as usize);
    let (oy, ouv) = (out.stride_y(), out.stride_uv());
    let plane = Plane {
        stride: src.stride_y(),
        w: sw,
        h: sh,
    };
    scale_plane(src.y(), plane, window, out.y_mut(), oy, area);
    let plane = Plane {
        stride: src.stride_uv(),
        w: sw / 2,
        h: sh / 2,
    };
    let window = Window {
        x: window.x / 2.0,
        y: window.y / 2.0,
        w: window.w / 2.0,
        h: window.h / 2.0,
    };
    let area = Area {
        x: area.x / 2,
        y: area.y / 2,
        w: area.w / 2,
        h: area.h / 2,
    };
    scale_plane(src.u(), plane, window, out.u_mut(), ouv, area);
    scale_plane(src.v(), plane, window, out.v_mut(), ouv, area);
}

/// One source plane's layout.
#[derive(Debug, Clone, Copy)]
struct Plane {
    stride: usize,
    w: usize,
    h: usize,
}

/// Per output position along one axis, `taps` source indices and weights
/// (summing to 1).
struct Taps {
    taps: usize,
    index: Vec<usize>,
    weight: Vec<f32>,
}

impl Taps {
    /// Output positions `0..out_len` take source `offset..offset + span`
    /// (pixel edges) of a line of `src_len` pixels. The filter is a triangle
    /// of half-width max(1, step): bilinear when enlarging, averaging the
    /// covered pixels when shrinking.
    fn new(src_len: usize, offset: f64, span: f64, out_len: usize) -> Taps {
        let step = span / out_len as f64;
        let radius = step.max(1.0);
        let taps = (2.0 * radius).ceil() as usize + 1;
        let mut index = Vec::with_capacity(out_len * taps);
        let mut weight = Vec::with_capacity(out_len * taps);
        let last = src_len as i64 - 1;
        for i in 0..out_len {
            let centre = offset + (i as f64 + 0.5) * step - 0.5;
            // The first source pixel strictly inside (centre - radius, ...).
            let first = (centre - radius).floor() as i64 + 1;
            let start = weight.len();
            let mut sum = 0.0;
            for k in 0..taps as i64 {
                let j = first + k;
                let w = (1.0 - (j as f64 - centre).abs() / radius).max(0.0);
                index.push(j.clamp(0, last) as usize);
                weight.push(w as f32);
                sum += w;
            }
            // At least the pixel nearest the centre has a positive weight.
            for w in &mut weight[start..] {
                *w = (f64::from(*w) / sum) as f32;
            }
        }
        Taps {
            taps,
            index,
            weight,
        }
    }

    /// The (index, weight) pairs of output position `i`.
    fn at(&self, i: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let r = i * self.taps..(i + 1) * self.taps;
        self.index[r.clone()]
            .iter()
            .copied()
            .zip(self.weight[r].iter().copied())
    }
}

/// Scales `window` of one plane onto `area` of `dst`: rows first, into a
/// float buffer holding only the source rows used, then columns.
fn scale_plane(
    src: &[u8],
    plane: Plane,
    window: Window,
    dst: &mut [u8],
    dst_stride: usize,
    area: Area,
) {
    if area.w == 0 || area.h == 0 {
        return;
    }
    let xs = Taps::new(plane.w, window.x, window.w, area.w);
    let ys = Taps::new(plane.h, window.y, window.h, area.h);
    let first_row = ys.index.iter().copied().min().unwrap_or(0);
    let last_row = ys.index.iter().copied().max().unwrap_or(0);
    let mut rows = vec![0f32; (last_row - first_row + 1) * area.w];
    for (r, out) in rows.chunks_exact_mut(area.w).enumerate() {
        let line = &src[(first_row + r) * plane.stride..][..plane.w];
        for (i, o) in out.iter_mut().enumerate() {
            *o = xs.at(i).map(|(j, w)| w * f32::from(line[j])).sum();
        }
    }
    let mut acc = vec![0f32; area.w];
    for i in 0..area.h {
        acc.fill(0.0);
        for (j, w) in ys.at(i).filter(|&(_, w)| w != 0.0) {
            let row = &rows[(j - first_row) * area.w..][..area.w];
            for (a, v) in acc.iter_mut().zip(row) {
                *a += w * v;
            }
        }
        let out = &mut dst[(area.y + i) * dst_stride + area.x..][..area.w];
        for (o, a) in out.iter_mut().zip(&acc) {
            *o = a.round().clamp(0.0, 255.0) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{psnr, psnr_yuv, read_frame_number, VideoPattern};

    const BRIGHT: u8 = 235;
    const DARK: u8 = 16;

    /// A dark `w`×`h` picture with a bright 8×8 block (and a chroma block)
    /// in its top-left corner.
    fn corner_block(w: u32, h: u32) -> VideoFrame {
        let mut f = VideoFrame::filled(w, h, (DARK, 128, 128)).unwrap();
        let (sy, suv) = (f.stride_y(), f.stride_uv());
        for row in 0..8 {
            f.y_mut()[row * sy..][..8].fill(BRIGHT);
        }
        for row in 0..4 {
            f.u_mut()[row * suv..][..4].fill(60);
            f.v_mut()[row * suv..][..4].fill(200);
        }
        f.timestamp_us = 1234;
        f
    }

    /// Which corners are bright: top-left, top-right, bottom-right, bottom-left.
    fn bright_corners(f: &VideoFrame) -> [bool; 4] {
        let (w, h) = (f.width(), f.height());
        let (cw, ch) = (w as usize / 2, h as usize / 2);
        let chroma =
            |x: usize, y: usize| (f.u()[y * f.stride_uv() + x], f.v()[y * f.stride_uv() + x]);
        let corners = [(2, 2), (w - 3, 2), (w - 3, h - 3), (2, h - 3)];
        let chroma_corners = [(1, 1), (cw - 2, 1), (cw - 2, ch - 2), (1, ch - 2)];
        let mut out = [false; 4];
        for (k, ((x, y), (cx, cy))) in corners.into_iter().zip(chroma_corners).enumerate() {
            out[k] = f.luma(x, y) == BRIGHT;
            // Chroma travels with luma.
            assert_eq!(chroma(cx, cy) == (60, 200), out[k], "corner {k}");
        }
        out
    }

    #[test]
    fn rotations_move_the_top_left_corner_clockwise() {
        let f = corner_block(64, 32);
        assert_eq!(bright_corners(&f), [true, false, false, false]);
        let r90 = rotate(&f, Rotation::R90);
        assert_eq!((r90.width(), r90.height()), (32, 64));
        assert_eq!(bright_corners(&r90), [false, true, false, false]);
        let r180 = rotate(&f, Rotation::R180);
        assert_eq!((r180.width(), r180.height()), (64, 32));
        assert_eq!(bright_corners(&r180), [false, false, true, false]);
        let r270 = rotate(&f, Rotation::R270);
        assert_eq!((r270.width(), r270.height()), (32, 64));
        assert_eq!(bright_corners(&r270), [false, false, false, true]);
        for r in [&r90, &r180, &r270] {
            assert_eq!(r.timestamp_us, 1234);
            assert_eq!(r.rotation, Rotation::R0);
        }
        let mut four = f.clone();
        for _ in 0..4 {
            four = rotate(&four, Rotation::R90);
        }
        assert_eq!(four, f);
        assert_eq!(rotate(&r90, Rotation::R270), f);
        assert_eq!(rotate(&r180, Rotation::R180), f);
    }

    #[test]
    fn combined_rotations_add_up_mod_360() {
        assert_eq!(combine(Rotation::R90, Rotation::R270), Rotation::R0);
        assert_eq!(combine(Rotation::R180, Rotation::R270), Rotation::R90);
        assert_eq!(combine(Rotation::R0, Rotation::R90), Rotation::R90);
        let mut f = corner_block(64, 32);
        f.rotation = Rotation::R90;
        // Its own rotation is applied...
        let up = upright(&f, Rotation::R0);
        assert_eq!(bright_corners(&up), [false, true, false, false]);
        // ...and cancelled by an extra 270.
        let mut plain = f.clone();
        plain.rotation = Rotation::R0;
        assert_eq!(upright(&f, Rotation::R270), plain);
        let rendered = render(&f, Rotation::R270, FillMode::Fill, 64, 32).unwrap();
        assert_eq!(rendered, plain);
        let rendered = render(&f, Rotation::R270, FillMode::Fit, 64, 32).unwrap();
        assert_eq!(rendered, plain);
    }

    #[test]
    fn render_applies_both_rotations_before_fitting() {
        let mut f = corner_block(64, 32);
        f.rotation = Rotation::R90;
        // 90 + 90: upside down, and a landscape picture fills a landscape view.
        let r = render(&f, Rotation::R90, FillMode::Fill, 128, 64).unwrap();
        assert_eq!((r.width(), r.height(), r.rotation), (128, 64, Rotation::R0));
        assert_eq!(r.luma(127, 63), BRIGHT);
        assert_eq!(r.luma(0, 0), DARK);
        assert_eq!(r.timestamp_us, 1234);
    }

    #[test]
    fn fit_letterboxes_and_fill_crops_the_sides() {
        // A 640x360 picture with a dark stripe down each side.
        let mut f = VideoFrame::filled(640, 360, (180, 90, 200)).unwrap();
        let s = f.stride_y();
        for row in 0..360 {
            f.y_mut()[row * s..][..100].fill(50);
            f.y_mut()[row * s + 540..][..100].fill(50);
        }
        let fit = render(&f, Rotation::R0, FillMode::Fit, 360, 640).unwrap();
        assert_eq!((fit.width(), fit.height()), (360, 640));
        // 640x360 scaled by 360/640 is 360x202.5, so a band of 202 rows, centred.
        let picture_rows: Vec<u32> = (0..640).filter(|&y| fit.luma(180, y) != 16).collect();
        assert_eq!(picture_rows.len(), 202, "{picture_rows:?}");
        let (top, bottom) = (picture_rows[0], 639 - picture_rows[201]);
        assert!(top.abs_diff(bottom) <= 2, "bars of {top} and {bottom} rows");
        assert!(picture_rows.windows(2).all(|w| w[1] == w[0] + 1));
        // Bars are black in all three planes; the band has the picture's colour.
        let cs = fit.stride_uv();
        for y in (0..top).chain(640 - bottom..640) {
            assert!((0..360).all(|x| fit.luma(x, y) == 16), "row {y}");
        }
        for y in (0..top / 2).chain((640 - bottom) / 2..320) {
            let row = y as usize * cs;
            assert!(fit.u()[row..][..180].iter().all(|&c| c == 128));
            assert!(fit.v()[row..][..180].iter().all(|&c| c == 128));
        }
        assert_eq!(fit.luma(180, 320), 180);
        assert_eq!(fit.luma(2, 320), 50, "the side stripes are shown");
        assert_eq!(fit.u()[160 * cs + 90], 90);
        assert_eq!(fit.v()[160 * cs + 90], 200);

        let fill = render(&f, Rotation::R0, FillMode::Fill, 360, 640).unwrap();
        assert_eq!((fill.width(), fill.height()), (360, 640));
        // The middle 202 source columns cover the view: no bars, no stripes.
        for (x, y) in [(0, 0), (359, 0), (0, 639), (359, 639), (180, 320)] {
            assert_eq!(fill.luma(x, y), 180, "({x}, {y})");
        }
        assert!(fill.u().iter().all(|&c| c == 90));
    }

    #[test]
    fn fit_pillarboxes_a_portrait_picture() {
        let f = VideoFrame::filled(360, 640, (180, 90, 200)).unwrap();
        let fit = render(&f, Rotation::R0, FillMode::Fit, 640, 360).unwrap();
        let cols: Vec<u32> = (0..640).filter(|&x| fit.luma(x, 180) != 16).collect();
        assert_eq!(cols.len(), 202);
        assert_eq!(fit.luma(0, 0), 16);
        assert_eq!(fit.luma(639, 359), 16);
        // Rotating it 90 makes it landscape: it then fills the view exactly.
        let turned = render(&f, Rotation::R90, FillMode::Fit, 640, 360).unwrap();
        assert!(turned.y().iter().all(|&y| y == 180));
    }

    #[test]
    fn scaling_keeps_a_flat_colour() {
        let f = VideoFrame::filled(640, 360, (100, 50, 200)).unwrap();
        for (w, h) in [
            (1920, 1080),
            (320, 180),
            (100, 100),
            (2, 2),
            (630, 358),
            (1000, 2),
        ] {
            let r = render(&f, Rotation::R0, FillMode::Fill, w, h).unwrap();
            assert!(r.y().iter().all(|&v| v == 100), "{w}x{h}");
            assert!(r.u().iter().all(|&v| v == 50), "{w}x{h}");
            assert!(r.v().iter().all(|&v| v == 200), "{w}x{h}");
        }
    }

    #[test]
    fn rendering_at_the_same_size_is_exact() {
        let f = VideoPattern::new(640, 360).frame(77, 5);
        for mode in [FillMode::Fill, FillMode::Fit] {
            assert_eq!(render(&f, Rotation::R0, mode, 640, 360).unwrap(), f);
        }
    }

    /// A smooth picture: slow sine waves in all three planes.
    fn smooth(w: u32, h: u32) -> VideoFrame {
        let mut f = VideoFrame::black(w, h).unwrap();
        let wave = |x: u32, y: u32, fx: f64, fy: f64| {
            let v = 128.0 + 80.0 * ((f64::from(x) * fx).sin() * (f64::from(y) * fy).cos());
            v.round() as u8
        };
        let (sy, suv) = (f.stride_y(), f.stride_uv());
        for y in 0..h {
            for x in 0..w {
                f.y_mut()[y as usize * sy + x as usize] = wave(x, y, 0.05, 0.07);
            }
        }
        for y in 0..h / 2 {
            for x in 0..w / 2 {
                f.u_mut()[y as usize * suv + x as usize] = wave(x, y, 0.06, 0.04);
                f.v_mut()[y as usize * suv + x as usize] = wave(y, x, 0.03, 0.08);
            }
        }
        f
    }

    #[test]
    fn shrinking_and_enlarging_a_smooth_picture_loses_little() {
        let f = smooth(640, 360);
        let small = render(&f, Rotation::R0, FillMode::Fill, 320, 180).unwrap();
        let back = render(&small, Rotation::R0, FillMode::Fill, 640, 360).unwrap();
        let (y, yuv) = (psnr(&f, &back), psnr_yuv(&f, &back));
        assert!(
            y > 40.0 && yuv > 40.0,
            "PSNR {y:.1} dB (Y), {yuv:.1} dB (YUV)"
        );
        // An odd factor too.
        let odd = render(&f, Rotation::R0, FillMode::Fill, 426, 240).unwrap();
        let back = render(&odd, Rotation::R0, FillMode::Fill, 640, 360).unwrap();
        assert!(psnr(&f, &back) > 40.0, "{:.1} dB", psnr(&f, &back));
    }

    #[test]
    fn an_enlarged_test_picture_keeps_its_frame_number() {
        let f = VideoPattern::new(640, 360).frame(4242, 0);
        let big = render(&f, Rotation::R0, FillMode::Fill, 1280, 720).unwrap();
        assert_eq!(read_frame_number(&big), Some(4242));
        let turned = render(&f, Rotation::R90, FillMode::Fit, 360, 640).unwrap();
        let back = render(&turned, Rotation::R270, FillMode::Fill, 640, 360).unwrap();
        assert!(psnr(&f, &back) > 20.0, "{:.1} dB", psnr(&f, &back));
    }

    #[test]
    fn a_resized_test_picture_keeps_its_number_rotation_and_time() {
        let mut frame = VideoPattern::new(1280, 720).frame(77, 0);
        frame.rotation = Rotation::R90;
        frame.timestamp_us = 1234;
        let small = resize(&frame, 640, 360).unwrap();
        assert_eq!((small.width(), small.height()), (640, 360));
        assert_eq!((small.rotation, small.timestamp_us), (Rotation::R90, 1234));
        assert_eq!(read_frame_number(&small), Some(77));
        assert_eq!(resize(&frame, 1280, 720).unwrap(), frame);
        assert!(resize(&frame, 641, 360).is_err());
    }

    #[test]
    fn bad_view_sizes_are_refused() {
        let f = VideoFrame::black(64, 32).unwrap();
        for (w, h) in [(0, 32), (63, 32), (64, 31), (8194, 32)] {
            assert_eq!(
                render(&f, Rotation::R0, FillMode::Fit, w, h),
                Err(FrameError::InvalidDimensions {
                    width: w,
                    height: h
                })
            );
        }
    }
}
