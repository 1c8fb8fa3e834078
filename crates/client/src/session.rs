//! [`Session`]: the acknowledgement mode, local transactions, and the factory of producers,
//! consumers and browsers. Deliveries awaiting an acknowledgement or a commit are kept here
//! (JMS acknowledges per session), so that `acknowledge`, `commit`, `rollback` and `recover`
//! can act on all of them.

use crate::browser::QueueBrowser;
use crate::connection::{create_temporary_queue, Inner};
use crate::consumer::{ack_range, Consumer, ConsumerOptions, ConsumerQueue};
use crate::error::ClientError;
use crate::producer::{Producer, ProducerOptions, ProducerWindow};
use openwire::{
    Command, ConnectionId, ConsumerId, ConsumerInfo, Destination, DestinationKind,
    LocalTransactionId, MessageAck, MessageDispatch, ProducerId, ProducerInfo,
    RemoveSubscriptionInfo, SessionId, TransactionId, TransactionInfo,
};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Redeliveries after which a rolled-back message is sent to the DLQ (a POISON ack), like
/// ActiveMQ's default `RedeliveryPolicy.maximumRedeliveries`.
pub const MAX_REDELIVERIES: i32 = 6;

/// How a session acknowledges the messages its consumers receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AckMode {
    /// Each message is acknowledged as `recv` returns it.
    #[default]
    Auto,
    /// [`Message::acknowledge`](crate::Message::acknowledge) acknowledges every message the
    /// session delivered so far.
    Client,
    /// [`Message::acknowledge`](crate::Message::acknowledge) acknowledges that message only
    /// (ActiveMQ's INDIVIDUAL_ACKNOWLEDGE).
    Individual,
    /// Acknowledged lazily in batches (duplicates possible after a failure).
    DupsOk,
    /// A transacted session: sends and acknowledgements take effect on
    /// [`Session::commit`], [`Session::rollback`] redelivers.
    Transacted,
}

impl std::str::FromStr for AckMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(
            match s.to_ascii_lowercase().replace(['_', '-'], "").as_str() {
                "auto" => AckMode::Auto,
                "client" => AckMode::Client,
                "individual" => AckMode::Individual,
                "dupsok" => AckMode::DupsOk,
                "transacted" => AckMode::Transacted,
                other => return Err(format!("unknown ack mode {other:?}")),
            },
        )
    }
}

/// A message handed to the application and not yet acknowledged (CLIENT, INDIVIDUAL) or
/// committed (transacted).
pub(crate) struct Delivered {
    pub(crate) delivery: u64,
    pub(crate) consumer: ConsumerId,
    pub(crate) destination: Destination,
    pub(crate) dispatch: Box<MessageDispatch>,
    pub(crate) generation: u64,
}

struct Transaction {
    id: TransactionId,
    /// [`Inner::interruptions`] when it began.
    interruptions: u64,
}

#[derive(Default)]
struct SessionState {
    next_delivery: u64,
    delivered: Vec<Delivered>,
    /// Local queues of this session's consumers, for rollback/recover redelivery.
    consumers: HashMap<i64, Arc<ConsumerQueue>>,
    transaction: Option<Transaction>,
}

/// What a session's producers, consumers and received messages share.
pub(crate) struct SessionShared {
    pub(crate) inner: Arc<Inner>,
    pub(crate) id: SessionId,
    pub(crate) mode: AckMode,
    state: Mutex<SessionState>,
}

