//! Session, consumer, producer, destination and transaction commands (notes §3.4, §3.5):
//! SessionInfo, ConsumerInfo, ProducerInfo, DestinationInfo, RemoveSubscriptionInfo,
//! ConsumerControl, TransactionInfo. Plain field lists mirroring the notes tables.

use crate::data_structure::DataStructure;
use crate::destination::Destination;
use crate::ids::{BrokerId, ConnectionId, ConsumerId, ProducerId, SessionId};
use crate::transaction_id::TransactionId;
use crate::wire_field::wire_struct;

wire_struct! {
    /// `SessionInfo` (4), C→B, oneway.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct SessionInfo {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
        /// The session.
        pub session_id: Option<SessionId>,
    }
}

wire_struct! {
    /// `ConsumerInfo` (5), C→B, always responseRequired.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct ConsumerInfo {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
        /// The consumer.
        pub consumer_id: Option<ConsumerId>,
        /// QueueBrowser.
        pub browser: bool,
        /// Destination (may be composite / wildcard).
        pub destination: Option<Destination>,
        /// Prefetch window; 0 = pull.
        pub prefetch_size: i32,
        /// Topic pending limit.
        pub maximum_pending_message_limit: i32,
        /// Dispatch async.
        pub dispatch_async: bool,
        /// JMS selector.
        pub selector: Option<String>,
        /// The connection's client id.
        pub client_id: Option<String>,
        /// Non-null = durable subscription.
        pub subscription_name: Option<String>,
        /// noLocal.
        pub no_local: bool,
        /// Exclusive consumer.
        pub exclusive: bool,
        /// Retroactive.
        pub retroactive: bool,
        /// Consumer priority.
        pub priority: i8,
        /// Network path.
        pub broker_path: Option<Vec<BrokerId>>,
        /// Network bridge filter (never from JMS clients; type 91 is rejected as unknown).
        pub additional_predicate: Option<DataStructure>,
        /// Network.
        pub network_subscription: bool,
        /// Optimized acks.
        pub optimized_acknowledge: bool,
        /// No range acks.
        pub no_range_acks: bool,
        /// Network.
        pub network_consumer_path: Option<Vec<ConsumerId>>,
    }
}

wire_struct! {
    /// `ProducerInfo` (6), C→B, responseRequired.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct ProducerInfo {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
        /// The producer.
        pub producer_id: Option<ProducerId>,
        /// Null for an anonymous producer.
        pub destination: Option<Destination>,
        /// Network path.
        pub broker_path: Option<Vec<BrokerId>>,
        /// Dispatch async.
        pub dispatch_async: bool,
        /// > 0: ProducerAck is mandatory for async sends.
        pub window_size: i32,
    }
}

impl DestinationInfo {
    /// `operation_type` ADD.
    pub const ADD: i8 = 0;
    /// `operation_type` REMOVE.
    pub const REMOVE: i8 = 1;
}

wire_struct! {
    /// `DestinationInfo` (8): temp destination create/delete, destroyDestination; also nested
    /// in advisory messages.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct DestinationInfo {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
        /// The connection.
        pub connection_id: Option<ConnectionId>,
        /// The destination.
        pub destination: Option<Destination>,
        /// [`DestinationInfo::ADD`] or [`DestinationInfo::REMOVE`].
        pub operation_type: i8,
        /// 0.
        pub timeout: i64,
        /// Network path.
        pub broker_path: Option<Vec<BrokerId>>,
    }
}

wire_struct! {
    /// `RemoveSubscriptionInfo` (9), C→B: `Session.unsubscribe(name)`.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct RemoveSubscriptionInfo {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
        /// The connection.
        pub connection_id: Option<ConnectionId>,
        /// Java's `subcriptionName`.
        pub subscription_name: Option<String>,
        /// Client id.
        pub client_id: Option<String>,
    }
}

wire_struct! {
    /// `ConsumerControl` (17), both directions.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct ConsumerControl {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
        /// The consumer's destination.
        pub destination: Option<Destination>,
        /// B→C: close the consumer.
        pub close: bool,
        /// The consumer.
        pub consumer_id: Option<ConsumerId>,
        /// New prefetch (applied by the client unless `close`).
        pub prefetch: i32,
        /// Unused.
        pub flush: bool,
        /// Unused.
        pub start: bool,
        /// Unused.
        pub stop: bool,
    }
}

impl TransactionInfo {
    /// Begin.
    pub const BEGIN: i8 = 0;
    /// XA prepare.
    pub const PREPARE: i8 = 1;
    /// Commit (local, or XA one-phase).
    pub const COMMIT_ONE_PHASE: i8 = 2;
    /// XA two-phase commit.
    pub const COMMIT_TWO_PHASE: i8 = 3;
    /// Rollback.
    pub const ROLLBACK: i8 = 4;
    /// XA recover.
    pub const RECOVER: i8 = 5;
    /// XA forget.
    pub const FORGET: i8 = 6;
    /// XA end.
    pub const END: i8 = 7;
}

wire_struct! {
    /// `TransactionInfo` (7), C→B.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct TransactionInfo {
        /// Header.
        pub command_id: i32,
        /// Header.
        pub response_required: bool,
        /// The connection.
        pub connection_id: Option<ConnectionId>,
        /// Null for RECOVER.
        pub transaction_id: Option<TransactionId>,
        /// One of the `TransactionInfo::*` constants.
        pub transaction_type: i8,
    }
}
