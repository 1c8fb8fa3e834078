//! Message flow commands (notes §3.5): MessageDispatch, MessageAck, MessagePull, ProducerAck.

use crate::destination::Destination;
use crate::ids::{ConsumerId, MessageId, ProducerId};
use crate::message::Message;
use crate::throwable::Throwable;
use crate::transaction_id::TransactionId;
use crate::wire_field::wire_struct;

wire_struct! {
    /// `MessageDispatch` (21), B→C. A null `message` ends a browse or answers a MessagePull
    /// that timed out.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct MessageDispatch {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
        /// Target consumer.
        pub consumer_id: Option<ConsumerId>,
        /// The message's actual destination.
        pub destination: Option<Destination>,
        /// The message. Boxed: the dispatch stays small, and the message decodes in place
        /// in its box and is handed on without being copied.
        pub message: Option<Box<Message>>,
        /// What the app sees (JMSRedelivered = counter > 0).
        pub redelivery_counter: i32,
    }
}

impl MessageAck {
    /// Delivered to the app, not consumed: window credit.
    pub const DELIVERED: i8 = 0;
    /// Poison: move to the DLQ.
    pub const POISON: i8 = 1;
    /// Consume first..last.
    pub const STANDARD: i8 = 2;
    /// Client-side redelivery bookkeeping.
    pub const REDELIVERED: i8 = 3;
    /// Consume exactly `last_message_id`.
    pub const INDIVIDUAL: i8 = 4;
    /// Durable selector mismatch (broker-internal).
    pub const UNMATCHED: i8 = 5;
    /// Expired on arrival.
    pub const EXPIRED: i8 = 6;
}

wire_struct! {
    /// `MessageAck` (22), C→B.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct MessageAck {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
        /// Copied from the dispatch.
        pub destination: Option<Destination>,
        /// Set inside a transacted session.
        pub transaction_id: Option<TransactionId>,
        /// Copied from the dispatch.
        pub consumer_id: Option<ConsumerId>,
        /// One of the `MessageAck::*` constants.
        pub ack_type: i8,
        /// Oldest covered (null = from the oldest in flight).
        pub first_message_id: Option<MessageId>,
        /// Newest covered.
        pub last_message_id: Option<MessageId>,
        /// Number covered.
        pub message_count: i32,
        /// POISON only.
        pub poison_cause: Option<Throwable>,
    }
}

wire_struct! {
    /// `MessagePull` (20), C→B, from prefetch-0 consumers: timeout -1 receiveNoWait, 0 receive(),
    /// t receive(t).
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct MessagePull {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
        /// The consumer.
        pub consumer_id: Option<ConsumerId>,
        /// Its destination.
        pub destination: Option<Destination>,
        /// -1, 0 or ms.
        pub timeout: i64,
        /// Null from JMS clients.
        pub correlation_id: Option<String>,
        /// Null from JMS clients.
        pub message_id: Option<MessageId>,
    }
}

wire_struct! {
    /// `ProducerAck` (19), B→C: `size` is subtracted from the producer's window.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct ProducerAck {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
        /// The producer.
        pub producer_id: Option<ProducerId>,
        /// Bytes acknowledged.
        pub size: i32,
    }
}
