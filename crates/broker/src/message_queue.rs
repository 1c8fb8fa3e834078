//! A queue of messages waiting for consumers: a queue, a durable subscription, or a
//! non-durable topic subscription all use this.
//!
//! Order: higher priority first, then arrival order (`seq`). A message that goes back
//! (disconnect, abort) keeps its `seq`, so it returns to its old place.

use crate::consumer::{Consumer, ConsumerId, Held, Source};
use crate::id_hasher::IdMap;
use crate::message::Message;
use crate::outbox::Delivery;
use crate::store::{BodyReader, MessageKey};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Sort position in `pending`: (9 - priority, arrival sequence).
type Slot = (u8, u64);

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub key: MessageKey,
    pub seq: u64,
    pub message: Arc<Message>,
    pub redeliveries: u32,
}

impl Entry {
    fn slot(&self) -> Slot {
        (9u8.saturating_sub(self.message.priority.min(9)), self.seq)
    }
}

/// Counters shown to operators.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueCounters {
    pub enqueued: u64,
    pub dequeued: u64,
    pub expired: u64,
}

#[derive(Debug, Default)]
pub(crate) struct MessageQueue {
    pending: BTreeMap<Slot, Entry>,
    slots: IdMap<MessageKey, Slot>,
    inflight: IdMap<MessageKey, Entry>,
    pub consumers: Vec<ConsumerId>,
    round_robin: usize,
    /// Scratch list of one dispatch pass (empty between passes).
    picks: Vec<(Slot, ConsumerId)>,
    pub counters: QueueCounters,
}

/// What one dispatch pass decided that the caller must finish outside the queue.
#[derive(Debug, Default)]
pub(crate) struct DispatchOutcome {
    pub expired: Vec<Entry>,
    /// Messages handed to consumers in this pass.
    pub delivered: u64,
}

impl MessageQueue {
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    pub fn inflight_len(&self) -> usize {
        self.inflight.len()
    }

    pub fn push(&mut self, entry: Entry) {
        self.counters.enqueued += 1;
        self.insert(entry);
    }

    fn insert(&mut self, entry: Entry) {
        let slot = entry.slot();
        self.slots.insert(entry.key, slot);
        self.pending.insert(slot, entry);
    }

    /// Puts a delivered message back, keeping its place.
    pub fn requeue(&mut self, entry: Entry) {
        self.insert(entry);
    }

    pub fn take_inflight(&mut self, key: MessageKey) -> Option<Entry> {
        self.inflight.remove(&key)
    }

    /// Removes a pending (undelivered) message.
    pub fn remove_pending(&mut self, key: MessageKey) -> Option<Entry> {
        let slot = self.slots.remove(&key)?;
        self.pending.remove(&slot)
    }

    /// Every message, pending and in flight (snapshots, browsing).
    pub fn all_entries(&self) -> impl Iterator<Item = &Entry> {
        self.pending.values().chain(self.inflight.values())
    }

    pub fn pending_entries(&self) -> impl Iterator<Item = &Entry> {
        self.pending.values()
    }

    /// Removes everything; returns the entries that were pending or in flight.
    pub fn drain_all(&mut self) -> Vec<Entry> {
        self.slots.clear();
        let mut all: Vec<Entry> = std::mem::take(&mut self.pending).into_values().collect();
        all.extend(std::mem::take(&mut self.inflight).into_values());
        all
    }

    /// Hands pending messages to consumers with credit, round-robin, honouring selectors
    /// and exclusivity. Expired messages are taken out and returned to the caller.
    pub fn dispatch(
        &mut self,
        source: &Source,
        consumers: &mut IdMap<ConsumerId, Consumer>,
        now_ms: i64,
        reader: Option<&dyn BodyReader>,
    ) -> DispatchOutcome {
        let mut outcome = DispatchOutcome::default();
        if self.pending.is_empty() || self.consumers.is_empty() {
            return outcome;
        }
        // The first exclusive consumer, if any, is the only one eligible.
        let exclusive = self
            .consumers
            .iter()
            .position(|c| consumers.get(c).is_some_and(|c| c.spec.exclusive));
        let eligible: &[ConsumerId] = match exclusive {
            Some(i) => &self.consumers[i..=i],
            None => &self.consumers,
        };
        let mut with_credit = eligible
            .iter()
            .filter(|c| consumers.get(c).is_some_and(Consumer::has_credit))
            .count();
        if with_credit == 0 {
            return outcome;
        }
        let n = eligible.len();
        // Reused from pass to pass: one pass per send or ack would allocate it each time.
        let mut picks = std::mem::take(&mut self.picks);
        let mut expired: Vec<Slot> = Vec::new();
        for (slot, entry) in &self.pending {
            if with_credit == 0 {
                break;
            }
            if entry.message.is_expired(now_ms) {
                expired.push(*slot);
                continue;
            }
            for i in 0..n {
                let cid = eligible[(self.round_robin + i) % n];
                let Some(c) = consumers.get_mut(&cid) else {
                    continue;
                };
                if c.has_credit() && c.accepts(&entry.message) {
                    c.outstanding += 1;
                    c.pulls = c.pulls.saturating_sub(1);
                    if !c.has_credit() {
                        with_credit -= 1;
                    }
                    picks.push((*slot, cid));
                    self.round_robin = (self.round_robin + i + 1) % n;
                    break;
                }
            }
        }
        for slot in expired {
            if let Some(entry) = self.pending.remove(&slot) {
                self.slots.remove(&entry.key);
                self.counters.expired += 1;
                outcome.expired.push(entry);
            }
        }
        for (slot, cid) in picks.drain(..) {
            let Some(entry) = self.pending.remove(&slot) else {
                continue;
            };
            self.slots.remove(&entry.key);
            let Some(c) = consumers.get_mut(&cid) else {
                self.insert(entry);
                continue;
            };
            // A paged-out body is read back for the delivery only; the queue keeps the
            // light copy.
            let message = match (reader, entry.message.body_ref) {
                (Some(reader), Some(r)) if entry.message.is_paged() => match reader.read_body(&r) {
                    Ok(body) => {
                        let mut full = Message::clone(&entry.message);
                        full.body = body;
                        Arc::new(full)
                    }
                    Err(e) => {
                        tracing::error!(key = entry.key, error = %e, "cannot read a paged message back");
                        c.outstanding = c.outstanding.saturating_sub(1);
                        self.insert(entry);
                        continue;
                    }
                },
                _ => entry.message.clone(),
            };
            c.held.insert(
                entry.key,
                Held {
                    source: source.clone(),
                    in_tx: false,
                },
            );
            c.outbox.push(Delivery {
                consumer: cid,
                key: entry.key,
                message,
                redelivered: entry.redeliveries > 0,
                redeliveries: entry.redeliveries,
            });
            self.inflight.insert(entry.key, entry);
            outcome.delivered += 1;
        }
        self.picks = picks;
        outcome
    }
}
