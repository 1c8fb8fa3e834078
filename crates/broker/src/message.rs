//! The protocol-neutral message.

use crate::destination::Destination;
use bytes::Bytes;
use std::sync::OnceLock;

/// A typed message property (the JMS property types).
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyValue {
    Bool(bool),
    Byte(i8),
    Short(i16),
    Int(i32),
    Long(i64),
    Float(f32),
    Double(f64),
    String(String),
}

impl PropertyValue {
    /// The value as a selector sees it (JMS widens integer and float types).
    pub fn to_selector_value(&self) -> selector::Value {
        match self {
            PropertyValue::Bool(b) => selector::Value::Bool(*b),
            PropertyValue::Byte(v) => selector::Value::Int(i64::from(*v)),
            PropertyValue::Short(v) => selector::Value::Int(i64::from(*v)),
            PropertyValue::Int(v) => selector::Value::Int(i64::from(*v)),
            PropertyValue::Long(v) => selector::Value::Int(*v),
            PropertyValue::Float(v) => selector::Value::Float(f64::from(*v)),
            PropertyValue::Double(v) => selector::Value::Float(*v),
            PropertyValue::String(s) => selector::Value::Str(s.clone()),
        }
    }

    /// Text form, as STOMP carries properties.
    pub fn to_text(&self) -> String {
        match self {
            PropertyValue::Bool(b) => b.to_string(),
            PropertyValue::Byte(v) => v.to_string(),
            PropertyValue::Short(v) => v.to_string(),
            PropertyValue::Int(v) => v.to_string(),
            PropertyValue::Long(v) => v.to_string(),
            PropertyValue::Float(v) => v.to_string(),
            PropertyValue::Double(v) => v.to_string(),
            PropertyValue::String(s) => s.clone(),
        }
    }
}

/// A message's properties: a list, or the properties as a protocol encoded them, decoded
/// the first time something reads them (a selector, a delivery in another protocol, the
/// store, the console). A message that only passes through (delivered in the protocol it
/// came in, not persisted) never builds them.
#[derive(Clone, Default)]
pub struct Properties {
    list: OnceLock<Vec<(String, PropertyValue)>>,
    encoded: Option<EncodedProperties>,
}

/// Properties a protocol left encoded, with its decoder. The protocol checked them when the
/// message arrived, so decoding them cannot fail.
#[derive(Clone)]
pub struct EncodedProperties {
    pub bytes: Bytes,
    pub decode: fn(&Bytes) -> Vec<(String, PropertyValue)>,
}

impl Properties {
    /// Left encoded until read.
    pub fn encoded(bytes: Bytes, decode: fn(&Bytes) -> Vec<(String, PropertyValue)>) -> Self {
        Properties {
            list: OnceLock::new(),
            encoded: Some(EncodedProperties { bytes, decode }),
        }
    }

    /// The properties (decoded now if they were not yet).
    pub fn list(&self) -> &[(String, PropertyValue)] {
        self.list.get_or_init(|| {
            self.encoded
                .as_ref()
                .map(|e| (e.decode)(&e.bytes))
                .unwrap_or_default()
        })
    }

    /// The properties to change (the encoded form is dropped).
    pub fn list_mut(&mut self) -> &mut Vec<(String, PropertyValue)> {
        self.list();
        self.encoded = None;
        match self.list.get_mut() {
            Some(list) => list,
            None => unreachable!("`list` initializes it"),
        }
    }

    /// Gives the encoded properties bytes of their own: a slice of a received frame keeps
    /// the whole read buffer alive, which memory accounting does not count. (Not needed
    /// while the message keeps its [`EncodedForm`], which holds that buffer anyway.)
    pub fn unshare(&mut self) {
        if let Some(e) = &mut self.encoded {
            e.bytes = Bytes::copy_from_slice(&e.bytes);
        }
    }

    /// The encoded bytes, while they are kept.
    pub fn encoded_bytes(&self) -> Option<&Bytes> {
        self.encoded.as_ref().map(|e| &e.bytes)
    }

    /// Whether they are (still) kept as the protocol encoded them.
    pub fn is_encoded(&self) -> bool {
        self.encoded.is_some()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, (String, PropertyValue)> {
        self.list().iter()
    }

    pub fn len(&self) -> usize {
        self.list().len()
    }

    pub fn is_empty(&self) -> bool {
        self.list().is_empty()
    }

    /// Bytes held, for memory accounting: the same before and after a lazy decode, so that
    /// what a queue adds when a message arrives it also takes away when it leaves.
    fn memory_size(&self) -> usize {
        match &self.encoded {
            Some(e) => e.bytes.len() + 16,
            None => self
                .list()
                .iter()
                .map(|(k, v)| {
                    k.len()
                        + 16
                        + if let PropertyValue::String(s) = v {
                            s.len()
                        } else {
                            0
                        }
                })
                .sum(),
        }
    }
}

impl From<Vec<(String, PropertyValue)>> for Properties {
    fn from(list: Vec<(String, PropertyValue)>) -> Self {
        Properties {
            list: OnceLock::from(list),
            encoded: None,
        }
    }
}

impl FromIterator<(String, PropertyValue)> for Properties {
    fn from_iter<I: IntoIterator<Item = (String, PropertyValue)>>(iter: I) -> Self {
        Properties::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl<'a> IntoIterator for &'a Properties {
    type Item = &'a (String, PropertyValue);
    type IntoIter = std::slice::Iter<'a, (String, PropertyValue)>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl PartialEq for Properties {
    fn eq(&self, other: &Self) -> bool {
        self.list() == other.list()
    }
}

impl std::fmt::Debug for Properties {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.list()).finish()
    }
}

/// What the body holds, so that a message keeps its JMS type across protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// Plain `Message` without a body.
    Empty,
    /// UTF-8 text (`TextMessage`).
    Text,
    /// Raw bytes (`BytesMessage`).
    Bytes,
    /// Encoded map (`MapMessage`), kept in its wire form.
    Map,
    /// Encoded stream (`StreamMessage`), kept in its wire form.
    Stream,
    /// Serialized Java object (`ObjectMessage`): stored and passed through, never deserialised.
    Object,
}

