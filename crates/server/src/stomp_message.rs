//! Conversion between STOMP frames and broker messages, as ActiveMQ maps them.
//!
//! - `/queue/N`, `/topic/N`, `/temp-queue/N`, `/temp-topic/N` (scoped to the connection)
//!   and `/remote-temp-queue/N`, `/remote-temp-topic/N` (another connection's).
//! - `persistent`, `expires`, `priority`, `reply-to`, `correlation-id`, `type` are JMS
//!   headers; every other header is a string property.
//! - A SEND with `content-length` becomes a bytes message, without it a text message.

use broker::{BodyKind, Delivery, Destination, Message, PropertyValue};
use stomp::Frame;

/// Headers with a meaning of their own: never turned into properties.
const RESERVED: &[&str] = &[
    "destination",
    "content-length",
    "receipt",
    "transaction",
    "message-id",
    "timestamp",
    "persistent",
    "expires",
    "priority",
    "reply-to",
    "correlation-id",
    "type",
    "redelivered",
    "subscription",
    "ack",
    "JMSXDeliveryCount",
    "amq-msg-type",
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MappingError {
    #[error("Illegal destination name: [{0}] -- ActiveMQ STOMP destinations must begin with one of: /queue/ /topic/ /temp-queue/ /temp-topic/")]
    BadDestination(String),
    #[error("invalid value for header {header}: {value}")]
    BadHeader { header: &'static str, value: String },
}

/// Parses a STOMP destination. `temp_prefix` scopes `/temp-queue/N` names to the
/// connection; the bool says whether the destination is this connection's temporary one.
///
/// # Errors
/// `BadDestination` for names without a known prefix or with an empty name.
pub fn parse_destination(
    text: &str,
    temp_prefix: &str,
) -> Result<(Destination, bool), MappingError> {
    let bad = || MappingError::BadDestination(text.to_string());
    let (dest, own_temp) = if let Some(n) = text.strip_prefix("/queue/") {
        (Destination::Queue(n.into()), false)
    } else if let Some(n) = text.strip_prefix("/topic/") {
        (Destination::Topic(n.into()), false)
    } else if let Some(n) = text.strip_prefix("/temp-queue/") {
        (
            Destination::TempQueue(format!("{temp_prefix}{n}").into()),
            true,
        )
    } else if let Some(n) = text.strip_prefix("/temp-topic/") {
        (
            Destination::TempTopic(format!("{temp_prefix}{n}").into()),
            true,
        )
    } else if let Some(n) = text.strip_prefix("/remote-temp-queue/") {
        (Destination::TempQueue(n.into()), false)
    } else if let Some(n) = text.strip_prefix("/remote-temp-topic/") {
        (Destination::TempTopic(n.into()), false)
    } else {
        return Err(bad());
    };
    if dest.name().is_empty() {
        return Err(bad());
    }
    Ok((dest, own_temp))
}

pub fn render_destination(dest: &Destination) -> String {
    match dest {
        Destination::Queue(n) => format!("/queue/{n}"),
        Destination::Topic(n) => format!("/topic/{n}"),
        Destination::TempQueue(n) => format!("/remote-temp-queue/{n}"),
        Destination::TempTopic(n) => format!("/remote-temp-topic/{n}"),
    }
}

/// Builds the message a SEND frame carries (destination already parsed).
///
/// # Errors
/// `BadHeader` for unparsable `priority`/`expires`, `BadDestination` for `reply-to`.
pub fn message_from_send(
    frame: &Frame,
    id: String,
    destination: Destination,
    temp_prefix: &str,
    now_ms: i64,
) -> Result<Message, MappingError> {
    // ActiveMQ: `amq-msg-type` decides when given, else content-length means bytes.
    let kind = match frame.header("amq-msg-type") {
        Some("text") => BodyKind::Text,
        Some("bytes") => BodyKind::Bytes,
        _ if frame.header("content-length").is_some() => BodyKind::Bytes,
        _ => BodyKind::Text,
    };
    let mut m = Message::new(id, destination, kind, frame.body.clone());
    m.timestamp = now_ms;
    m.persistent = frame
        .header("persistent")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if let Some(p) = frame.header("priority") {
        let v: u8 = p.trim().parse().map_err(|_| MappingError::BadHeader {
            header: "priority",
            value: p.to_string(),
        })?;
        m.priority = v.min(9);
    }
    if let Some(e) = frame.header("expires") {
        m.expiration = e.trim().parse().map_err(|_| MappingError::BadHeader {
            header: "expires",
            value: e.to_string(),
        })?;
    }
    if let Some(r) = frame.header("reply-to") {
        m.reply_to = Some(parse_destination(r, temp_prefix)?.0);
    }
    m.correlation_id = frame.header("correlation-id").map(str::to_string);
    m.jms_type = frame.header("type").map(str::to_string);
    for (k, v) in &frame.headers {
        if RESERVED.contains(&k.as_str()) || m.property(k).is_some() {
            // Repeated headers: the first one wins.
            continue;
        }
        m.properties
            .list_mut()
            .push((k.clone(), PropertyValue::String(v.clone())));
    }
    Ok(m)
}

/// The MESSAGE frame for one delivery.
pub fn message_frame(delivery: &Delivery, subscription: &str, ack_id: Option<&str>) -> Frame {
    let m = &delivery.message;
    let mut f = Frame::new(stomp::Command::Message);
    f.push_header("message-id", m.id.clone());
    f.push_header("destination", render_destination(&m.destination));
    f.push_header("subscription", subscription);
    if let Some(ack) = ack_id {
        f.push_header("ack", ack);
    }
    f.push_header("timestamp", m.timestamp.to_string());
    f.push_header("expires", m.expiration.to_string());
    f.push_header("priority", m.priority.to_string());
    f.push_header("redelivered", delivery.redelivered.to_string());
    if m.persistent {
        f.push_header("persistent", "true");
    }
    if let Some(c) = &m.correlation_id {
        f.push_header("correlation-id", c.clone());
    }
    if let Some(r) = &m.reply_to {
        f.push_header("reply-to", render_destination(r));
    }
    if let Some(t) = &m.jms_type {
        f.push_header("type", t.clone());
    }
    for (k, v) in &m.properties {
        if k.starts_with(crate::openwire_message::INTERNAL_PREFIX) {
            continue;
        }
        f.push_header(k.clone(), v.to_text());
    }
    f.body = m.body.clone();
    f.set_content_length();
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_map_like_activemq() {
        assert_eq!(
            parse_destination("/queue/a.b", "T:"),
            Ok((Destination::Queue("a.b".into()), false))
        );
        assert_eq!(
            parse_destination("/temp-queue/x", "T:"),
            Ok((Destination::TempQueue("T:x".into()), true))
        );
        assert_eq!(
            parse_destination("/remote-temp-queue/T:x", "U:"),
            Ok((Destination::TempQueue("T:x".into()), false))
        );
        assert!(parse_destination("foo", "T:").is_err());
        assert!(parse_destination("/queue/", "T:").is_err());
        assert_eq!(
            render_destination(&Destination::TempQueue("T:x".into())),
            "/remote-temp-queue/T:x"
        );
    }

    #[test]
    fn send_headers_become_jms_headers_and_properties() {
        let f = Frame::new(stomp::Command::Send)
            .with_header("destination", "/queue/q")
            .with_header("persistent", "true")
            .with_header("priority", "7")
            .with_header("color", "red")
            .with_header("color", "blue")
            .with_header("correlation-id", "c1")
            .with_body("hi");
        let m =
            message_from_send(&f, "ID:1".into(), Destination::Queue("q".into()), "T:", 5).unwrap();
        assert!(m.persistent);
        assert_eq!(m.priority, 7);
        assert_eq!(m.body_kind, BodyKind::Text);
        assert_eq!(m.correlation_id.as_deref(), Some("c1"));
        assert_eq!(
            m.property("color"),
            Some(&PropertyValue::String("red".into()))
        );
        assert!(m.property("destination").is_none());
        let bad = f.clone().with_header("priority", "x");
        // First header wins, so the bad repeat is ignored.
        assert!(
            message_from_send(&bad, "ID:1".into(), Destination::Queue("q".into()), "T:", 5).is_ok()
        );
    }
}
