//! [`Consumer`]: receives from a queue or topic (selectors, durable subscriptions, prefetch
//! 0 pulls), acknowledging as its session's [`AckMode`] says.

use crate::connection::Dispatch;
use crate::error::ClientError;
use crate::message::{AckHandle, Message};
use crate::session::{AckMode, SessionShared};
use openwire::{
    Command, ConsumerId, DataStructure, Destination, MessageAck, MessageId, MessagePull, RemoveInfo,
};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// How a consumer receives. Defaults: prefetch 1000 (ActiveMQ's queue prefetch), no
/// selector.
#[derive(Debug, Clone)]
pub struct ConsumerOptions {
    /// Messages the broker may send ahead of `recv`; 0 = each `recv` pulls one.
    pub prefetch: i32,
    /// JMS selector over headers and properties (`color = 'red' AND size > 3`).
    pub selector: Option<String>,
    /// Topics: do not receive what this connection published.
    pub no_local: bool,
}

impl Default for ConsumerOptions {
    fn default() -> Self {
        ConsumerOptions {
            prefetch: 1000,
            selector: None,
            no_local: false,
        }
    }
}

impl ConsumerOptions {
    /// The prefetch window.
    pub fn prefetch(mut self, prefetch: i32) -> Self {
        self.prefetch = prefetch.max(0);
        self
    }

    /// A JMS selector.
    pub fn selector(mut self, selector: impl Into<String>) -> Self {
        self.selector = Some(selector.into());
        self
    }

    /// noLocal.
    pub fn no_local(mut self, no_local: bool) -> Self {
        self.no_local = no_local;
        self
    }
}

/// Deliveries put back by rollback/recover, received before the broker's next ones.
#[derive(Default)]
pub(crate) struct ConsumerQueue {
    redeliver: Mutex<VecDeque<Dispatch>>,
}

impl ConsumerQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Dispatch>> {
        self.redeliver.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn push_front(&self, d: Dispatch) {
        self.lock().push_front(d);
    }

    fn pop_front(&self) -> Option<Dispatch> {
        self.lock().pop_front()
    }
}

/// Fresh deliveries not yet covered by an ack (DUPS_OK: consumed; others: window credit).
#[derive(Default)]
struct PendingRange {
    first: Option<MessageId>,
    last: Option<MessageId>,
    count: i32,
}

/// A MessageAck of `count` messages `first..last` for `consumer`.
pub(crate) fn ack_range(
    ack_type: i8,
    consumer: &ConsumerId,
    destination: &Destination,
    first: Option<MessageId>,
    last: Option<MessageId>,
    count: i32,
) -> MessageAck {
    MessageAck {
        destination: Some(destination.clone()),
        consumer_id: Some(consumer.clone()),
        ack_type,
        first_message_id: first,
        last_message_id: last,
        message_count: count,
        ..Default::default()
    }
}

/// Receives messages. Dropping it closes it on the broker (unacknowledged messages go back
/// to the queue).
///
/// ```no_run
/// # async fn demo(session: &client::Session) -> Result<(), client::ClientError> {
/// use client::{ConsumerOptions, Destination};
/// use std::time::Duration;
/// let mut consumer = session
///     .create_consumer(
///         &Destination::queue("orders"),
///         ConsumerOptions::default().prefetch(10).selector("region = 'eu'"),
///     )
///     .await?;
/// while let Some(m) = consumer.recv(Duration::from_secs(1)).await? {
///     println!("{:?}", m.text_body()?);
///     m.acknowledge()?; // CLIENT / INDIVIDUAL sessions; a no-op otherwise
/// }
/// # Ok(()) }
/// ```
pub struct Consumer {
    session: Arc<SessionShared>,
    id: ConsumerId,
    destination: Destination,
    prefetch: i32,
    rx: mpsc::UnboundedReceiver<Dispatch>,
    queue: Arc<ConsumerQueue>,
    browser: bool,
    pending: PendingRange,
}

impl Consumer {
    pub(crate) fn new(
        session: Arc<SessionShared>,
        id: ConsumerId,
        destination: Destination,
        prefetch: i32,
        rx: mpsc::UnboundedReceiver<Dispatch>,
        queue: Arc<ConsumerQueue>,
        browser: bool,
    ) -> Consumer {
        Consumer {
            session,
            id,
            destination,
            prefetch,
            rx,
            queue,
            browser,
            pending: PendingRange::default(),
        }
    }

    /// The destination this consumer was created on.
    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    /// The ConsumerId.
    pub fn id(&self) -> &ConsumerId {
        &self.id
    }

