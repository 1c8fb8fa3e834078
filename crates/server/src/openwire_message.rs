//! Conversion between OpenWire messages and broker messages.
//!
//! Text bodies are stored as UTF-8 (so STOMP consumers read them as text); bytes, map,
//! stream and object bodies are kept in their wire form and passed through untouched
//! (object bodies are never deserialised). JMS properties map to typed broker properties;
//! `JMSXGroupID`/`JMSXGroupSeq` travel as properties.

use broker::{
    BodyKind, Delivery, Destination, EncodedForm, Message, Properties, PropertyValue, WireProtocol,
};
use openwire::{
    DestinationKind, EncodedMessage, MessageId, MessageKind, PrimitiveMap, PrimitiveValue,
    ProducerId,
};

/// Properties with this prefix are the broker's own notes on a message; clients never
/// see them.
pub const INTERNAL_PREFIX: &str = "ferromq.";
const COMPRESSED: &str = "ferromq.compressed";
const NULL_BODY: &str = "ferromq.null_body";

/// Prefix of advisory topics (temporary destination advisories are built by the handler).
pub const ADVISORY_PREFIX: &str = "ActiveMQ.Advisory.";

#[derive(Debug, thiserror::Error)]
pub enum MessageMappingError {
    #[error("message without a destination")]
    NoDestination,
    #[error("message without a message id")]
    NoMessageId,
    #[error("cannot read the message: {0}")]
    Body(#[from] openwire::OpenWireError),
}

pub fn to_broker_destination(d: &openwire::Destination) -> Destination {
    // The decoded name is shared (recent names are reused per thread): no copy.
    let name = broker::destination::Name::from(d.physical_name.clone());
    match d.kind {
        DestinationKind::Queue => Destination::Queue(name),
        DestinationKind::Topic => Destination::Topic(name),
        DestinationKind::TempQueue => Destination::TempQueue(name),
        DestinationKind::TempTopic => Destination::TempTopic(name),
    }
}

pub fn to_openwire_destination(d: &Destination) -> openwire::Destination {
    let kind = match d {
        Destination::Queue(_) => DestinationKind::Queue,
        Destination::Topic(_) => DestinationKind::Topic,
        Destination::TempQueue(_) => DestinationKind::TempQueue,
        Destination::TempTopic(_) => DestinationKind::TempTopic,
    };
    openwire::Destination::new(kind, openwire::IdStr::from(d.shared_name().clone()))
}

/// The producer id and sequence of a message id text `ID:…:<session>:<producer>:<seq>`
/// (ActiveMQ's form; STOMP message ids made by this broker have it too).
pub fn parse_message_id(text: &str) -> Option<(ProducerId, i64)> {
    let (rest, seq) = text.rsplit_once(':')?;
    let (rest, value) = rest.rsplit_once(':')?;
    let (connection, session) = rest.rsplit_once(':')?;
    Some((
        ProducerId {
            connection_id: connection.into(),
            value: value.parse().ok()?,
            session_id: session.parse().ok()?,
        },
        seq.parse().ok()?,
    ))
}

/// The decimal digits of `n` in `buf` (what `Display` writes).
fn int_text(n: i64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    std::str::from_utf8(&buf[i..]).unwrap_or_default()
}

/// The id's `Display` form. The usual shape (no text view) is built directly, once per
/// message sent, without the formatting machinery or regrowing the string.
pub fn message_id_text(id: &MessageId) -> String {
    let (None, Some(p)) = (&id.text_view, &id.producer_id) else {
        return id.to_string();
    };
    let mut text = String::with_capacity(p.connection_id.len() + 3 * 21);
    text.push_str(&p.connection_id);
    for n in [p.session_id, p.value, id.producer_sequence_id] {
        let mut buf = [0u8; 20];
        text.push(':');
        text.push_str(int_text(n, &mut buf));
    }
    text
}

/// Whether `id` reads `text` (its `Display` form), without building the string.
pub fn message_id_is(id: &MessageId, text: &str) -> bool {
    use std::fmt::Write;
    if let (None, Some(p)) = (&id.text_view, &id.producer_id) {
        let Some(mut rest) = text.strip_prefix(p.connection_id.as_str()) else {
            return false;
        };
        for n in [p.session_id, p.value, id.producer_sequence_id] {
            let mut buf = [0u8; 20];
            let digits = int_text(n, &mut buf);
            match rest.strip_prefix(':').and_then(|r| r.strip_prefix(digits)) {
                Some(r) => rest = r,
                None => return false,
            }
        }
        return rest.is_empty();
    }
    /// Consumes `rest` as the formatter writes; fails at the first difference.
    struct Prefix<'a> {
        rest: &'a str,
    }
    impl Write for Prefix<'_> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            match self.rest.strip_prefix(s) {
                Some(rest) => {
                    self.rest = rest;
                    Ok(())
                }
                None => Err(std::fmt::Error),
            }
        }
    }
    let mut p = Prefix { rest: text };
    write!(p, "{id}").is_ok() && p.rest.is_empty()
}

