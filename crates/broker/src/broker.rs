//! The broker's public face for protocol handlers: connections, consumers, sends, acks and
//! transactions, as operations (never frames).

use crate::consumer::{ConnectionId, ConsumerId, ConsumerSpec};
use crate::core::Core;
use crate::destination::Destination;
use crate::error::BrokerError;
use crate::message::Message;
use crate::outbox::Outbox;
use crate::state::QueueInfo;
use crate::store::{DurableName, MessageKey, Store, StoreOp, StoreStats, MAX_OPS_PER_ENTRY};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Resolves when a send or ack has taken effect (durably, for stored messages).
pub type Done = Pin<Box<dyn Future<Output = Result<(), BrokerError>> + Send>>;

/// A [`Done`] that has already taken effect. Zero-sized, so boxing it allocates nothing
/// (`std::future::ready(Ok(()))` would, once per non-persistent send and per ack).
struct Accepted;

impl Future for Accepted {
    type Output = Result<(), BrokerError>;

    fn poll(self: Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        std::task::Poll::Ready(Ok(()))
    }
}

fn accepted() -> Done {
    Box::pin(Accepted)
}

/// Settings of the broker core.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    pub name: String,
    /// Bytes of message data kept in memory before non-persistent producers must wait.
    pub memory_limit: usize,
    /// Broker redeliveries before a message goes to `ActiveMQ.DLQ`.
    pub max_redeliveries: u32,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            name: "ferromq".to_string(),
            memory_limit: 256 * 1024 * 1024,
            max_redeliveries: 6,
        }
    }
}

/// Cheap to clone; every clone is the same broker.
#[derive(Clone)]
pub struct Broker {
    inner: Arc<Inner>,
}

struct Inner {
    config: BrokerConfig,
    core: Arc<Core>,
    store: Arc<dyn Store>,
    /// When this broker started (uptime for operators).
    started: std::time::Instant,
    /// Messages producers sent since start (operators' "messages in"); a relaxed atomic,
    /// so counting costs the send path no lock.
    received: std::sync::atomic::AtomicU64,
}

impl Broker {
    /// Wires the core to a store that has already recovered into it, and starts the task
    /// that writes broker-generated store ops. Must run inside a tokio runtime.
    pub fn new(config: BrokerConfig, core: Arc<Core>, store: Arc<dyn Store>) -> Broker {
        if let Some(rx) = core.take_deferred_receiver() {
            tokio::spawn(write_deferred(rx, store.clone()));
        }
        tracing::info!(
            name = %config.name,
            recovered_index = core.last_applied(),
            "broker core ready"
        );
        Broker {
            inner: Arc::new(Inner {
                config,
                core,
                store,
                started: std::time::Instant::now(),
                received: std::sync::atomic::AtomicU64::new(0),
            }),
        }
    }

    pub fn config(&self) -> &BrokerConfig {
        &self.inner.config
    }

    pub fn name(&self) -> &str {
        &self.inner.config.name
    }