impl SessionShared {
    fn state(&self) -> std::sync::MutexGuard<'_, SessionState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn register_consumer(&self, value: i64, queue: Arc<ConsumerQueue>) {
        self.state().consumers.insert(value, queue);
    }

    pub(crate) fn unregister_consumer(&self, value: i64) {
        self.state().consumers.remove(&value);
    }

    /// Keeps a delivery until it is acknowledged or committed; returns its delivery number.
    pub(crate) fn delivered(
        &self,
        consumer: &ConsumerId,
        destination: &Destination,
        dispatch: Box<MessageDispatch>,
        generation: u64,
    ) -> u64 {
        let mut state = self.state();
        state.next_delivery += 1;
        let delivery = state.next_delivery;
        state.delivered.push(Delivered {
            delivery,
            consumer: consumer.clone(),
            destination: destination.clone(),
            dispatch,
            generation,
        });
        delivery
    }

    /// The transaction a send belongs to, begun now if none is open; `None` when the open
    /// one was lost with a failed-over socket (the commit will report it).
    pub(crate) fn transaction_for_send(&self) -> Result<Option<TransactionId>, ClientError> {
        let mut state = self.state();
        let tx = self.current_transaction(&mut state)?;
        let interrupted = state
            .transaction
            .as_ref()
            .is_some_and(|t| t.interruptions != self.inner.interruptions.load(Ordering::SeqCst));
        Ok((!interrupted).then_some(tx))
    }

    fn current_transaction(&self, state: &mut SessionState) -> Result<TransactionId, ClientError> {
        if let Some(t) = &state.transaction {
            return Ok(t.id.clone());
        }
        let id = TransactionId::Local(LocalTransactionId {
            value: self.inner.transaction_value(),
            connection_id: Some(ConnectionId::new(self.inner.connection_id.clone())),
        });
        state.transaction = Some(Transaction {
            id: id.clone(),
            interruptions: self.inner.interruptions.load(Ordering::SeqCst),
        });
        self.inner.send(Command::TransactionInfo(Box::new(
            self.transaction_info(&id, TransactionInfo::BEGIN),
        )))?;
        tracing::debug!(transaction = %id, "begin");
        Ok(id)
    }

    fn transaction_info(&self, id: &TransactionId, kind: i8) -> TransactionInfo {
        TransactionInfo {
            connection_id: Some(ConnectionId::new(self.inner.connection_id.clone())),
            transaction_id: Some(id.clone()),
            transaction_type: kind,
            ..Default::default()
        }
    }

    /// CLIENT: acknowledges everything delivered; INDIVIDUAL: only `delivery`.
    pub(crate) fn acknowledge(&self, delivery: Option<u64>) -> Result<(), ClientError> {
        let min_generation = self.inner.min_generation.load(Ordering::SeqCst);
        let acks = {
            let mut state = self.state();
            match (self.mode, delivery) {
                (AckMode::Client, _) => {
                    let taken = std::mem::take(&mut state.delivered);
                    grouped_acks(&taken, min_generation, MessageAck::STANDARD, None)
                }
                (AckMode::Individual, Some(d)) => {
                    match state.delivered.iter().position(|x| x.delivery == d) {
                        Some(i) => {
                            let taken = [state.delivered.remove(i)];
                            grouped_acks(&taken, min_generation, MessageAck::INDIVIDUAL, None)
                        }
                        None => Vec::new(),
                    }
                }
                (AckMode::Individual, None) => {
                    let taken = std::mem::take(&mut state.delivered);
                    taken
                        .chunks(1)
                        .flat_map(|one| {
                            grouped_acks(one, min_generation, MessageAck::INDIVIDUAL, None)
                        })
                        .collect()
                }
                _ => Vec::new(),
            }
        };
        for ack in acks {
            self.inner.send(Command::MessageAck(Box::new(ack)))?;
        }
        Ok(())
    }

    /// Puts deliveries back at the head of their consumers' queues, counted as redelivered;
    /// past [`MAX_REDELIVERIES`] a POISON ack sends them to the DLQ instead.
    fn redeliver(&self, delivered: Vec<Delivered>) -> Result<(), ClientError> {
        let min_generation = self.inner.min_generation.load(Ordering::SeqCst);
        let state = self.state();
        let mut poison = Vec::new();
        for mut d in delivered.into_iter().rev() {
            if d.generation < min_generation {
                continue; // the broker redelivers it on the new socket
            }
            d.dispatch.redelivery_counter += 1;
            if let Some(m) = d.dispatch.message.as_mut() {
                m.redelivery_counter = d.dispatch.redelivery_counter;
            }
            if d.dispatch.redelivery_counter > MAX_REDELIVERIES {
                poison.push(d);
                continue;
            }
            if let Some(q) = state.consumers.get(&d.consumer.value) {
                q.push_front((d.generation, d.dispatch));
            }
        }
        drop(state);
        for d in poison {
            let id = d
                .dispatch
                .message
                .as_ref()
                .and_then(|m| m.message_id.clone());
            tracing::warn!(
                message = ?id.as_ref().map(ToString::to_string),
                "redelivered more than {MAX_REDELIVERIES} times: poison ack (to the DLQ)"
            );
            let mut ack = ack_range(
                MessageAck::POISON,
                &d.consumer,
                &d.destination,
                id.clone(),
                id,
                1,
            );
            ack.poison_cause = Some(openwire::Throwable {
                class_name: Some("javax.jms.JMSException".into()),
                message: Some(format!(
                    "Delivery failed more than {MAX_REDELIVERIES} times"
                )),
                ..Default::default()
            });
            self.inner.send(Command::MessageAck(Box::new(ack)))?;
        }
        Ok(())
    }
}

