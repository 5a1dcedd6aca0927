//! Codec speed figures for docs/benchmarks.md. Ignored by default; run in
//! release on an idle machine:
//!
//! ```sh
//! cargo test -p hotline-media --release --test speed -- --ignored --nocapture
//! ```

use hotline_media::synthetic::{ToneGenerator, VideoPattern};
use hotline_media::{
    H264Decoder, H264Encoder, OpusDecoder, OpusEncoder, OpusEncoderConfig, Rotation,
    VideoEncoderParams, VideoResolution,
};
use std::time::Instant;

fn video(resolution: VideoResolution, frames: u32) {
    let params = VideoEncoderParams {
        fps: 30,
        allow_frame_skip: false,
        ..VideoEncoderParams::preset(resolution, hotline_media::Orientation::Landscape)
    };
    let pattern = VideoPattern::new(params.width, params.height);
    let inputs: Vec<_> = (0..frames)
        .map(|i| pattern.frame(i, u64::from(i) * 33_333))
        .collect();
    let mut enc = H264Encoder::new(params).unwrap();
    let t = Instant::now();
    let encoded: Vec<_> = inputs
        .iter()
        .map(|f| enc.encode(f).unwrap().unwrap())
        .collect();
    let enc_s = t.elapsed().as_secs_f64();
    let bytes: usize = encoded.iter().map(|e| e.size()).sum();
    let mut dec = H264Decoder::new().unwrap();
    let t = Instant::now();
    for e in &encoded {
        dec.decode_nals(&e.nals, 0, Rotation::R0).unwrap().unwrap();
    }
    let dec_s = t.elapsed().as_secs_f64();
    println!(
        "H.264 {}x{} @ {} kbps target: encode {:.0} fps, decode {:.0} fps, {:.0} kbps at 30 fps ({frames} frames)",
        params.width,
        params.height,
        params.bitrate_kbps,
        f64::from(frames) / enc_s,
        f64::from(frames) / dec_s,
        bytes as f64 * 8.0 * 30.0 / f64::from(frames) / 1000.0
    );
}

#[test]
#[ignore = "measurement; run in release with --ignored --nocapture"]
fn codec_speed() {
    println!(
        "nasm present: {}",
        std::process::Command::new("nasm")
            .arg("-v")
            .output()
            .is_ok()
    );
    video(VideoResolution::R640x360, 600);
    video(VideoResolution::R1280x720, 300);

    let seconds = 60;
    let mut tone = ToneGenerator::new(440.0, 0.5);
    let frames: Vec<_> = (0..seconds * 100).map(|_| tone.next_frame()).collect();
    let config = OpusEncoderConfig::default();
    let mut enc = OpusEncoder::new(config).unwrap();
    let t = Instant::now();
    let packets: Vec<_> = frames.iter().filter_map(|f| enc.push(f).unwrap()).collect();
    let enc_s = t.elapsed().as_secs_f64();
    let mut dec = OpusDecoder::new().unwrap();
    let t = Instant::now();
    for p in &packets {
        dec.decode(&p.data).unwrap();
    }
    let dec_s = t.elapsed().as_secs_f64();
    println!(
        "Opus 48 kHz mono 32 kbps complexity {}: encode {:.0}x real time, decode {:.0}x real time",
        config.complexity,
        seconds as f64 / enc_s,
        seconds as f64 / dec_s
    );
}
