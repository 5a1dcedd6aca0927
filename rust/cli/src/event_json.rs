//! Observer events as the JSON lines `hotline phone` prints.

use hotline_engine::media::stats::CallStats;
use hotline_engine::Event;
use serde_json::{json, Map, Value};

/// `{"event":"onCallBegin", "callId":..., ...}`: the TUICallEngine callback
/// name, then the event's fields in camelCase.
pub fn event_json(event: &Event) -> Value {
    let mut out = Map::new();
    out.insert("event".into(), Value::String(event.name().to_string()));
    if let Ok(Value::Object(fields)) = serde_json::to_value(event) {
        // Externally tagged enums serialise as {"Variant": {fields}}; take the fields.
        let inner = if fields.len() == 1 {
            fields.into_iter().next().map(|(_, v)| v)
        } else {
            Some(Value::Object(fields))
        };
        if let Some(Value::Object(fields)) = inner {
            for (k, v) in fields {
                if k != "event" && k != "type" {
                    out.insert(camel(&k), v);
                }
            }
        }
    }
    Value::Object(out)
}

/// A float rounded to one decimal, for people reading the JSON.
pub fn round1(x: f64) -> f64 {
    if x.is_finite() {
        (x * 10.0).round() / 10.0
    } else {
        0.0
    }
}

/// Call statistics as JSON (camelCase, rates rounded to 0.1).
pub fn stats_json(s: &CallStats) -> Value {
    let users: Vec<Value> = s
        .users
        .iter()
        .map(|u| {
            json!({
                "userId": u.user_id,
                "videoPacketsReceived": u.video_packets_received,
                "videoFramesReceived": u.video_frames_received,
                "videoFramesDecoded": u.video_frames_decoded,
                "videoFps": round1(u.video_fps),
                "receiveBitrateKbps": round1(u.receive_bitrate_kbps),
                "audioPacketsReceived": u.audio_packets_received,
                "lossPercent": round1(u.loss_percent),
                "jitterBufferDelayMs": round1(u.jitter_buffer_delay_ms),
                "jitterMs": round1(u.jitter_ms),
                "keyframeRequestsSent": u.keyframe_requests_sent,
                "firstFrameMs": u.first_frame_ms,
                "freezeCount": u.freeze_count,
                "totalFreezeMs": u.total_freeze_ms,
                "videoWidth": u.video_width,
                "videoHeight": u.video_height,
                "quality": format!("{:?}", u.quality),
            })
        })
        .collect();
    json!({
        "rttMs": round1(s.rtt_ms),
        "sendBitrateKbps": round1(s.send_bitrate_kbps),
        "sendFps": round1(s.send_fps),
        "videoFramesSent": s.video_frames_sent,
        "keyframesSent": s.keyframes_sent,
        "keyframeRequestsReceived": s.keyframe_requests_received,
        "audioPacketsSent": s.audio_packets_sent,
        "receiveBitrateKbps": round1(s.receive_bitrate_kbps),
        "endToEndDelayMs": round1(s.end_to_end_delay_ms),
        "estimatedBandwidthKbps": round1(s.estimated_bandwidth_kbps),
        "sendLossPercent": round1(s.send_loss_percent),
        "videoTargetKbps": s.video_target_kbps,
        "sendWidth": s.send_width,
        "sendHeight": s.send_height,
        "sendTargetFps": s.send_target_fps,
        "adaptationStep": s.adaptation_step,
        "sendLayers": s.send_layers,
        "publisherConnectedMs": s.publisher_connected_ms,
        "subscriberConnectedMs": s.subscriber_connected_ms,
        "users": users,
    })
}

fn camel(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut upper = false;
    for c in s.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_becomes_camel_case() {
        assert_eq!(camel("total_time_s"), "totalTimeS");
        assert_eq!(camel("call_id"), "callId");
        assert_eq!(camel("reason"), "reason");
    }
}