/// The last producer, consumer, received message and `Session` handle are gone: the
/// session is removed on the broker (an open transaction is rolled back there) and no
/// longer replayed after a failover.
impl Drop for SessionShared {
    fn drop(&mut self) {
        self.inner.replay().sessions.remove(&self.id.value);
        let _ = self
            .inner
            .send(Command::RemoveInfo(Box::new(openwire::RemoveInfo {
                object_id: Some(openwire::DataStructure::SessionId(self.id.clone())),
                ..Default::default()
            })));
    }
}

/// One ack per consumer covering its deliveries (first..last, in delivery order); deliveries
/// from a lost socket are left out (the broker redelivers them).
fn grouped_acks(
    delivered: &[Delivered],
    min_generation: u64,
    ack_type: i8,
    transaction: Option<&TransactionId>,
) -> Vec<MessageAck> {
    let mut acks: Vec<MessageAck> = Vec::new();
    for d in delivered.iter().filter(|d| d.generation >= min_generation) {
        let id = d
            .dispatch
            .message
            .as_ref()
            .and_then(|m| m.message_id.clone());
        let per_message = ack_type == MessageAck::INDIVIDUAL;
        match acks
            .iter_mut()
            .find(|a| !per_message && a.consumer_id.as_ref() == Some(&d.consumer))
        {
            Some(a) => {
                a.last_message_id = id;
                a.message_count += 1;
            }
            None => {
                let mut a = ack_range(ack_type, &d.consumer, &d.destination, id.clone(), id, 1);
                a.transaction_id = transaction.cloned();
                acks.push(a);
            }
        }
    }
    acks
}

/// A session: creates producers, consumers and browsers, and (transacted) commits or rolls
/// back.
///
/// ```no_run
/// # async fn demo(conn: &client::Connection) -> Result<(), client::ClientError> {
/// use client::{AckMode, ConsumerOptions, Destination, Message};
/// use std::time::Duration;
/// let session = conn.create_session(AckMode::Transacted).await?;
/// let producer = session.create_producer().await?;
/// producer.send(&Destination::queue("out"), Message::text("a")).await?;
/// let mut consumer = session
///     .create_consumer(&Destination::queue("in"), ConsumerOptions::default())
///     .await?;
/// let _received = consumer.recv(Duration::from_secs(1)).await?;
/// session.commit().await?; // the send and the receive take effect together
/// # Ok(()) }
/// ```
pub struct Session {
    shared: Arc<SessionShared>,
}

impl Session {
    pub(crate) fn new(inner: Arc<Inner>, id: SessionId, mode: AckMode) -> Session {
        Session {
            shared: Arc::new(SessionShared {
                inner,
                id,
                mode,
                state: Mutex::new(SessionState::default()),
            }),
        }
    }

    /// The acknowledgement mode.
    pub fn ack_mode(&self) -> AckMode {
        self.shared.mode
    }

    fn child_value(&self) -> i64 {
        self.shared.inner.next_child.fetch_add(1, Ordering::Relaxed)
    }

    /// An anonymous producer with JMS's defaults (persistent, priority 4, no expiry).
    ///
    /// # Errors
    ///
    /// The connection is closed or the broker refuses the producer.
    pub async fn create_producer(&self) -> Result<Producer, ClientError> {
        self.create_producer_with(ProducerOptions::default()).await
    }

    /// An anonymous producer with `options`.
    ///
    /// # Errors
    ///
    /// The connection is closed or the broker refuses the producer.
    pub async fn create_producer_with(
        &self,
        options: ProducerOptions,
    ) -> Result<Producer, ClientError> {
        let inner = &self.shared.inner;
        let id = ProducerId {
            connection_id: self.shared.id.connection_id.clone(),
            session_id: self.shared.id.value,
            value: self.child_value(),
        };
        let window_size = options.window_size.filter(|w| *w > 0);
        let info = ProducerInfo {
            producer_id: Some(id.clone()),
            window_size: window_size
                .map(|w| i32::try_from(w).unwrap_or(i32::MAX))
                .unwrap_or(0),
            ..Default::default()
        };
        let key = (id.session_id, id.value);
        let window = window_size.map(|w| Arc::new(ProducerWindow::new(w)));
        if let Some(w) = &window {
            inner.producer_windows().insert(key, w.clone());
        }
        inner.replay().producers.insert(key, info.clone());
        if let Err(e) = inner.request(Command::ProducerInfo(Box::new(info))).await {
            inner.replay().producers.remove(&key);
            inner.producer_windows().remove(&key);
            return Err(e);
        }
        Ok(Producer::new(self.shared.clone(), id, options, window))
    }

