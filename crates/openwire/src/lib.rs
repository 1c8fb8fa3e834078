//! OpenWire v12, loose encoding: the commands activemq-client 5.17 exchanges with a broker, the
//! WireFormatInfo negotiation, and a sans-IO `tokio_util` codec.
//!
//! Reference: `docs/openwire-notes.md` (shared) — §1 framing/handshake, §2 encoding, §3 field
//! tables, §4 maps and bodies. Only what a broker serving JMS clients needs is implemented:
//! loose encoding, marshal cache off, size prefix on; tight encoding and caching are refused at
//! negotiation time ([`WireFormat::negotiate`]).
//!
//! How the files fit:
//!
//! * `codec.rs` — [`OpenWireCodec`]: the 4-byte size prefix, the frame limit checked before any
//!   allocation, and `Decoder`/`Encoder` impls; everything below works on whole frames in memory.
//! * `command/` — [`Command`], the enum over all frames and its type-code dispatch; the command
//!   structs live in `connection.rs`, `session.rs`, `flow.rs` and `response.rs`, one notes table
//!   each.
//! * `message.rs` — [`Message`] (types 23–29) with raw `Bytes` body/properties and accessors.
//! * `encoded_message.rs` — [`EncodedMessage`]: a decoded message's bytes as received, and
//!   [`DispatchOf`], the MessageDispatch that forwards them without encoding the message again.
//! * `ids.rs`, `destination.rs`, `transaction_id.rs`, `throwable.rs`, `data_structure.rs` —
//!   the nested data structures.
//! * `wire_format_info.rs`, `wire_format.rs` — the handshake frame and [`WireFormat`]
//!   negotiation.
//! * `primitive_map.rs` — [`PrimitiveMap`]/[`PrimitiveValue`] (properties, Map/Stream bodies).
//! * `mutf8.rs` — Java modified UTF-8 (NUL as `C0 80`, supplementary characters as surrogates).
//! * `reader.rs`/`writer.rs` — bounds-checked cursors; every peer length is compared with the
//!   bytes left in the frame before anything is allocated, and nesting is capped at
//!   [`MAX_NESTING`].
//! * `wire_field.rs` — the `WireField` trait and `wire_struct!` macro: a struct's field list
//!   *is* its wire order, so decode and encode cannot drift apart.
//!
//! Handshake as a broker connection handler does it (sans IO):
//!
//! ```
//! use bytes::BytesMut;
//! use openwire::{Command, OpenWireCodec, WireFormat};
//! use tokio_util::codec::{Decoder, Encoder};
//!
//! # fn main() -> Result<(), openwire::OpenWireError> {
//! let ours = WireFormat::broker_default();
//! let mut codec = OpenWireCodec::default();
//! let mut out = BytesMut::new();
//! // 1. On accept, send our WireFormatInfo at once (the client blocks until it arrives).
//! codec.encode(Command::WireFormatInfo(ours.to_info()?), &mut out)?;
//! # let mut inbound = out.clone();
//! // 2. The client's first frame is its WireFormatInfo; negotiate and apply the result.
//! if let Some(Command::WireFormatInfo(theirs)) = codec.decode(&mut inbound)? {
//!     let negotiated = ours.negotiate(&theirs)?;
//!     codec.apply(&negotiated); // StackTraceEnabled, MaxFrameSize
//!     // negotiated.tcp_no_delay_enabled / max_inactivity_duration drive the socket.
//! }
//! // 3. Answer requests by commandId.
//! codec.encode(Command::response(1), &mut out)?;
//! # Ok(())
//! # }
//! ```
//!
//! Strings are decoded into `String`; a frame from a Java client re-encodes byte for byte
//! (checked against every captured frame in `tests/captures.rs`).

mod codec;
mod command;
mod data_structure;
mod destination;
mod encoded_message;
mod error;
mod id_str;
mod ids;
mod message;
pub mod mutf8;
mod primitive_map;
mod reader;
mod throwable;
mod transaction_id;
mod wire_field;
mod wire_format;
mod wire_format_info;
mod writer;

pub use codec::{OpenWireCodec, CLIENT_READ_CHUNK, DEFAULT_MAX_FRAME_SIZE, WRITE_BATCH};
pub use command::{
    BrokerInfo, Command, ConnectionControl, ConnectionError, ConnectionInfo, ConsumerControl,
    ConsumerInfo, ControlCommand, DataArrayResponse, DataResponse, DestinationInfo,
    ExceptionResponse, FlushCommand, IntegerResponse, KeepAliveInfo, MessageAck, MessageDispatch,
    MessagePull, ProducerAck, ProducerInfo, RemoveInfo, RemoveSubscriptionInfo, Response,
    SessionInfo, ShutdownInfo, TransactionInfo,
};
pub use data_structure::DataStructure;
pub use destination::{Destination, DestinationKind};
pub use encoded_message::{DispatchOf, EncodedMessage, ReceivedForm};
pub use error::OpenWireError;
pub use id_str::IdStr;
pub use ids::{BrokerId, ConnectionId, ConsumerId, MessageId, ProducerId, SessionId};
pub use message::{BlobFields, Message, MessageKind};
pub use primitive_map::{PrimitiveMap, PrimitiveValue};
pub use reader::MAX_NESTING;
pub use throwable::{StackTraceElement, Throwable};
pub use transaction_id::{LocalTransactionId, TransactionId, XaTransactionId};
pub use wire_format::{
    keys, NegotiatedWireFormat, WireFormat, MIN_SUPPORTED_VERSION, OPENWIRE_VERSION,
};
pub use wire_format_info::{WireFormatInfo, MAGIC};
