//! [`QueueBrowser`]: looks at a queue's messages without consuming them.

use crate::consumer::Consumer;
use crate::error::ClientError;
use crate::message::Message;
use std::time::Duration;

/// Browses a queue: the messages it holds when browsing starts, in queue order (a selector
/// narrows them), until the broker marks the end.
///
/// ```no_run
/// # async fn demo(session: &client::Session) -> Result<(), client::ClientError> {
/// use client::Destination;
/// use std::time::Duration;
/// let mut browser = session.create_browser(&Destination::queue("orders"), None).await?;
/// let all = browser.collect(Duration::from_secs(5)).await?;
/// println!("{} messages queued", all.len());
/// # Ok(()) }
/// ```
pub struct QueueBrowser {
    consumer: Consumer,
    done: bool,
}

impl QueueBrowser {
    pub(crate) fn new(consumer: Consumer) -> QueueBrowser {
        QueueBrowser {
            consumer,
            done: false,
        }
    }

    /// The next message, or `None` at the end of the queue (or if nothing arrives within
    /// `timeout`).
    ///
    /// # Errors
    ///
    /// The connection is closed.
    pub async fn next(&mut self, timeout: Duration) -> Result<Option<Message>, ClientError> {
        if self.done {
            return Ok(None);
        }
        let m = self.consumer.recv(timeout).await?;
        self.done = m.is_none();
        Ok(m)
    }

    /// Every message up to the end of the queue; `timeout` bounds the wait for each one.
    ///
    /// # Errors
    ///
    /// The connection is closed.
    pub async fn collect(&mut self, timeout: Duration) -> Result<Vec<Message>, ClientError> {
        let mut all = Vec::new();
        while let Some(m) = self.next(timeout).await? {
            all.push(m);
        }
        Ok(all)
    }
}
