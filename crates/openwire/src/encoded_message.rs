//! `EncodedMessage`: a message as it was received, so that a broker can dispatch it without
//! encoding it again, and `DispatchOf`, the MessageDispatch that carries it.
//!
//! A broker changes only four fields of a message it passes on: the command id and
//! responseRequired of the producer's send (0 and false in a dispatch), the broker sequence
//! of its message id and its redelivery counter. Their places are noted while the message
//! is decoded; everything else is copied as received (notes §3.6: the body and properties
//! are opaque to the broker anyway).

use bytes::{BufMut, Bytes, BytesMut};

use crate::destination::Destination;
use crate::ids::ConsumerId;
use crate::message::MessageKind;
use crate::wire_field::write_nested;
use crate::writer::WireWriter;
use crate::OpenWireError;

/// Bytes of the command id (int32) and responseRequired (bool) that open a message body.
const HEADER_LEN: usize = 5;

/// `MessageDispatch`'s type byte.
const MESSAGE_DISPATCH_TYPE: u8 = 21;

/// The loose-encoded body of a received message (everything after its type byte), with the
/// positions of the broker sequence id and the redelivery counter.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedMessage {
    kind: MessageKind,
    bytes: Bytes,
    /// Offset of `message_id.broker_sequence_id` (int64).
    broker_sequence_at: usize,
    /// Offset of `redelivery_counter` (int32).
    redelivery_counter_at: usize,
}

/// A decoded message's [`EncodedMessage`], kept while its fields are as decoded.
///
/// It is a cache of the fields, not a field itself: two messages with the same fields are
/// equal however they arrived, so `==` ignores it.
#[derive(Debug, Clone, Default)]
pub struct ReceivedForm(Option<EncodedMessage>);

impl PartialEq for ReceivedForm {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl ReceivedForm {
    pub(crate) fn new(encoded: Option<EncodedMessage>) -> Self {
        Self(encoded)
    }

    /// The encoded form, if the message was decoded (and has a message id).
    pub fn get(&self) -> Option<&EncodedMessage> {
        self.0.as_ref()
    }

    /// Forgets it: call after changing a field of a decoded message.
    pub fn clear(&mut self) {
        self.0 = None;
    }
}

impl EncodedMessage {
    /// Rebuilds one from [`EncodedMessage::parts`] (e.g. kept by a broker in its own
    /// message type); `None` if the positions do not fit the bytes.
    pub fn from_parts(kind: MessageKind, bytes: Bytes, marks: [usize; 2]) -> Option<Self> {
        Self::new(kind, bytes, marks[0], marks[1])
    }

    /// The bytes and the positions of the broker sequence id and the redelivery counter.
    pub fn parts(&self) -> (&Bytes, [usize; 2]) {
        (
            &self.bytes,
            [self.broker_sequence_at, self.redelivery_counter_at],
        )
    }

    /// Notes a decoded body; `None` if the positions do not fit it (they always do for a
    /// body `Message::read_body` consumed).
    pub(crate) fn new(
        kind: MessageKind,
        bytes: Bytes,
        broker_sequence_at: usize,
        redelivery_counter_at: usize,
    ) -> Option<Self> {
        let fits = broker_sequence_at >= HEADER_LEN
            && broker_sequence_at + 8 <= redelivery_counter_at
            && redelivery_counter_at + 4 <= bytes.len();
        fits.then_some(Self {
            kind,
            bytes,
            broker_sequence_at,
            redelivery_counter_at,
        })
    }

    /// The message class it was sent as.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// Appends type byte + body with the dispatch's four fields rewritten.
    fn write_dispatched(&self, out: &mut BytesMut, broker_sequence_id: i64, redelivery: i32) {
        let b = &self.bytes[..];
        out.reserve(1 + b.len());
        out.put_u8(self.kind.type_code());
        out.put_i32(0); // command id
        out.put_u8(0); // responseRequired
        out.put_slice(&b[HEADER_LEN..self.broker_sequence_at]);
        out.put_i64(broker_sequence_id);
        out.put_slice(&b[self.broker_sequence_at + 8..self.redelivery_counter_at]);
        out.put_i32(redelivery);
        out.put_slice(&b[self.redelivery_counter_at + 4..]);
    }
}

/// A `MessageDispatch` of an [`EncodedMessage`]: encodes exactly as a [`crate::MessageDispatch`]
/// whose message is the decoded one with command id 0, responseRequired false, the given
/// broker sequence id and redelivery counter.
#[derive(Debug, Clone, Copy)]
pub struct DispatchOf<'a> {
    /// Target consumer.
    pub consumer_id: &'a ConsumerId,
    /// The destination the consumer subscribed to.
    pub destination: &'a Destination,
    /// The message as received.
    pub message: &'a EncodedMessage,
    /// Stamped into the message id; the client echoes it in acks.
    pub broker_sequence_id: i64,
    /// Both the message's and the dispatch's redelivery counter.
    pub redelivery_counter: i32,
}

