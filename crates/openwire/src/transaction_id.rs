//! `TransactionId`: local (111) or XA (112) transaction ids (notes §3.1).

use std::fmt;

use crate::data_structure::DataStructure;
use crate::ids::ConnectionId;
use crate::reader::WireReader;
use crate::wire_field::{wire_struct, Nested};
use crate::writer::WireWriter;
use crate::OpenWireError;
use bytes::Bytes;

wire_struct! {
    /// `LocalTransactionId` (111): `TX:<connectionId>:<value>`.
    #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
    pub struct LocalTransactionId {
        /// 1, 2, 3 … per connection.
        pub value: i64,
        /// The owning connection.
        pub connection_id: Option<ConnectionId>,
    }
}

wire_struct! {
    /// `XATransactionId` (112): an XA Xid.
    #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
    pub struct XaTransactionId {
        /// Xid format id.
        pub format_id: i32,
        /// Global transaction id bytes.
        pub global_transaction_id: Option<Bytes>,
        /// Branch qualifier bytes.
        pub branch_qualifier: Option<Bytes>,
    }
}

/// A transaction id as carried by TransactionInfo, MessageAck and messages.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TransactionId {
    /// Local (JMS transacted session) transaction.
    Local(LocalTransactionId),
    /// XA transaction.
    Xa(XaTransactionId),
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local(l) => match &l.connection_id {
                Some(c) => write!(f, "TX:{c}:{}", l.value),
                None => write!(f, "TX:null:{}", l.value),
            },
            Self::Xa(x) => {
                write!(f, "XID:[{},globalId=", x.format_id)?;
                for b in x.global_transaction_id.iter().flatten() {
                    write!(f, "{b:02x}")?;
                }
                f.write_str(",branchId=")?;
                for b in x.branch_qualifier.iter().flatten() {
                    write!(f, "{b:02x}")?;
                }
                f.write_str("]")
            }
        }
    }
}

impl Nested for TransactionId {
    fn read_typed(type_code: u8, r: &mut WireReader) -> Result<Self, OpenWireError> {
        match type_code {
            111 => Ok(Self::Local(LocalTransactionId::read_body(r)?)),
            112 => Ok(Self::Xa(XaTransactionId::read_body(r)?)),
            c if DataStructure::is_known_type(c) => Err(OpenWireError::UnexpectedType {
                expected: "TransactionId",
                found: c,
            }),
            c => Err(OpenWireError::UnknownType { type_code: c }),
        }
    }

    fn type_code(&self) -> u8 {
        match self {
            Self::Local(_) => 111,
            Self::Xa(_) => 112,
        }
    }

    fn write_body(&self, w: &mut WireWriter<'_>) -> Result<(), OpenWireError> {
        match self {
            Self::Local(l) => l.write_body(w),
            Self::Xa(x) => x.write_body(w),
        }
    }
}
