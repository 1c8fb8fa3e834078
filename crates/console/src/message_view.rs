//! Messages as the console shows them (JSON and HTML share these), and messages the
//! console sends.

use crate::console_state::ConsoleState;
use crate::escape::hex;
use broker::introspect::QueuedMessage;
use broker::{BodyKind, Destination, Message, PropertyValue};
use serde_json::{json, Value};

/// The body as text when it is a text message in UTF-8, else `None` (shown as hex).
pub fn body_text(m: &Message) -> Option<&str> {
    match m.body_kind {
        BodyKind::Text | BodyKind::Empty => std::str::from_utf8(&m.body).ok(),
        _ => None,
    }
}

/// The body's size, also for a message whose body is paged out (not in memory).
pub fn body_size(m: &Message) -> usize {
    match m.body_ref {
        Some(r) if m.is_paged() => r.body_len as usize,
        _ => m.body.len(),
    }
}

pub fn body_kind_name(kind: BodyKind) -> &'static str {
    match kind {
        BodyKind::Empty => "empty",
        BodyKind::Text => "text",
        BodyKind::Bytes => "bytes",
        BodyKind::Map => "map",
        BodyKind::Stream => "stream",
        BodyKind::Object => "object",
    }
}

fn property_json(v: &PropertyValue) -> Value {
    match v {
        PropertyValue::Bool(b) => json!(b),
        PropertyValue::Byte(x) => json!(x),
        PropertyValue::Short(x) => json!(x),
        PropertyValue::Int(x) => json!(x),
        PropertyValue::Long(x) => json!(x),
        PropertyValue::Float(x) => json!(x),
        PropertyValue::Double(x) => json!(x),
        PropertyValue::String(s) => json!(s),
    }
}

/// Headers of one message (the list view).
pub fn summary_json(q: &QueuedMessage) -> Value {
    let m = &q.message;
    json!({
        "message_id": m.id,
        "persistent": m.persistent,
        "priority": m.priority,
        "timestamp": m.timestamp,
        "expiration": m.expiration,
        "correlation_id": m.correlation_id,
        "type": m.jms_type,
        "redelivered": q.redeliveries > 0,
        "redeliveries": q.redeliveries,
        "body_kind": body_kind_name(m.body_kind),
        "body_size": body_size(m),
    })
}

/// Headers, properties and body of one message (bytes as hex).
pub fn full_json(q: &QueuedMessage) -> Value {
    let m = &q.message;
    let mut v = summary_json(q);
    let props: serde_json::Map<String, Value> = m
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), property_json(v)))
        .collect();
    v["destination"] = json!(m.destination.to_string());
    v["reply_to"] = json!(m.reply_to.as_ref().map(ToString::to_string));
    v["properties"] = Value::Object(props);
    match body_text(m) {
        Some(t) => v["body_text"] = json!(t),
        None => v["body_hex"] = json!(hex(&m.body)),
    }
    v
}

/// What an operator sends from the console or a script.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Outgoing {
    #[serde(default)]
    pub body: String,
    #[serde(default = "yes")]
    pub persistent: bool,
    #[serde(default)]
    pub priority: Option<u8>,
    #[serde(default)]
    pub correlation_id: Option<String>,
    #[serde(default, rename = "type")]
    pub jms_type: Option<String>,
    /// String properties.
    #[serde(default)]
    pub properties: std::collections::BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

impl Outgoing {
    pub fn text(body: String, persistent: bool) -> Outgoing {
        Outgoing {
            body,
            persistent,
            priority: None,
            correlation_id: None,
            jms_type: None,
            properties: Default::default(),
        }
    }
}

impl ConsoleState {
    /// A text message with an ActiveMQ-style id unique to this console.
    pub fn make_message(&self, destination: Destination, out: Outgoing) -> Message {
        let seq = self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let id = format!(
            "ID:{}-console-{}:1:1:{seq}",
            self.broker.name(),
            self.started_ms
        );
        let mut m = Message::new(
            id,
            destination,
            BodyKind::Text,
            bytes::Bytes::from(out.body),
        );
        m.persistent = out.persistent;
        m.priority = out
            .priority
            .unwrap_or(broker::message::DEFAULT_PRIORITY)
            .min(9);
        m.timestamp = broker::message::now_millis();
        m.correlation_id = out.correlation_id;
        m.jms_type = out.jms_type;
        m.properties = out
            .properties
            .into_iter()
            .map(|(k, v)| (k, PropertyValue::String(v)))
            .collect();
        m
    }
}
