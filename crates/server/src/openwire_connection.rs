//! One OpenWire connection: the WireFormatInfo handshake, then JMS commands as broker
//! operations, deliveries as MessageDispatch, keep-alive both ways.
//!
//! Follows the conversation in `shared/docs/openwire-notes.md` §5: every command with
//! responseRequired gets exactly one reply (in arrival order: replies queue behind
//! stored sends); DELIVERED acks are window credit, STANDARD/INDIVIDUAL acks consume,
//! POISON moves to the DLQ; prefetch 0 consumers are served by MessagePull; temporary
//! destinations are announced on the advisory topics so request/reply across connections
//! works; a failover reconnect with the same ConnectionId takes over the old connection,
//! and a resent persistent message (same producer id and sequence) is answered without
//! being stored twice.

use crate::openwire_message::{
    encoded_message, message_id_is, to_broker, to_broker_destination, to_openwire,
    to_openwire_destination, ADVISORY_PREFIX,
};
use broker::id_hasher::IdMap;
use broker::store::MessageKey;
use broker::{
    BodyKind, Broker, BrokerError, ConnectionId, ConsumerId, ConsumerSpec, Delivery, Destination,
    Message, Outbox, PropertyValue,
};
use futures_util::stream::FuturesOrdered;
use futures_util::{FutureExt, SinkExt, StreamExt};
use openwire::{
    Command, DataStructure, DestinationInfo, MessageAck, MessageDispatch, OpenWireCodec,
    TransactionId, TransactionInfo, WireFormat,
};
use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_util::codec::{FramedRead, FramedWrite};

/// Settings every OpenWire connection shares.
#[derive(Debug, Clone)]
pub struct OpenWireSettings {
    pub max_frame_size: usize,
    /// How long a new connection may take to send its WireFormatInfo.
    pub connect_timeout: Duration,
    /// Sends waiting for the store before the connection stops reading.
    pub max_in_flight: usize,
    /// Address advertised in BrokerInfo.
    pub broker_url: String,
    /// Sessions, producers, consumers and open transactions one connection may hold, each:
    /// past it, the one more is refused with a JMSException (the connection stays), so a
    /// client cannot grow the broker's per-connection state without bound.
    pub max_per_connection: usize,
}

impl Default for OpenWireSettings {
    fn default() -> Self {
        OpenWireSettings {
            max_frame_size: openwire::DEFAULT_MAX_FRAME_SIZE,
            connect_timeout: Duration::from_secs(30),
            max_in_flight: 1024,
            broker_url: "tcp://localhost:61616".to_string(),
            max_per_connection: DEFAULT_MAX_PER_CONNECTION,
        }
    }
}

/// Live OpenWire connections by ConnectionId, so a failover reconnect can take over.
#[derive(Default)]
pub struct ConnectionRegistry {
    live: Mutex<HashMap<String, (ConnectionId, watch::Sender<bool>)>>,
}

