//! One STOMP connection: the I/O shell (socket, heart-beats, outbox) around the protocol
//! handling of each frame.

use crate::stomp_message::{message_frame, message_from_send, parse_destination};
use broker::store::MessageKey;
use broker::{Broker, ConnectionId, ConsumerId, ConsumerSpec, Delivery, Message, Outbox};
use futures_util::stream::FuturesOrdered;
use futures_util::{SinkExt, StreamExt};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use stomp::{Command, Frame, Item, Limits, StompCodec, Version};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_util::codec::{FramedRead, FramedWrite};

/// Settings every STOMP connection shares.
#[derive(Debug, Clone)]
pub struct StompSettings {
    pub limits: Limits,
    /// Sends and acks a connection may have waiting for the store before it stops reading.
    pub max_in_flight: usize,
    /// Prefetch when SUBSCRIBE does not give `activemq.prefetchSize`.
    pub default_prefetch: u32,
    /// How long a new connection may take to send CONNECT.
    pub connect_timeout: Duration,
    /// Subscriptions and open transactions one connection may hold, each: one more is a
    /// protocol error (ERROR frame, connection closed).
    pub max_per_connection: usize,
}

impl Default for StompSettings {
    fn default() -> Self {
        StompSettings {
            limits: Limits::default(),
            max_in_flight: 1024,
            default_prefetch: 1000,
            max_per_connection: crate::openwire_connection::DEFAULT_MAX_PER_CONNECTION,
            connect_timeout: Duration::from_secs(30),
        }
    }
}

/// Connection numbers for message ids; unique per broker process.
static CONNECTION_SEQ: AtomicU64 = AtomicU64::new(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AckMode {
    Auto,
    Client,
    ClientIndividual,
}

struct Subscription {
    consumer: ConsumerId,
    ack: AckMode,
    destination: String,
    /// Delivered, not yet acknowledged: delivery number → (message id, broker key).
    delivered: BTreeMap<u64, (String, MessageKey)>,
}

#[derive(Default)]
struct Transaction {
    sends: Vec<Message>,
    acks: Vec<(ConsumerId, MessageKey)>,
}

/// Why a connection ends: with an ERROR frame for the peer, or quietly.
enum Close {
    Error { message: String, details: String },
    Quiet,
}

fn error(message: impl Into<String>) -> Close {
    Close::Error {
        message: message.into(),
        details: String::new(),
    }
}

type Pending = Pin<Box<dyn Future<Output = Result<Option<Frame>, Close>> + Send>>;

struct Session {
    broker: Broker,
    peer: SocketAddr,
    connection: Option<ConnectionId>,
    version: Version,
    outbox: Arc<Outbox>,
    subscriptions: HashMap<String, Subscription>,
    by_consumer: HashMap<ConsumerId, String>,
    transactions: HashMap<String, Transaction>,
    id_prefix: String,
    temp_prefix: String,
    next_message: u64,
    next_delivery: u64,
    pending: FuturesOrdered<Pending>,
    /// A SEND held back by producer flow control; nothing more is read until it goes.
    parked: Option<Frame>,
    settings: Arc<StompSettings>,
    heartbeat_send: Option<Duration>,
    heartbeat_read: Option<Duration>,
    disconnecting: bool,
}

/// Serves one STOMP connection until the peer leaves, errs, or the broker shuts down.
pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    broker: Broker,
    settings: Arc<StompSettings>,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    let mut reader = FramedRead::new(read, StompCodec::new(settings.limits));
    let mut writer = FramedWrite::new(write, StompCodec::new(settings.limits));
    // The same write batch as OpenWire's, for the same reason.
    writer.set_backpressure_boundary(openwire::WRITE_BATCH);
    let seq = CONNECTION_SEQ.fetch_add(1, Ordering::Relaxed);
    let stamp = broker::message::now_millis();
    let mut session = Session {
        id_prefix: format!("ID:{}-{}-{}:1:1:", broker.name(), stamp, seq),
        temp_prefix: format!("ID:{}-{}-{}:1:", broker.name(), stamp, seq),
        broker,
        peer,
        connection: None,
        version: Version::V1_0,
        outbox: Outbox::new(),
        subscriptions: HashMap::new(),
        by_consumer: HashMap::new(),
        transactions: HashMap::new(),
        next_message: 0,
        next_delivery: 0,
        pending: FuturesOrdered::new(),
        parked: None,
        settings,
        heartbeat_send: None,
        heartbeat_read: None,
        disconnecting: false,
    };
    let outcome = session.run(&mut reader, &mut writer, &mut shutdown).await;
    if let Close::Error { message, details } = outcome {
        tracing::warn!(peer = %session.peer, %message, "closing STOMP connection with an error");
        let frame = Frame::new(Command::Error)
            .with_header("message", message)
            .with_header("content-type", "text/plain")
            .with_body(details);
        let _ = tokio::time::timeout(Duration::from_secs(5), writer.send(Item::Frame(frame))).await;
    }
    if let Some(c) = session.connection {
        session.broker.disconnect(c);
    }
    tracing::debug!(peer = %session.peer, "STOMP connection closed");
}