    /// A consumer on a queue or topic (wildcards and composite names allowed).
    ///
    /// # Errors
    ///
    /// The connection is closed, or the broker refuses (bad selector …).
    pub async fn create_consumer(
        &self,
        destination: &Destination,
        options: ConsumerOptions,
    ) -> Result<Consumer, ClientError> {
        self.open_consumer(destination, options, None, false).await
    }

    /// A durable subscription `name` on `topic` for this connection's client id: messages
    /// published while it is offline are kept for it. Remove it with
    /// [`Session::unsubscribe`].
    ///
    /// # Errors
    ///
    /// `destination` is not a topic, the connection is closed, or the broker refuses (the
    /// subscription is active elsewhere …).
    pub async fn create_durable_subscriber(
        &self,
        topic: &Destination,
        name: &str,
        options: ConsumerOptions,
    ) -> Result<Consumer, ClientError> {
        if topic.kind != DestinationKind::Topic {
            return Err(ClientError::IllegalState(
                "durable subscriptions are on topics",
            ));
        }
        self.open_consumer(topic, options, Some(name), false).await
    }

    /// A browser over `queue`: the messages it holds, in order, without consuming them.
    ///
    /// # Errors
    ///
    /// The connection is closed, or the broker refuses (bad selector …).
    pub async fn create_browser(
        &self,
        queue: &Destination,
        selector: Option<&str>,
    ) -> Result<QueueBrowser, ClientError> {
        let options = ConsumerOptions {
            prefetch: 500,
            selector: selector.map(str::to_string),
            no_local: false,
        };
        let consumer = self.open_consumer(queue, options, None, true).await?;
        Ok(QueueBrowser::new(consumer))
    }

