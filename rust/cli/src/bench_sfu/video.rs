//! The publishers' video: encoded once, before the run, and replayed.
//!
//! A load generator that encodes would measure itself. Every publisher sends
//! the same access units in a loop (the first is a keyframe, and the loop
//! starts over with it, so a receiver that joins late decodes within one
//! loop), stamped with its own running RTP time.

use std::sync::Arc;

use hotline_media::synthetic::VideoPattern;
use hotline_media::{H264Encoder, VideoEncoderParams};

/// Encoded access units (Annex B) to replay at `fps`.
pub struct Clip {
    pub frames: Vec<Arc<[u8]>>,
    pub fps: u32,
    /// Bytes per second of the clip, for the report.
    pub bytes_per_s: u64,
}

/// Encode `seconds` of the synthetic pattern at `width`×`height`, `fps` and
/// `kbps`, one keyframe first.
pub fn encode(width: u32, height: u32, fps: u32, kbps: u32, seconds: u32) -> Result<Clip, String> {
    let params = VideoEncoderParams {
        width,
        height,
        bitrate_kbps: kbps,
        fps,
        keyframe_interval_frames: 0,
        allow_frame_skip: false,
    };
    let mut encoder = H264Encoder::new(params).map_err(|e| format!("H.264 encoder: {e}"))?;
    let mut pattern = VideoPattern::new(width, height);
    let count = (fps * seconds).max(1);
    let mut frames = Vec::with_capacity(count as usize);
    for i in 0..count {
        let frame = pattern.next_frame(u64::from(i) * 1_000_000 / u64::from(fps));
        if let Some(au) = encoder
            .encode(&frame)
            .map_err(|e| format!("encoding: {e}"))?
        {
            frames.push(Arc::<[u8]>::from(au.to_annex_b()));
        }
    }
    let bytes: usize = frames.iter().map(|f| f.len()).sum();
    Ok(Clip {
        bytes_per_s: (bytes as u64 * u64::from(fps)) / u64::from(count),
        frames,
        fps,
    })
}
