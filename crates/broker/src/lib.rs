//! The broker core of ferromq: protocol-neutral messages, destinations, dispatch with
//! prefetch credit, acknowledgements, redelivery and the DLQ, expiry, priority,
//! transactions, and the `Store` trait with its implementations.
//!
//! How the files fit:
//! - [`message`], [`destination`]: the data model.
//! - [`store`]: the `Store`/`StateMachine` traits and `StoreOp`; [`op_codec`] encodes ops;
//!   [`memory_store`] and [`journal_store`] implement the trait; [`journal_body`] pages
//!   bodies out to journal records and back (also for the replicated store).
//! - `state` (private): all broker state and every change to it, under one lock, never
//!   awaiting; `message_queue`: one queue's pending/in-flight messages and dispatch.
//! - [`id_hasher`]: the cheap hash for maps keyed by broker-assigned ids.
//! - [`core`]: the lock around the state and the `StateMachine` the store applies to.
//! - [`introspect`]: what operators see and do (console, metrics).
//! - [`broker`]: the async API protocol handlers call; [`outbox`]: how deliveries reach a
//!   connection task.
//!
//! Persistent state is derived only by applying committed store entries in log order
//! (ARCHITECTURE decision 1): a persistent send is queued for consumers when its entry is
//! durable and applied, never before.

pub mod broker;
#[cfg(test)]
mod broker_tests;
#[cfg(test)]
mod conformance;
pub mod consumer;
pub mod core;
pub mod destination;
pub mod error;
pub mod id_hasher;
pub mod introspect;
pub mod journal_body;
pub mod journal_store;
pub mod memory_store;
pub mod message;
mod message_queue;
pub mod op_codec;
pub mod outbox;
mod state;
pub mod store;

pub use broker::{Broker, BrokerConfig};
pub use consumer::{ConnectionId, ConsumerId, ConsumerSpec};
pub use core::Core;
pub use destination::Destination;
pub use error::BrokerError;
pub use message::{
    BodyKind, EncodedForm, EncodedProperties, Message, Properties, PropertyValue, WireProtocol,
};
pub use message_queue::QueueCounters;
pub use outbox::{Delivery, Outbox};
pub use state::QueueInfo;
pub use store::{Store, StoreError, StoreOp};
