//! [`Producer`]: sends messages with a delivery mode, priority and time to live, synchronously
//! (waiting for the broker's Response) or asynchronously within a producer window that the
//! broker's ProducerAcks reopen.

use crate::error::ClientError;
use crate::message::{now_millis, Message};
use crate::session::{AckMode, SessionShared};
use openwire::{Command, DataStructure, Destination, MessageId, ProducerId, RemoveInfo};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How a send waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SendMode {
    /// Like ActiveMQ's defaults: persistent sends outside a transaction wait for the
    /// broker's Response; non-persistent and transacted sends do not.
    #[default]
    Default,
    /// Every send waits for the broker's Response (the message is stored).
    Sync,
    /// No send waits for a Response (a persistent one may be lost with the connection);
    /// with a [`ProducerOptions::window_size`], sends wait for window space instead.
    Async,
}

/// How a producer sends; the defaults are JMS's (persistent, priority 4, no expiry).
#[derive(Debug, Clone)]
pub struct ProducerOptions {
    /// JMSDeliveryMode PERSISTENT (default) or NON_PERSISTENT.
    pub persistent: bool,
    /// JMSPriority 0–9 (default 4).
    pub priority: u8,
    /// Messages expire this long after they are sent (default: never).
    pub time_to_live: Option<Duration>,
    /// Sync or async sends.
    pub send_mode: SendMode,
    /// Producer window in bytes (ActiveMQ `jms.producerWindowSize`): async sends wait
    /// while this many bytes are unacknowledged by the broker's ProducerAcks — like
    /// Java's `waitForSpace`, as long as it takes (a broker applying producer flow control
    /// holds the ProducerAck back), ended only by the connection closing or, on a
    /// `failover:` connection with the `timeout` option, by that timeout. `None`: no window
    /// (the socket's back-pressure only).
    pub window_size: Option<u32>,
}

impl Default for ProducerOptions {
    fn default() -> Self {
        ProducerOptions {
            persistent: true,
            priority: 4,
            time_to_live: None,
            send_mode: SendMode::Default,
            window_size: None,
        }
    }
}

impl ProducerOptions {
    /// Non-persistent messages.
    pub fn non_persistent(mut self) -> Self {
        self.persistent = false;
        self
    }

    /// JMSPriority (values above 9 are sent as 9).
    pub fn priority(mut self, priority: u8) -> Self {
        self.priority = priority.min(9);
        self
    }

    /// Time to live.
    pub fn time_to_live(mut self, ttl: Duration) -> Self {
        self.time_to_live = Some(ttl);
        self
    }

    /// Sync or async sends.
    pub fn send_mode(mut self, mode: SendMode) -> Self {
        self.send_mode = mode;
        self
    }

    /// Async sends within a producer window of `bytes`.
    pub fn window_size(mut self, bytes: u32) -> Self {
        self.window_size = Some(bytes);
        self
    }
}

/// Bytes sent asynchronously and not yet acknowledged by a ProducerAck.
pub(crate) struct ProducerWindow {
    limit: i64,
    used: Mutex<i64>,
    space: Notify,
    /// The connection is closed: nobody will give space back.
    closed: AtomicBool,
}

impl ProducerWindow {
    pub(crate) fn new(limit: u32) -> ProducerWindow {
        ProducerWindow {
            limit: i64::from(limit),
            used: Mutex::new(0),
            space: Notify::new(),
            closed: AtomicBool::new(false),
        }
    }

    fn used(&self) -> std::sync::MutexGuard<'_, i64> {
        self.used.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until the window has room, then takes `size` bytes of it (like ActiveMQ's
    /// `MemoryUsage.waitForSpace`: a message may overshoot the window once). Without a
    /// `deadline` it waits as long as it takes, until the connection closes.
    ///
    /// # Errors
    ///
    /// [`ClientError::Closed`] when the connection closes; [`ClientError::Timeout`] (of
    /// `timeout`) at `deadline`.
    pub(crate) async fn acquire(
        &self,
        size: i64,
        deadline: Option<(tokio::time::Instant, Duration)>,
    ) -> Result<(), ClientError> {
        loop {
            let notified = self.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.closed.load(Ordering::SeqCst) {
                return Err(ClientError::Closed);
            }
            {
                let mut used = self.used();
                if *used < self.limit {
                    *used += size;
                    return Ok(());
                }
            }
            match deadline {
                None => notified.await,
                Some((at, timeout)) => {
                    if tokio::time::timeout_at(at, notified).await.is_err() {
                        return Err(ClientError::Timeout(timeout));
                    }
                }
            }
        }
    }

    /// A ProducerAck gave `size` bytes back.
    pub(crate) fn release(&self, size: i64) {
        let mut used = self.used();
        *used = (*used - size).max(0);
        drop(used);
        self.space.notify_waiters();
    }

    /// A new socket: nothing is owed any more.
    pub(crate) fn reset(&self) {
        *self.used() = 0;
        self.space.notify_waiters();
    }

    /// The connection is closed: waiting sends fail.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.space.notify_waiters();
    }
}

/// Sends messages to any destination (an anonymous JMS producer); message ids are
/// `<producer id>:<n>`, n from 1.
///
/// ```no_run
/// # async fn demo(session: &client::Session) -> Result<(), client::ClientError> {
/// use client::{Destination, Message, ProducerOptions};
/// use std::time::Duration;
/// let producer = session
///     .create_producer_with(ProducerOptions::default().priority(7).time_to_live(Duration::from_secs(60)))
///     .await?;
/// let mut m = Message::text("urgent");
/// m.set_property("region", "eu")?;
/// producer.send(&Destination::queue("orders"), m).await?;
/// # Ok(()) }
/// ```
pub struct Producer {
    session: Arc<SessionShared>,
    id: ProducerId,
    sequence: AtomicI64,
    options: ProducerOptions,
    window: Option<Arc<ProducerWindow>>,
}