impl ConnectionRegistry {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (ConnectionId, watch::Sender<bool>)>> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Frames handled in a row before the connection looks at its other work (deliveries,
/// keep-alive, shutdown) again.
const READ_BATCH: usize = 64;

const ADVISORY_TEMP_QUEUE: &str = "ActiveMQ.Advisory.TempQueue";
const ADVISORY_TEMP_TOPIC: &str = "ActiveMQ.Advisory.TempTopic";

struct Dispatched {
    /// The message, for its id (acks name messages by id).
    message: Arc<Message>,
    /// The broker sequence stamped on this dispatch, echoed in acks: finds the entry an
    /// ack names without comparing ids one by one.
    broker_sequence: i64,
    key: MessageKey,
    credited: bool,
}

struct Consumer {
    broker_id: ConsumerId,
    id: openwire::ConsumerId,
    info: openwire::ConsumerInfo,
    dispatched: VecDeque<Dispatched>,
    advisory: bool,
    /// Pull mode: when an unserved MessagePull times out (None: waits forever).
    pull_deadline: Option<Instant>,
    pull_pending: bool,
}

#[derive(Default)]
struct LocalTx {
    sends: Vec<Message>,
    acks: Vec<(ConsumerId, Vec<MessageKey>)>,
    /// (OpenWire consumer, keys) to forget from `dispatched` at commit.
    acked: Vec<(openwire::ConsumerId, Vec<MessageKey>)>,
}

type Reply = Pin<Box<dyn Future<Output = Option<Command>> + Send>>;

enum Close {
    Quiet,
    Error(String),
}

struct Session {
    broker: Broker,
    peer: SocketAddr,
    settings: Arc<OpenWireSettings>,
    registry: Arc<ConnectionRegistry>,
    connection: Option<ConnectionId>,
    connection_id: Option<openwire::ConnectionId>,
    kill: watch::Receiver<bool>,
    outbox: Arc<Outbox>,
    /// By broker id: deliveries name consumers so, and those ids hash cheaply.
    consumers: IdMap<ConsumerId, Consumer>,
    /// JMS sessions opened (SessionInfo) and not yet removed; operators see the count.
    sessions: HashSet<openwire::SessionId>,
    /// The client's names for `consumers` (acks, pulls and controls use them).
    by_openwire: HashMap<openwire::ConsumerId, ConsumerId>,
    /// The consumer the last ack named: acks come one per message, almost always for the
    /// same consumer, and comparing its id is cheaper than hashing it.
    last_acked: Option<(openwire::ConsumerId, ConsumerId)>,
    producer_windows: HashMap<openwire::ProducerId, i32>,
    /// The window of the producer that sent last (as `last_acked`, for sends).
    last_window: Option<(openwire::ProducerId, i32)>,
    transactions: HashMap<String, LocalTx>,
    temporary: Vec<Destination>,
    replies: FuturesOrdered<Reply>,
    /// Replies already answered when `replies` was empty: they go out before everything in
    /// `replies`, so arrival order holds, and cost no boxed future each (most replies —
    /// ProducerAcks of non-persistent sends, Responses — are answered at once).
    answered: VecDeque<Command>,
    /// A send held back by producer flow control; nothing more is read until it goes.
    parked: Option<openwire::Message>,
    broker_sequence: i64,
    advisory_sequence: i64,
}

/// Serves one OpenWire connection until the peer leaves, errs, is taken over, or the
/// broker shuts down.
pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    broker: Broker,
    settings: Arc<OpenWireSettings>,
    registry: Arc<ConnectionRegistry>,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    let mut reader = FramedRead::new(read, OpenWireCodec::new(settings.max_frame_size));
    let mut writer = FramedWrite::new(write, OpenWireCodec::new(settings.max_frame_size));
    writer.set_backpressure_boundary(openwire::WRITE_BATCH);
    let (_never, kill) = watch::channel(false);
    let mut session = Session {
        broker,
        peer,
        settings,
        registry,
        connection: None,
        connection_id: None,
        kill,
        outbox: Outbox::new(),
        consumers: IdMap::default(),
        sessions: HashSet::new(),
        by_openwire: HashMap::new(),
        last_acked: None,
        producer_windows: HashMap::new(),
        last_window: None,
        transactions: HashMap::new(),
        temporary: Vec::new(),
        replies: FuturesOrdered::new(),
        answered: VecDeque::new(),
        parked: None,
        broker_sequence: 0,
        advisory_sequence: 0,
    };
    match session.run(&mut reader, &mut writer, &mut shutdown).await {
        Close::Quiet => {}
        Close::Error(reason) => {
            tracing::warn!(peer = %peer, %reason, "closing OpenWire connection");
            let error = Command::ConnectionError(Box::new(openwire::ConnectionError {
                exception: Some(openwire::Throwable::new("java.io.IOException", reason)),
                connection_id: session.connection_id.clone(),
                ..Default::default()
            }));
            let _ = tokio::time::timeout(Duration::from_secs(2), writer.send(error)).await;
        }
    }
    session.close();
    tracing::debug!(peer = %peer, "OpenWire connection closed");
}

/// Default of [`OpenWireSettings::max_per_connection`] (and STOMP's subscriptions and
/// transactions per connection).
pub const DEFAULT_MAX_PER_CONNECTION: usize = 10_000;

/// `Err` with the refusal's text when a connection holding `held` of `what` may not take
/// one more (`listeners.max_per_connection`); shared by both protocols.
pub(crate) fn check_per_connection(held: usize, limit: usize, what: &str) -> Result<(), String> {
    if held >= limit {
        return Err(format!(
            "too many {what} on this connection (limit {limit}: listeners.max_per_connection)"
        ));
    }
    Ok(())
}

/// What a send is answered with once the broker has it (`producer_ack`: the window credit
/// of an asynchronous send, if the producer has a window).
fn send_answer(
    result: Result<(), BrokerError>,
    correlation: i32,
    required: bool,
    producer_ack: Option<Command>,
) -> Option<Command> {
    match result {
        Ok(()) if required => Some(Command::response(correlation)),
        Ok(()) => producer_ack,
        Err(e) if required => Some(broker_exception(correlation, &e)),
        Err(e) => {
            tracing::error!(error = %e, "asynchronous send failed");
            None
        }
    }
}

/// `size` bytes of window credit for a producer.
fn producer_ack(producer_id: Option<openwire::ProducerId>, size: i32) -> Command {
    Command::ProducerAck(Box::new(openwire::ProducerAck {
        producer_id,
        size,
        ..Default::default()
    }))
}

fn exception(correlation: i32, class: &str, message: impl Into<String>) -> Command {
    Command::exception_response(correlation, class, message)
}

fn broker_exception(correlation: i32, e: &BrokerError) -> Command {
    let class = match e {
        BrokerError::ClientIdInUse(_) => "javax.jms.InvalidClientIDException",
        BrokerError::Selector(_) => "javax.jms.InvalidSelectorException",
        BrokerError::DurableNeedsClientId => "javax.jms.IllegalStateException",
        _ => "javax.jms.JMSException",
    };
    exception(correlation, class, e.to_string())
}

impl Session {
    async fn run(
        &mut self,
        reader: &mut FramedRead<OwnedReadHalf, OpenWireCodec>,
        writer: &mut FramedWrite<OwnedWriteHalf, OpenWireCodec>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Close {
        let ours = WireFormat::broker_default();
        let info = match ours.to_info() {
            Ok(i) => i,
            Err(e) => return Close::Error(format!("cannot build WireFormatInfo: {e}")),
        };
        // The client waits for ours before it sends anything else.
        if writer.send(Command::WireFormatInfo(info)).await.is_err() {
            return Close::Quiet;
        }
        let first = match tokio::time::timeout(self.settings.connect_timeout, reader.next()).await {
            Err(_) => return Close::Error("no WireFormatInfo received in time".into()),
            Ok(None) => return Close::Quiet,
            Ok(Some(Err(e))) => return Close::Error(e.to_string()),
            Ok(Some(Ok(c))) => c,
        };
        let Command::WireFormatInfo(theirs) = first else {
            return Close::Error(format!("expected WireFormatInfo, got {}", first.name()));
        };
        let negotiated = match ours.negotiate(&theirs) {
            Ok(n) => n,
            Err(e) => return Close::Error(format!("wire format negotiation failed: {e}")),
        };
        reader.decoder_mut().apply(&negotiated);
        writer.encoder_mut().apply(&negotiated);
        let broker_info = Command::BrokerInfo(Box::new(openwire::BrokerInfo {
            broker_id: Some(openwire::BrokerId {
                value: format!("ID:{}", self.broker.name()),
            }),
            broker_url: Some(self.settings.broker_url.clone()),
            broker_name: Some(self.broker.name().to_string()),
            ..Default::default()
        }));
        if writer.send(broker_info).await.is_err() {
            return Close::Quiet;
        }

        let inactivity = u64::try_from(negotiated.max_inactivity_duration).unwrap_or(0);
        let (write_every, read_limit) = if inactivity > 0 {
            (
                Duration::from_millis(inactivity / 3),
                // The client writes at least every inactivity/3; allow some grace.
                Duration::from_millis(inactivity + inactivity / 2),
            )
        } else {
            (Duration::from_secs(3600), Duration::MAX)
        };
        let connected = Instant::now();
        let initial_delay = Duration::from_millis(
            u64::try_from(negotiated.max_inactivity_duration_initial_delay).unwrap_or(0),
        );
        let mut last_read = Instant::now();
        let mut last_write = Instant::now();
        let mut ticker = tokio::time::interval(Duration::from_millis(50));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let max_in_flight = self.settings.max_in_flight;
        loop {
            let outbox = self.outbox.clone();
            let mut kill = self.kill.clone();
            let broker = self.broker.clone();
            tokio::select! {
                _ = shutdown.changed() => return Close::Quiet,
                // Err (sender gone: we removed ourselves) is not a takeover.
                Ok(()) = kill.changed() => {
                    if *kill.borrow() {
                        tracing::info!(peer = %self.peer, "connection taken over by a reconnect");
                        return Close::Quiet;
                    }
                }
                _ = broker.wait_for_memory(), if self.parked.is_some() => {
                    if let Some(m) = self.parked.take() {
                        if let Err(close) = self.send(m).await {
                            return close;
                        }
                    }
                    // Its reply may be answered already (`answered`): out with it.
                    match self.write_ready(writer).await {
                        Ok(true) => last_write = Instant::now(),
                        Ok(false) => {}
                        Err(close) => return close,
                    }
                }
                item = reader.next(), if self.replies.len() < max_in_flight && self.parked.is_none() => {
                    last_read = Instant::now();
                    let mut item = Some(item);
                    let mut frames = 0;
                    // Frames already buffered are handled in one go, so that their replies
                    // and the deliveries they cause leave in one write.
                    while let Some(next) = item.take() {
                        match next {
                            None => return Close::Quiet,
                            Some(Err(e)) => return Close::Error(e.to_string()),
                            Some(Ok(command)) => {
                                let shutting = matches!(command, Command::ShutdownInfo(_));
                                if let Err(close) = self.handle(command).await {
                                    return close;
                                }
                                if shutting {
                                    while let Some(r) = self.answered.pop_front() {
                                        let _ = writer.send(r).await;
                                    }
                                    while let Some(reply) = self.replies.next().await {
                                        if let Some(r) = reply {
                                            let _ = writer.send(r).await;
                                        }
                                    }
                                    return Close::Quiet;
                                }
                            }
                        }
                        frames += 1;
                        if frames < READ_BATCH
                            && self.replies.len() < max_in_flight
                            && self.parked.is_none()
                        {
                            item = reader.next().now_or_never();
                        }
                    }
                    match self.write_ready(writer).await {
                        Ok(true) => last_write = Instant::now(),
                        Ok(false) => {}
                        Err(close) => return close,
                    }
                }
                Some(reply) = self.replies.next(), if !self.replies.is_empty() => {
                    // Answered ones came first.
                    while let Some(r) = self.answered.pop_front() {
                        if writer.feed(r).await.is_err() {
                            return Close::Quiet;
                        }
                    }
                    let fed = match reply {
                        Some(r) => writer.feed(r).await.is_ok(),
                        None => true,
                    };
                    if !fed {
                        return Close::Quiet;
                    }
                    match self.write_ready(writer).await {
                        Ok(_) => last_write = Instant::now(),
                        Err(close) => return close,
                    }
                }
                _ = outbox.ready() => {
                    match self.write_ready(writer).await {
                        Ok(true) => last_write = Instant::now(),
                        Ok(false) => {}
                        Err(close) => return close,
                    }
                }
                _ = ticker.tick() => {
                    // Like ActiveMQ, the read check starts after the negotiated initial delay.
                    if connected.elapsed() > initial_delay && last_read.elapsed() > read_limit {
                        return Close::Error(format!("no data from the client for {read_limit:?}"));
                    }
                    if last_write.elapsed() >= write_every {
                        if writer.send(Command::keep_alive()).await.is_err() {
                            return Close::Quiet;
                        }
                        last_write = Instant::now();
                    }
                    if let Err(close) = self.expire_pulls(writer).await {
                        return close;
                    }
                }
            }
        }
    }

    /// Whether one more `what` (of which the connection holds `held`) is refused; if so the
    /// refusal is answered (a ResourceAllocationException; the connection carries on).
    fn refuse_past_limit(&mut self, correlation: i32, held: usize, what: &str) -> bool {
        match check_per_connection(held, self.settings.max_per_connection, what) {
            Ok(()) => false,
            Err(why) => {
                self.reply(Some(exception(
                    correlation,
                    "javax.jms.ResourceAllocationException",
                    why,
                )));
                true
            }
        }
    }

    /// Gives `size` bytes of window back to a producer now. ProducerAcks of one producer
    /// that wait for the same write leave as one (the client adds the sizes to its window
    /// either way): one frame to encode here and to decode there instead of one per
    /// message, and no command built for the ones merged.
    fn ack_producer(&mut self, producer_id: Option<openwire::ProducerId>, size: i32) {
        if self.replies.is_empty() {
            if let Some(Command::ProducerAck(queued)) = self.answered.back_mut() {
                if queued.producer_id == producer_id {
                    queued.size = queued.size.saturating_add(size);
                    return;
                }
            }
        }
        self.reply(Some(producer_ack(producer_id, size)));
    }

    fn reply(&mut self, command: Option<Command>) {
        if let Some(c) = command {
            if self.replies.is_empty() {
                self.answered.push_back(c);
            } else {
                self.replies
                    .push_back(Box::pin(std::future::ready(Some(c))));
            }
        }
    }

    fn respond(&mut self, correlation: i32, required: bool) {
        if required {
            self.reply(Some(Command::response(correlation)));
        }
    }

    fn connection(&self) -> Result<ConnectionId, Close> {
        self.connection
            .ok_or_else(|| Close::Error("command before ConnectionInfo".into()))
    }

    async fn handle(&mut self, command: Command) -> Result<(), Close> {
        let correlation = command.command_id();
        let required = command.response_required();
        match command {
            Command::ConnectionInfo(info) => self.add_connection(*info),
            Command::SessionInfo(info) => {
                if let Some(id) = info.session_id.clone() {
                    if !self.sessions.contains(&id)
                        && self.refuse_past_limit(correlation, self.sessions.len(), "sessions")
                    {
                        return Ok(());
                    }
                    self.sessions.insert(id);
                    self.report_sessions();
                }
                self.respond(correlation, required);
                Ok(())
            }
            Command::ProducerInfo(info) => {
                if let Some(id) = info.producer_id.clone() {
                    if !self.producer_windows.contains_key(&id)
                        && self.refuse_past_limit(
                            correlation,
                            self.producer_windows.len(),
                            "producers",
                        )
                    {
                        return Ok(());
                    }
                    self.last_window = None;
                    self.producer_windows.insert(id, info.window_size);
                }
                self.respond(correlation, required);
                Ok(())
            }
            Command::ConsumerInfo(info) => self.add_consumer(*info).await,
            Command::RemoveInfo(info) => {
                self.remove(&info.object_id);
                self.respond(correlation, required);
                Ok(())
            }
            Command::Message(m) => self.send(*m).await,
            Command::MessageAck(ack) => {
                self.ack(&ack);
                self.respond(correlation, required);
                Ok(())
            }
            Command::MessagePull(pull) => {
                self.pull(&pull);
                self.respond(correlation, required);
                Ok(())
            }
            Command::TransactionInfo(tx) => self.transaction(*tx).await,
            Command::DestinationInfo(info) => {
                self.destination_info(&info);
                self.respond(correlation, required);
                Ok(())
            }
            Command::RemoveSubscriptionInfo(info) => {
                let connection = self.connection()?;
                let name = info.subscription_name.clone().unwrap_or_default();
                let reply = match self.broker.remove_durable(connection, &name).await {
                    Ok(()) => Command::response(correlation),
                    Err(e) => broker_exception(correlation, &e),
                };
                if required {
                    self.reply(Some(reply));
                }
                Ok(())
            }
            Command::KeepAliveInfo(_) => {
                if required {
                    self.reply(Some(Command::keep_alive()));
                }
                Ok(())
            }
            Command::ConsumerControl(control) => {
                if let Some(c) = control
                    .consumer_id
                    .as_ref()
                    .and_then(|id| self.by_openwire.get(id))
                    .and_then(|b| self.consumers.get(b))
                {
                    self.broker.set_prefetch(
                        c.broker_id,
                        u32::try_from(control.prefetch.max(0)).unwrap_or(0),
                    );
                }
                self.respond(correlation, required);
                Ok(())
            }
            Command::ShutdownInfo(_)
            | Command::ConnectionControl(_)
            | Command::FlushCommand(_)
            | Command::ControlCommand(_)
            | Command::WireFormatInfo(_) => {
                self.respond(correlation, required);
                Ok(())
            }
            other => {
                if required {
                    let name = other.name();
                    self.reply(Some(exception(
                        correlation,
                        "java.lang.UnsupportedOperationException",
                        format!("{name} is not supported by ferromq"),
                    )));
                }
                Ok(())
            }
        }
    }

    fn add_connection(&mut self, info: openwire::ConnectionInfo) -> Result<(), Close> {
        let correlation = info.command_id;
        let Some(id) = info.connection_id.clone() else {
            return Err(Close::Error(
                "ConnectionInfo without a connection id".into(),
            ));
        };
        if self.connection_id.as_ref() == Some(&id) {
            self.respond(correlation, info.response_required);
            return Ok(());
        }
        // The same ConnectionId on a new socket: a failover reconnect. The old connection
        // goes away first (its consumers' messages back to their queues), then this one
        // takes its place.
        let previous = self.registry.lock().remove(&*id.value);
        if let Some((old, kill)) = previous {
            tracing::info!(peer = %self.peer, connection = %id, "failover reconnect takes over the old connection");
            let _ = kill.send(true);
            self.broker.disconnect(old);
        }
        match self.broker.connect(info.client_id.clone()) {
            Ok(c) => {
                self.broker.describe_connection(c, self.peer, "openwire");
                self.connection = Some(c);
                self.report_sessions();
                self.connection_id = Some(id.clone());
                let (tx, rx) = watch::channel(false);
                self.kill = rx;
                self.registry.lock().insert(id.value.to_string(), (c, tx));
                tracing::debug!(peer = %self.peer, connection = %id, user = ?info.user_name, "OpenWire connection added");
                self.respond(correlation, info.response_required);
            }
            Err(e) => self.reply(Some(broker_exception(correlation, &e))),
        }
        Ok(())
    }

    async fn add_consumer(&mut self, info: openwire::ConsumerInfo) -> Result<(), Close> {
        let correlation = info.command_id;
        let required = info.response_required;
        let connection = self.connection()?;
        let Some(id) = info.consumer_id.clone() else {
            self.reply(Some(exception(
                correlation,
                "javax.jms.JMSException",
                "ConsumerInfo without an id",
            )));
            return Ok(());
        };
        if self.by_openwire.contains_key(&id) {
            // Replayed after failover, or a duplicate: already registered.
            self.respond(correlation, required);
            return Ok(());
        }
        if self.refuse_past_limit(correlation, self.consumers.len(), "consumers") {
            return Ok(());
        }
        let Some(ow_dest) = info.destination.clone() else {
            self.reply(Some(exception(
                correlation,
                "javax.jms.InvalidDestinationException",
                "no destination",
            )));
            return Ok(());
        };
        let advisory = ow_dest.physical_name.starts_with(ADVISORY_PREFIX);
        if info.browser {
            let dest = to_broker_destination(&ow_dest);
            let messages = self.broker.browse(&dest, 100_000);
            let selector = info
                .selector
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(selector::Selector::parse);
            let selector = match selector {
                Some(Err(e)) => {
                    self.reply(Some(exception(
                        correlation,
                        "javax.jms.InvalidSelectorException",
                        e.to_string(),
                    )));
                    return Ok(());
                }
                Some(Ok(s)) => Some(s),
                None => None,
            };
            self.respond(correlation, required);
            for m in messages {
                if selector.as_ref().is_some_and(|s| !s.matches(m.as_ref())) {
                    continue;
                }
                let d = Delivery {
                    consumer: 0,
                    key: 0,
                    message: m,
                    redelivered: false,
                    redeliveries: 0,
                };
                self.broker_sequence += 1;
                if let Ok(message) = to_openwire(&d, self.broker_sequence) {
                    self.reply(Some(dispatch(&id, &ow_dest, Some(message), 0)));
                }
            }
            // End of the browse.
            self.reply(Some(dispatch(&id, &ow_dest, None, 0)));
            return Ok(());
        }
        let (destination, durable) = if advisory {
            // Advisories for temporary destinations are published on these topics.
            (
                Destination::Topic(format!("{ADVISORY_PREFIX}*").into()),
                None,
            )
        } else {
            let d = to_broker_destination(&ow_dest);
            let durable = if d.is_queue() {
                None
            } else {
                info.subscription_name.clone()
            };
            (d, durable)
        };
        let mut spec = ConsumerSpec::new(destination);
        spec.prefetch = u32::try_from(info.prefetch_size.max(0)).unwrap_or(0);
        spec.selector = info.selector.clone().filter(|s| !s.trim().is_empty());
        spec.exclusive = info.exclusive;
        spec.no_local = info.no_local;
        spec.durable = durable;
        match self
            .broker
            .subscribe(connection, spec, self.outbox.clone())
            .await
        {
            Ok(broker_id) => {
                self.by_openwire.insert(id.clone(), broker_id);
                self.consumers.insert(
                    broker_id,
                    Consumer {
                        broker_id,
                        id: id.clone(),
                        info,
                        dispatched: VecDeque::new(),
                        advisory,
                        pull_deadline: None,
                        pull_pending: false,
                    },
                );
                self.respond(correlation, required);
                if advisory {
                    // Tell the new advisory consumer about every live temporary destination.
                    for (dest, _owner) in self.broker.temporary_destinations() {
                        let m = self.advisory_message(&dest, DestinationInfo::ADD);
                        self.reply(Some(dispatch(&id, &ow_dest, Some(m), 0)));
                    }
                }
            }
            Err(e) => self.reply(Some(broker_exception(correlation, &e))),
        }
        Ok(())
    }

    fn remove(&mut self, object: &Option<DataStructure>) {
        match object {
            Some(DataStructure::ConsumerId(id)) => self.remove_consumer(id),
            Some(DataStructure::SessionId(sid)) => {
                self.sessions.remove(sid);
                self.report_sessions();
                let ids: Vec<openwire::ConsumerId> = self
                    .by_openwire
                    .keys()
                    .filter(|c| c.connection_id == sid.connection_id && c.session_id == sid.value)
                    .cloned()
                    .collect();
                for id in ids {
                    self.remove_consumer(&id);
                }
                self.last_window = None;
                self.producer_windows.retain(|p, _| {
                    !(p.connection_id == sid.connection_id && p.session_id == sid.value)
                });
            }
            Some(DataStructure::ProducerId(id)) => {
                self.last_window = None;
                self.producer_windows.remove(id);
            }
            Some(DataStructure::ConnectionId(_)) => self.close(),
            _ => {}
        }
    }

    /// Tells the broker how many sessions this connection has open (for operators).
    fn report_sessions(&self) {
        if let Some(c) = self.connection {
            self.broker.set_sessions(c, self.sessions.len());
        }
    }

    fn remove_consumer(&mut self, id: &openwire::ConsumerId) {
        self.last_acked = None;
        if let Some(broker_id) = self.by_openwire.remove(id) {
            self.consumers.remove(&broker_id);
            self.broker.close_consumer(broker_id);
        }
    }

    async fn send(&mut self, mut message: openwire::Message) -> Result<(), Close> {
        let correlation = message.command_id;
        let required = message.response_required;
        let window = match (&message.producer_id, &self.last_window) {
            (Some(p), Some((last, w))) if last == p => *w,
            (Some(p), _) => match self.producer_windows.get(p) {
                Some(w) => {
                    self.last_window = Some((p.clone(), *w));
                    *w
                }
                None => 0,
            },
            (None, _) => 0,
        };
        let size = i32::try_from(1024 + message.payload_size()).unwrap_or(i32::MAX);
        // Window credit goes back for an asynchronous send of a producer with a window.
        let credit = window > 0 && !required;
        let mut converted = match to_broker(&message) {
            Ok(m) => m,
            Err(e) => {
                if required {
                    self.reply(Some(exception(
                        correlation,
                        "javax.jms.JMSException",
                        e.to_string(),
                    )));
                    return Ok(());
                }
                return Err(Close::Error(format!("unreadable message: {e}")));
            }
        };
        if message
            .destination
            .as_ref()
            .is_some_and(|d| d.physical_name.starts_with(ADVISORY_PREFIX))
        {
            // Clients never publish advisories; drop them rather than confuse our own.
            converted.persistent = false;
        }
        match &message.transaction_id {
            Some(TransactionId::Local(tx)) => {
                let key = tx.value.to_string();
                self.transactions
                    .entry(key)
                    .or_default()
                    .sends
                    .push(converted);
                if credit {
                    self.ack_producer(message.producer_id.take(), size);
                }
                self.respond(correlation, required);
                return Ok(());
            }
            Some(TransactionId::Xa(_)) => {
                if required {
                    self.reply(Some(exception(
                        correlation,
                        "javax.jms.JMSException",
                        "XA transactions are not supported by ferromq",
                    )));
                }
                return Ok(());
            }
            None => {}
        }
        if !self.broker.will_store(&converted) && !self.broker.memory_available() {
            // Producer flow control: stop reading until memory frees up, but keep the
            // connection alive (keep-alives, deliveries) meanwhile.
            tracing::debug!(peer = %self.peer, "memory limit reached: producer waits");
            self.parked = Some(message);
            return Ok(());
        }
        let mut done = match (&message.producer_id, &message.message_id) {
            (Some(p), Some(id)) if converted.persistent => {
                let seq = u64::try_from(id.producer_sequence_id).unwrap_or(0);
                self.broker
                    .submit_from_producer(converted, &p.to_string(), seq)
            }
            _ => self.broker.submit(converted),
        };
        let producer_id = message.producer_id.take();
        if self.replies.is_empty() {
            // Not stored (or already durable): answered now, nothing to wait for.
            if let Some(result) = (&mut done).now_or_never() {
                if result.is_ok() && !required {
                    if credit {
                        self.ack_producer(producer_id, size);
                    }
                } else {
                    self.reply(send_answer(result, correlation, required, None));
                }
                return Ok(());
            }
        }
        let credit = credit.then(|| producer_ack(producer_id, size));
        self.replies.push_back(Box::pin(async move {
            send_answer(done.await, correlation, required, credit)
        }));
        Ok(())
    }

    /// The positions in `dispatched` of the messages an ack covers (dispatch order).
    fn ack_range(
        c: &Consumer,
        ack: &MessageAck,
        individual: bool,
    ) -> Option<RangeInclusive<usize>> {
        let find = |id: &Option<openwire::MessageId>| {
            id.as_ref().and_then(|id| {
                // Dispatch order is broker sequence order; the id itself decides.
                let hint = c
                    .dispatched
                    .binary_search_by_key(&id.broker_sequence_id, |d| d.broker_sequence)
                    .ok()
                    .filter(|p| message_id_is(id, &c.dispatched[*p].message.id));
                hint.or_else(|| {
                    c.dispatched
                        .iter()
                        .position(|d| message_id_is(id, &d.message.id))
                })
            })
        };
        let last = find(&ack.last_message_id)?;
        if individual {
            return Some(last..=last);
        }
        // A one-message ack names the same message twice: look it up once.
        let first = if ack.first_message_id == ack.last_message_id {
            Some(last)
        } else {
            find(&ack.first_message_id)
        };
        let first = first.filter(|f| *f <= last).unwrap_or(0);
        Some(first..=last)
    }

    fn ack(&mut self, ack: &MessageAck) {
        let Some(cid) = &ack.consumer_id else {
            return;
        };
        let cached = match &self.last_acked {
            Some((last, b)) if last == cid => Some(*b),
            _ => None,
        };
        let broker_id = cached.or_else(|| self.by_openwire.get(cid).copied());
        let Some(c) = broker_id.and_then(|b| self.consumers.get_mut(&b)) else {
            // Not dispatched on this socket (e.g. after failover): nothing to correlate.
            return;
        };
        if cached.is_none() {
            self.last_acked = Some((cid.clone(), c.broker_id));
        }
        if c.advisory || c.info.browser {
            return;
        }
        let broker_id = c.broker_id;
        let Some(positions) = Self::ack_range(
            c,
            ack,
            matches!(ack.ack_type, MessageAck::INDIVIDUAL | MessageAck::POISON),
        ) else {
            return;
        };
        match ack.ack_type {
            MessageAck::DELIVERED | MessageAck::REDELIVERED => {
                // Window credit: the client holds them, not yet consumed.
                let mut keys = Vec::new();
                for p in positions {
                    if let Some(d) = c.dispatched.get_mut(p) {
                        if !d.credited {
                            d.credited = true;
                            keys.push(d.key);
                        }
                    }
                }
                self.broker.tx_ack(broker_id, &keys);
            }
            MessageAck::POISON => {
                let keys = take_positions(&mut c.dispatched, positions);
                let cause = ack
                    .poison_cause
                    .as_ref()
                    .and_then(|t| t.message.clone())
                    .unwrap_or_else(|| "Poison ack".to_string());
                self.broker.poison(broker_id, &keys, &cause);
            }
            _ => match &ack.transaction_id {
                Some(TransactionId::Local(tx)) => {
                    // Consumed when the transaction commits; credit now.
                    let mut keys = Vec::new();
                    for p in positions {
                        if let Some(d) = c.dispatched.get_mut(p) {
                            d.credited = true;
                            keys.push(d.key);
                        }
                    }
                    self.broker.tx_ack(broker_id, &keys);
                    let t = self.transactions.entry(tx.value.to_string()).or_default();
                    t.acks.push((broker_id, keys.clone()));
                    t.acked.push((cid.clone(), keys));
                }
                // Written with the next group commit (OpenWire acks need no answer).
                _ if positions.start() == positions.end() => {
                    // One message (AUTO acknowledge): no list to build.
                    if let Some(d) = c.dispatched.remove(*positions.start()) {
                        drop(self.broker.ack(broker_id, &[d.key]));
                    }
                }
                _ => {
                    let keys = take_positions(&mut c.dispatched, positions);
                    drop(self.broker.ack(broker_id, &keys));
                }
            },
        }
    }

    fn pull(&mut self, pull: &openwire::MessagePull) {
        let Some(c) = pull
            .consumer_id
            .as_ref()
            .and_then(|id| self.by_openwire.get(id))
            .and_then(|b| self.consumers.get_mut(b))
        else {
            return;
        };
        if c.info.prefetch_size > 0 {
            return;
        }
        c.pull_pending = true;
        c.pull_deadline = match pull.timeout {
            0 => None,
            t if t < 0 => Some(Instant::now()),
            t => Some(Instant::now() + Duration::from_millis(u64::try_from(t).unwrap_or(0))),
        };
        self.broker.pull(c.broker_id);
    }

    /// Answers timed-out pulls with an empty dispatch (receive(t)/receiveNoWait return null).
    async fn expire_pulls(
        &mut self,
        writer: &mut FramedWrite<OwnedWriteHalf, OpenWireCodec>,
    ) -> Result<(), Close> {
        let now = Instant::now();
        let mut nulls = Vec::new();
        for c in self.consumers.values_mut() {
            if c.pull_pending && c.pull_deadline.is_some_and(|d| d <= now) {
                c.pull_pending = false;
                c.pull_deadline = None;
                // If a message was dispatched meanwhile it is in the outbox: it answers.
                if self.broker.cancel_pull(c.broker_id) {
                    let dest = c.info.destination.clone().unwrap_or_default();
                    nulls.push(dispatch(&c.id, &dest, None, 0));
                }
            }
        }
        for n in nulls {
            if writer.send(n).await.is_err() {
                return Err(Close::Quiet);
            }
        }
        Ok(())
    }

    async fn transaction(&mut self, tx: TransactionInfo) -> Result<(), Close> {
        let correlation = tx.command_id;
        let required = tx.response_required;
        let id = match &tx.transaction_id {
            Some(TransactionId::Local(l)) => l.value.to_string(),
            Some(TransactionId::Xa(_)) | None => {
                if required {
                    self.reply(Some(exception(
                        correlation,
                        "javax.transaction.xa.XAException",
                        "XA transactions are not supported by ferromq",
                    )));
                }
                return Ok(());
            }
        };
        match tx.transaction_type {
            TransactionInfo::BEGIN => {
                if !self.transactions.contains_key(&id)
                    && self.refuse_past_limit(
                        correlation,
                        self.transactions.len(),
                        "open transactions",
                    )
                {
                    return Ok(());
                }
                self.transactions.entry(id).or_default();
                self.respond(correlation, required);
            }
            TransactionInfo::COMMIT_ONE_PHASE | TransactionInfo::COMMIT_TWO_PHASE => {
                let Some(t) = self.transactions.remove(&id) else {
                    self.reply(Some(exception(
                        correlation,
                        "javax.jms.JMSException",
                        format!("Transaction '{id}' has not been started."),
                    )));
                    return Ok(());
                };
                for (cid, keys) in &t.acked {
                    if let Some(c) = self
                        .by_openwire
                        .get(cid)
                        .and_then(|b| self.consumers.get_mut(b))
                    {
                        c.dispatched.retain(|d| !keys.contains(&d.key));
                    }
                }
                let reply = match self.broker.commit(t.sends, t.acks).await {
                    Ok(()) => Command::response(correlation),
                    Err(e) => exception(
                        correlation,
                        "javax.jms.TransactionRolledBackException",
                        format!("commit failed: {e}"),
                    ),
                };
                if required {
                    self.reply(Some(reply));
                }
            }
            TransactionInfo::ROLLBACK => {
                // Sends are dropped; received messages stay with the consumer, which
                // redelivers them itself and acks them again in its next transaction.
                self.transactions.remove(&id);
                self.respond(correlation, required);
            }
            _ => self.respond(correlation, required),
        }
        Ok(())
    }

    fn destination_info(&mut self, info: &DestinationInfo) {
        let Some(ow) = &info.destination else {
            return;
        };
        let dest = to_broker_destination(ow);
        let Some(connection) = self.connection else {
            return;
        };
        if !dest.is_temporary() {
            return;
        }
        match info.operation_type {
            DestinationInfo::ADD if !self.temporary.contains(&dest) => {
                self.broker.register_temporary(connection, &dest);
                self.temporary.push(dest.clone());
                self.publish_advisory(&dest, DestinationInfo::ADD);
            }
            DestinationInfo::REMOVE if self.temporary.contains(&dest) => {
                self.temporary.retain(|d| *d != dest);
                self.broker.remove_temporary(connection, &dest);
                self.publish_advisory(&dest, DestinationInfo::REMOVE);
            }
            _ => {}
        }
    }

    fn advisory_topic(dest: &Destination) -> &'static str {
        if dest.is_queue() {
            ADVISORY_TEMP_QUEUE
        } else {
            ADVISORY_TEMP_TOPIC
        }
    }

