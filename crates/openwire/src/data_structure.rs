//! `DataStructure`: a field declared as "any data structure" (RemoveInfo.objectId,
//! Message.dataStructure, DataResponse.data, ConsumerInfo.additionalPredicate).

use crate::command::Command;
use crate::destination::Destination;
use crate::ids::{BrokerId, ConnectionId, ConsumerId, MessageId, ProducerId, SessionId};
use crate::reader::WireReader;
use crate::transaction_id::{LocalTransactionId, TransactionId, XaTransactionId};
use crate::wire_field::Nested;
use crate::writer::WireWriter;
use crate::OpenWireError;

/// Any data structure the v12 marshallers of this crate implement.
#[derive(Debug, Clone, PartialEq)]
pub enum DataStructure {
    /// 120.
    ConnectionId(ConnectionId),
    /// 121.
    SessionId(SessionId),
    /// 122.
    ConsumerId(ConsumerId),
    /// 123.
    ProducerId(ProducerId),
    /// 110.
    MessageId(MessageId),
    /// 124.
    BrokerId(BrokerId),
    /// 100–103.
    Destination(Destination),
    /// 111, 112.
    TransactionId(TransactionId),
    /// Any command (types 1–34), e.g. a DestinationInfo inside an advisory message.
    Command(Box<Command>),
}

impl DataStructure {
    /// Whether `code` is a type this crate can decode.
    pub fn is_known_type(code: u8) -> bool {
        matches!(code, 100..=103 | 110..=112 | 120..=124) || Command::is_known_type(code)
    }
}

impl Nested for DataStructure {
    fn read_typed(type_code: u8, r: &mut WireReader) -> Result<Self, OpenWireError> {
        Ok(match type_code {
            120 => Self::ConnectionId(ConnectionId::read_body(r)?),
            121 => Self::SessionId(SessionId::read_body(r)?),
            122 => Self::ConsumerId(ConsumerId::read_body(r)?),
            123 => Self::ProducerId(ProducerId::read_body(r)?),
            110 => Self::MessageId(MessageId::read_body(r)?),
            124 => Self::BrokerId(BrokerId::read_body(r)?),
            100..=103 => Self::Destination(Destination::read_typed(type_code, r)?),
            111 => Self::TransactionId(TransactionId::Local(LocalTransactionId::read_body(r)?)),
            112 => Self::TransactionId(TransactionId::Xa(XaTransactionId::read_body(r)?)),
            _ => Self::Command(Box::new(Command::read_typed(type_code, r)?)),
        })
    }

    fn type_code(&self) -> u8 {
        match self {
            Self::ConnectionId(_) => 120,
            Self::SessionId(_) => 121,
            Self::ConsumerId(_) => 122,
            Self::ProducerId(_) => 123,
            Self::MessageId(_) => 110,
            Self::BrokerId(_) => 124,
            Self::Destination(d) => d.kind.type_code(),
            Self::TransactionId(t) => t.type_code(),
            Self::Command(c) => c.type_code(),
        }
    }

    fn write_body(&self, w: &mut WireWriter<'_>) -> Result<(), OpenWireError> {
        match self {
            Self::ConnectionId(v) => v.write_body(w),
            Self::SessionId(v) => v.write_body(w),
            Self::ConsumerId(v) => v.write_body(w),
            Self::ProducerId(v) => v.write_body(w),
            Self::MessageId(v) => v.write_body(w),
            Self::BrokerId(v) => v.write_body(w),
            Self::Destination(v) => Nested::write_body(v, w),
            Self::TransactionId(v) => v.write_body(w),
            Self::Command(c) => c.write_body(w),
        }
    }
}

impl From<Destination> for DataStructure {
    fn from(d: Destination) -> Self {
        Self::Destination(d)
    }
}

impl From<Command> for DataStructure {
    fn from(c: Command) -> Self {
        Self::Command(Box::new(c))
    }
}
