//! What operators see and do (web console, JSON API, metrics): read-only snapshots of the
//! broker's destinations, subscriptions and connections, plus the few administrative
//! changes an operator makes (create, purge, delete a queue; move or copy messages).
//!
//! Reads take the state lock once, copy out small summaries and release it; nothing here
//! awaits under the lock. Changes to persistent state go through the store like every
//! other change (ARCHITECTURE decision 1): a purged or moved persistent message leaves its
//! queue at once and stays live in `in_transit` until its `Ack` entry is applied, as a
//! move to the DLQ does.

use crate::broker::Broker;
use crate::consumer::ConnectionId;
use crate::destination::Destination;
use crate::error::BrokerError;
use crate::message::Message;
use crate::store::{MessageKey, QueueRef, StoreOp, StoreStats, MAX_OPS_PER_ENTRY};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Broker-wide numbers for the overview page and `/metrics`.
#[derive(Debug, Clone)]
pub struct Overview {
    pub name: String,
    pub uptime: Duration,
    pub memory_used: usize,
    pub memory_limit: usize,
    pub store: StoreStats,
    pub connections: usize,
    pub consumers: usize,
    pub queues: usize,
    pub topics: usize,
    /// Messages producers sent since start.
    pub messages_in: u64,
    /// Messages handed to consumers since start.
    pub messages_out: u64,
}

/// One topic: messages published since start and who listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    pub enqueued: u64,
    /// Non-durable subscribers and active durable subscribers.
    pub consumers: usize,
    pub durables: usize,
}

/// One durable topic subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurableInfo {
    pub client_id: String,
    pub name: String,
    pub topic: String,
    pub selector: Option<String>,
    pub pending: usize,
    pub active: bool,
}

/// One client connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    pub id: ConnectionId,
    pub client_id: Option<String>,
    pub remote: Option<String>,
    pub protocol: Option<&'static str>,
    pub consumers: usize,
}

/// A message waiting in a queue, as a browser sees it.
#[derive(Debug, Clone)]
pub struct QueuedMessage {
    pub key: MessageKey,
    pub redeliveries: u32,
    pub message: Arc<Message>,
}

/// A page of a queue's waiting messages.
#[derive(Debug, Clone)]
pub struct MessagePage {
    /// Messages waiting in the queue in all (not just on this page).
    pub total: usize,
    pub messages: Vec<QueuedMessage>,
}

/// Most messages one move or copy handles (one store entry).
pub const MAX_MOVE: usize = MAX_OPS_PER_ENTRY / 2;

impl Broker {
    /// Broker-wide numbers.
    pub fn overview(&self) -> Overview {
        let (connections, consumers, queues, topics, messages_out) = self.core().with_state(|s| {
            (
                s.connections.len(),
                s.consumers.len(),
                s.queues.len(),
                topic_names(s).len(),
                s.delivered,
            )
        });
        Overview {
            name: self.name().to_string(),
            uptime: self.started().elapsed(),
            memory_used: self.memory_used(),
            memory_limit: self.config().memory_limit,
            store: self.store_stats(),
            connections,
            consumers,
            queues,
            topics,
            messages_in: self.received(),
            messages_out,
        }
    }

    /// Every topic that was published to, has a durable subscription or a subscriber,
    /// sorted by name.
    pub fn topics(&self) -> Vec<TopicInfo> {
        self.core().with_state(|s| {
            topic_names(s)
                .into_iter()
                .map(|name| {
                    let dest = Destination::Topic(name.clone());
                    let durables = s.durables.values().filter(|d| d.topic == dest).count();
                    let consumers = s
                        .consumers
                        .values()
                        .filter(|c| c.spec.destination == dest)
                        .count();
                    TopicInfo {
                        enqueued: s.topic_enqueued.get(&name).copied().unwrap_or(0),
                        name,
                        consumers,
                        durables,
                    }
                })
                .collect()
        })
    }

    /// Every durable subscription, sorted by client id and name.
    pub fn durable_subscriptions(&self) -> Vec<DurableInfo> {
        let mut out: Vec<DurableInfo> = self.core().with_state(|s| {
            s.durables
                .iter()
                .map(|(n, d)| DurableInfo {
                    client_id: n.client_id.clone(),
                    name: n.name.clone(),
                    topic: d.topic.name().to_string(),
                    selector: d.selector_text.clone(),
                    pending: d.queue.pending_len(),
                    active: d.consumer.is_some(),
                })
                .collect()
        });
        out.sort_by(|a, b| (&a.client_id, &a.name).cmp(&(&b.client_id, &b.name)));
        out
    }

