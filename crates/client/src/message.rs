//! [`Message`]: what producers send and consumers receive: a text, bytes, map or empty body,
//! JMS headers and typed properties, and (once received) the means to acknowledge it.

use crate::error::ClientError;
use crate::session::SessionShared;
use bytes::Bytes;
use openwire::{Destination, MessageId, MessageKind, PrimitiveMap, PrimitiveValue};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A JMS message.
///
/// ```
/// use client::{Destination, Message};
/// let mut m = Message::text("hello");
/// m.set_property("count", 3i32)?;
/// m.set_property("urgent", true)?;
/// m.set_correlation_id("req-1");
/// m.set_reply_to(Destination::queue("replies"));
/// assert_eq!(m.text_body()?.as_deref(), Some("hello"));
/// assert_eq!(m.property("count")?, Some(client::PrimitiveValue::Int(3)));
/// # Ok::<(), client::ClientError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Message {
    /// Boxed: the OpenWire message is large, and a message moves through several calls and
    /// futures on its way to the socket (and from it), each move a copy of the whole struct.
    pub(crate) raw: Box<openwire::Message>,
    /// Times this delivery was rolled back or recovered (from the broker and locally).
    pub(crate) redelivery_counter: i32,
    /// Set on received messages of CLIENT / INDIVIDUAL sessions.
    pub(crate) ack: Option<AckHandle>,
}

/// What [`Message::acknowledge`] needs.
#[derive(Clone)]
pub(crate) struct AckHandle {
    pub(crate) session: Arc<SessionShared>,
    pub(crate) delivery: u64,
}

impl std::fmt::Debug for AckHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AckHandle({})", self.delivery)
    }
}

/// A value that can be a message property (or map body entry): `bool`, `i8`, `i16`, `i32`,
/// `i64`, `f32`, `f64`, `&str` and `String`.
pub trait Property {
    /// The typed OpenWire value.
    fn into_value(self) -> PrimitiveValue;
}

macro_rules! property {
    ($($t:ty => $v:ident),*) => {
        $(impl Property for $t {
            fn into_value(self) -> PrimitiveValue {
                PrimitiveValue::$v(self.into())
            }
        })*
    };
}
property!(bool => Boolean, i8 => Byte, i16 => Short, i32 => Int, i64 => Long, f32 => Float, f64 => Double, String => String);

impl Property for &str {
    fn into_value(self) -> PrimitiveValue {
        PrimitiveValue::String(self.to_string())
    }
}

impl Property for PrimitiveValue {
    fn into_value(self) -> PrimitiveValue {
        self
    }
}

impl Message {
    fn of(raw: openwire::Message) -> Message {
        Message::from_boxed(Box::new(raw))
    }

    /// A message without a body (`ActiveMQMessage`).
    pub fn empty() -> Message {
        Message::of(openwire::Message::new(MessageKind::Message))
    }

    /// A TextMessage.
    pub fn text(text: impl AsRef<str>) -> Message {
        let mut raw = openwire::Message::new(MessageKind::Text);
        // Only a text over 2 GiB fails to encode; such a body could never be sent anyway
        // (the frame limit refuses it), so it becomes a null text here.
        if raw.set_text(Some(text.as_ref())).is_err() {
            raw.content = None;
        }
        Message::of(raw)
    }

    /// A BytesMessage.
    pub fn bytes(body: impl Into<Bytes>) -> Message {
        let mut raw = openwire::Message::new(MessageKind::Bytes);
        raw.content = Some(body.into());
        Message::of(raw)
    }

    /// A MapMessage.
    ///
    /// # Errors
    ///
    /// An entry that cannot be encoded (a key over 65535 bytes …).
    pub fn map(entries: &PrimitiveMap) -> Result<Message, ClientError> {
        let mut raw = openwire::Message::new(MessageKind::Map);
        raw.set_map_body(entries)?;
        Ok(Message::of(raw))
    }

    /// Wraps a decoded OpenWire message.
    pub fn from_raw(raw: openwire::Message) -> Message {
        Message::of(raw)
    }

    /// Wraps a decoded OpenWire message that is boxed already (a dispatch's).
    pub(crate) fn from_boxed(raw: Box<openwire::Message>) -> Message {
        Message {
            raw,
            redelivery_counter: 0,
            ack: None,
        }
    }

    /// The OpenWire message (all JMS headers as fields).
    pub fn raw(&self) -> &openwire::Message {
        &self.raw
    }

    /// The OpenWire message, mutable (JMSType, group id …).
    pub fn raw_mut(&mut self) -> &mut openwire::Message {
        &mut self.raw
    }

    /// The body kind.
    pub fn kind(&self) -> MessageKind {
        self.raw.kind
    }

