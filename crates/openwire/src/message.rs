//! `Message`: the seven ActiveMQ message types (23–29), notes §3.6 and §4.
//!
//! Bodies and properties stay raw `Bytes` (a broker forwards them untouched); the accessors
//! decode them on demand.

use bytes::{BufMut, Bytes, BytesMut};

use crate::data_structure::DataStructure;
use crate::destination::Destination;
use crate::encoded_message::{EncodedMessage, ReceivedForm};
use crate::ids::{BrokerId, ConsumerId, MessageId, ProducerId};
use crate::primitive_map::{PrimitiveMap, PrimitiveValue};
use crate::reader::WireReader;
use crate::transaction_id::TransactionId;
use crate::wire_field::{wire_struct, Nested, WireField};
use crate::writer::WireWriter;
use crate::{mutf8, OpenWireError};

/// Which message class; only the type byte differs on the wire (plus the blob fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MessageKind {
    /// `ActiveMQMessage` (23): no body.
    #[default]
    Message,
    /// `ActiveMQBytesMessage` (24).
    Bytes,
    /// `ActiveMQMapMessage` (25).
    Map,
    /// `ActiveMQObjectMessage` (26): Java serialization, opaque.
    Object,
    /// `ActiveMQStreamMessage` (27).
    Stream,
    /// `ActiveMQTextMessage` (28).
    Text,
    /// `ActiveMQBlobMessage` (29).
    Blob,
}

impl MessageKind {
    /// The type byte.
    pub fn type_code(self) -> u8 {
        match self {
            Self::Message => 23,
            Self::Bytes => 24,
            Self::Map => 25,
            Self::Object => 26,
            Self::Stream => 27,
            Self::Text => 28,
            Self::Blob => 29,
        }
    }

    /// The kind for a type byte, if it is a message.
    pub fn from_type_code(code: u8) -> Option<Self> {
        Some(match code {
            23 => Self::Message,
            24 => Self::Bytes,
            25 => Self::Map,
            26 => Self::Object,
            27 => Self::Stream,
            28 => Self::Text,
            29 => Self::Blob,
            _ => return None,
        })
    }

    /// Java class name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Message => "ActiveMQMessage",
            Self::Bytes => "ActiveMQBytesMessage",
            Self::Map => "ActiveMQMapMessage",
            Self::Object => "ActiveMQObjectMessage",
            Self::Stream => "ActiveMQStreamMessage",
            Self::Text => "ActiveMQTextMessage",
            Self::Blob => "ActiveMQBlobMessage",
        }
    }
}

wire_struct! {
    /// The three extra fields of `ActiveMQBlobMessage`.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct BlobFields {
        /// URL of the out-of-band blob.
        pub remote_blob_url: Option<String>,
        /// MIME type.
        pub mime_type: Option<String>,
        /// Whether the broker deleted the blob.
        pub deleted_by_broker: bool,
    }
}

