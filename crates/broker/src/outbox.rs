//! Per-connection outbox: where dispatch leaves deliveries for the connection task.
//!
//! Dispatch runs under the broker lock and must never wait, so it pushes into this queue
//! and wakes the connection task. The queue is bounded by prefetch credit: a consumer
//! never has more deliveries outstanding than its prefetch.

use crate::consumer::ConsumerId;
use crate::message::Message;
use crate::store::MessageKey;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// One message handed to one consumer.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub consumer: ConsumerId,
    pub key: MessageKey,
    pub message: Arc<Message>,
    /// True when this message was delivered before (JMSRedelivered).
    pub redelivered: bool,
    /// How many times it went back to its queue before this delivery.
    pub redeliveries: u32,
}

#[derive(Debug, Default)]
pub struct Outbox {
    queue: Mutex<VecDeque<Delivery>>,
    notify: Notify,
}

impl Outbox {
    pub fn new() -> Arc<Outbox> {
        Arc::new(Outbox::default())
    }

    pub(crate) fn push(&self, delivery: Delivery) {
        self.lock().push_back(delivery);
        self.notify.notify_one();
    }

    /// Takes up to `max` deliveries, oldest first.
    pub fn drain(&self, max: usize) -> Vec<Delivery> {
        let mut q = self.lock();
        let n = q.len().min(max);
        q.drain(..n).collect()
    }

    /// Removes (and returns) every queued delivery for one consumer, e.g. when it closes
    /// before the connection wrote them out.
    pub fn take_for(&self, consumer: ConsumerId) -> Vec<Delivery> {
        let mut q = self.lock();
        let mut taken = Vec::new();
        q.retain(|d| {
            if d.consumer == consumer {
                taken.push(d.clone());
                false
            } else {
                true
            }
        });
        taken
    }

    /// Resolves when something was pushed since the last wait (or is queued now).
    pub async fn ready(&self) {
        if !self.lock().is_empty() {
            return;
        }
        self.notify.notified().await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Delivery>> {
        // A panic while holding this lock cannot leave the deque inconsistent (every
        // operation is a single call), so a poisoned lock is still usable.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}