    async fn open_consumer(
        &self,
        destination: &Destination,
        options: ConsumerOptions,
        subscription: Option<&str>,
        browser: bool,
    ) -> Result<Consumer, ClientError> {
        let inner = &self.shared.inner;
        let id = ConsumerId {
            connection_id: self.shared.id.connection_id.clone(),
            session_id: self.shared.id.value,
            value: self.child_value(),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let key = (id.session_id, id.value);
        inner.consumers().insert(key, tx);
        let info = ConsumerInfo {
            consumer_id: Some(id.clone()),
            browser,
            destination: Some(destination.clone()),
            prefetch_size: options.prefetch,
            maximum_pending_message_limit: 0,
            dispatch_async: true,
            selector: options.selector.clone(),
            client_id: subscription.map(|_| inner.client_id.clone()),
            subscription_name: subscription.map(str::to_string),
            no_local: options.no_local,
            ..Default::default()
        };
        inner.replay().consumers.insert(key, info.clone());
        if let Err(e) = inner.request(Command::ConsumerInfo(Box::new(info))).await {
            inner.consumers().remove(&key);
            inner.replay().consumers.remove(&key);
            return Err(e);
        }
        let queue = Arc::new(ConsumerQueue::default());
        self.shared.register_consumer(id.value, queue.clone());
        Ok(Consumer::new(
            self.shared.clone(),
            id,
            destination.clone(),
            options.prefetch,
            rx,
            queue,
            browser,
        ))
    }

    /// Removes the durable subscription `name` of this connection's client id (its
    /// consumer must be closed first).
    ///
    /// # Errors
    ///
    /// The connection is closed, or the broker refuses (no such subscription, still
    /// active).
    pub async fn unsubscribe(&self, name: &str) -> Result<(), ClientError> {
        let inner = &self.shared.inner;
        let info = RemoveSubscriptionInfo {
            connection_id: Some(ConnectionId::new(inner.connection_id.clone())),
            subscription_name: Some(name.to_string()),
            client_id: Some(inner.client_id.clone()),
            ..Default::default()
        };
        inner
            .request(Command::RemoveSubscriptionInfo(Box::new(info)))
            .await
    }

    /// A temporary queue of this session's connection (see
    /// [`Connection::create_temporary_queue`](crate::Connection::create_temporary_queue)).
    ///
    /// # Errors
    ///
    /// The connection is closed or the broker refuses it.
    pub async fn create_temporary_queue(&self) -> Result<Destination, ClientError> {
        create_temporary_queue(&self.shared.inner).await
    }

    /// CLIENT and INDIVIDUAL sessions: acknowledges every message delivered so far and not
    /// yet acknowledged. Other modes: nothing to do.
    ///
    /// # Errors
    ///
    /// The connection is closed.
    pub fn acknowledge(&self) -> Result<(), ClientError> {
        self.shared.acknowledge(None)
    }

    /// CLIENT and INDIVIDUAL sessions: redelivers (marked redelivered) every message
    /// delivered and not yet acknowledged, in the original order.
    ///
    /// # Errors
    ///
    /// Transacted session (use rollback); the connection is closed.
    pub fn recover(&self) -> Result<(), ClientError> {
        if self.shared.mode == AckMode::Transacted {
            return Err(ClientError::IllegalState("recover on a transacted session"));
        }
        let delivered = std::mem::take(&mut self.shared.state().delivered);
        self.shared.redeliver(delivered)
    }

    /// Commits the transaction: its sends are stored and its received messages consumed,
    /// all or none.
    ///
    /// # Errors
    ///
    /// * [`ClientError::TransactionRolledBack`]: the connection failed over while the
    ///   transaction was open, so the broker discarded it; received messages come again.
    /// * [`ClientError::TransactionInDoubt`]: the connection was lost after the commit was
    ///   sent and before the broker answered.
    /// * [`ClientError::IllegalState`]: not a transacted session.
    pub async fn commit(&self) -> Result<(), ClientError> {
        let shared = &self.shared;
        if shared.mode != AckMode::Transacted {
            return Err(ClientError::IllegalState(
                "commit on a non-transacted session",
            ));
        }
        let inner = &shared.inner;
        let min_generation = inner.min_generation.load(Ordering::SeqCst);
        let (tx, acks) = {
            let mut state = shared.state();
            let interrupted = state
                .transaction
                .as_ref()
                .is_some_and(|t| t.interruptions != inner.interruptions.load(Ordering::SeqCst))
                || state
                    .delivered
                    .iter()
                    .any(|d| d.generation < min_generation);
            if interrupted {
                state.transaction = None;
                let delivered = std::mem::take(&mut state.delivered);
                drop(state);
                shared.redeliver(delivered)?;
                tracing::warn!("transaction rolled back: the connection failed over");
                return Err(ClientError::TransactionRolledBack(
                    "the connection failed over while the transaction was open".into(),
                ));
            }
            if state.transaction.is_none() && state.delivered.is_empty() {
                return Ok(());
            }
            let tx = shared.current_transaction(&mut state)?;
            let delivered = std::mem::take(&mut state.delivered);
            state.transaction = None;
            let acks = grouped_acks(&delivered, min_generation, MessageAck::STANDARD, Some(&tx));
            (tx, acks)
        };
        for ack in acks {
            inner.send(Command::MessageAck(Box::new(ack)))?;
        }
        let info = shared.transaction_info(&tx, TransactionInfo::COMMIT_ONE_PHASE);
        match inner
            .request_once(Command::TransactionInfo(Box::new(info)))
            .await
        {
            Ok(()) => {
                tracing::debug!(transaction = %tx, "committed");
                Ok(())
            }
            Err(e @ (ClientError::Closed | ClientError::Timeout(_))) => {
                tracing::warn!(transaction = %tx, "commit in doubt: {e}");
                Err(ClientError::TransactionInDoubt(format!(
                    "{tx}: no answer to the commit ({e})"
                )))
            }
            Err(ClientError::Broker { class, message }) => Err(ClientError::TransactionRolledBack(
                format!("{tx}: {class}: {message}"),
            )),
            Err(e) => Err(e),
        }
    }

    /// Rolls the transaction back: its sends are discarded and its received messages are
    /// delivered again (marked redelivered; after [`MAX_REDELIVERIES`] they go to the DLQ).
    ///
    /// # Errors
    ///
    /// Not a transacted session, or the broker refuses the rollback.
    pub async fn rollback(&self) -> Result<(), ClientError> {
        let shared = &self.shared;
        if shared.mode != AckMode::Transacted {
            return Err(ClientError::IllegalState(
                "rollback on a non-transacted session",
            ));
        }
        let inner = &shared.inner;
        let (tx, delivered) = {
            let mut state = shared.state();
            let tx = state
                .transaction
                .take()
                .filter(|t| t.interruptions == inner.interruptions.load(Ordering::SeqCst));
            (tx, std::mem::take(&mut state.delivered))
        };
        if let Some(tx) = tx {
            let info = shared.transaction_info(&tx.id, TransactionInfo::ROLLBACK);
            match inner
                .request_once(Command::TransactionInfo(Box::new(info)))
                .await
            {
                // Lost with the connection: the broker rolled it back anyway.
                Ok(()) | Err(ClientError::Closed) => {}
                Err(e) => return Err(e),
            }
        }
        shared.redeliver(delivered)
    }
}