    /// Every live client connection, in connection order.
    pub fn connections(&self) -> Vec<ConnectionInfo> {
        let mut out: Vec<ConnectionInfo> = self.core().with_state(|s| {
            s.connections
                .iter()
                .map(|(id, c)| ConnectionInfo {
                    id: *id,
                    client_id: c.client_id.clone(),
                    remote: c.remote.clone(),
                    protocol: c.protocol,
                    consumers: c.consumers.len(),
                })
                .collect()
        });
        out.sort_by_key(|c| c.id);
        out
    }

    /// Records who a connection is (remote address, protocol) for operators.
    pub fn describe_connection(
        &self,
        connection: ConnectionId,
        remote: std::net::SocketAddr,
        protocol: &'static str,
    ) {
        self.core().with_state(|s| {
            if let Some(c) = s.connections.get_mut(&connection) {
                c.remote = Some(remote.to_string());
                c.protocol = Some(protocol);
            }
        });
    }

    /// A page of the messages waiting in a queue, in delivery order, left in place.
    /// Paged-out bodies are read back.
    pub fn browse_page(&self, queue: &str, offset: usize, limit: usize) -> MessagePage {
        let dest = Destination::Queue(queue.to_string());
        self.core().with_state(|s| {
            let Some(q) = s.queues.get(&dest) else {
                return MessagePage {
                    total: 0,
                    messages: Vec::new(),
                };
            };
            let messages = q
                .pending_entries()
                .skip(offset)
                .take(limit)
                .map(|e| QueuedMessage {
                    key: e.key,
                    redeliveries: e.redeliveries,
                    message: s.load(&e.message).unwrap_or_else(|_| e.message.clone()),
                })
                .collect();
            MessagePage {
                total: q.pending_len(),
                messages,
            }
        })
    }

    /// One waiting message by its message id (`JMSMessageID`).
    pub fn find_message(&self, queue: &str, message_id: &str) -> Option<QueuedMessage> {
        let dest = Destination::Queue(queue.to_string());
        self.core().with_state(|s| {
            let q = s.queues.get(&dest)?;
            let e = q.pending_entries().find(|e| e.message.id == message_id)?;
            Some(QueuedMessage {
                key: e.key,
                redeliveries: e.redeliveries,
                message: s.load(&e.message).unwrap_or_else(|_| e.message.clone()),
            })
        })
    }

    /// Whether a queue exists.
    pub fn has_queue(&self, queue: &str) -> bool {
        let dest = Destination::Queue(queue.to_string());
        self.core().with_state(|s| s.queues.contains_key(&dest))
    }

    /// Creates a queue (stored, so it survives a restart). Creating an existing queue is
    /// not an error.
    ///
    /// # Errors
    /// Store failures.
    pub async fn create_queue(&self, queue: &str) -> Result<(), BrokerError> {
        let destination = Destination::Queue(queue.to_string());
        self.store()
            .append(vec![StoreOp::AddDestination { destination }])
            .await?;
        Ok(())
    }

    /// Deletes a queue and every message in it.
    ///
    /// # Errors
    /// `NoSuchQueue`, store failures.
    pub async fn delete_queue(&self, queue: &str) -> Result<(), BrokerError> {
        if !self.has_queue(queue) {
            return Err(BrokerError::NoSuchQueue(queue.to_string()));
        }
        let destination = Destination::Queue(queue.to_string());
        self.store()
            .append(vec![StoreOp::RemoveDestination { destination }])
            .await?;
        Ok(())
    }

    /// Removes every message waiting in a queue (messages delivered and not yet
    /// acknowledged stay with their consumers). Returns how many were removed.
    ///
    /// # Errors
    /// `NoSuchQueue`, store failures.
    pub async fn purge_queue(&self, queue: &str) -> Result<usize, BrokerError> {
        let dest = Destination::Queue(queue.to_string());
        let taken = self.core().with_state(|s| {
            let q = s.queues.get(&dest)?;
            let keys: Vec<MessageKey> = q.pending_entries().map(|e| e.key).collect();
            Some(take_pending(s, &dest, &keys))
        });
        let Some(taken) = taken else {
            return Err(BrokerError::NoSuchQueue(queue.to_string()));
        };
        let count = taken.len();
        let keys: Vec<MessageKey> = taken
            .iter()
            .filter(|(_, m)| m.persistent)
            .map(|(k, _)| *k)
            .collect();
        for chunk in keys.chunks(MAX_OPS_PER_ENTRY) {
            self.store()
                .append(vec![StoreOp::Ack {
                    queue: QueueRef::Queue(queue.to_string()),
                    keys: chunk.to_vec(),
                }])
                .await?;
        }
        tracing::info!(queue, count, "queue purged");
        Ok(count)
    }