    /// Announces a temporary destination on the advisory topic (through the broker, so
    /// every connection's advisory consumer hears it).
    fn publish_advisory(&mut self, dest: &Destination, operation: i8) {
        self.advisory_sequence += 1;
        let topic = Destination::Topic(Self::advisory_topic(dest).into());
        let mut m = Message::new(
            format!(
                "ID:{}-advisory:0:0:{}",
                self.broker.name(),
                self.advisory_sequence
            ),
            topic,
            BodyKind::Empty,
            bytes::Bytes::new(),
        );
        m.jms_type = Some("Advisory".to_string());
        m.timestamp = broker::message::now_millis();
        m.set_property("ferromq.advisory.operation", PropertyValue::Byte(operation));
        m.set_property(
            "ferromq.advisory.destination",
            PropertyValue::String(dest.name().to_string()),
        );
        m.set_property(
            "ferromq.advisory.queue",
            PropertyValue::Bool(dest.is_queue()),
        );
        m.set_property(
            "ferromq.advisory.connection",
            PropertyValue::String(
                self.connection_id
                    .as_ref()
                    .map(|c| c.value.to_string())
                    .unwrap_or_default(),
            ),
        );
        drop(self.broker.submit(m));
    }

    /// The ActiveMQ advisory message the client reads: a DestinationInfo in dataStructure.
    fn advisory_message(&mut self, dest: &Destination, operation: i8) -> openwire::Message {
        self.advisory_sequence += 1;
        let topic = openwire::Destination::topic(Self::advisory_topic(dest));
        let producer = openwire::ProducerId {
            connection_id: format!("ID:{}-advisory", self.broker.name()).into(),
            value: 1,
            session_id: 0,
        };
        let mut m = openwire::Message::new(openwire::MessageKind::Message);
        m.producer_id = Some(producer.clone());
        m.message_id = Some(openwire::MessageId {
            text_view: None,
            producer_id: Some(producer),
            producer_sequence_id: self.advisory_sequence,
            broker_sequence_id: self.advisory_sequence,
        });
        m.destination = Some(topic);
        m.priority = 0;
        m.jms_type = Some("Advisory".to_string());
        m.data_structure = Some(DataStructure::Command(Box::new(Command::DestinationInfo(
            Box::new(DestinationInfo {
                connection_id: None,
                destination: Some(to_openwire_destination(dest)),
                operation_type: operation,
                ..Default::default()
            }),
        ))));
        m
    }

