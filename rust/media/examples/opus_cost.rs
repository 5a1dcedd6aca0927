//! The Opus encoder's cost by complexity, counted in instructions so the
//! figure does not depend on how busy the machine is. Run it under
//! cachegrind, once with `generate-only` to subtract the signal generation:
//!
//! ```sh
//! cargo build --release -p hotline-media --example opus_cost
//! for c in generate-only 9 5; do
//!   valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
//!     target/release/examples/opus_cost $c 1000 2>&1 | grep -E 'I *refs|complexity'
//! done
//! ```
//!
//! The signal is vowel-like (140 Hz with 19 harmonics, a 4 Hz syllable
//! envelope, a little noise), nearer speech than a pure tone. The program
//! also decodes what it encoded and prints the SNR against the source (with
//! the codec's delay removed), a rough check that a cheaper setting did not
//! lose the signal.

use hotline_media::frame::{AudioFrame, SAMPLES_PER_FRAME};
use hotline_media::synthetic::align_and_correlate;
use hotline_media::{OpusDecoder, OpusEncoder, OpusEncoderConfig};
use std::f64::consts::PI;

fn vowel_like(frames: usize) -> Vec<i16> {
    let mut noise_state: u32 = 1;
    (0..frames * SAMPLES_PER_FRAME)
        .map(|n| {
            let t = n as f64 / 48_000.0;
            let envelope = (0.5 + 0.5 * (2.0 * PI * 4.0 * t).sin()).powi(2);
            let voice: f64 = (1..20)
                .map(|h| (2.0 * PI * 140.0 * f64::from(h) * t).sin() / f64::from(h))
                .sum();
            noise_state ^= noise_state << 13;
            noise_state ^= noise_state >> 17;
            noise_state ^= noise_state << 5;
            let noise = f64::from(noise_state % 2001) / 1000.0 - 1.0;
            ((voice * 0.3 + noise * 0.02) * envelope * 12_000.0) as i16
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: opus_cost COMPLEXITY|generate-only FRAMES_OF_10_MS [check]";
    let mode = args.get(1).expect(usage);
    let frames: usize = args.get(2).and_then(|a| a.parse().ok()).expect(usage);
    let pcm = vowel_like(frames);
    if mode == "generate-only" {
        return;
    }
    let complexity: u8 = mode.parse().expect(usage);
    let mut encoder = OpusEncoder::new(OpusEncoderConfig {
        complexity,
        ..Default::default()
    })
    .expect("encoder");
    let mut packets = Vec::new();
    for chunk in pcm.chunks_exact(SAMPLES_PER_FRAME) {
        let frame = AudioFrame {
            samples: chunk.try_into().expect("10 ms"),
            timestamp_us: 0,
        };
        packets.extend(encoder.push(&frame).expect("encode"));
    }
    let bytes: usize = packets.iter().map(|p| p.data.len()).sum();
    let kbps = bytes as f64 * 8.0 / (frames as f64 * 0.01) / 1000.0;
    if args.get(3).map(String::as_str) != Some("check") {
        println!("complexity {complexity}: {kbps:.1} kbps");
        return;
    }
    let mut decoder = OpusDecoder::new().expect("decoder");
    let decoded: Vec<i16> = packets
        .iter()
        .flat_map(|p| decoder.decode(&p.data).expect("decode"))
        .collect();
    let (lag, correlation) = align_and_correlate(&pcm, &decoded, 960);
    let (mut signal, mut error) = (0.0, 0.0);
    for (s, d) in pcm.iter().zip(decoded.iter().skip(lag)) {
        signal += f64::from(*s).powi(2);
        error += (f64::from(*s) - f64::from(*d)).powi(2);
    }
    println!(
        "complexity {complexity}: {kbps:.1} kbps, correlation {correlation:.4}, SNR {:.1} dB",
        10.0 * (signal / error).log10()
    );
}
