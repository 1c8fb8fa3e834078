//! The broker's in-memory state and every change to it. Runs under one lock, never awaits.
//!
//! Persistent changes arrive through [`State::apply`] (committed store entries, in log
//! order); runtime changes (consumers, deliveries, acks) come from [`crate::Broker`].
//! Anything that must be written to the store as a consequence (a move to the DLQ, an
//! expired message) is collected in `deferred` and appended by the broker after the lock
//! is released.

use crate::consumer::{ConnectionId, Consumer, ConsumerId, ConsumerSpec, Source};
use crate::destination::{Destination, DLQ_NAME};
use crate::error::BrokerError;
use crate::id_hasher::{IdMap, NameMap};
use crate::message::{now_millis, Message, PropertyValue};
use crate::message_queue::{Entry, MessageQueue, QueueCounters};
use crate::outbox::Outbox;
use crate::store::{
    message_key, BodyReader, DurableName, MessageKey, QueueRef, SnapshotImage, StoreOp,
};
use selector::Selector;
use std::collections::HashMap;
use std::sync::Arc;

/// Keys of non-persistent messages have the top bit set so they never meet log keys.
const NON_PERSISTENT_KEY_BIT: u64 = 1 << 63;

#[derive(Debug)]
pub(crate) struct DurableSub {
    pub topic: Destination,
    pub selector_text: Option<String>,
    pub selector: Option<Selector>,
    pub no_local: bool,
    pub queue: MessageQueue,
    pub consumer: Option<ConsumerId>,
}

#[derive(Debug)]
pub(crate) struct ConnectionState {
    pub client_id: Option<String>,
    pub consumers: Vec<ConsumerId>,
    pub temporary: Vec<Destination>,
    /// Who is connected, for operators (set by the protocol handler after `connect`).
    pub remote: Option<String>,
    pub protocol: Option<&'static str>,
    /// Sessions the client has open (reported by the protocol handler).
    pub sessions: usize,
}

/// One destination's numbers for operators and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueInfo {
    pub destination: Destination,
    pub pending: usize,
    pub inflight: usize,
    pub consumers: usize,
    pub counters: QueueCounters,
}

pub(crate) struct State {
    pub max_redeliveries: u32,
    /// Bytes of message data to keep in memory; past it, stored bodies are paged out.
    pub memory_limit: usize,
    /// Reads paged-out bodies back; without one nothing is paged.
    pub body_reader: Option<Arc<dyn BodyReader>>,
    pub queues: NameMap<Destination, MessageQueue>,
    pub durables: NameMap<DurableName, DurableSub>,
    pub topic_subs: IdMap<ConsumerId, MessageQueue>,
    pub consumers: IdMap<ConsumerId, Consumer>,
    pub connections: HashMap<ConnectionId, ConnectionState>,
    /// Messages acked or moved but whose `Ack` is not applied yet: still live for snapshots.
    pub in_transit: NameMap<(QueueRef, MessageKey), Arc<Message>>,
    pub producer_marks: HashMap<String, u64>,
    pub last_applied: u64,
    pub memory_used: usize,
    /// Store writes caused by state changes, appended once the lock is released.
    pub deferred: Vec<StoreOp>,
    /// Messages handed to consumers since start (operators' "messages out").
    pub delivered: u64,
    /// Messages published to each topic since start (topics have no queue of their own).
    pub topic_enqueued: HashMap<String, u64>,
    next_seq: u64,
    next_np_key: u64,
    next_consumer: ConsumerId,
    next_connection: ConnectionId,
}

impl State {
    pub fn new(max_redeliveries: u32, memory_limit: usize) -> State {
        State {
            max_redeliveries,
            memory_limit,
            body_reader: None,
            queues: NameMap::default(),
            durables: NameMap::default(),
            topic_subs: IdMap::default(),
            consumers: IdMap::default(),
            connections: HashMap::new(),
            in_transit: NameMap::default(),
            producer_marks: HashMap::new(),
            last_applied: 0,
            memory_used: 0,
            deferred: Vec::new(),
            delivered: 0,
            topic_enqueued: HashMap::new(),
            next_seq: 0,
            next_np_key: 0,
            next_consumer: 1,
            next_connection: 1,
        }
    }

    // ----- committed store entries -------------------------------------------------------

