//! Errors of the broker core.

use crate::consumer::ConsumerId;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("client id {0} is already connected")]
    ClientIdInUse(String),
    #[error("a durable subscription needs a client id on the connection")]
    DurableNeedsClientId,
    #[error("durable subscriptions are only possible on topics")]
    DurableOnQueue,
    #[error("no durable subscription named {0}")]
    NoSuchSubscription(String),
    #[error("durable subscription {0} already has an active consumer")]
    SubscriptionInUse(String),
    #[error("no consumer {0}")]
    NoSuchConsumer(ConsumerId),
    #[error("invalid selector: {0}")]
    Selector(#[source] selector::SelectorError),
    #[error("no queue named {0}")]
    NoSuchQueue(String),
    #[error("too many messages in one request ({count} > {max})")]
    TooManyMessages { count: usize, max: usize },
    #[error("connection is closed")]
    ConnectionClosed,
    #[error("store failed: {0}")]
    Store(#[from] StoreError),
}