    /// Rebuilds an advisory published through the broker for an OpenWire consumer.
    fn advisory_from_broker(&mut self, m: &Message) -> Option<openwire::Message> {
        let op = match m.property("ferromq.advisory.operation") {
            Some(PropertyValue::Byte(op)) => *op,
            _ => return None,
        };
        let name = match m.property("ferromq.advisory.destination") {
            Some(PropertyValue::String(n)) => n.clone(),
            _ => return None,
        };
        let queue = matches!(
            m.property("ferromq.advisory.queue"),
            Some(PropertyValue::Bool(true))
        );
        let dest = if queue {
            Destination::TempQueue(name.into())
        } else {
            Destination::TempTopic(name.into())
        };
        let mut out = self.advisory_message(&dest, op);
        if let Some(PropertyValue::String(c)) = m.property("ferromq.advisory.connection") {
            if let Some(DataStructure::Command(cmd)) = &mut out.data_structure {
                if let Command::DestinationInfo(info) = cmd.as_mut() {
                    info.connection_id = Some(openwire::ConnectionId::new(c.clone()));
                }
            }
        }
        Some(out)
    }

    /// Writes whatever is ready to go (replies already answered, queued deliveries) with
    /// one flush. Returns whether anything was written.
    async fn write_ready(
        &mut self,
        writer: &mut FramedWrite<OwnedWriteHalf, OpenWireCodec>,
    ) -> Result<bool, Close> {
        let mut wrote = false;
        // A few rounds: deliveries are bounded by prefetch credit, but other work waits.
        for _ in 0..4 {
            while let Some(r) = self.answered.pop_front() {
                if writer.feed(r).await.is_err() {
                    return Err(Close::Quiet);
                }
                wrote = true;
            }
            // Ready replies only: a send still waiting for the store keeps its place (and
            // every reply after it waits too, replies leave in arrival order).
            while !self.replies.is_empty() {
                match self.replies.next().now_or_never() {
                    Some(Some(Some(r))) => {
                        if writer.feed(r).await.is_err() {
                            return Err(Close::Quiet);
                        }
                        wrote = true;
                    }
                    Some(Some(None)) => {}
                    Some(None) | None => break,
                }
            }
            if !self.deliver(writer).await? {
                break;
            }
            wrote = true;
        }
        // Written or not, the codec may hold frames fed by an earlier branch.
        if SinkExt::<Command>::flush(writer).await.is_err() {
            return Err(Close::Quiet);
        }
        Ok(wrote)
    }