    /// The next message, or `None` if none arrives within `timeout` (for a browser: also
    /// once the end of the queue is reached). AUTO sessions acknowledge it before it is
    /// returned; DUPS_OK sessions in batches; CLIENT/INDIVIDUAL sessions on
    /// [`Message::acknowledge`]; transacted sessions on commit. On a `failover:`
    /// connection a message whose acknowledgement was lost with the socket comes again,
    /// marked redelivered.
    ///
    /// # Errors
    ///
    /// The connection is closed.
    pub async fn recv(&mut self, timeout: Duration) -> Result<Option<Message>, ClientError> {
        // Read the clock only when this call has to wait: a busy consumer finds its
        // next message queued.
        let mut deadline = None;
        let mut pulled = false;
        loop {
            let (generation, mut dispatch, fresh) = match self.queue.pop_front() {
                Some((g, d)) => (g, d, false),
                None => {
                    if self.prefetch == 0 && !pulled && !self.browser {
                        self.pull(timeout)?;
                        pulled = true;
                    }
                    let next = match self.rx.try_recv() {
                        Ok(next) => Ok(Some(next)),
                        Err(mpsc::error::TryRecvError::Disconnected) => Ok(None),
                        Err(mpsc::error::TryRecvError::Empty) => {
                            let at = *deadline
                                .get_or_insert_with(|| tokio::time::Instant::now() + timeout);
                            tokio::time::timeout_at(at, self.rx.recv()).await
                        }
                    };
                    match next {
                        Err(_) => {
                            self.flush()?;
                            return Ok(None);
                        }
                        Ok(None) => return Err(ClientError::Closed),
                        Ok(Some((g, d))) => (g, d, true),
                    }
                }
            };
            let inner = &self.session.inner;
            // Received on a lost socket: the broker dispatches it again on the new one.
            if generation < inner.min_generation.load(Ordering::SeqCst) {
                continue;
            }
            let Some(raw) = dispatch.message.take() else {
                // End of a browse, or a pull that timed out.
                if self.browser || (self.prefetch == 0 && pulled) {
                    self.flush()?;
                    return Ok(None);
                }
                continue;
            };
            let mut message = Message::from_boxed(raw);
            message.redelivery_counter = dispatch.redelivery_counter;
            let id = message.raw.message_id.clone();
            let destination = dispatch
                .destination
                .clone()
                .unwrap_or_else(|| self.destination.clone());
            if self.browser {
                // Browsers ack for window credit; the broker keeps the message.
                self.ack_one(MessageAck::STANDARD, &destination, id)?;
                return Ok(Some(message));
            }
            if message.is_expired() {
                tracing::debug!(message = ?id.as_ref().map(ToString::to_string), "expired on arrival");
                self.ack_one(MessageAck::EXPIRED, &destination, id)?;
                continue;
            }
            match self.session.mode {
                AckMode::Auto => {
                    self.session
                        .inner
                        .send_auto_ack(&self.id, &destination, id)?;
                }
                AckMode::DupsOk => self.add_pending(id)?,
                AckMode::Client | AckMode::Individual | AckMode::Transacted => {
                    // Kept for rollback/recover redelivery.
                    dispatch.message = Some(message.raw.clone());
                    let delivery =
                        self.session
                            .delivered(&self.id, &destination, dispatch, generation);
                    if self.session.mode != AckMode::Transacted {
                        message.ack = Some(AckHandle {
                            session: self.session.clone(),
                            delivery,
                        });
                    }
                    if fresh {
                        self.add_pending(id)?;
                    }
                }
            }
            return Ok(Some(message));
        }
    }

    /// [`Consumer::recv`] for text messages: the body, or an error for other kinds.
    ///
    /// # Errors
    ///
    /// The connection is closed, or the message is not a TextMessage.
    pub async fn recv_text(&mut self, timeout: Duration) -> Result<Option<String>, ClientError> {
        match self.recv(timeout).await? {
            None => Ok(None),
            Some(m) => Ok(Some(m.text_body()?.unwrap_or_default())),
        }
    }

    fn send_ack(&self, ack: MessageAck) -> Result<(), ClientError> {
        self.session.inner.send(Command::MessageAck(Box::new(ack)))
    }

    fn ack_one(
        &self,
        ack_type: i8,
        destination: &Destination,
        id: Option<MessageId>,
    ) -> Result<(), ClientError> {
        self.send_ack(ack_range(
            ack_type,
            &self.id,
            destination,
            id.clone(),
            id,
            1,
        ))
    }

    /// Counts a fresh delivery; half a prefetch window of them is acknowledged at once
    /// (DUPS_OK: consumed, other modes: DELIVERED, which reopens the window).
    fn add_pending(&mut self, id: Option<MessageId>) -> Result<(), ClientError> {
        if self.pending.count == 0 {
            self.pending.first = id.clone();
        }
        self.pending.last = id;
        self.pending.count += 1;
        if self.pending.count >= (self.prefetch / 2).max(1) {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ClientError> {
        if self.pending.count == 0 {
            return Ok(());
        }
        let p = std::mem::take(&mut self.pending);
        let ack_type = if self.session.mode == AckMode::DupsOk {
            MessageAck::STANDARD
        } else {
            MessageAck::DELIVERED
        };
        self.send_ack(ack_range(
            ack_type,
            &self.id,
            &self.destination,
            p.first,
            p.last,
            p.count,
        ))
    }

    fn pull(&self, timeout: Duration) -> Result<(), ClientError> {
        let ms = i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX);
        let pull = MessagePull {
            consumer_id: Some(self.id.clone()),
            destination: Some(self.destination.clone()),
            // -1: answer at once (receiveNoWait); 0 would wait forever.
            timeout: if ms == 0 { -1 } else { ms },
            ..Default::default()
        };
        self.session
            .inner
            .send(Command::MessagePull(Box::new(pull)))
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        if self.session.mode == AckMode::DupsOk {
            let _ = self.flush();
        }
        let inner = &self.session.inner;
        let key = (self.id.session_id, self.id.value);
        self.session.unregister_consumer(self.id.value);
        inner.consumers().remove(&key);
        inner.replay().consumers.remove(&key);
        let _ = inner.send(Command::RemoveInfo(Box::new(RemoveInfo {
            object_id: Some(DataStructure::ConsumerId(self.id.clone())),
            ..Default::default()
        })));
    }
}