impl Session {
    /// One more of `what` (the connection holds `held`) within `max_per_connection`?
    fn check_limit(&self, held: usize, what: &str) -> Result<(), Close> {
        crate::openwire_connection::check_per_connection(
            held,
            self.settings.max_per_connection,
            what,
        )
        .map_err(error)
    }

    async fn run(
        &mut self,
        reader: &mut FramedRead<OwnedReadHalf, StompCodec>,
        writer: &mut FramedWrite<OwnedWriteHalf, StompCodec>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Close {
        // CONNECT first, within the connect timeout.
        let first =
            match tokio::time::timeout(self.settings.connect_timeout, next_frame(reader)).await {
                Err(_) => return error("no CONNECT frame received in time"),
                Ok(Err(close)) => return close,
                Ok(Ok(f)) => f,
            };
        let connected = match self.connect(&first) {
            Ok(f) => f,
            Err(close) => return close,
        };
        if writer.send(Item::Frame(connected)).await.is_err() {
            return Close::Quiet;
        }
        reader.decoder_mut().set_version(self.version);
        writer.encoder_mut().set_version(self.version);

        let mut last_read = Instant::now();
        let mut last_write = Instant::now();
        let tick = [self.heartbeat_send, self.heartbeat_read]
            .into_iter()
            .flatten()
            .min()
            .map(|d| (d / 2).max(Duration::from_millis(10)))
            .unwrap_or(Duration::from_secs(3600));
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let max_in_flight = self.settings.max_in_flight;
        loop {
            let outbox = self.outbox.clone();
            let broker = self.broker.clone();
            tokio::select! {
                _ = shutdown.changed() => return Close::Quiet,
                _ = broker.wait_for_memory(), if self.parked.is_some() => {
                    if let Some(frame) = self.parked.take() {
                        if let Err(close) = self.send(frame).await {
                            return close;
                        }
                    }
                }
                item = reader.next(), if self.pending.len() < max_in_flight && !self.disconnecting && self.parked.is_none() => {
                    last_read = Instant::now();
                    match item {
                        None => return Close::Quiet,
                        Some(Err(e)) => return Close::Error { message: e.to_string(), details: String::new() },
                        Some(Ok(Item::HeartBeat)) => {}
                        Some(Ok(Item::Frame(frame))) => {
                            if let Err(close) = self.handle(frame).await {
                                return close;
                            }
                        }
                    }
                }
                Some(done) = self.pending.next(), if !self.pending.is_empty() => {
                    match done {
                        Ok(Some(frame)) => {
                            if writer.send(Item::Frame(frame)).await.is_err() {
                                return Close::Quiet;
                            }
                            last_write = Instant::now();
                        }
                        Ok(None) => {}
                        Err(close) => return close,
                    }
                }
                _ = outbox.ready() => {
                    match self.deliver(writer).await {
                        Ok(true) => last_write = Instant::now(),
                        Ok(false) => {}
                        Err(close) => return close,
                    }
                }
                _ = ticker.tick() => {
                    if let Some(limit) = self.heartbeat_read {
                        // ActiveMQ allows some grace over the negotiated interval.
                        if last_read.elapsed() > limit + limit / 2 {
                            tracing::info!(peer = %self.peer, "no heart-beat from client, closing");
                            return Close::Quiet;
                        }
                    }
                    if let Some(every) = self.heartbeat_send {
                        // Send if the next tick would be late: beats then come between
                        // every/2 and every apart, never later than promised.
                        if last_write.elapsed() + tick >= every {
                            if writer.send(Item::HeartBeat).await.is_err() {
                                return Close::Quiet;
                            }
                            last_write = Instant::now();
                        }
                    }
                }
            }
            if self.disconnecting && self.pending.is_empty() {
                return Close::Quiet;
            }
        }
    }

    fn connect(&mut self, frame: &Frame) -> Result<Frame, Close> {
        if !matches!(frame.command, Command::Connect | Command::Stomp) {
            return Err(error(format!(
                "expected CONNECT, got {}",
                frame.command.as_str()
            )));
        }
        let version = Version::negotiate(frame.header("accept-version"))
            .ok_or_else(|| error("Supported protocol versions are 1.0,1.1,1.2"))?;
        self.version = version;
        let client_id = frame.header("client-id").map(str::to_string);
        let connection = self
            .broker
            .connect(client_id)
            .map_err(|e| error(e.to_string()))?;
        self.broker
            .describe_connection(connection, self.peer, "stomp");
        // A STOMP connection is one session (as ActiveMQ counts it).
        self.broker.set_sessions(connection, 1);
        self.connection = Some(connection);
        let mut reply = Frame::new(Command::Connected);
        if version > Version::V1_0 {
            let (cx, cy) = parse_heart_beat(frame.header("heart-beat"))
                .ok_or_else(|| error("invalid heart-beat header"))?;
            // We send as often as the client wants to hear from us and expect what it offers.
            self.heartbeat_send = (cy > 0).then(|| Duration::from_millis(cy));
            self.heartbeat_read = (cx > 0).then(|| Duration::from_millis(cx));
            reply.push_header("version", version.as_str());
            reply.push_header("heart-beat", format!("{cy},{cx}"));
        }
        reply.push_header("session", self.temp_prefix.trim_end_matches(':'));
        reply.push_header("server", concat!("ferromq/", env!("CARGO_PKG_VERSION")));
        tracing::debug!(peer = %self.peer, version = version.as_str(), "STOMP connected");
        Ok(reply)
    }

    fn connection(&self) -> Result<ConnectionId, Close> {
        self.connection.ok_or_else(|| error("not connected"))
    }

    fn receipt(frame: &Frame) -> Option<Frame> {
        frame
            .header("receipt")
            .map(|r| Frame::new(Command::Receipt).with_header("receipt-id", r))
    }

    /// Queues a reply behind everything in flight, so receipts keep the frames' order.
    fn reply(&mut self, frame: &Frame) {
        if let Some(r) = Self::receipt(frame) {
            self.pending
                .push_back(Box::pin(std::future::ready(Ok(Some(r)))));
        }
    }

    async fn handle(&mut self, frame: Frame) -> Result<(), Close> {
        tracing::trace!(peer = %self.peer, command = frame.command.as_str(), "frame");
        match frame.command {
            Command::Send => self.send(frame).await,
            Command::Subscribe => self.subscribe(frame).await,
            Command::Unsubscribe => self.unsubscribe(frame).await,
            Command::Ack => self.ack(frame, false),
            Command::Nack => self.ack(frame, true),
            Command::Begin => {
                let tx = required(&frame, "transaction")?;
                if self.transactions.contains_key(tx) {
                    return Err(error(format!("transaction {tx} is already started")));
                }
                self.check_limit(self.transactions.len(), "open transactions")?;
                self.transactions
                    .insert(tx.to_string(), Transaction::default());
                self.reply(&frame);
                Ok(())
            }
            Command::Commit => self.commit(frame).await,
            Command::Abort => {
                let tx = required(&frame, "transaction")?;
                let t = self
                    .transactions
                    .remove(tx)
                    .ok_or_else(|| error(format!("transaction {tx} is not started")))?;
                for (consumer, key) in t.acks {
                    self.broker.requeue(consumer, &[key]);
                }
                self.reply(&frame);
                Ok(())
            }
            Command::Disconnect => {
                self.reply(&frame);
                self.disconnecting = true;
                Ok(())
            }
            Command::Connect | Command::Stomp => Err(error("already connected")),
            other => Err(error(format!("unexpected frame {}", other.as_str()))),
        }
    }

    async fn send(&mut self, frame: Frame) -> Result<(), Close> {
        let dest_text = frame
            .header("destination")
            .ok_or_else(|| error("SEND received without a Destination specified"))?;
        let (destination, _) =
            parse_destination(dest_text, &self.temp_prefix).map_err(|e| error(e.to_string()))?;
        self.next_message += 1;
        let id = format!("{}{}", self.id_prefix, self.next_message);
        let now = broker::message::now_millis();
        let message = message_from_send(&frame, id, destination, &self.temp_prefix, now)
            .map_err(|e| error(e.to_string()))?;
        if let Some(tx) = frame.header("transaction") {
            let t = self
                .transactions
                .get_mut(tx)
                .ok_or_else(|| error(format!("transaction {tx} is not started")))?;
            t.sends.push(message);
            self.reply(&frame);
            return Ok(());
        }
        if !self.broker.will_store(&message) && !self.broker.memory_available() {
            // Producer flow control: stop reading until memory frees up; heart-beats and
            // deliveries go on meanwhile.
            tracing::debug!(peer = %self.peer, "memory limit reached: producer waits");
            self.parked = Some(frame);
            return Ok(());
        }
        let done = self.broker.submit(message);
        let receipt = Self::receipt(&frame);
        self.pending.push_back(Box::pin(async move {
            match done.await {
                Ok(()) => Ok(receipt),
                Err(e) => Err(error(format!("send failed: {e}"))),
            }
        }));
        Ok(())
    }

    async fn subscribe(&mut self, frame: Frame) -> Result<(), Close> {
        let connection = self.connection()?;
        let dest_text = required(&frame, "destination")?.to_string();
        let id = match frame.header("id") {
            Some(id) => id.to_string(),
            None if self.version == Version::V1_0 => dest_text.clone(),
            None => return Err(error("SUBSCRIBE received without a subscription id")),
        };
        if self.subscriptions.contains_key(&id) {
            return Err(error(format!("duplicate subscription id {id}")));
        }
        self.check_limit(self.subscriptions.len(), "subscriptions")?;
        let ack = match frame.header("ack").unwrap_or("auto") {
            "auto" => AckMode::Auto,
            "client" => AckMode::Client,
            "client-individual" => AckMode::ClientIndividual,
            other => return Err(error(format!("unknown ack mode {other}"))),
        };
        let (destination, own_temp) =
            parse_destination(&dest_text, &self.temp_prefix).map_err(|e| error(e.to_string()))?;
        if own_temp {
            self.broker.register_temporary(connection, &destination);
        }
        let mut spec = ConsumerSpec::new(destination);
        spec.prefetch = match frame.header("activemq.prefetchSize") {
            Some(p) => p
                .trim()
                .parse()
                .map_err(|_| error(format!("invalid activemq.prefetchSize {p}")))?,
            None => self.settings.default_prefetch,
        }
        // STOMP has no pull: prefetch 0 means one at a time.
        .max(1);
        spec.selector = frame.header("selector").map(str::to_string);
        spec.exclusive = frame.header("activemq.exclusive") == Some("true");
        spec.no_local = frame.header("activemq.noLocal") == Some("true");
        spec.durable = frame
            .header("activemq.subscriptionName")
            .or_else(|| frame.header("durable-subscription-name"))
            .map(str::to_string);
        let consumer = self
            .broker
            .subscribe(connection, spec, self.outbox.clone())
            .await
            .map_err(|e| error(e.to_string()))?;
        self.by_consumer.insert(consumer, id.clone());
        self.subscriptions.insert(
            id,
            Subscription {
                consumer,
                ack,
                destination: dest_text,
                delivered: BTreeMap::new(),
            },
        );
        self.reply(&frame);
        Ok(())
    }

    async fn unsubscribe(&mut self, frame: Frame) -> Result<(), Close> {
        let connection = self.connection()?;
        let id = match (frame.header("id"), frame.header("destination")) {
            (Some(id), _) => Some(id.to_string()),
            (None, Some(d)) => self
                .subscriptions
                .iter()
                .find(|(_, s)| s.destination == d)
                .map(|(id, _)| id.clone()),
            (None, None) => return Err(error("UNSUBSCRIBE received without a subscription id")),
        };
        if let Some(sub) = id.and_then(|id| self.subscriptions.remove(&id)) {
            self.by_consumer.remove(&sub.consumer);
            self.broker.close_consumer(sub.consumer);
        }
        if let Some(name) = frame.header("activemq.subscriptionName") {
            self.broker
                .remove_durable(connection, name)
                .await
                .map_err(|e| error(e.to_string()))?;
        }
        self.reply(&frame);
        Ok(())
    }

    /// Finds the subscription and delivery an ACK/NACK refers to.
    fn find_delivery(&self, frame: &Frame) -> Result<(String, u64), Close> {
        if self.version == Version::V1_2 {
            if let Some((sub, n)) = frame.header("id").and_then(|id| id.rsplit_once('@')) {
                if let Ok(n) = n.parse() {
                    return Ok((sub.to_string(), n));
                }
            }
        }
        let message_id = frame
            .header("message-id")
            .or_else(|| frame.header("id"))
            .ok_or_else(|| error("ACK received without a message-id"))?;
        let wanted_sub = frame.header("subscription");
        self.subscriptions
            .iter()
            .filter(|(id, _)| wanted_sub.is_none_or(|w| w == id.as_str()))
            .find_map(|(id, s)| {
                s.delivered
                    .iter()
                    .find(|(_, (mid, _))| mid == message_id)
                    .map(|(n, _)| (id.clone(), *n))
            })
            .ok_or_else(|| {
                error(format!(
                    "unexpected ACK received for message-id [{message_id}]"
                ))
            })
    }

    fn ack(&mut self, frame: Frame, negative: bool) -> Result<(), Close> {
        let (sub_id, n) = self.find_delivery(&frame)?;
        let Some(sub) = self.subscriptions.get_mut(&sub_id) else {
            return Err(error(format!("no subscription {sub_id}")));
        };
        if !sub.delivered.contains_key(&n) {
            return Err(error("unexpected ACK: message not pending"));
        }
        // Client mode acknowledges everything delivered up to this message.
        let delivered: Vec<u64> = match sub.ack {
            AckMode::Client => sub.delivered.range(..=n).map(|(k, _)| *k).collect(),
            _ => vec![n],
        };
        let keys: Vec<MessageKey> = delivered
            .iter()
            .filter_map(|k| sub.delivered.remove(k).map(|(_, key)| key))
            .collect();
        let consumer = sub.consumer;
        if negative {
            self.broker
                .poison(consumer, &keys, "Poison ack (STOMP NACK)");
            self.reply(&frame);
            return Ok(());
        }
        if let Some(tx) = frame.header("transaction") {
            let t = self
                .transactions
                .get_mut(tx)
                .ok_or_else(|| error(format!("transaction {tx} is not started")))?;
            t.acks.extend(keys.iter().map(|k| (consumer, *k)));
            self.broker.tx_ack(consumer, &keys);
            self.reply(&frame);
            return Ok(());
        }
        let done = self.broker.ack(consumer, &keys);
        if let Some(receipt) = Self::receipt(&frame) {
            self.pending.push_back(Box::pin(async move {
                match done.await {
                    Ok(()) => Ok(Some(receipt)),
                    Err(e) => Err(error(format!("ack failed: {e}"))),
                }
            }));
        }
        Ok(())
    }

    async fn commit(&mut self, frame: Frame) -> Result<(), Close> {
        let tx = required(&frame, "transaction")?;
        let t = self
            .transactions
            .remove(tx)
            .ok_or_else(|| error(format!("transaction {tx} is not started")))?;
        let mut acks: HashMap<ConsumerId, Vec<MessageKey>> = HashMap::new();
        for (c, k) in t.acks {
            acks.entry(c).or_default().push(k);
        }
        // Earlier sends of this connection were enqueued in the store when they were read,
        // so the transaction's entry lands after them without waiting here.
        self.broker
            .commit(t.sends, acks.into_iter().collect())
            .await
            .map_err(|e| error(format!("commit failed: {e}")))?;
        self.reply(&frame);
        Ok(())
    }

    /// Writes queued deliveries as MESSAGE frames. Returns whether anything was written.
    async fn deliver(
        &mut self,
        writer: &mut FramedWrite<OwnedWriteHalf, StompCodec>,
    ) -> Result<bool, Close> {
        let batch: Vec<Delivery> = self.outbox.drain(256);
        if batch.is_empty() {
            return Ok(false);
        }
        let mut auto_acks: HashMap<ConsumerId, Vec<MessageKey>> = HashMap::new();
        for d in batch {
            let Some(sub_id) = self.by_consumer.get(&d.consumer) else {
                continue;
            };
            let Some(sub) = self.subscriptions.get_mut(sub_id) else {
                continue;
            };
            self.next_delivery += 1;
            let n = self.next_delivery;
            let ack_id = format!("{sub_id}@{n}");
            let show_ack = self.version == Version::V1_2 && sub.ack != AckMode::Auto;
            let frame = message_frame(&d, sub_id, show_ack.then_some(ack_id.as_str()));
            if sub.ack == AckMode::Auto {
                auto_acks.entry(d.consumer).or_default().push(d.key);
            } else {
                sub.delivered.insert(n, (d.message.id.clone(), d.key));
            }
            if writer.feed(Item::Frame(frame)).await.is_err() {
                return Err(Close::Quiet);
            }
        }
        if SinkExt::<Item>::flush(writer).await.is_err() {
            return Err(Close::Quiet);
        }
        for (consumer, keys) in auto_acks {
            // Written with the next group commit; at-least-once if we crash first.
            drop(self.broker.ack(consumer, &keys));
        }
        Ok(true)
    }
}

async fn next_frame(reader: &mut FramedRead<OwnedReadHalf, StompCodec>) -> Result<Frame, Close> {
    loop {
        match reader.next().await {
            None => return Err(Close::Quiet),
            Some(Err(e)) => return Err(error(e.to_string())),
            Some(Ok(Item::HeartBeat)) => continue,
            Some(Ok(Item::Frame(f))) => return Ok(f),
        }
    }
}

fn required<'a>(frame: &'a Frame, name: &'static str) -> Result<&'a str, Close> {
    frame.header(name).ok_or_else(|| {
        error(format!(
            "{} frame without a {name} header",
            frame.command.as_str()
        ))
    })
}

fn parse_heart_beat(value: Option<&str>) -> Option<(u64, u64)> {
    let Some(v) = value else {
        return Some((0, 0));
    };
    let (a, b) = v.split_once(',')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}