    /// Moves (or, with `copy`, copies) waiting messages, chosen by message id, from one
    /// queue to another. A persistent move is one store entry (add to the target + ack on
    /// the source), so a crash leaves the message in exactly one of the two. Returns how
    /// many messages were found and moved.
    ///
    /// # Errors
    /// `NoSuchQueue` for the source, `TooManyMessages`, store failures.
    pub async fn move_messages(
        &self,
        from: &str,
        message_ids: &[String],
        to: &str,
        copy: bool,
    ) -> Result<usize, BrokerError> {
        if message_ids.len() > MAX_MOVE {
            return Err(BrokerError::TooManyMessages {
                count: message_ids.len(),
                max: MAX_MOVE,
            });
        }
        let source = Destination::Queue(from.to_string());
        let target = Destination::Queue(to.to_string());
        let plan = self.core().with_state(|s| {
            let q = s.queues.get(&source)?;
            let found: Vec<(MessageKey, Arc<Message>)> = q
                .pending_entries()
                .filter(|e| message_ids.iter().any(|id| *id == e.message.id))
                .map(|e| (e.key, e.message.clone()))
                .collect();
            let picked: Vec<(MessageKey, Arc<Message>)> = if copy {
                found
            } else {
                let keys: Vec<MessageKey> = found.iter().map(|(k, _)| *k).collect();
                take_pending(s, &source, &keys)
            };
            let mut ops = Vec::new();
            let mut acked = Vec::new();
            let mut direct = Vec::new();
            for (key, original) in picked {
                let Ok(loaded) = s.load(&original) else {
                    tracing::error!(message_id = %original.id, "cannot read a paged message back; not moved");
                    if !copy {
                        restore_pending(s, &source, key, original);
                    }
                    continue;
                };
                let mut moved = Message::clone(&loaded);
                moved.destination = target.clone();
                moved.body_ref = None;
                if original.persistent {
                    ops.push(StoreOp::AddMessage { message: moved });
                    if !copy {
                        acked.push(key);
                    }
                } else {
                    direct.push(moved);
                }
            }
            let count = ops.len() + direct.len();
            for m in direct {
                let key = s.non_persistent_key();
                s.add_message(key, Arc::new(m));
            }
            s.dispatch_for(&target);
            if !acked.is_empty() {
                ops.push(StoreOp::Ack {
                    queue: QueueRef::Queue(from.to_string()),
                    keys: acked,
                });
            }
            Some((ops, count))
        });
        let Some((ops, count)) = plan else {
            return Err(BrokerError::NoSuchQueue(from.to_string()));
        };
        if !ops.is_empty() {
            self.store().append(ops).await?;
        }
        tracing::info!(from, to, count, copy, "messages moved");
        Ok(count)
    }
}

/// Names of every known topic: published to, with a durable subscription or a subscriber.
fn topic_names(s: &crate::state::State) -> Vec<String> {
    let mut names: BTreeMap<String, ()> = BTreeMap::new();
    for n in s.topic_enqueued.keys() {
        names.insert(n.clone(), ());
    }
    for d in s.durables.values() {
        if let Destination::Topic(n) = &d.topic {
            names.insert(n.clone(), ());
        }
    }
    for c in s.consumers.values() {
        if let Destination::Topic(n) = &c.spec.destination {
            names.insert(n.clone(), ());
        }
    }
    names.into_keys().collect()
}

/// Takes waiting messages out of a queue for an operator's purge or move. Persistent ones
/// stay live in `in_transit` until the caller's `Ack` is applied; the others are gone.
fn take_pending(
    s: &mut crate::state::State,
    dest: &Destination,
    keys: &[MessageKey],
) -> Vec<(MessageKey, Arc<Message>)> {
    let Destination::Queue(name) = dest else {
        return Vec::new();
    };
    let mut taken = Vec::new();
    for key in keys {
        let Some(q) = s.queues.get_mut(dest) else {
            break;
        };
        let Some(entry) = q.remove_pending(*key) else {
            continue;
        };
        q.counters.dequeued += 1;
        if entry.message.persistent {
            s.in_transit
                .insert((QueueRef::Queue(name.clone()), *key), entry.message.clone());
        } else {
            s.memory_used = s.memory_used.saturating_sub(entry.message.memory_size());
        }
        taken.push((*key, entry.message));
    }
    taken
}

/// Undoes [`take_pending`] for one message that could not be moved.
fn restore_pending(
    s: &mut crate::state::State,
    dest: &Destination,
    key: MessageKey,
    message: Arc<Message>,
) {
    let Destination::Queue(name) = dest else {
        return;
    };
    if message.persistent {
        // Counted in memory_used while in transit; new_entry counts it again.
        s.in_transit.remove(&(QueueRef::Queue(name.clone()), key));
        s.memory_used = s.memory_used.saturating_sub(message.memory_size());
    }
    let entry = s.new_entry(key, message);
    let q = s.queue_mut(dest);
    q.counters.dequeued = q.counters.dequeued.saturating_sub(1);
    q.requeue(entry);
}