/// A message, fields in wire order (after `kind`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Message {
    /// Message class (type byte 23–29).
    pub kind: MessageKind,
    /// BaseCommand header.
    pub command_id: i32,
    /// BaseCommand header.
    pub response_required: bool,
    /// Sending producer.
    pub producer_id: Option<ProducerId>,
    /// JMSDestination.
    pub destination: Option<Destination>,
    /// Set on transacted sends.
    pub transaction_id: Option<TransactionId>,
    /// Set when moved to a DLQ.
    pub original_destination: Option<Destination>,
    /// JMSMessageID.
    pub message_id: Option<MessageId>,
    /// Set when moved to a DLQ.
    pub original_transaction_id: Option<TransactionId>,
    /// JMSXGroupID.
    pub group_id: Option<String>,
    /// JMSXGroupSeq.
    pub group_sequence: i32,
    /// JMSCorrelationID.
    pub correlation_id: Option<String>,
    /// JMSDeliveryMode (true = PERSISTENT).
    pub persistent: bool,
    /// JMSExpiration, absolute epoch ms; 0 = never.
    pub expiration: i64,
    /// JMSPriority 0–9.
    pub priority: i8,
    /// JMSReplyTo.
    pub reply_to: Option<Destination>,
    /// JMSTimestamp.
    pub timestamp: i64,
    /// JMSType.
    pub jms_type: Option<String>,
    /// Raw body (§4); use the accessors to interpret it.
    pub content: Option<Bytes>,
    /// Raw primitive map of user properties; null when there are none.
    pub marshalled_properties: Option<Bytes>,
    /// Advisory payload.
    pub data_structure: Option<DataStructure>,
    /// Advisory replay target.
    pub target_consumer_id: Option<ConsumerId>,
    /// `content` is zlib-compressed.
    pub compressed: bool,
    /// Broker's redelivery count (clients use MessageDispatch's instead).
    pub redelivery_counter: i32,
    /// Network path.
    pub broker_path: Option<Vec<BrokerId>>,
    /// Arrival time.
    pub arrival: i64,
    /// JMSXUserID.
    pub user_id: Option<String>,
    /// Java's `recievedByDFBridge`.
    pub received_by_df_bridge: bool,
    /// Droppable.
    pub droppable: bool,
    /// Cluster path.
    pub cluster: Option<Vec<BrokerId>>,
    /// Broker receive stamp.
    pub broker_in_time: i64,
    /// Broker dispatch stamp.
    pub broker_out_time: i64,
    /// JMSXGroupFirstForConsumer.
    pub jmsx_group_first_for_consumer: bool,
    /// Extra fields, written only when `kind` is `Blob` (defaults if `None`).
    pub blob: Option<BlobFields>,
    /// How it arrived, set by decoding (never written: encoding always uses the fields).
    /// Only valid while the fields are as decoded; equality ignores it.
    pub received: ReceivedForm,
}

fn read<T: WireField>(r: &mut WireReader) -> Result<T, OpenWireError> {
    T::read(r)
}

impl Message {
    /// An empty message of the given kind (priority 4, like Java's default).
    pub fn new(kind: MessageKind) -> Self {
        Self {
            kind,
            priority: 4,
            ..Self::default()
        }
    }

    pub(crate) fn read_body(kind: MessageKind, r: &mut WireReader) -> Result<Self, OpenWireError> {
        let mut m = Message::new(kind);
        m.read_fields(r)?;
        Ok(m)
    }

    /// [`read_body`](Self::read_body) straight into a box.
    pub(crate) fn read_boxed(
        kind: MessageKind,
        r: &mut WireReader,
    ) -> Result<Box<Self>, OpenWireError> {
        let mut m = Box::new(Message::new(kind));
        m.read_fields(r)?;
        Ok(m)
    }

    /// Decodes the fields after the type byte into `self` (whose `kind` is set), in place:
    /// a message is ~800 bytes, and building it as a value and then moving it into its box
    /// and its dispatch copied it several times per decode.
    fn read_fields(&mut self, r: &mut WireReader) -> Result<(), OpenWireError> {
        let start = r.rest().clone();
        let at = |r: &WireReader| start.len() - r.remaining();
        self.command_id = read(r)?;
        self.response_required = read(r)?;
        self.producer_id = read(r)?;
        self.destination = read(r)?;
        self.transaction_id = read(r)?;
        self.original_destination = read(r)?;
        self.message_id = read(r)?;
        // The id's last field; only meaningful when there is an id.
        let broker_sequence_at = at(r).checked_sub(8).filter(|_| self.message_id.is_some());
        self.original_transaction_id = read(r)?;
        self.group_id = read(r)?;
        self.group_sequence = read(r)?;
        self.correlation_id = read(r)?;
        self.persistent = read(r)?;
        self.expiration = read(r)?;
        self.priority = read(r)?;
        self.reply_to = read(r)?;
        self.timestamp = read(r)?;
        self.jms_type = read(r)?;
        self.content = read(r)?;
        self.marshalled_properties = read(r)?;
        self.data_structure = read(r)?;
        self.target_consumer_id = read(r)?;
        self.compressed = read(r)?;
        let redelivery_counter_at = at(r);
        self.redelivery_counter = read(r)?;
        self.broker_path = read(r)?;
        self.arrival = read(r)?;
        self.user_id = read(r)?;
        self.received_by_df_bridge = read(r)?;
        self.droppable = read(r)?;
        self.cluster = read(r)?;
        self.broker_in_time = read(r)?;
        self.broker_out_time = read(r)?;
        self.jmsx_group_first_for_consumer = read(r)?;
        let kind = self.kind;
        self.blob = if kind == MessageKind::Blob {
            Some(BlobFields::read_body(r)?)
        } else {
            None
        };
        self.received = ReceivedForm::new(broker_sequence_at.and_then(|b| {
            EncodedMessage::new(kind, start.slice(..at(r)), b, redelivery_counter_at)
        }));
        Ok(())
    }