    pub fn apply(&mut self, index: u64, ops: &[StoreOp]) {
        self.last_applied = index;
        let mut touched: Vec<Destination> = Vec::new();
        for (position, op) in ops.iter().enumerate() {
            match op {
                StoreOp::AddMessage { message } => {
                    let key = message_key(index, position);
                    if !touched.contains(&message.destination) {
                        touched.push(message.destination.clone());
                    }
                    let message = self.maybe_page_out(message);
                    self.add_message(key, message);
                }
                StoreOp::Ack { queue, keys } => {
                    for key in keys {
                        self.forget(queue, *key);
                    }
                }
                StoreOp::AddSubscription {
                    name,
                    topic,
                    selector,
                    no_local,
                } => {
                    let parsed = selector.as_deref().and_then(|s| Selector::parse(s).ok());
                    let sub = self
                        .durables
                        .entry(name.clone())
                        .or_insert_with(|| DurableSub {
                            topic: topic.clone(),
                            selector_text: None,
                            selector: None,
                            no_local: *no_local,
                            queue: MessageQueue::default(),
                            consumer: None,
                        });
                    sub.topic = topic.clone();
                    sub.selector_text = selector.clone();
                    sub.selector = parsed;
                    sub.no_local = *no_local;
                }
                StoreOp::RemoveSubscription { name } => {
                    if let Some(mut sub) = self.durables.remove(name) {
                        for e in sub.queue.drain_all() {
                            self.memory_used =
                                self.memory_used.saturating_sub(e.message.memory_size());
                        }
                        if let Some(c) = sub.consumer {
                            self.consumers.remove(&c);
                        }
                    }
                }
                StoreOp::AddDestination { destination } => {
                    if destination.is_queue() {
                        self.queue_mut(destination);
                    }
                }
                StoreOp::RemoveDestination { destination } => {
                    self.remove_queue(destination);
                }
                StoreOp::ProducerMark { producer, seq } => {
                    let mark = self.producer_marks.entry(producer.clone()).or_insert(0);
                    *mark = (*mark).max(*seq);
                }
                StoreOp::Restore {
                    queue,
                    key,
                    message,
                } => {
                    let message = self.maybe_page_out(message);
                    let entry = self.new_entry(*key, message);
                    match queue {
                        QueueRef::Queue(name) => {
                            let dest = Destination::Queue(name.clone());
                            self.queue_mut(&dest).push(entry);
                        }
                        QueueRef::Durable(name) => {
                            if let Some(sub) = self.durables.get_mut(name) {
                                sub.queue.push(entry);
                            }
                        }
                    }
                }
            }
        }
        // Only where messages landed can something new be dispatched; a restored message
        // has no consumer yet (snapshots are replayed before clients connect).
        for dest in touched {
            self.dispatch_for(&dest);
        }
    }

    /// Keeps the body in memory while under the memory limit; past it, a stored message
    /// keeps only its headers and is read back from the store when dispatched.
    fn maybe_page_out(&self, message: &Message) -> Arc<Message> {
        let mut m = message.clone();
        if self.body_reader.is_some()
            && m.body_ref.is_some()
            && !m.body.is_empty()
            && self.memory_used + m.memory_size() > self.memory_limit
        {
            m.body = bytes::Bytes::new();
            m.encoded = None;
        }
        Arc::new(m)
    }

    /// The message with its body in memory (read back if it was paged out).
    ///
    /// # Errors
    /// The store could not read the body back.
    pub fn load(&self, message: &Arc<Message>) -> Result<Arc<Message>, crate::store::StoreError> {
        match (&self.body_reader, message.body_ref) {
            (Some(reader), Some(r)) if message.is_paged() => {
                let mut full = Message::clone(message);
                full.body = reader.read_body(&r)?;
                Ok(Arc::new(full))
            }
            _ => Ok(message.clone()),
        }
    }

    pub(crate) fn new_entry(&mut self, key: MessageKey, message: Arc<Message>) -> Entry {
        self.next_seq += 1;
        self.memory_used += message.memory_size();
        Entry {
            key,
            seq: self.next_seq,
            message,
            redeliveries: 0,
        }
    }