    /// Feeds queued deliveries as MessageDispatch (the caller flushes). Returns whether
    /// anything was fed.
    async fn deliver(
        &mut self,
        writer: &mut FramedWrite<OwnedWriteHalf, OpenWireCodec>,
    ) -> Result<bool, Close> {
        let batch = self.outbox.drain(256);
        if batch.is_empty() {
            return Ok(false);
        }
        let mut wrote = false;
        let no_destination = openwire::Destination::default();
        for d in batch {
            let redeliveries = i32::try_from(d.redeliveries).unwrap_or(i32::MAX);
            // One lookup per delivery; the ids are borrowed, not copied.
            let Some(c) = self.consumers.get_mut(&d.consumer) else {
                continue;
            };
            let command = if c.advisory {
                // Advisories are consumed on dispatch (the client acks them much later).
                drop(self.broker.ack(c.broker_id, &[d.key]));
                let Some(message) = self.advisory_from_broker(&d.message) else {
                    continue;
                };
                let Some(c) = self.consumers.get_mut(&d.consumer) else {
                    continue;
                };
                c.pull_pending = false;
                c.pull_deadline = None;
                let dest = c.info.destination.clone().unwrap_or_default();
                dispatch(&c.id, &dest, Some(message), redeliveries)
            } else {
                self.broker_sequence += 1;
                // Sent as it came when it came over OpenWire unchanged: no re-encoding.
                if let Some(encoded) = encoded_message(&d.message) {
                    let fed = writer
                        .feed(openwire::DispatchOf {
                            consumer_id: &c.id,
                            destination: c.info.destination.as_ref().unwrap_or(&no_destination),
                            message: &encoded,
                            broker_sequence_id: self.broker_sequence,
                            redelivery_counter: redeliveries,
                        })
                        .await;
                    if fed.is_err() {
                        return Err(Close::Quiet);
                    }
                    c.pull_pending = false;
                    c.pull_deadline = None;
                    c.dispatched.push_back(Dispatched {
                        message: d.message,
                        broker_sequence: self.broker_sequence,
                        key: d.key,
                        credited: false,
                    });
                    wrote = true;
                    continue;
                }
                let message = match to_openwire(&d, self.broker_sequence) {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot encode a message for OpenWire");
                        continue;
                    }
                };
                c.dispatched.push_back(Dispatched {
                    message: d.message.clone(),
                    broker_sequence: self.broker_sequence,
                    key: d.key,
                    credited: false,
                });
                c.pull_pending = false;
                c.pull_deadline = None;
                Command::MessageDispatch(Box::new(MessageDispatch {
                    consumer_id: Some(c.id.clone()),
                    destination: Some(c.info.destination.clone().unwrap_or_default()),
                    message: Some(Box::new(message)),
                    redelivery_counter: redeliveries,
                    ..Default::default()
                }))
            };
            if writer.feed(command).await.is_err() {
                return Err(Close::Quiet);
            }
            wrote = true;
        }
        Ok(wrote)
    }

