//! Observer events as the JSON lines `hotline phone` prints.

use hotline_engine::Event;
use serde_json::{Map, Value};

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