impl Producer {
    pub(crate) fn new(
        session: Arc<SessionShared>,
        id: ProducerId,
        options: ProducerOptions,
        window: Option<Arc<ProducerWindow>>,
    ) -> Producer {
        Producer {
            session,
            id,
            sequence: AtomicI64::new(1),
            options,
            window,
        }
    }

    /// This producer's options.
    pub fn options(&self) -> &ProducerOptions {
        &self.options
    }

    /// Sends `message` to `destination` with this producer's delivery mode, priority and
    /// time to live. In a transacted session the message is part of the current
    /// transaction (stored only on commit).
    ///
    /// # Errors
    ///
    /// The connection is closed, the broker refuses a synchronous send (store full, no
    /// such temporary destination …), no Response within the request timeout, or — on a
    /// `failover:` connection with the `timeout` option — no connection
    /// ([`ClientError::FailoverTimeout`]) or no window space ([`ClientError::Timeout`])
    /// within that timeout. Without the option a send waits for the reconnect and for
    /// window space as long as it takes.
    pub async fn send(
        &self,
        destination: &Destination,
        message: Message,
    ) -> Result<MessageId, ClientError> {
        self.send_as(destination, message, self.options.persistent)
            .await
    }

    /// Sends a text message to a queue, persistent or not (whatever the options say).
    ///
    /// # Errors
    ///
    /// As [`Producer::send`].
    pub async fn send_text(
        &self,
        queue: &str,
        text: &str,
        persistent: bool,
    ) -> Result<MessageId, ClientError> {
        self.send_as(&Destination::queue(queue), Message::text(text), persistent)
            .await
    }

    async fn send_as(
        &self,
        destination: &Destination,
        message: Message,
        persistent: bool,
    ) -> Result<MessageId, ClientError> {
        let mut m = message.raw;
        m.persistent = persistent;
        m.priority = i8::try_from(self.options.priority.min(9)).unwrap_or(4);
        m.destination = Some(destination.clone());
        m.producer_id = Some(self.id.clone());
        m.timestamp = now_millis();
        m.expiration = match self.options.time_to_live {
            Some(ttl) => m
                .timestamp
                .saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)),
            None => 0,
        };
        m.redelivery_counter = 0;
        let id = MessageId {
            text_view: None,
            producer_id: Some(self.id.clone()),
            producer_sequence_id: self.sequence.fetch_add(1, Ordering::Relaxed),
            broker_sequence_id: 0,
        };
        m.message_id = Some(id.clone());
        let inner = &self.session.inner;
        if self.session.mode == AckMode::Transacted {
            // Transacted sends are one-way; the commit is what waits.
            // `None`: the transaction is lost already (failover); commit will say so.
            if let Some(tx) = self.session.transaction_for_send()? {
                m.transaction_id = Some(tx);
                inner
                    .send_message(Command::Message(m), inner.send_deadline())
                    .await?;
            }
            return Ok(id);
        }
        let sync = match self.options.send_mode {
            SendMode::Sync => true,
            SendMode::Async => false,
            SendMode::Default => persistent,
        };
        if sync {
            inner.request(Command::Message(m)).await?;
        } else {
            // One deadline for the window and the reconnect together.
            let deadline = inner.send_deadline();
            if let Some(w) = &self.window {
                let size = i64::try_from(1024 + m.payload_size()).unwrap_or(i64::MAX);
                let timeout = inner.failover_timeout().unwrap_or_default();
                w.acquire(size, deadline.map(|d| (d, timeout))).await?;
            }
            inner.send_message(Command::Message(m), deadline).await?;
        }
        Ok(id)
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        let inner = &self.session.inner;
        let key = (self.id.session_id, self.id.value);
        inner.replay().producers.remove(&key);
        inner.producer_windows().remove(&key);
        let _ = inner.send(Command::RemoveInfo(Box::new(RemoveInfo {
            object_id: Some(DataStructure::ProducerId(self.id.clone())),
            ..Default::default()
        })));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full window waits for as long as the ProducerAck takes (an hour of paused clock
    /// here, far past any fixed request timeout) and goes on once space is given back.
    #[tokio::test(start_paused = true)]
    async fn full_window_waits_until_space_comes_back() {
        let window = Arc::new(ProducerWindow::new(10));
        window.acquire(10, None).await.expect("empty window");
        let waiting = tokio::spawn({
            let window = window.clone();
            async move { window.acquire(5, None).await }
        });
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert!(!waiting.is_finished(), "gave up while the window was full");
        window.release(10);
        waiting.await.expect("task").expect("space came back");
    }

    /// With a deadline (the failover `timeout`) a full window fails with that timeout; a
    /// closed connection fails a waiting send at once.
    #[tokio::test(start_paused = true)]
    async fn full_window_fails_at_the_deadline_or_on_close() {
        let window = Arc::new(ProducerWindow::new(10));
        window.acquire(10, None).await.expect("empty window");
        let timeout = Duration::from_millis(500);
        let at = tokio::time::Instant::now() + timeout;
        let err = window
            .acquire(1, Some((at, timeout)))
            .await
            .expect_err("window stays full");
        assert!(
            matches!(err, ClientError::Timeout(t) if t == timeout),
            "{err}"
        );

        let waiting = tokio::spawn({
            let window = window.clone();
            async move { window.acquire(1, None).await }
        });
        tokio::task::yield_now().await;
        window.close();
        let err = waiting.await.expect("task").expect_err("closed");
        assert!(matches!(err, ClientError::Closed), "{err}");
    }
}
