//! Consumers: who receives what, with how much prefetch credit.

use crate::destination::Destination;
use crate::id_hasher::IdMap;
use crate::outbox::Outbox;
use crate::store::{DurableName, MessageKey};
use selector::Selector;
use std::sync::Arc;

/// Broker-wide consumer number.
pub type ConsumerId = u64;
/// Broker-wide connection number.
pub type ConnectionId = u64;

/// What a protocol handler asks for when it subscribes.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    pub destination: Destination,
    pub selector: Option<String>,
    /// How many unacknowledged messages it may hold; 0 = pull mode (a message only when
    /// asked for with `Broker::pull`, as JMS prefetch 0).
    pub prefetch: u32,
    /// `activemq.exclusive`: the first exclusive consumer of a queue gets every message.
    pub exclusive: bool,
    /// Durable topic subscription name (needs a client id on the connection).
    pub durable: Option<String>,
    pub no_local: bool,
}

impl ConsumerSpec {
    pub fn new(destination: Destination) -> ConsumerSpec {
        ConsumerSpec {
            destination,
            selector: None,
            prefetch: 1000,
            exclusive: false,
            durable: None,
            no_local: false,
        }
    }
}

/// Where a delivered message came from, so an ack or a redelivery finds it again.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    Queue(Destination),
    Durable(DurableName),
    /// A non-durable topic subscription: its queue is keyed by the consumer itself.
    TopicSub(ConsumerId),
}

/// A message handed out and not yet acknowledged.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    pub source: Source,
    /// Acked inside an open transaction: credit already returned, message still held.
    pub in_tx: bool,
}

#[derive(Debug)]
pub(crate) struct Consumer {
    pub connection: ConnectionId,
    pub spec: ConsumerSpec,
    pub selector: Option<Selector>,
    pub outbox: Arc<Outbox>,
    pub outstanding: u32,
    /// Pull mode (prefetch 0): messages asked for and not yet dispatched.
    pub pulls: u32,
    pub held: IdMap<MessageKey, Held>,
    /// Queues this consumer is attached to (several for a wildcard queue consumer).
    pub sources: Vec<Source>,
}

impl Consumer {
    pub fn has_credit(&self) -> bool {
        if self.spec.prefetch == 0 {
            // Pull mode: one message per pull request.
            return self.pulls > 0;
        }
        self.outstanding < self.spec.prefetch
    }

    pub fn accepts(&self, message: &crate::message::Message) -> bool {
        match &self.selector {
            Some(s) => s.matches(message),
            None => true,
        }
    }
}