impl DispatchOf<'_> {
    /// Appends the frame body (type byte first, no size prefix), like [`crate::Command::encode`].
    ///
    /// # Errors
    ///
    /// An id or destination name that cannot be encoded (over 65535 bytes).
    pub fn encode(
        &self,
        out: &mut BytesMut,
        stack_trace_enabled: bool,
    ) -> Result<(), OpenWireError> {
        {
            let mut w = WireWriter::new(out, stack_trace_enabled);
            w.u8(MESSAGE_DISPATCH_TYPE);
            w.i32(0); // command id
            w.bool(false); // responseRequired
            w.bool(true);
            write_nested(self.consumer_id, &mut w)?;
            w.bool(true);
            write_nested(self.destination, &mut w)?;
            w.bool(true); // the message is not null
        }
        self.message
            .write_dispatched(out, self.broker_sequence_id, self.redelivery_counter);
        out.put_i32(self.redelivery_counter);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{MessageId, ProducerId};
    use crate::{Command, Message, MessageDispatch, PrimitiveMap, PrimitiveValue};

    fn sent(kind: MessageKind) -> Message {
        let mut m = Message::new(kind);
        m.command_id = 77;
        m.response_required = true;
        let producer = ProducerId {
            connection_id: "ID:host-1-2-3:1".into(),
            value: 3,
            session_id: 2,
        };
        m.producer_id = Some(producer.clone());
        m.destination = Some(Destination::queue("q.a"));
        m.message_id = Some(MessageId {
            text_view: None,
            producer_id: Some(producer),
            producer_sequence_id: 42,
            broker_sequence_id: 0,
        });
        m.correlation_id = Some("corr".into());
        m.timestamp = 1_700_000_000_000;
        m.content = Some(Bytes::from_static(b"\x00\x01body"));
        let mut props = PrimitiveMap::new();
        props.insert("ts", PrimitiveValue::Long(5));
        m.set_properties(&props).unwrap();
        m.redelivery_counter = 0;
        m
    }

    fn decoded(m: &Message) -> Message {
        let mut frame = BytesMut::new();
        Command::Message(Box::new(m.clone()))
            .encode(&mut frame, false)
            .unwrap();
        match Command::decode(frame.freeze(), false).unwrap() {
            Command::Message(m) => *m,
            other => panic!("decoded {}", other.name()),
        }
    }

    /// The pass-through dispatch is byte for byte the dispatch of the decoded message with
    /// the four broker-owned fields set.
    #[test]
    fn dispatch_of_encoded_message_matches_dispatch_of_decoded_one() {
        for kind in [MessageKind::Bytes, MessageKind::Text, MessageKind::Blob] {
            let received = decoded(&sent(kind));
            let encoded = received
                .received
                .get()
                .cloned()
                .expect("decoding notes the encoded form");
            assert_eq!(encoded.kind(), kind);
            let consumer = ConsumerId {
                connection_id: "ID:host-9-9-9:1".into(),
                session_id: 1,
                value: 4,
            };
            let destination = Destination::queue("q.>");
            let mut fast = BytesMut::new();
            DispatchOf {
                consumer_id: &consumer,
                destination: &destination,
                message: &encoded,
                broker_sequence_id: 1234,
                redelivery_counter: 2,
            }
            .encode(&mut fast, false)
            .unwrap();

            let mut message = received;
            message.command_id = 0;
            message.response_required = false;
            if let Some(id) = message.message_id.as_mut() {
                id.broker_sequence_id = 1234;
            }
            message.redelivery_counter = 2;
            let mut slow = BytesMut::new();
            Command::MessageDispatch(Box::new(MessageDispatch {
                consumer_id: Some(consumer),
                destination: Some(destination),
                message: Some(Box::new(message)),
                redelivery_counter: 2,
                ..Default::default()
            }))
            .encode(&mut slow, false)
            .unwrap();
            assert_eq!(fast, slow, "{kind:?}");
        }
    }

    #[test]
    fn a_message_without_id_has_no_encoded_form() {
        let mut m = sent(MessageKind::Bytes);
        m.message_id = None;
        assert!(decoded(&m).received.get().is_none());
        assert!(Message::new(MessageKind::Text).received.get().is_none());
    }
}