    /// A TextMessage's text.
    ///
    /// # Errors
    ///
    /// Not a TextMessage, or a malformed body.
    pub fn text_body(&self) -> Result<Option<String>, ClientError> {
        Ok(self.raw.text()?)
    }

    /// A BytesMessage's bytes.
    ///
    /// # Errors
    ///
    /// Not a BytesMessage, or a compressed body.
    pub fn bytes_body(&self) -> Result<Bytes, ClientError> {
        if self.raw.kind != MessageKind::Bytes {
            return Err(openwire::OpenWireError::WrongMessageKind {
                expected: MessageKind::Bytes.name(),
                actual: self.raw.kind.name(),
            }
            .into());
        }
        if self.raw.compressed {
            return Err(openwire::OpenWireError::CompressedBody.into());
        }
        Ok(self.raw.content.clone().unwrap_or_default())
    }

    /// A MapMessage's entries.
    ///
    /// # Errors
    ///
    /// Not a MapMessage, or a malformed body.
    pub fn map_body(&self) -> Result<PrimitiveMap, ClientError> {
        Ok(self.raw.map_body()?)
    }

    /// Sets (or replaces) a typed property.
    ///
    /// # Errors
    ///
    /// The existing properties do not decode, or the key is too long to encode.
    pub fn set_property(&mut self, key: &str, value: impl Property) -> Result<(), ClientError> {
        // The other properties are copied as encoded, not decoded and encoded again.
        let value = value.into_value();
        self.raw.marshalled_properties = Some(PrimitiveMap::encode_with(
            self.raw.marshalled_properties.as_ref(),
            key,
            &value,
        )?);
        Ok(())
    }

    /// A property's typed value.
    ///
    /// # Errors
    ///
    /// The properties do not decode.
    pub fn property(&self, key: &str) -> Result<Option<PrimitiveValue>, ClientError> {
        // Only that entry is decoded.
        match &self.raw.marshalled_properties {
            Some(blob) => Ok(PrimitiveMap::lookup(blob, key)?),
            None => Ok(None),
        }
    }

    /// All properties.
    ///
    /// # Errors
    ///
    /// The properties do not decode.
    pub fn properties(&self) -> Result<PrimitiveMap, ClientError> {
        Ok(self.raw.properties()?)
    }

    /// JMSMessageID (set by the producer on send).
    pub fn message_id(&self) -> Option<&MessageId> {
        self.raw.message_id.as_ref()
    }

    /// JMSDestination.
    pub fn destination(&self) -> Option<&Destination> {
        self.raw.destination.as_ref()
    }

    /// JMSCorrelationID.
    pub fn correlation_id(&self) -> Option<&str> {
        self.raw.correlation_id.as_deref()
    }

    /// Sets JMSCorrelationID.
    pub fn set_correlation_id(&mut self, id: impl Into<String>) {
        self.raw.correlation_id = Some(id.into());
    }

    /// JMSReplyTo.
    pub fn reply_to(&self) -> Option<&Destination> {
        self.raw.reply_to.as_ref()
    }

    /// Sets JMSReplyTo (a temporary queue for request/reply).
    pub fn set_reply_to(&mut self, destination: Destination) {
        self.raw.reply_to = Some(destination);
    }

    /// JMSDeliveryMode: persistent or not.
    pub fn persistent(&self) -> bool {
        self.raw.persistent
    }

    /// JMSPriority, 0–9.
    pub fn priority(&self) -> u8 {
        u8::try_from(self.raw.priority).unwrap_or(0)
    }

    /// JMSExpiration in epoch milliseconds, 0 = never.
    pub fn expiration(&self) -> i64 {
        self.raw.expiration
    }

    /// JMSTimestamp in epoch milliseconds.
    pub fn timestamp(&self) -> i64 {
        self.raw.timestamp
    }

    /// JMSRedelivered.
    pub fn redelivered(&self) -> bool {
        self.redelivery_counter > 0
    }

    /// How many times this message was delivered before (JMSXDeliveryCount − 1).
    pub fn redelivery_count(&self) -> i32 {
        self.redelivery_counter
    }

    /// Acknowledges a received message. In a CLIENT session this acknowledges every message
    /// the session delivered so far (JMS semantics); in an INDIVIDUAL session only this one.
    /// In AUTO, DUPS_OK and transacted sessions it does nothing (like JMS).
    ///
    /// # Errors
    ///
    /// The connection is closed.
    pub fn acknowledge(&self) -> Result<(), ClientError> {
        match &self.ack {
            Some(h) => h.session.acknowledge(Some(h.delivery)),
            None => Ok(()),
        }
    }

    /// Whether the message expired (expiration set and in the past).
    pub(crate) fn is_expired(&self) -> bool {
        self.raw.expiration > 0 && self.raw.expiration < now_millis()
    }
}

/// Milliseconds since the epoch.
pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}