    pub(crate) fn core(&self) -> &Core {
        &self.inner.core
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub(crate) fn started(&self) -> std::time::Instant {
        self.inner.started
    }

    pub(crate) fn count_received(&self, n: u64) {
        self.inner
            .received
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn received(&self) -> u64 {
        self.inner
            .received
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Registers a connection. A client id must be unique among live connections.
    ///
    /// # Errors
    /// `ClientIdInUse` when another connection has the same client id.
    pub fn connect(&self, client_id: Option<String>) -> Result<ConnectionId, BrokerError> {
        self.core().with_state(|s| s.open_connection(client_id))
    }

    /// Closes a connection: its consumers' messages go back, its temporary destinations die.
    pub fn disconnect(&self, connection: ConnectionId) {
        self.core().with_state(|s| s.close_connection(connection));
    }

    /// Records that the connection owns a temporary destination (deleted with it).
    pub fn register_temporary(&self, connection: ConnectionId, dest: &Destination) {
        self.core().with_state(|s| {
            s.register_temporary(connection, dest);
            if dest.is_queue() {
                s.queue_mut(dest);
            }
        });
    }

    /// Sends a message. Persistent messages return once stored (and queued); others once
    /// queued, after waiting while the broker is over its memory limit.
    ///
    /// # Errors
    /// Store failures (`NotMaster`, `Full`, I/O).
    pub async fn send(&self, message: Message) -> Result<(), BrokerError> {
        if !self.will_store(&message) {
            self.wait_for_memory().await;
        }
        self.submit(message).await
    }

    /// Whether [`Broker::submit`] will write this message to the store.
    pub fn will_store(&self, message: &Message) -> bool {
        message.persistent
            && !message.destination.is_temporary()
            && (message.destination.is_queue()
                || self
                    .core()
                    .with_state(|s| s.topic_needs_store(&message.destination)))
    }

    /// Starts a send without waiting: a stored message is enqueued in the store *now*
    /// (so sends from one connection keep their order) and the returned future resolves
    /// when it is durable; any other message is queued for consumers at once. Callers
    /// that honour flow control call [`Broker::wait_for_memory`] first for messages that
    /// are not stored.
    pub fn submit(&self, mut message: Message) -> Done {
        self.count_received(1);
        if message.destination.is_temporary() {
            // Temporary destinations never outlive their connection: nothing to store.
            if message.persistent {
                message.persistent = false;
                message.encoded = None;
            }
        }
        if self.will_store(&message) {
            let write = self
                .inner
                .store
                .append(vec![StoreOp::AddMessage { message }]);
            return Box::pin(async move {
                write.await?;
                Ok(())
            });
        }
        let message = Arc::new(message);
        self.core().with_state(|s| {
            let key = s.non_persistent_key();
            s.add_message(key, message.clone());
            s.dispatch_for(&message.destination);
        });
        accepted()
    }

    /// Producer flow control: waits while messages in memory exceed the limit.
    /// Whether a message that is not stored may be queued now (producer flow control).
    pub fn memory_available(&self) -> bool {
        self.core().memory_used() < self.core().memory_limit()
    }

    pub async fn wait_for_memory(&self) {
        loop {
            let notified = self.core().memory_freed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.core().memory_used() < self.core().memory_limit() {
                return;
            }
            notified.await;
        }
    }

    /// Opens a consumer. For a durable subscription the subscription is stored first (so
    /// that messages published from now on are kept even across a crash).
    ///
    /// # Errors
    /// Invalid selector, missing client id, a subscription already in use, store failures.
    pub async fn subscribe(
        &self,
        connection: ConnectionId,
        spec: ConsumerSpec,
        outbox: Arc<Outbox>,
    ) -> Result<ConsumerId, BrokerError> {
        if let Some(sub_name) = &spec.durable {
            if spec.destination.is_queue() {
                return Err(BrokerError::DurableOnQueue);
            }
            if let Some(text) = spec.selector.as_deref().filter(|s| !s.trim().is_empty()) {
                selector::Selector::parse(text).map_err(BrokerError::Selector)?;
            }
            let client_id = self
                .core()
                .with_state(|s| s.client_id(connection))
                .ok_or(BrokerError::DurableNeedsClientId)?;
            let name = DurableName {
                client_id,
                name: sub_name.clone(),
            };
            let selector = spec.selector.clone().filter(|s| !s.trim().is_empty());
            let (exists, same) = self.core().with_state(|s| match s.durables.get(&name) {
                Some(d) => (
                    true,
                    d.topic == spec.destination && d.selector_text == selector,
                ),
                None => (false, false),
            });
            if !same {
                // A changed topic or selector recreates the subscription, as in JMS.
                let mut ops = Vec::new();
                if exists {
                    ops.push(StoreOp::RemoveSubscription { name: name.clone() });
                }
                ops.push(StoreOp::AddSubscription {
                    name,
                    topic: spec.destination.clone(),
                    selector,
                    no_local: spec.no_local,
                });
                self.inner.store.append(ops).await?;
            }
        }
        self.core()
            .with_state(|s| s.open_consumer(connection, spec, outbox))
    }

    /// Closes a consumer; what it held goes back to its queue, marked redelivered.
    pub fn close_consumer(&self, consumer: ConsumerId) {
        self.core().with_state(|s| s.close_consumer(consumer));
    }

    /// Deletes a durable subscription of this connection's client id and its messages
    /// (a client's unsubscribe).
    ///
    /// # Errors
    /// `DurableNeedsClientId`, `NoSuchSubscription`, `SubscriptionInUse`, store failures.
    pub async fn remove_durable(
        &self,
        connection: ConnectionId,
        name: &str,
    ) -> Result<(), BrokerError> {
        let client_id = self
            .core()
            .with_state(|s| s.client_id(connection))
            .ok_or(BrokerError::DurableNeedsClientId)?;
        self.remove_subscription(DurableName {
            client_id,
            name: name.to_string(),
        })
        .await
    }

    /// Deletes a durable subscription and its messages through the store
    /// (`RemoveSubscription`, so it stays deleted after a restart); refused while it has
    /// an active consumer, as in ActiveMQ.
    ///
    /// # Errors
    /// `NoSuchSubscription`, `SubscriptionInUse`, store failures.
    pub async fn remove_subscription(&self, key: DurableName) -> Result<(), BrokerError> {
        let active = self
            .core()
            .with_state(|s| s.durables.get(&key).map(|d| d.consumer.is_some()));
        match active {
            None => return Err(BrokerError::NoSuchSubscription(key.name)),
            Some(true) => return Err(BrokerError::SubscriptionInUse(key.name)),
            Some(false) => {}
        }
        self.inner
            .store
            .append(vec![StoreOp::RemoveSubscription { name: key }])
            .await?;
        Ok(())
    }

    /// Acknowledges messages a consumer holds; credit returns at once. The store write is
    /// enqueued now; the returned future resolves when it is durable. Callers that need a
    /// receipted ack (never undone) await it; others may drop it: the ack is then written
    /// with the next group commit.
    pub fn ack(&self, consumer: ConsumerId, keys: &[MessageKey]) -> Done {
        let ops = match self.core().with_state(|s| s.ack(consumer, keys)) {
            Ok(ops) => ops,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        if ops.is_empty() {
            return accepted();
        }
        let write = self.inner.store.append(ops);
        Box::pin(async move {
            write.await?;
            Ok(())
        })
    }

    /// Acks inside a transaction: credit returns now, the messages stay held until
    /// [`Broker::commit`] or [`Broker::requeue`].
    pub fn tx_ack(&self, consumer: ConsumerId, keys: &[MessageKey]) {
        self.core().with_state(|s| s.tx_ack(consumer, keys));
    }

    /// Pull mode (prefetch 0): asks for one message; true when one was dispatched at once.
    pub fn pull(&self, consumer: ConsumerId) -> bool {
        self.core().with_state(|s| s.pull(consumer))
    }

    /// Withdraws an unserved pull; false when a message was dispatched for it meanwhile.
    pub fn cancel_pull(&self, consumer: ConsumerId) -> bool {
        self.core().with_state(|s| s.cancel_pull(consumer))
    }

    pub fn set_prefetch(&self, consumer: ConsumerId, prefetch: u32) {
        self.core()
            .with_state(|s| s.set_prefetch(consumer, prefetch));
    }

    /// Deletes a connection's temporary destination (and what it holds).
    pub fn remove_temporary(&self, connection: ConnectionId, dest: &Destination) {
        self.core()
            .with_state(|s| s.remove_temporary(connection, dest));
    }

    /// Every live temporary destination and its owning connection.
    pub fn temporary_destinations(&self) -> Vec<(Destination, ConnectionId)> {
        self.core().with_state(|s| s.temporary_destinations())
    }

    /// Like [`Broker::submit`] for a producer that may resend after failover: a stored
    /// message whose producer sequence is not above the producer's stored high-water mark
    /// was stored before and is answered without storing it again (ARCHITECTURE
    /// decision 3). The mark is written in the same entry as the message.
    pub fn submit_from_producer(&self, message: Message, producer: &str, seq: u64) -> Done {
        if !self.will_store(&message) {
            return self.submit(message);
        }
        let duplicate = self
            .core()
            .with_state(|s| s.producer_marks.get(producer).is_some_and(|m| seq <= *m));
        if duplicate {
            tracing::debug!(
                producer,
                seq,
                "duplicate send after failover: answered, not stored"
            );
            return accepted();
        }
        self.count_received(1);
        let write = self.inner.store.append(vec![
            StoreOp::AddMessage { message },
            StoreOp::ProducerMark {
                producer: producer.to_string(),
                seq,
            },
        ]);
        Box::pin(async move {
            write.await?;
            Ok(())
        })
    }

    /// Puts held messages back on their queue, marked redelivered (abort, recover).
    pub fn requeue(&self, consumer: ConsumerId, keys: &[MessageKey]) {
        self.core().with_state(|s| s.requeue(consumer, keys, true));
    }

    /// Sends held messages straight to the DLQ (STOMP NACK, JMS poison ack).
    pub fn poison(&self, consumer: ConsumerId, keys: &[MessageKey], cause: &str) {
        self.core().with_state(|s| s.poison(consumer, keys, cause));
    }

    /// Commits a transaction: every send and ack becomes visible at once. Persistent
    /// sends and acks are one store entry, so they are durable together or not at all.
    ///
    /// # Errors
    /// Store failures; then nothing of the transaction took effect in the store.
    pub async fn commit(
        &self,
        sends: Vec<Message>,
        acks: Vec<(ConsumerId, Vec<MessageKey>)>,
    ) -> Result<(), BrokerError> {
        let mut ops = Vec::new();
        let mut direct = Vec::new();
        for m in sends {
            if self.will_store(&m) {
                ops.push(StoreOp::AddMessage { message: m });
            } else {
                direct.push(m);
            }
        }
        if ops.len() > MAX_OPS_PER_ENTRY {
            return Err(crate::store::StoreError::TooManyOps {
                count: ops.len(),
                max: MAX_OPS_PER_ENTRY,
            }
            .into());
        }
        let ack_ops = self.core().with_state(|s| {
            let mut all = Vec::new();
            for (consumer, keys) in &acks {
                // A consumer closed since its acks were made: its messages went back
                // already, so there is nothing left to ack for it.
                if let Ok(mut o) = s.ack(*consumer, keys) {
                    all.append(&mut o);
                }
            }
            all
        });
        self.count_received(ops.len() as u64);
        ops.extend(ack_ops);
        if !ops.is_empty() {
            self.inner.store.append(ops).await?;
        }
        for m in direct {
            self.send(m).await?;
        }
        Ok(())
    }

    /// Up to `max` messages waiting in a queue, in delivery order, left in place.
    pub fn browse(&self, dest: &Destination, max: usize) -> Vec<Arc<Message>> {
        self.core().with_state(|s| s.browse(dest, max))
    }

    pub fn queues(&self) -> Vec<QueueInfo> {
        self.core().with_state(|s| s.queue_info())
    }

    pub fn memory_used(&self) -> usize {
        self.core().memory_used()
    }

    pub fn store_stats(&self) -> StoreStats {
        self.inner.store.stats()
    }

    /// Stops the store after queued writes finish.
    pub fn shutdown(&self) {
        self.inner.store.close();
    }
}

/// Appends the ops the broker generates itself, batching whatever has queued up meanwhile.
async fn write_deferred(mut rx: mpsc::UnboundedReceiver<Vec<StoreOp>>, store: Arc<dyn Store>) {
    while let Some(mut ops) = rx.recv().await {
        while ops.len() < 1024 {
            match rx.try_recv() {
                Ok(more) => ops.extend(more),
                Err(_) => break,
            }
        }
        if let Err(e) = store.append(ops).await {
            tracing::error!(error = %e, "writing broker-generated store ops failed");
        }
    }
}