/// Whether a property of this name comes back under it from the broker's properties (the
/// broker's own and the group headers' names are read into fields or dropped).
fn keeps_its_name(k: &str) -> bool {
    !k.starts_with(INTERNAL_PREFIX) && k != "JMSXGroupID" && k != "JMSXGroupSeq"
}

/// The broker properties of decoded map entries, and whether every one comes back from
/// them unchanged (non-empty, no char, no name the broker reads into a field).
fn broker_properties(
    entries: Vec<(String, PrimitiveValue)>,
) -> (Vec<(String, PropertyValue)>, bool) {
    let mut kept = !entries.is_empty();
    // Names and string values move over, no copies; the decoded list's allocation is
    // reused for the broker's (an in-place collect).
    let list = entries
        .into_iter()
        .filter_map(|(k, v)| {
            kept &= !matches!(v, PrimitiveValue::Char(_)) && keeps_its_name(&k);
            let p = property_from_wire(v);
            kept &= p.is_some();
            Some((k, p?))
        })
        .collect();
    (list, kept)
}

/// The broker properties of a map that `PrimitiveMap::is_plain_properties` accepted
/// (which also means it decodes).
fn decode_plain_properties(blob: &bytes::Bytes) -> Vec<(String, PropertyValue)> {
    match PrimitiveMap::decode(blob.clone()) {
        Ok(map) => broker_properties(map.into_entries()).0,
        Err(e) => {
            tracing::error!(error = %e, "properties checked on arrival do not decode");
            Vec::new()
        }
    }
}

fn property_from_wire(v: PrimitiveValue) -> Option<PropertyValue> {
    Some(match v {
        PrimitiveValue::Boolean(b) => PropertyValue::Bool(b),
        PrimitiveValue::Byte(x) => PropertyValue::Byte(x),
        PrimitiveValue::Short(x) => PropertyValue::Short(x),
        PrimitiveValue::Int(x) => PropertyValue::Int(x),
        PrimitiveValue::Long(x) => PropertyValue::Long(x),
        PrimitiveValue::Float(x) => PropertyValue::Float(x),
        PrimitiveValue::Double(x) => PropertyValue::Double(x),
        PrimitiveValue::String(s) => PropertyValue::String(s),
        PrimitiveValue::Char(c) => PropertyValue::String(String::from_utf16_lossy(&[c])),
        // Not JMS property types (only maps carry them): nothing to keep.
        _ => return None,
    })
}

fn property_to_wire(v: &PropertyValue) -> PrimitiveValue {
    match v {
        PropertyValue::Bool(b) => PrimitiveValue::Boolean(*b),
        PropertyValue::Byte(x) => PrimitiveValue::Byte(*x),
        PropertyValue::Short(x) => PrimitiveValue::Short(*x),
        PropertyValue::Int(x) => PrimitiveValue::Int(*x),
        PropertyValue::Long(x) => PrimitiveValue::Long(*x),
        PropertyValue::Float(x) => PrimitiveValue::Float(*x),
        PropertyValue::Double(x) => PrimitiveValue::Double(*x),
        PropertyValue::String(s) => PrimitiveValue::String(s.clone()),
    }
}

