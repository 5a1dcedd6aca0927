//! H.264 with the real OpenH264: round trip, keyframes, bitrate changes,
//! and the profile the SDP will announce.

use hotline_media::h264::{nal_type, NAL_IDR, NAL_PPS, NAL_SPS};
use hotline_media::synthetic::{psnr, read_frame_number, VideoPattern};
use hotline_media::{H264Decoder, H264Encoder, Rotation, VideoEncoderParams};

const FRAME_US: u64 = 66_667;

#[test]
fn round_trip_360p_keeps_quality_and_frame_numbers() {
    let params = VideoEncoderParams {
        allow_frame_skip: false,
        ..Default::default()
    };
    let mut enc = H264Encoder::new(params).unwrap();
    let mut dec = H264Decoder::new().unwrap();
    let mut pattern = VideoPattern::new(640, 360);
    for i in 0..12u64 {
        let mut src = pattern.next_frame(i * FRAME_US);
        src.rotation = Rotation::R270;
        let encoded = enc
            .encode(&src)
            .unwrap()
            .expect("no frame skipping by default");
        assert_eq!(encoded.keyframe, i == 0, "frame {i}");
        assert_eq!(encoded.rotation, Rotation::R270);
        let out = dec
            .decode_nals(&encoded.nals, encoded.timestamp_us, encoded.rotation)
            .unwrap()
            .expect("a picture per access unit");
        assert_eq!((out.width(), out.height()), (640, 360));
        assert_eq!(out.timestamp_us, src.timestamp_us);
        assert_eq!(out.rotation, Rotation::R270);
        let db = psnr(&src, &out);
        assert!(db > 30.0, "frame {i}: PSNR {db:.1} dB");
        assert_eq!(
            read_frame_number(&out),
            Some(i as u32),
            "frame {i} at {db:.1} dB"
        );
    }
    assert_eq!(dec.frames_decoded(), 12);
}

#[test]
fn first_frame_is_constrained_baseline_idr_with_parameter_sets() {
    let mut enc = H264Encoder::new(VideoEncoderParams::default()).unwrap();
    let e = enc
        .encode(&VideoPattern::new(640, 360).frame(0, 0))
        .unwrap()
        .unwrap();
    let types: Vec<u8> = e.nals.iter().map(|n| nal_type(n)).collect();
    assert_eq!(&types[..2], &[NAL_SPS, NAL_PPS]);
    assert!(types.contains(&NAL_IDR));
    let sps = &e.nals[0];
    assert_eq!(sps[1], 66, "profile_idc Baseline");
    assert!(
        sps[2] & 0x40 != 0,
        "constraint_set1_flag: Constrained Baseline"
    );
    assert_eq!(sps[3], 31, "level 3.1");
}

#[test]
fn keyframe_on_request_and_portrait_frames() {
    let params = VideoEncoderParams::preset(
        hotline_media::VideoResolution::R640x360,
        hotline_media::Orientation::Portrait,
    );
    let mut enc = H264Encoder::new(params).unwrap();
    let mut pattern = VideoPattern::new(360, 640);
    let kinds: Vec<bool> = (0..6u64)
        .map(|i| {
            if i == 3 {
                enc.request_keyframe();
            }
            enc.encode(&pattern.next_frame(i * FRAME_US))
                .unwrap()
                .unwrap()
                .keyframe
        })
        .collect();
    assert_eq!(kinds, vec![true, false, false, true, false, false]);
}

#[test]
fn bitrate_change_takes_effect() {
    // Small frames keep this fast in debug builds; the rate controller needs a
    // few frames to settle after each change.
    let params = VideoEncoderParams {
        width: 320,
        height: 180,
        bitrate_kbps: 600,
        ..Default::default()
    };
    let mut enc = H264Encoder::new(params).unwrap();
    let mut pattern = VideoPattern::new(320, 180);
    let mut n = 0u64;
    let mut run = |enc: &mut H264Encoder, frames: usize| -> usize {
        let mut sizes = Vec::new();
        for _ in 0..frames {
            // A frame skipped by rate control counts as 0 bytes.
            let e = enc.encode(&pattern.next_frame(n * FRAME_US)).unwrap();
            n += 1;
            sizes.push(e.map_or(0, |e| e.size()));
        }
        sizes[frames / 2..].iter().sum::<usize>() / (frames - frames / 2)
    };
    let high = run(&mut enc, 16);
    enc.set_bitrate_kbps(60).unwrap();
    let low = run(&mut enc, 16);
    enc.set_bitrate_kbps(600).unwrap();
    let high_again = run(&mut enc, 16);
    assert_eq!(enc.params().bitrate_kbps, 600);
    assert!(
        low * 2 < high,
        "600 kbps: {high} B/frame, 60 kbps: {low} B/frame"
    );
    assert!(
        high_again > low * 2,
        "back to 600 kbps: {high_again} B/frame vs {low}"
    );
}

#[test]
fn decoder_reports_garbage_or_missing_references() {
    let mut dec = H264Decoder::new().unwrap();
    let mut enc = H264Encoder::new(VideoEncoderParams::default()).unwrap();
    let mut pattern = VideoPattern::new(640, 360);
    let _key = enc.encode(&pattern.next_frame(0)).unwrap().unwrap();
    let delta = enc.encode(&pattern.next_frame(FRAME_US)).unwrap().unwrap();
    // A delta frame without its keyframe cannot be decoded correctly.
    let result = dec.decode_nals(&delta.nals, 0, Rotation::R0);
    assert!(
        result.is_err() || result.as_ref().unwrap().is_none(),
        "{result:?}"
    );
}