    /// Removes a message for good once its `Ack` is committed.
    fn forget(&mut self, queue: &QueueRef, key: MessageKey) {
        if let Some(m) = self.in_transit.remove(&(queue.clone(), key)) {
            self.memory_used = self.memory_used.saturating_sub(m.memory_size());
            return;
        }
        let q = match queue {
            QueueRef::Queue(name) => self.queues.get_mut(&Destination::Queue(name.clone())),
            QueueRef::Durable(name) => self.durables.get_mut(name).map(|d| &mut d.queue),
        };
        if let Some(q) = q {
            if let Some(e) = q.remove_pending(key) {
                q.counters.dequeued += 1;
                self.memory_used = self.memory_used.saturating_sub(e.message.memory_size());
            }
        }
    }

    /// A message for `message.destination`, stored under `key`: queue it where it belongs.
    pub fn add_message(&mut self, key: MessageKey, message: Arc<Message>) {
        // Borrowed through a second handle on the message: no copy of the name.
        let held = message.clone();
        let dest = &held.destination;
        if dest.is_queue() {
            let entry = self.new_entry(key, message);
            match self.queues.get_mut(dest) {
                Some(q) => q.push(entry),
                None => self.queue_mut(dest).push(entry),
            }
            return;
        }
        *self
            .topic_enqueued
            .entry(dest.name().to_string())
            .or_insert(0) += 1;
        // Topic: a copy for every matching durable subscription (non-persistent messages
        // only while its consumer is active, as ActiveMQ does) and every matching
        // non-durable subscriber connected now.
        {
            let names: Vec<DurableName> = self
                .durables
                .iter()
                .filter(|(_, s)| {
                    (message.persistent || s.consumer.is_some())
                        && s.topic.selects(dest)
                        && s.selector
                            .as_ref()
                            .is_none_or(|sel| sel.matches(message.as_ref()))
                })
                .map(|(n, _)| n.clone())
                .collect();
            for name in names {
                let entry = self.new_entry(key, message.clone());
                if let Some(sub) = self.durables.get_mut(&name) {
                    sub.queue.push(entry);
                }
            }
        }
        let subs: Vec<ConsumerId> = self
            .consumers
            .iter()
            .filter(|(id, c)| {
                c.spec.durable.is_none()
                    && !c.spec.destination.is_queue()
                    && c.spec.destination.selects(dest)
                    && c.accepts(&message)
                    && self.topic_subs.contains_key(id)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in subs {
            let entry = self.new_entry(key, message.clone());
            if let Some(q) = self.topic_subs.get_mut(&id) {
                q.push(entry);
            }
        }
    }

    /// A key for a message that never reaches the store.
    pub fn non_persistent_key(&mut self) -> MessageKey {
        self.next_np_key += 1;
        NON_PERSISTENT_KEY_BIT | self.next_np_key
    }

    /// Whether a persistent message to this topic has to be stored (some durable
    /// subscription would keep it).
    pub fn topic_needs_store(&self, topic: &Destination) -> bool {
        self.durables.values().any(|s| s.topic.selects(topic))
    }

    pub fn queue_mut(&mut self, dest: &Destination) -> &mut MessageQueue {
        if !self.queues.contains_key(dest) {
            let mut q = MessageQueue::default();
            // Wildcard queue consumers attach to every matching queue, also later ones.
            for (id, c) in self.consumers.iter_mut() {
                if c.spec.destination.is_queue()
                    && c.spec.destination.is_wildcard()
                    && c.spec.destination.selects(dest)
                {
                    q.consumers.push(*id);
                    c.sources.push(Source::Queue(dest.clone()));
                }
            }
            self.queues.insert(dest.clone(), q);
        }
        // Just inserted above if it was missing.
        self.queues.entry(dest.clone()).or_default()
    }

    fn remove_queue(&mut self, dest: &Destination) {
        if let Some(mut q) = self.queues.remove(dest) {
            for e in q.drain_all() {
                self.memory_used = self.memory_used.saturating_sub(e.message.memory_size());
            }
            for c in q.consumers {
                if let Some(c) = self.consumers.get_mut(&c) {
                    c.sources.retain(|s| *s != Source::Queue(dest.clone()));
                    c.held
                        .retain(|_, h| h.source != Source::Queue(dest.clone()));
                }
            }
        }
    }

    // ----- connections and consumers -----------------------------------------------------

    pub fn open_connection(
        &mut self,
        client_id: Option<String>,
    ) -> Result<ConnectionId, BrokerError> {
        if let Some(id) = &client_id {
            if self
                .connections
                .values()
                .any(|c| c.client_id.as_deref() == Some(id.as_str()))
            {
                return Err(BrokerError::ClientIdInUse(id.clone()));
            }
        }
        let id = self.next_connection;
        self.next_connection += 1;
        self.connections.insert(
            id,
            ConnectionState {
                client_id,
                consumers: Vec::new(),
                temporary: Vec::new(),
                remote: None,
                protocol: None,
                sessions: 0,
            },
        );
        Ok(id)
    }

    pub fn close_connection(&mut self, connection: ConnectionId) {
        let Some(conn) = self.connections.remove(&connection) else {
            return;
        };
        for c in conn.consumers {
            self.close_consumer(c);
        }
        for dest in conn.temporary {
            self.remove_queue(&dest);
        }
    }

    pub fn register_temporary(&mut self, connection: ConnectionId, dest: &Destination) {
        if let Some(c) = self.connections.get_mut(&connection) {
            if !c.temporary.contains(dest) {
                c.temporary.push(dest.clone());
            }
        }
    }

    pub fn client_id(&self, connection: ConnectionId) -> Option<String> {
        self.connections
            .get(&connection)
            .and_then(|c| c.client_id.clone())
    }

    /// Adds a consumer. A durable subscription must already exist (applied from the store).
    pub fn open_consumer(
        &mut self,
        connection: ConnectionId,
        spec: ConsumerSpec,
        outbox: Arc<Outbox>,
    ) -> Result<ConsumerId, BrokerError> {
        let selector = match spec.selector.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => Some(Selector::parse(s).map_err(BrokerError::Selector)?),
            _ => None,
        };
        if !self.connections.contains_key(&connection) {
            return Err(BrokerError::ConnectionClosed);
        }
        let id = self.next_consumer;
        self.next_consumer += 1;
        let mut sources = Vec::new();
        let dest = spec.destination.clone();
        if let Some(name) = &spec.durable {
            let client_id = self
                .client_id(connection)
                .ok_or(BrokerError::DurableNeedsClientId)?;
            let key = DurableName {
                client_id,
                name: name.clone(),
            };
            let sub = self
                .durables
                .get_mut(&key)
                .ok_or_else(|| BrokerError::NoSuchSubscription(key.name.clone()))?;
            if sub.consumer.is_some() {
                return Err(BrokerError::SubscriptionInUse(key.name.clone()));
            }
            sub.consumer = Some(id);
            sub.queue.consumers = vec![id];
            sources.push(Source::Durable(key));
        } else if dest.is_queue() {
            let matching: Vec<Destination> = if dest.is_wildcard() {
                self.queues
                    .keys()
                    .filter(|q| dest.selects(q))
                    .cloned()
                    .collect()
            } else {
                vec![dest.clone()]
            };
            for q in matching {
                self.queue_mut(&q).consumers.push(id);
                sources.push(Source::Queue(q));
            }
        } else {
            // The subscription's own queue has exactly this one consumer.
            let mut q = MessageQueue::default();
            q.consumers.push(id);
            self.topic_subs.insert(id, q);
            sources.push(Source::TopicSub(id));
        }
        self.consumers.insert(
            id,
            Consumer {
                connection,
                spec,
                selector,
                outbox,
                outstanding: 0,
                pulls: 0,
                held: IdMap::default(),
                sources: sources.clone(),
            },
        );
        if let Some(c) = self.connections.get_mut(&connection) {
            c.consumers.push(id);
        }
        for s in &sources {
            self.dispatch_source(s);
        }
        Ok(id)
    }

    /// Closes a consumer: what it holds goes back, marked redelivered.
    pub fn close_consumer(&mut self, id: ConsumerId) {
        let Some(c) = self.consumers.get(&id) else {
            return;
        };
        let keys: Vec<MessageKey> = c.held.keys().copied().collect();
        let connection = c.connection;
        let outbox = c.outbox.clone();
        let sources = c.sources.clone();
        // Detach it from its queues first: the requeue below dispatches, and must not hand
        // the messages straight back to the consumer that is going away.
        for s in &sources {
            match s {
                Source::Queue(d) => {
                    if let Some(q) = self.queues.get_mut(d) {
                        q.consumers.retain(|x| *x != id);
                    }
                }
                Source::Durable(name) => {
                    if let Some(sub) = self.durables.get_mut(name) {
                        sub.consumer = None;
                        sub.queue.consumers.clear();
                    }
                }
                Source::TopicSub(_) => {
                    if let Some(q) = self.topic_subs.get_mut(&id) {
                        q.consumers.clear();
                    }
                }
            }
        }
        // Deliveries still queued for the connection never reached the client: they go
        // back unmarked. Everything else it held was delivered: redelivered.
        let unsent: Vec<MessageKey> = outbox.take_for(id).iter().map(|d| d.key).collect();
        self.requeue(id, &unsent, false);
        let sent: Vec<MessageKey> = keys.into_iter().filter(|k| !unsent.contains(k)).collect();
        self.requeue(id, &sent, true);
        self.consumers.remove(&id);
        if let Some(mut q) = self.topic_subs.remove(&id) {
            for e in q.drain_all() {
                self.memory_used = self.memory_used.saturating_sub(e.message.memory_size());
            }
        }
        if let Some(conn) = self.connections.get_mut(&connection) {
            conn.consumers.retain(|x| *x != id);
        }
        for s in &sources {
            self.dispatch_source(s);
        }
    }

    fn queue_for(&mut self, source: &Source) -> Option<&mut MessageQueue> {
        match source {
            Source::Queue(d) => self.queues.get_mut(d),
            Source::Durable(n) => self.durables.get_mut(n).map(|s| &mut s.queue),
            Source::TopicSub(id) => self.topic_subs.get_mut(id),
        }
    }

    fn queue_ref(source: &Source) -> Option<QueueRef> {
        match source {
            Source::Queue(Destination::Queue(n)) => Some(QueueRef::Queue(n.clone())),
            Source::Durable(n) => Some(QueueRef::Durable(n.clone())),
            _ => None,
        }
    }

    /// Acknowledges delivered messages: credit comes back at once; store `Ack` ops for
    /// persistent ones are returned for the caller to append.
    pub fn ack(
        &mut self,
        consumer: ConsumerId,
        keys: &[MessageKey],
    ) -> Result<Vec<StoreOp>, BrokerError> {
        let mut acks: HashMap<QueueRef, Vec<MessageKey>> = HashMap::new();
        // Usually every key comes from one source: no list for that one.
        let mut source: Option<Source> = None;
        let mut more_sources = Vec::new();
        {
            let c = self
                .consumers
                .get_mut(&consumer)
                .ok_or(BrokerError::NoSuchConsumer(consumer))?;
            for key in keys {
                let Some(held) = c.held.remove(key) else {
                    continue;
                };
                if !held.in_tx {
                    c.outstanding = c.outstanding.saturating_sub(1);
                }
                let entry = (match &held.source {
                    Source::Queue(d) => self.queues.get_mut(d),
                    Source::Durable(n) => self.durables.get_mut(n).map(|s| &mut s.queue),
                    Source::TopicSub(id) => self.topic_subs.get_mut(id),
                })
                .and_then(|q| {
                    let e = q.take_inflight(*key);
                    if e.is_some() {
                        q.counters.dequeued += 1;
                    }
                    e
                });
                if let Some(entry) = entry {
                    // Only a persistent message needs its queue named in a store op.
                    match entry
                        .message
                        .persistent
                        .then(|| Self::queue_ref(&held.source))
                        .flatten()
                    {
                        Some(qref) => {
                            self.in_transit
                                .insert((qref.clone(), *key), entry.message.clone());
                            acks.entry(qref).or_default().push(*key);
                        }
                        None => {
                            self.memory_used =
                                self.memory_used.saturating_sub(entry.message.memory_size());
                        }
                    }
                }
                // Moved, not cloned: the held record is gone.
                match &source {
                    None => source = Some(held.source),
                    Some(s) if *s == held.source || more_sources.contains(&held.source) => {}
                    Some(_) => more_sources.push(held.source),
                }
            }
        }
        for s in source.iter().chain(&more_sources) {
            self.dispatch_source(s);
        }
        Ok(acks
            .into_iter()
            .map(|(queue, keys)| StoreOp::Ack { queue, keys })
            .collect())
    }

    /// Pull mode: asks for one message. Returns true when one was dispatched at once.
    pub fn pull(&mut self, consumer: ConsumerId) -> bool {
        let Some(c) = self.consumers.get_mut(&consumer) else {
            return false;
        };
        c.pulls = 1;
        let sources = c.sources.clone();
        for s in &sources {
            self.dispatch_source(s);
        }
        self.consumers.get(&consumer).is_some_and(|c| c.pulls == 0)
    }

    /// Withdraws an unserved pull; false when a message was dispatched for it meanwhile.
    pub fn cancel_pull(&mut self, consumer: ConsumerId) -> bool {
        match self.consumers.get_mut(&consumer) {
            Some(c) if c.pulls > 0 => {
                c.pulls = 0;
                true
            }
            _ => false,
        }
    }

    /// Changes a consumer's prefetch (e.g. restored after failover) and dispatches.
    pub fn set_prefetch(&mut self, consumer: ConsumerId, prefetch: u32) {
        let Some(c) = self.consumers.get_mut(&consumer) else {
            return;
        };
        c.spec.prefetch = prefetch;
        let sources = c.sources.clone();
        for s in &sources {
            self.dispatch_source(s);
        }
    }

    pub fn remove_temporary(&mut self, connection: ConnectionId, dest: &Destination) {
        if let Some(c) = self.connections.get_mut(&connection) {
            c.temporary.retain(|d| d != dest);
        }
        self.remove_queue(dest);
    }

    /// See `Core::step_down`.
    pub fn step_down(&mut self) {
        let connections: Vec<ConnectionId> = self.connections.keys().copied().collect();
        for c in connections {
            self.close_connection(c);
        }
        self.deferred.clear();
        for ((queue, key), message) in std::mem::take(&mut self.in_transit) {
            // Counted in memory_used while in transit; new_entry counts it again.
            self.memory_used = self.memory_used.saturating_sub(message.memory_size());
            let entry = self.new_entry(key, message);
            match queue {
                QueueRef::Queue(name) => {
                    self.queue_mut(&Destination::Queue(name)).requeue(entry);
                }
                QueueRef::Durable(name) => {
                    if let Some(sub) = self.durables.get_mut(&name) {
                        sub.queue.requeue(entry);
                    }
                }
            }
        }
    }

    /// Temporary destinations and the connections that own them.
    pub fn temporary_destinations(&self) -> Vec<(Destination, ConnectionId)> {
        self.connections
            .iter()
            .flat_map(|(id, c)| c.temporary.iter().map(move |d| (d.clone(), *id)))
            .collect()
    }

    /// Marks messages as acknowledged inside a transaction: their credit comes back now,
    /// they stay held until commit (ack) or abort (requeue).
    pub fn tx_ack(&mut self, consumer: ConsumerId, keys: &[MessageKey]) {
        let mut sources = Vec::new();
        if let Some(c) = self.consumers.get_mut(&consumer) {
            for key in keys {
                if let Some(h) = c.held.get_mut(key) {
                    if !h.in_tx {
                        h.in_tx = true;
                        c.outstanding = c.outstanding.saturating_sub(1);
                        if !sources.contains(&h.source) {
                            sources.push(h.source.clone());
                        }
                    }
                }
            }
        }
        for s in &sources {
            self.dispatch_source(s);
        }
    }

    /// Delivered messages go back to their queue (disconnect, abort, recover), marked
    /// redelivered; past `max_redeliveries` they go to the DLQ instead.
    pub fn requeue(&mut self, consumer: ConsumerId, keys: &[MessageKey], count_redelivery: bool) {
        let mut back = Vec::new();
        if let Some(c) = self.consumers.get_mut(&consumer) {
            for key in keys {
                if let Some(h) = c.held.remove(key) {
                    if !h.in_tx {
                        c.outstanding = c.outstanding.saturating_sub(1);
                    }
                    back.push((*key, h.source));
                }
            }
        }
        let mut sources = Vec::new();
        let mut poisoned = Vec::new();
        let max = self.max_redeliveries;
        for (key, source) in back {
            let Some(q) = self.queue_for(&source) else {
                continue;
            };
            let Some(mut entry) = q.take_inflight(key) else {
                continue;
            };
            if count_redelivery {
                if entry.redeliveries >= max {
                    poisoned.push((source.clone(), entry));
                    continue;
                }
                entry.redeliveries += 1;
            }
            q.requeue(entry);
            if !sources.contains(&source) {
                sources.push(source);
            }
        }
        for (source, entry) in poisoned {
            let cause = format!(
                "Delivery[{}] exceeds redelivery policy limit",
                entry.redeliveries + 1
            );
            self.move_to_dlq(&source, entry, &cause);
        }
        for s in &sources {
            self.dispatch_source(s);
        }
    }

    /// Poison: held messages go straight to the DLQ (STOMP NACK, JMS poison ack).
    pub fn poison(&mut self, consumer: ConsumerId, keys: &[MessageKey], cause: &str) {
        let mut out = Vec::new();
        if let Some(c) = self.consumers.get_mut(&consumer) {
            for key in keys {
                if let Some(h) = c.held.remove(key) {
                    if !h.in_tx {
                        c.outstanding = c.outstanding.saturating_sub(1);
                    }
                    out.push((*key, h.source));
                }
            }
        }
        let mut sources = Vec::new();
        for (key, source) in out {
            let Some(entry) = self.queue_for(&source).and_then(|q| q.take_inflight(key)) else {
                continue;
            };
            self.move_to_dlq(&source, entry, cause);
            if !sources.contains(&source) {
                sources.push(source);
            }
        }
        for s in &sources {
            self.dispatch_source(s);
        }
    }

    /// Moves a message (already out of its queue) to `ActiveMQ.DLQ`. Persistent messages
    /// move through the store (add to DLQ + ack, one entry); until that entry is applied
    /// the message stays live in `in_transit` so a snapshot cannot lose it.
    fn move_to_dlq(&mut self, source: &Source, entry: Entry, cause: &str) {
        let original = &entry.message;
        if matches!(&original.destination, Destination::Queue(n) if &**n == DLQ_NAME) {
            // A poison message in the DLQ itself is dropped, as ActiveMQ does.
            tracing::warn!(message_id = %original.id, "dropping poison message from the DLQ");
            if let (true, Some(qref)) = (original.persistent, Self::queue_ref(source)) {
                self.in_transit
                    .insert((qref.clone(), entry.key), original.clone());
                self.deferred.push(StoreOp::Ack {
                    queue: qref,
                    keys: vec![entry.key],
                });
            } else {
                self.memory_used = self.memory_used.saturating_sub(original.memory_size());
            }
            return;
        }
        let loaded = match self.load(original) {
            Ok(m) => m,
            Err(e) => {
                // Without its body the message cannot be copied: keep it where it was.
                tracing::error!(message_id = %original.id, error = %e, "cannot read a paged message back; leaving it queued");
                if let Some(q) = self.queue_for(source) {
                    q.requeue(entry);
                }
                return;
            }
        };
        let mut moved = Message::clone(&loaded);
        moved.body_ref = None;
        moved.encoded = None;
        moved.set_property(
            "originalDestination",
            PropertyValue::String(original.destination.to_string()),
        );
        moved.set_property(
            "dlqDeliveryFailureCause",
            PropertyValue::String(cause.to_string()),
        );
        moved.destination = Destination::dlq();
        moved.expiration = 0;
        tracing::debug!(message_id = %moved.id, cause, "moving message to the DLQ");
        match (original.persistent, Self::queue_ref(source)) {
            (true, Some(qref)) => {
                self.in_transit
                    .insert((qref.clone(), entry.key), original.clone());
                self.deferred.push(StoreOp::AddMessage { message: moved });
                self.deferred.push(StoreOp::Ack {
                    queue: qref,
                    keys: vec![entry.key],
                });
            }
            _ => {
                self.memory_used = self.memory_used.saturating_sub(original.memory_size());
                let key = self.non_persistent_key();
                let entry = self.new_entry(key, Arc::new(moved));
                let dlq = Destination::dlq();
                self.queue_mut(&dlq).push(entry);
                self.dispatch_source(&Source::Queue(dlq));
            }
        }
    }

    // ----- dispatch ----------------------------------------------------------------------

    pub fn dispatch_source(&mut self, source: &Source) {
        let now = now_millis();
        let reader = self.body_reader.clone();
        let reader = reader.as_deref();
        let outcome = match source {
            Source::Queue(d) => match self.queues.get_mut(d) {
                Some(q) => q.dispatch(source, &mut self.consumers, now, reader),
                None => return,
            },
            Source::Durable(n) => match self.durables.get_mut(n) {
                Some(s) => s.queue.dispatch(source, &mut self.consumers, now, reader),
                None => return,
            },
            Source::TopicSub(id) => match self.topic_subs.get_mut(id) {
                Some(q) => q.dispatch(source, &mut self.consumers, now, reader),
                None => return,
            },
        };
        self.delivered += outcome.delivered;
        for entry in outcome.expired {
            if entry.message.persistent {
                self.move_to_dlq(source, entry, "Message expired");
            } else {
                self.memory_used = self.memory_used.saturating_sub(entry.message.memory_size());
            }
        }
    }

    /// Dispatches the places a new message may have landed.
    pub fn dispatch_for(&mut self, dest: &Destination) {
        if dest.is_queue() {
            self.dispatch_source(&Source::Queue(dest.clone()));
            return;
        }
        let mut sources: Vec<Source> = self
            .durables
            .iter()
            .filter(|(_, s)| s.topic.selects(dest))
            .map(|(n, _)| Source::Durable(n.clone()))
            .collect();
        sources.extend(
            self.topic_subs
                .iter()
                .filter(|(_, q)| q.pending_len() > 0)
                .map(|(id, _)| Source::TopicSub(*id)),
        );
        for s in sources {
            self.dispatch_source(&s);
        }
    }

    // ----- snapshots and introspection ---------------------------------------------------

    /// The live state, taken in time proportional to the number of messages: each is
    /// shared, not copied (see [`SnapshotImage`]).
    pub fn snapshot(&self) -> SnapshotImage {
        let mut image = SnapshotImage::default();
        // Messages are restored in key (= log) order, after every destination and
        // subscription exists: `Restore` gives each message a new arrival sequence, so
        // emitting them in map order (pending, then in flight, then in transit) would
        // scramble the queue order after recovery. The image sorts them when it is used.
        let mut positions: HashMap<QueueRef, u32> = HashMap::new();
        let mut position = |image: &mut SnapshotImage, queue: &QueueRef| -> u32 {
            if let Some(at) = positions.get(queue) {
                return *at;
            }
            let at = image.queues.len() as u32;
            image.queues.push(queue.clone());
            positions.insert(queue.clone(), at);
            at
        };
        for (dest, q) in &self.queues {
            let Destination::Queue(name) = dest else {
                continue;
            };
            image.head.push(StoreOp::AddDestination {
                destination: dest.clone(),
            });
            let at = position(&mut image, &QueueRef::Queue(name.clone()));
            for e in q.all_entries() {
                if e.message.persistent {
                    image.messages.push((at, e.key, e.message.clone()));
                }
            }
        }
        for (name, sub) in &self.durables {
            image.head.push(StoreOp::AddSubscription {
                name: name.clone(),
                topic: sub.topic.clone(),
                selector: sub.selector_text.clone(),
                no_local: sub.no_local,
            });
            let at = position(&mut image, &QueueRef::Durable(name.clone()));
            for e in sub.queue.all_entries() {
                // Non-persistent copies (kept while its consumer is active) never survive.
                if e.message.persistent {
                    image.messages.push((at, e.key, e.message.clone()));
                }
            }
        }
        for ((queue, key), message) in &self.in_transit {
            let at = position(&mut image, queue);
            image.messages.push((at, *key, message.clone()));
        }
        for (producer, seq) in &self.producer_marks {
            image.tail.push(StoreOp::ProducerMark {
                producer: producer.clone(),
                seq: *seq,
            });
        }
        image
    }

    /// Messages waiting in a queue, in delivery order, without consuming them.
    pub fn browse(&self, dest: &Destination, max: usize) -> Vec<Arc<Message>> {
        self.queues
            .get(dest)
            .map(|q| {
                q.pending_entries()
                    .take(max)
                    .map(|e| self.load(&e.message).unwrap_or_else(|_| e.message.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn queue_info(&self) -> Vec<QueueInfo> {
        let mut out: Vec<QueueInfo> = self
            .queues
            .iter()
            .map(|(d, q)| QueueInfo {
                destination: d.clone(),
                pending: q.pending_len(),
                inflight: q.inflight_len(),
                consumers: q.consumers.len(),
                counters: q.counters,
            })
            .collect();
        out.sort_by(|a, b| a.destination.cmp(&b.destination));
        out
    }
}