    pub(crate) fn write_body(&self, w: &mut WireWriter<'_>) -> Result<(), OpenWireError> {
        self.command_id.write(w)?;
        self.response_required.write(w)?;
        self.producer_id.write(w)?;
        self.destination.write(w)?;
        self.transaction_id.write(w)?;
        self.original_destination.write(w)?;
        self.message_id.write(w)?;
        self.original_transaction_id.write(w)?;
        self.group_id.write(w)?;
        self.group_sequence.write(w)?;
        self.correlation_id.write(w)?;
        self.persistent.write(w)?;
        self.expiration.write(w)?;
        self.priority.write(w)?;
        self.reply_to.write(w)?;
        self.timestamp.write(w)?;
        self.jms_type.write(w)?;
        self.content.write(w)?;
        self.marshalled_properties.write(w)?;
        self.data_structure.write(w)?;
        self.target_consumer_id.write(w)?;
        self.compressed.write(w)?;
        self.redelivery_counter.write(w)?;
        self.broker_path.write(w)?;
        self.arrival.write(w)?;
        self.user_id.write(w)?;
        self.received_by_df_bridge.write(w)?;
        self.droppable.write(w)?;
        self.cluster.write(w)?;
        self.broker_in_time.write(w)?;
        self.broker_out_time.write(w)?;
        self.jmsx_group_first_for_consumer.write(w)?;
        if self.kind == MessageKind::Blob {
            self.blob.clone().unwrap_or_default().write_body(w)?;
        }
        Ok(())
    }

    fn expect_kind(&self, kind: MessageKind) -> Result<(), OpenWireError> {
        if self.kind != kind {
            return Err(OpenWireError::WrongMessageKind {
                expected: kind.name(),
                actual: self.kind.name(),
            });
        }
        if self.compressed && self.content.is_some() {
            return Err(OpenWireError::CompressedBody);
        }
        Ok(())
    }

    /// User properties (empty if none).
    ///
    /// # Errors
    ///
    /// A malformed properties blob.
    pub fn properties(&self) -> Result<PrimitiveMap, OpenWireError> {
        match &self.marshalled_properties {
            Some(b) => PrimitiveMap::decode(b.clone()),
            None => Ok(PrimitiveMap::new()),
        }
    }

    /// Replaces the user properties (an empty map is stored as null, like Java).
    ///
    /// # Errors
    ///
    /// A property that cannot be encoded (key > 65535 bytes…).
    pub fn set_properties(&mut self, props: &PrimitiveMap) -> Result<(), OpenWireError> {
        self.marshalled_properties = if props.is_empty() {
            None
        } else {
            Some(props.encode()?)
        };
        Ok(())
    }

    /// A TextMessage's text (`None` = null text).
    ///
    /// # Errors
    ///
    /// Not a TextMessage, compressed body, or a malformed body.
    pub fn text(&self) -> Result<Option<String>, OpenWireError> {
        self.expect_kind(MessageKind::Text)?;
        match &self.content {
            None => Ok(None),
            Some(b) => WireReader::new(b.clone(), false)
                .utf_i32("text body")
                .map(Some),
        }
    }

    /// Sets a TextMessage body (`int32 length` + modified UTF-8, uncompressed).
    ///
    /// # Errors
    ///
    /// Text over 2 GiB encoded.
    pub fn set_text(&mut self, text: Option<&str>) -> Result<(), OpenWireError> {
        self.compressed = false;
        self.content = match text {
            None => None,
            Some(t) => {
                let len = mutf8::encoded_len(t);
                let len32 = i32::try_from(len).map_err(|_| OpenWireError::TooLongToEncode {
                    what: "text body",
                    length: len,
                })?;
                let mut b = BytesMut::with_capacity(4 + len);
                b.put_i32(len32);
                mutf8::encode_into(t, &mut b);
                Some(b.freeze())
            }
        };
        Ok(())
    }