impl BodyKind {
    pub fn code(self) -> u8 {
        match self {
            BodyKind::Empty => 0,
            BodyKind::Text => 1,
            BodyKind::Bytes => 2,
            BodyKind::Map => 3,
            BodyKind::Stream => 4,
            BodyKind::Object => 5,
        }
    }

    pub fn from_code(code: u8) -> Option<BodyKind> {
        Some(match code {
            0 => BodyKind::Empty,
            1 => BodyKind::Text,
            2 => BodyKind::Bytes,
            3 => BodyKind::Map,
            4 => BodyKind::Stream,
            5 => BodyKind::Object,
            _ => return None,
        })
    }
}

/// The protocol an [`EncodedForm`] is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireProtocol {
    OpenWire,
}

/// A message as the protocol it arrived in encoded it, kept so that a delivery in the
/// same protocol need not encode it again. The broker never reads it; whatever changes a
/// message's headers, properties or body drops it (`encoded = None`), so it always says the
/// same as the fields.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedForm {
    pub protocol: WireProtocol,
    /// The protocol's type of the message (OpenWire: its type byte).
    pub type_code: u8,
    /// Shared with the frame it was read from, and usually with `body`.
    pub bytes: Bytes,
    /// Offsets of the fields the protocol rewrites on delivery.
    pub marks: [usize; 2],
}

/// A message with JMS headers, typed properties and a body shared by reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// ActiveMQ-style message id text: `ID:<producer id>:<seq>`.
    pub id: String,
    pub destination: Destination,
    pub persistent: bool,
    /// 0–9, 4 by default.
    pub priority: u8,
    /// Milliseconds since the epoch when the producer sent it.
    pub timestamp: i64,
    /// Milliseconds since the epoch after which it must not be delivered; 0 = never.
    pub expiration: i64,
    pub correlation_id: Option<String>,
    pub reply_to: Option<Destination>,
    pub jms_type: Option<String>,
    pub properties: Properties,
    pub body_kind: BodyKind,
    pub body: Bytes,
    /// Where the store can read the body back; set by stores that page. A paged-out
    /// message has an empty `body` and `body_ref` set.
    pub body_ref: Option<crate::store::BodyRef>,
    /// The message as it arrived, for deliveries in the same protocol (see [`EncodedForm`]).
    pub encoded: Option<EncodedForm>,
}

/// JMS default priority.
pub const DEFAULT_PRIORITY: u8 = 4;

impl Message {
    pub fn new(id: String, destination: Destination, body_kind: BodyKind, body: Bytes) -> Message {
        Message {
            id,
            destination,
            persistent: false,
            priority: DEFAULT_PRIORITY,
            timestamp: 0,
            expiration: 0,
            correlation_id: None,
            reply_to: None,
            jms_type: None,
            properties: Properties::default(),
            body_kind,
            body,
            body_ref: None,
            encoded: None,
        }
    }

    pub fn property(&self, name: &str) -> Option<&PropertyValue> {
        self.properties
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    pub fn set_property(&mut self, name: &str, value: PropertyValue) {
        let list = self.properties.list_mut();
        match list.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value,
            None => list.push((name.to_string(), value)),
        }
    }

    /// True when the body is not in memory and must be read back from the store.
    pub fn is_paged(&self) -> bool {
        self.body.is_empty() && self.body_ref.is_some_and(|r| r.body_len > 0)
    }

    /// The log index of the record a paged-out body is read back from.
    pub fn paged_body_index(&self) -> Option<u64> {
        self.body_ref.filter(|_| self.is_paged()).map(|r| r.index)
    }

    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.expiration > 0 && now_ms >= self.expiration
    }

    /// Bytes this message holds in memory, for memory accounting.
    pub fn memory_size(&self) -> usize {
        self.body.len()
            + self.encoded.as_ref().map_or(0, |e| self.encoded_extra(e))
            + self.id.len()
            + self.properties.memory_size()
            + 128
    }
}

impl Message {
    /// Memory the encoded form holds beyond the body (which it usually contains).
    fn encoded_extra(&self, e: &EncodedForm) -> usize {
        let within = |outer: &Bytes, inner: &Bytes| {
            let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
            i >= o && i + inner.len() <= o + outer.len()
        };
        if within(&e.bytes, &self.body) {
            e.bytes.len() - self.body.len()
        } else {
            e.bytes.len()
        }
    }
}

impl selector::Resolver for Message {
    fn resolve(&self, identifier: &str) -> Option<selector::Value> {
        use selector::Value;
        match identifier {
            "JMSPriority" => Some(Value::Int(i64::from(self.priority))),
            "JMSTimestamp" => Some(Value::Int(self.timestamp)),
            "JMSExpiration" => Some(Value::Int(self.expiration)),
            "JMSMessageID" => Some(Value::Str(self.id.clone())),
            "JMSCorrelationID" => self.correlation_id.clone().map(Value::Str),
            "JMSType" => self.jms_type.clone().map(Value::Str),
            "JMSDeliveryMode" => Some(Value::Str(
                if self.persistent {
                    "PERSISTENT"
                } else {
                    "NON_PERSISTENT"
                }
                .to_string(),
            )),
            "JMSDestination" => Some(Value::Str(self.destination.to_string())),
            _ => self
                .property(identifier)
                .map(PropertyValue::to_selector_value),
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
