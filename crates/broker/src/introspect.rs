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
    /// Sessions open (OpenWire: SessionInfo added and not removed; STOMP: always 1).
    pub sessions: usize,
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
                    let dest = Destination::Topic(name.as_str().into());
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
                    sessions: c.sessions,
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

    /// Records how many sessions a connection has open, for operators.
    pub fn set_sessions(&self, connection: ConnectionId, sessions: usize) {
        self.core().with_state(|s| {
            if let Some(c) = s.connections.get_mut(&connection) {
                c.sessions = sessions;
            }
        });
    }

    /// A page of the messages waiting in a queue, in delivery order, left in place.
    /// Paged-out bodies are not read back (a list shows headers; see
    /// [`Broker::find_message`] for one message with its body).
    pub fn browse_page(&self, queue: &str, offset: usize, limit: usize) -> MessagePage {
        let dest = Destination::Queue(queue.into());
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
                    message: e.message.clone(),
                })
                .collect();
            MessagePage {
                total: q.pending_len(),
                messages,
            }
        })
    }

    /// One waiting message by its message id (`JMSMessageID`), its body read back if it
    /// was paged out.
    pub fn find_message(&self, queue: &str, message_id: &str) -> Option<QueuedMessage> {
        let dest = Destination::Queue(queue.into());
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
        let dest = Destination::Queue(queue.into());
        self.core().with_state(|s| s.queues.contains_key(&dest))
    }

    /// Creates a queue (stored, so it survives a restart). Creating an existing queue is
    /// not an error.
    ///
    /// # Errors
    /// Store failures.
    pub async fn create_queue(&self, queue: &str) -> Result<(), BrokerError> {
        let destination = Destination::Queue(queue.into());
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
        let destination = Destination::Queue(queue.into());
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
        let dest = Destination::Queue(queue.into());
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
                    queue: QueueRef::Queue(queue.into()),
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
        let source = Destination::Queue(from.into());
        let target = Destination::Queue(to.into());
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
                moved.encoded = None;
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
                    queue: QueueRef::Queue(from.into()),
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
            names.insert(n.to_string(), ());
        }
    }
    for c in s.consumers.values() {
        if let Destination::Topic(n) = &c.spec.destination {
            names.insert(n.to_string(), ());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::BrokerConfig;
    use crate::core::Core;
    use crate::memory_store::MemoryStore;
    use crate::message::BodyKind;
    use crate::store::Store;

    fn broker() -> Broker {
        let core = Core::new(6, 64 << 20);
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new(core.clone()));
        Broker::new(BrokerConfig::default(), core, store)
    }

    fn message(queue: &str, id: &str, persistent: bool) -> Message {
        let mut m = Message::new(
            id.to_string(),
            Destination::Queue(queue.into()),
            BodyKind::Text,
            bytes::Bytes::from(format!("body of {id}")),
        );
        m.persistent = persistent;
        m
    }

    fn pending(b: &Broker, queue: &str) -> Vec<String> {
        b.browse_page(queue, 0, 100)
            .messages
            .iter()
            .map(|m| m.message.id.clone())
            .collect()
    }

    /// Moves, copies and purges keep memory accounting exact: once every queue is empty
    /// again, no memory is counted as used.
    #[tokio::test]
    async fn move_copy_and_purge_balance_memory() {
        let b = broker();
        for (id, persistent) in [("p1", true), ("n1", false), ("p2", true)] {
            b.send(message("src", id, persistent)).await.unwrap();
        }
        let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            b.move_messages("src", &ids(&["p1", "n1"]), "dst", false)
                .await
                .unwrap(),
            2
        );
        assert_eq!(pending(&b, "src"), ["p2"]);
        let mut moved = pending(&b, "dst");
        moved.sort();
        assert_eq!(moved, ["n1", "p1"]);
        let found = b.find_message("dst", "p1").unwrap();
        assert_eq!(found.message.body, bytes::Bytes::from("body of p1"));
        assert_eq!(found.message.destination, Destination::Queue("dst".into()));
        assert_eq!(
            b.move_messages("src", &ids(&["p2"]), "dst", true)
                .await
                .unwrap(),
            1
        );
        assert_eq!(pending(&b, "src"), ["p2"]);
        assert_eq!(pending(&b, "dst").len(), 3);
        assert_eq!(
            b.move_messages("src", &ids(&["nope"]), "dst", false)
                .await
                .unwrap(),
            0
        );
        assert!(matches!(
            b.move_messages("missing", &ids(&["p2"]), "dst", false)
                .await,
            Err(BrokerError::NoSuchQueue(_))
        ));
        assert_eq!(b.purge_queue("dst").await.unwrap(), 3);
        assert_eq!(b.purge_queue("src").await.unwrap(), 1);
        assert!(pending(&b, "dst").is_empty() && pending(&b, "src").is_empty());
        assert_eq!(
            b.memory_used(),
            0,
            "memory still counted after everything left"
        );
        let info = b.queues();
        let src = info.iter().find(|i| i.destination.name() == "src").unwrap();
        assert_eq!(src.counters.enqueued, 3);
        assert_eq!(src.counters.dequeued, 3);
    }

    /// Counters for operators: messages in, messages out, connections with who they are.
    #[tokio::test]
    async fn overview_counts_messages_and_connections() {
        let b = broker();
        let c = b.connect(Some("client-a".into())).unwrap();
        b.describe_connection(c, "127.0.0.1:5000".parse().unwrap(), "stomp");
        b.set_sessions(c, 1);
        b.send(message("q", "m1", true)).await.unwrap();
        let outbox = crate::outbox::Outbox::new();
        b.subscribe(
            c,
            crate::consumer::ConsumerSpec::new(Destination::Queue("q".into())),
            outbox.clone(),
        )
        .await
        .unwrap();
        assert_eq!(outbox.drain(10).len(), 1);
        let o = b.overview();
        assert_eq!((o.messages_in, o.messages_out), (1, 1));
        assert_eq!((o.connections, o.consumers, o.queues), (1, 1, 1));
        let conns = b.connections();
        assert_eq!(conns[0].client_id.as_deref(), Some("client-a"));
        assert_eq!(conns[0].remote.as_deref(), Some("127.0.0.1:5000"));
        assert_eq!(conns[0].protocol, Some("stomp"));
        assert_eq!(conns[0].sessions, 1);
        b.create_queue("made").await.unwrap();
        assert!(b.has_queue("made"));
        b.delete_queue("made").await.unwrap();
        assert!(!b.has_queue("made"));
        assert!(matches!(
            b.delete_queue("made").await,
            Err(BrokerError::NoSuchQueue(_))
        ));
    }
}