    /// A MapMessage's entries (empty for a null body).
    ///
    /// # Errors
    ///
    /// Not a MapMessage, compressed body, or a malformed body.
    pub fn map_body(&self) -> Result<PrimitiveMap, OpenWireError> {
        self.expect_kind(MessageKind::Map)?;
        match &self.content {
            None => Ok(PrimitiveMap::new()),
            Some(b) => PrimitiveMap::decode(b.clone()),
        }
    }

    /// Sets a MapMessage body (empty map = null content, like Java).
    ///
    /// # Errors
    ///
    /// An entry that cannot be encoded.
    pub fn set_map_body(&mut self, map: &PrimitiveMap) -> Result<(), OpenWireError> {
        self.compressed = false;
        self.content = if map.is_empty() {
            None
        } else {
            Some(map.encode()?)
        };
        Ok(())
    }

    /// A StreamMessage's values.
    ///
    /// # Errors
    ///
    /// Not a StreamMessage, compressed body, or a malformed body.
    pub fn stream_body(&self) -> Result<Vec<PrimitiveValue>, OpenWireError> {
        self.expect_kind(MessageKind::Stream)?;
        match &self.content {
            None => Ok(Vec::new()),
            Some(b) => PrimitiveValue::decode_sequence(b.clone()),
        }
    }

    /// Approximate in-memory size of body + properties, for flow control accounting.
    pub fn payload_size(&self) -> usize {
        self.content.as_ref().map_or(0, Bytes::len)
            + self.marshalled_properties.as_ref().map_or(0, Bytes::len)
    }
}

impl Message {
    /// The kind of a nested message's type byte, or why it is not one.
    fn nested_kind(type_code: u8) -> Result<MessageKind, OpenWireError> {
        match MessageKind::from_type_code(type_code) {
            Some(kind) => Ok(kind),
            None if DataStructure::is_known_type(type_code) => Err(OpenWireError::UnexpectedType {
                expected: "Message",
                found: type_code,
            }),
            None => Err(OpenWireError::UnknownType { type_code }),
        }
    }
}

impl Nested for Message {
    fn read_typed(type_code: u8, r: &mut WireReader) -> Result<Self, OpenWireError> {
        Self::read_body(Self::nested_kind(type_code)?, r)
    }

    fn read_typed_boxed(type_code: u8, r: &mut WireReader) -> Result<Box<Self>, OpenWireError> {
        Self::read_boxed(Self::nested_kind(type_code)?, r)
    }

    fn type_code(&self) -> u8 {
        self.kind.type_code()
    }

    fn write_body(&self, w: &mut WireWriter<'_>) -> Result<(), OpenWireError> {
        Message::write_body(self, w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_body_round_trips_emoji_and_nul() {
        let mut m = Message::new(MessageKind::Text);
        m.set_text(Some("a\0😀")).unwrap();
        assert_eq!(
            &m.content.as_ref().unwrap()[..],
            &[0, 0, 0, 9, b'a', 0xC0, 0x80, 0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80]
        );
        assert_eq!(m.text().unwrap().as_deref(), Some("a\0😀"));
    }

    #[test]
    fn accessors_check_the_kind() {
        let m = Message::new(MessageKind::Bytes);
        assert!(matches!(
            m.text(),
            Err(OpenWireError::WrongMessageKind { .. })
        ));
        let mut t = Message::new(MessageKind::Text);
        t.content = Some(Bytes::from_static(&[1, 2]));
        t.compressed = true;
        assert!(matches!(t.text(), Err(OpenWireError::CompressedBody)));
    }

    #[test]
    fn text_length_beyond_body_errors() {
        let mut t = Message::new(MessageKind::Text);
        t.content = Some(Bytes::from_static(&[0, 0, 1, 0, b'a']));
        assert!(matches!(
            t.text(),
            Err(OpenWireError::LengthOutOfRange { .. })
        ));
    }
}