/// The broker message for an OpenWire send.
///
/// # Errors
/// No destination or id, or a body/property section that does not decode.
pub fn to_broker(m: &openwire::Message) -> Result<Message, MessageMappingError> {
    let dest = m
        .destination
        .as_ref()
        .ok_or(MessageMappingError::NoDestination)?;
    let id = m
        .message_id
        .as_ref()
        .ok_or(MessageMappingError::NoMessageId)?;
    let (kind, body) = match m.kind {
        MessageKind::Text if !m.compressed => (
            BodyKind::Text,
            m.text()?
                .map(|t| bytes::Bytes::from(t.into_bytes()))
                .unwrap_or_default(),
        ),
        MessageKind::Text => (BodyKind::Text, m.content.clone().unwrap_or_default()),
        MessageKind::Bytes => (BodyKind::Bytes, m.content.clone().unwrap_or_default()),
        MessageKind::Map => (BodyKind::Map, m.content.clone().unwrap_or_default()),
        MessageKind::Stream => (BodyKind::Stream, m.content.clone().unwrap_or_default()),
        MessageKind::Object => (BodyKind::Object, m.content.clone().unwrap_or_default()),
        MessageKind::Message | MessageKind::Blob => (BodyKind::Empty, bytes::Bytes::new()),
    };
    let mut out = Message::new(message_id_text(id), to_broker_destination(dest), kind, body);
    out.persistent = m.persistent;
    out.priority = u8::try_from(m.priority.clamp(0, 9)).unwrap_or(4);
    out.timestamp = m.timestamp;
    out.expiration = m.expiration;
    out.correlation_id = m.correlation_id.clone();
    out.reply_to = m.reply_to.as_ref().map(to_broker_destination);
    out.jms_type = m.jms_type.clone();
    // Whether every property survives the trip to broker properties and back unchanged.
    let mut properties_kept = true;
    match &m.marshalled_properties {
        None => {}
        // Decoded when something reads them; a delivery as received never does.
        Some(blob) if PrimitiveMap::is_plain_properties(blob, keeps_its_name) => {
            out.properties = Properties::encoded(blob.clone(), decode_plain_properties);
        }
        // Anything else (or a damaged map: decoding reports it) now.
        Some(_) => {
            let (list, kept) = broker_properties(m.properties()?.into_entries());
            properties_kept = kept;
            out.properties = list.into();
        }
    }
    if let Some(g) = &m.group_id {
        out.set_property("JMSXGroupID", PropertyValue::String(g.clone()));
        if m.group_sequence != 0 {
            out.set_property("JMSXGroupSeq", PropertyValue::Int(m.group_sequence));
        }
    }
    if m.compressed {
        // Kept as sent; the flag must survive or the consumer cannot read it.
        out.set_property(COMPRESSED, PropertyValue::Bool(true));
    }
    if m.content.is_none()
        && matches!(
            m.kind,
            MessageKind::Text
                | MessageKind::Bytes
                | MessageKind::Map
                | MessageKind::Stream
                | MessageKind::Object
        )
    {
        // setText(null) is not setText(""): keep the difference.
        out.set_property(NULL_BODY, PropertyValue::Bool(true));
    }
    if properties_kept {
        out.encoded = m
            .received
            .get()
            .filter(|_| delivers_as_received(m, id))
            .map(encoded_form);
    }
    if out.encoded.is_none() {
        out.properties.unshare();
    }
    Ok(out)
}

/// Whether [`to_openwire`] of the broker message made from `m` encodes as `m` does (but
/// for the fields a dispatch rewrites), so that the received bytes can be delivered as
/// they are: no field the conversion drops or changes is set. Properties are checked by
/// the caller.
fn delivers_as_received(m: &openwire::Message, id: &MessageId) -> bool {
    m.kind != MessageKind::Blob
        && (m.kind != MessageKind::Message || m.content.is_none())
        && (0..=9).contains(&m.priority)
        && id.text_view.is_none()
        && id.producer_id.is_some()
        && m.producer_id == id.producer_id
        && (m.group_id.is_some() || m.group_sequence == 0)
        && m.transaction_id.is_none()
        && m.original_destination.is_none()
        && m.original_transaction_id.is_none()
        && m.data_structure.is_none()
        && m.target_consumer_id.is_none()
        && m.broker_path.is_none()
        && m.arrival == 0
        && m.user_id.is_none()
        && !m.received_by_df_bridge
        && !m.droppable
        && m.cluster.is_none()
        && m.broker_in_time == 0
        && m.broker_out_time == 0
        && !m.jmsx_group_first_for_consumer
        && !m
            .destination
            .as_ref()
            .is_some_and(|d| d.physical_name.starts_with(ADVISORY_PREFIX))
}