    /// Leaves the broker: temporary destinations announced as removed, consumers' messages
    /// back to their queues. Idempotent.
    fn close(&mut self) {
        let Some(connection) = self.connection.take() else {
            return;
        };
        let temporary = std::mem::take(&mut self.temporary);
        for dest in &temporary {
            self.publish_advisory(dest, DestinationInfo::REMOVE);
        }
        self.consumers.clear();
        self.by_openwire.clear();
        self.last_acked = None;
        self.broker.disconnect(connection);
        if let Some(id) = &self.connection_id {
            let mut live = self.registry.lock();
            if live.get(&*id.value).is_some_and(|(c, _)| *c == connection) {
                live.remove(&*id.value);
            }
        }
    }
}

fn take_positions(
    dispatched: &mut VecDeque<Dispatched>,
    positions: RangeInclusive<usize>,
) -> Vec<MessageKey> {
    if *positions.start() >= dispatched.len() {
        return Vec::new();
    }
    let end = (*positions.end()).min(dispatched.len() - 1);
    dispatched
        .drain(*positions.start()..=end)
        .map(|d| d.key)
        .collect()
}

fn dispatch(
    consumer: &openwire::ConsumerId,
    destination: &openwire::Destination,
    message: Option<openwire::Message>,
    redelivery_counter: i32,
) -> Command {
    Command::MessageDispatch(Box::new(MessageDispatch {
        consumer_id: Some(consumer.clone()),
        destination: Some(destination.clone()),
        message: message.map(Box::new),
        redelivery_counter,
        ..Default::default()
    }))
}