fn encoded_form(e: &EncodedMessage) -> EncodedForm {
    let (bytes, marks) = e.parts();
    EncodedForm {
        protocol: WireProtocol::OpenWire,
        type_code: e.kind().type_code(),
        bytes: bytes.clone(),
        marks,
    }
}

/// The received form of a broker message, if it came over OpenWire and is unchanged.
pub fn encoded_message(m: &Message) -> Option<EncodedMessage> {
    let e = m.encoded.as_ref()?;
    if e.protocol != WireProtocol::OpenWire {
        return None;
    }
    let kind = MessageKind::from_type_code(e.type_code)?;
    EncodedMessage::from_parts(kind, e.bytes.clone(), e.marks)
}

/// The OpenWire message for a delivery.
///
/// # Errors
/// A text body that is not valid UTF-8 is sent as is (never an error); property encoding
/// errors (strings over 2 GiB) are.
pub fn to_openwire(
    delivery: &Delivery,
    broker_sequence: i64,
) -> Result<openwire::Message, MessageMappingError> {
    let m = &delivery.message;
    let compressed = matches!(m.property(COMPRESSED), Some(PropertyValue::Bool(true)));
    let null_body = matches!(m.property(NULL_BODY), Some(PropertyValue::Bool(true)));
    let kind = match m.body_kind {
        BodyKind::Empty => MessageKind::Message,
        BodyKind::Text => MessageKind::Text,
        BodyKind::Bytes => MessageKind::Bytes,
        BodyKind::Map => MessageKind::Map,
        BodyKind::Stream => MessageKind::Stream,
        BodyKind::Object => MessageKind::Object,
    };
    let mut out = openwire::Message::new(kind);
    match kind {
        _ if null_body => {}
        MessageKind::Text if !compressed => {
            let text = String::from_utf8_lossy(&m.body);
            out.set_text(Some(&text))?;
        }
        MessageKind::Message => {}
        _ => out.content = Some(m.body.clone()),
    }
    out.compressed = compressed;
    let (producer, seq) = parse_message_id(&m.id).unwrap_or_else(|| {
        (
            ProducerId {
                connection_id: m.id.as_str().into(),
                value: 0,
                session_id: 0,
            },
            0,
        )
    });
    out.message_id = Some(MessageId {
        text_view: None,
        producer_id: Some(producer.clone()),
        producer_sequence_id: seq,
        broker_sequence_id: broker_sequence,
    });
    out.producer_id = Some(producer);
    out.destination = Some(to_openwire_destination(&m.destination));
    out.persistent = m.persistent;
    out.priority = i8::try_from(m.priority).unwrap_or(4);
    out.timestamp = m.timestamp;
    out.expiration = m.expiration;
    out.correlation_id = m.correlation_id.clone();
    out.reply_to = m.reply_to.as_ref().map(to_openwire_destination);
    out.jms_type = m.jms_type.clone();
    out.redelivery_counter = i32::try_from(delivery.redeliveries).unwrap_or(i32::MAX);
    let mut props = PrimitiveMap::new();
    for (k, v) in &m.properties {
        match (k.as_str(), v) {
            (k, _) if k.starts_with(INTERNAL_PREFIX) => {}
            ("JMSXGroupID", PropertyValue::String(g)) => out.group_id = Some(g.clone()),
            ("JMSXGroupSeq", PropertyValue::Int(s)) => out.group_sequence = *s,
            _ => props.insert(k.clone(), property_to_wire(v)),
        }
    }
    if !props.is_empty() {
        out.set_properties(&props)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_parse_like_activemq() {
        let (p, seq) = parse_message_id("ID:host-1234-5678-0:1:2:3:42").unwrap();
        assert_eq!(p.connection_id, "ID:host-1234-5678-0:1");
        assert_eq!(p.session_id, 2);
        assert_eq!(p.value, 3);
        assert_eq!(seq, 42);
        assert!(parse_message_id("nonsense").is_none());
    }

    #[test]
    fn message_id_is_compares_the_text_form() {
        let id = MessageId {
            text_view: None,
            producer_id: Some(ProducerId {
                connection_id: "ID:c-1".into(),
                value: 3,
                session_id: 2,
            }),
            producer_sequence_id: 42,
            broker_sequence_id: 7,
        };
        assert!(message_id_is(&id, "ID:c-1:2:3:42"));
        assert!(!message_id_is(&id, "ID:c-1:2:3:4"));
        assert!(!message_id_is(&id, "ID:c-1:2:3:420"));
        assert!(!message_id_is(&id, ""));
        let viewed = MessageId {
            text_view: Some("abc".into()),
            ..MessageId::default()
        };
        assert!(message_id_is(&viewed, "ID:abc"));
    }

    #[test]
    fn message_id_text_matches_display() {
        for (session, value, seq) in [(0, 0, 0), (2, 3, 42), (-1, i64::MAX, i64::MIN), (10, -7, 9)]
        {
            let id = MessageId {
                text_view: None,
                producer_id: Some(ProducerId {
                    connection_id: "ID:host-1-2-3:1".into(),
                    value,
                    session_id: session,
                }),
                producer_sequence_id: seq,
                broker_sequence_id: 5,
            };
            let text = id.to_string();
            assert_eq!(message_id_text(&id), text);
            assert!(message_id_is(&id, &text));
            assert!(!message_id_is(&id, &format!("{text}0")));
        }
        let none = MessageId::default();
        assert_eq!(message_id_text(&none), none.to_string());
    }

    /// The message id `connection:session:producer:sequence`.
    fn id_of(connection: &str, session: i64, producer: i64, sequence: i64) -> MessageId {
        MessageId {
            text_view: None,
            producer_id: Some(ProducerId {
                connection_id: connection.into(),
                value: producer,
                session_id: session,
            }),
            producer_sequence_id: sequence,
            broker_sequence_id: 0,
        }
    }

    /// Plain properties stay encoded until read and then read as an eager decode gives
    /// them; a map with anything else (a char, a group header) is decoded on arrival. The
    /// memory a message counts does not change when its properties are read, and a message
    /// that is not delivered as received does not keep its frame alive through them.
    #[test]
    fn plain_properties_are_decoded_when_read_and_the_same() {
        let message = |props: &PrimitiveMap| {
            let mut m = openwire::Message::new(MessageKind::Bytes);
            m.content = Some(bytes::Bytes::from_static(b"body"));
            m.destination = Some(openwire::Destination::queue("q"));
            m.message_id = Some(id_of("ID:c-1", 1, 1, 1));
            m.set_properties(props).unwrap();
            m
        };
        let mut plain = PrimitiveMap::new();
        plain.insert("b", PrimitiveValue::Boolean(true));
        plain.insert("l", PrimitiveValue::Long(-7));
        plain.insert("s", PrimitiveValue::String("é😀".into()));
        let sent = message(&plain);
        let b = to_broker(&sent).unwrap();
        assert!(b.properties.is_encoded());
        // Not delivered as received (built here, never decoded): the kept bytes are a copy,
        // not a slice of the frame they came in.
        let kept = b.properties.encoded_bytes().map(|k| k.as_ptr());
        let frame = sent.marshalled_properties.as_ref().map(|f| f.as_ptr());
        assert!(kept.is_some() && kept != frame);
        let size = b.memory_size();
        let want = [
            ("b".to_string(), PropertyValue::Bool(true)),
            ("l".to_string(), PropertyValue::Long(-7)),
            ("s".to_string(), PropertyValue::String("é😀".into())),
        ];
        assert_eq!(b.properties.list(), &want[..]);
        assert_eq!(b.memory_size(), size);

        let mut with_char = plain.clone();
        with_char.insert("c", PrimitiveValue::Char(u16::from(b'x')));
        let b = to_broker(&message(&with_char)).unwrap();
        assert!(
            !b.properties.is_encoded(),
            "a char does not come back as a char"
        );
        assert_eq!(b.property("c"), Some(&PropertyValue::String("x".into())));

        let mut grouped = plain;
        grouped.insert("JMSXGroupID", PrimitiveValue::String("g".into()));
        let b = to_broker(&message(&grouped)).unwrap();
        assert!(!b.properties.is_encoded());
        assert_eq!(b.properties.len(), 4);
    }

    #[test]
    fn text_and_properties_survive_both_ways() {
        let mut m = openwire::Message::new(MessageKind::Text);
        m.set_text(Some("héllo 🎉\0")).unwrap();
        m.destination = Some(openwire::Destination::queue("q"));
        m.message_id = Some(id_of("ID:c-1", 2, 3, 9));
        let mut props = PrimitiveMap::new();
        props.insert("b", PrimitiveValue::Boolean(true));
        props.insert("i", PrimitiveValue::Int(-5));
        props.insert("s", PrimitiveValue::String("x".into()));
        m.set_properties(&props).unwrap();
        m.persistent = true;
        m.priority = 7;
        let b = to_broker(&m).unwrap();
        assert_eq!(&b.body[..], "héllo 🎉\0".as_bytes());
        assert_eq!(b.id, "ID:c-1:2:3:9");
        assert_eq!(b.property("i"), Some(&PropertyValue::Int(-5)));
        let d = Delivery {
            consumer: 1,
            key: 1,
            message: std::sync::Arc::new(b),
            redelivered: false,
            redeliveries: 0,
        };
        let back = to_openwire(&d, 5).unwrap();
        assert_eq!(back.text().unwrap().as_deref(), Some("héllo 🎉\0"));
        assert_eq!(
            back.message_id.as_ref().map(|i| i.to_string()).as_deref(),
            Some("ID:c-1:2:3:9")
        );
        assert_eq!(back.priority, 7);
        assert_eq!(
            back.properties().unwrap().get("i"),
            Some(&PrimitiveValue::Int(-5))
        );
    }
}

#[cfg(test)]
mod encoded_tests {
    use super::*;
    use bytes::BytesMut;
    use openwire::{Command, DispatchOf, MessageDispatch};

    fn received(m: openwire::Message) -> openwire::Message {
        let mut frame = BytesMut::new();
        Command::Message(Box::new(m))
            .encode(&mut frame, false)
            .unwrap();
        match Command::decode(frame.freeze(), false).unwrap() {
            Command::Message(m) => *m,
            other => panic!("decoded {}", other.name()),
        }
    }

    fn sent(kind: MessageKind) -> openwire::Message {
        let mut m = openwire::Message::new(kind);
        m.command_id = 9;
        m.response_required = true;
        let producer = ProducerId {
            connection_id: "ID:c-1".into(),
            value: 3,
            session_id: 2,
        };
        m.producer_id = Some(producer.clone());
        m.destination = Some(openwire::Destination::queue("q"));
        m.message_id = Some(MessageId {
            text_view: None,
            producer_id: Some(producer),
            producer_sequence_id: 9,
            broker_sequence_id: 0,
        });
        m.persistent = true;
        m.priority = 7;
        m.timestamp = 123;
        m.expiration = 456;
        m.correlation_id = Some("corr".into());
        m.reply_to = Some(openwire::Destination::topic("replies"));
        m.jms_type = Some("t".into());
        m.group_id = Some("g".into());
        m.group_sequence = 3;
        let mut props = PrimitiveMap::new();
        props.insert("ts", PrimitiveValue::Long(-5));
        props.insert("s", PrimitiveValue::String("x é".into()));
        m.set_properties(&props).unwrap();
        match kind {
            MessageKind::Text => m.set_text(Some("héllo")).unwrap(),
            MessageKind::Message => {}
            _ => m.content = Some(bytes::Bytes::from_static(b"\x00\x01\x02")),
        }
        m
    }

    fn slow(d: &Delivery, consumer: &openwire::ConsumerId) -> BytesMut {
        let mut out = BytesMut::new();
        Command::MessageDispatch(Box::new(MessageDispatch {
            consumer_id: Some(consumer.clone()),
            destination: Some(openwire::Destination::queue("q")),
            message: Some(Box::new(to_openwire(d, 77).unwrap())),
            redelivery_counter: 2,
            ..Default::default()
        }))
        .encode(&mut out, false)
        .unwrap();
        out
    }

    /// Delivering the received bytes is exactly what re-encoding the broker message gives.
    #[test]
    fn received_form_dispatches_as_the_converted_message_would() {
        let consumer = openwire::ConsumerId {
            connection_id: "ID:c-2".into(),
            session_id: 1,
            value: 1,
        };
        for kind in [
            MessageKind::Text,
            MessageKind::Bytes,
            MessageKind::Map,
            MessageKind::Message,
        ] {
            let b = to_broker(&received(sent(kind))).unwrap();
            let encoded = encoded_message(&b).expect("an unchanged OpenWire message keeps it");
            let d = Delivery {
                consumer: 1,
                key: 1,
                message: std::sync::Arc::new(b),
                redelivered: true,
                redeliveries: 2,
            };
            let mut fast = BytesMut::new();
            DispatchOf {
                consumer_id: &consumer,
                destination: &openwire::Destination::queue("q"),
                message: &encoded,
                broker_sequence_id: 77,
                redelivery_counter: 2,
            }
            .encode(&mut fast, false)
            .unwrap();
            assert_eq!(fast, slow(&d, &consumer), "{kind:?}");
        }
    }

    /// Messages whose conversion changes them are re-encoded, never sent as received.
    #[test]
    fn messages_the_conversion_changes_are_not_kept() {
        let mut internal = sent(MessageKind::Bytes);
        let mut props = PrimitiveMap::new();
        props.insert("ferromq.compressed", PrimitiveValue::Boolean(true));
        internal.set_properties(&props).unwrap();
        let mut tx = sent(MessageKind::Bytes);
        tx.transaction_id = Some(openwire::TransactionId::Local(
            openwire::LocalTransactionId::default(),
        ));
        let mut priority = sent(MessageKind::Bytes);
        priority.priority = 12;
        let mut advisory = sent(MessageKind::Bytes);
        advisory.destination = Some(openwire::Destination::topic("ActiveMQ.Advisory.X"));
        let mut user = sent(MessageKind::Bytes);
        user.user_id = Some("u".into());
        let mut seq_without_group = sent(MessageKind::Bytes);
        seq_without_group.group_id = None;
        for m in [internal, tx, priority, advisory, user, seq_without_group] {
            let b = to_broker(&received(m)).unwrap();
            assert!(b.encoded.is_none(), "{b:?}");
        }
        let built = to_broker(&sent(MessageKind::Bytes)).unwrap();
        assert!(
            built.encoded.is_none(),
            "only decoded messages have a received form"
        );
    }
}

#[cfg(test)]
mod nul_tests {
    use super::*;

    #[test]
    fn nul_in_string_property_survives() {
        let mut m = openwire::Message::new(MessageKind::Text);
        m.set_text(Some("x")).unwrap();
        m.destination = Some(openwire::Destination::queue("q"));
        m.message_id = Some(MessageId::default());
        let mut props = PrimitiveMap::new();
        props.insert("s", PrimitiveValue::String("a\0b 世界".into()));
        m.set_properties(&props).unwrap();
        let raw = m.marshalled_properties.clone().unwrap();
        eprintln!("raw props {:02x?}", &raw[..]);
        let b = to_broker(&m).unwrap();
        assert_eq!(
            b.property("s"),
            Some(&PropertyValue::String("a\0b 世界".into()))
        );
        let d = Delivery {
            consumer: 1,
            key: 1,
            message: std::sync::Arc::new(b),
            redelivered: false,
            redeliveries: 0,
        };
        let back = to_openwire(&d, 1).unwrap();
        eprintln!(
            "back props {:02x?}",
            &back.marshalled_properties.clone().unwrap()[..]
        );
        assert_eq!(
            back.properties().unwrap().get("s"),
            Some(&PrimitiveValue::String("a\0b 世界".into()))
        );
    }
}
