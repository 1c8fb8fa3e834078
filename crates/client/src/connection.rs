//! [`Connection`]: one OpenWire connection over a `tcp://` URI or a `failover:(…)` list: the
//! WireFormatInfo exchange, ConnectionInfo, temporary destinations, and the routing of
//! Responses, MessageDispatches and ProducerAcks to the sessions' objects.
//!
//! Two tasks per connection: a reader that routes Responses to the waiting request and
//! MessageDispatches to their consumer, and a writer that owns the socket's write half (and
//! sends KeepAliveInfo while the negotiated inactivity duration is positive).
//!
//! `failover:` URIs: a supervisor task waits for the installed socket's reader to end, then
//! reconnects (ActiveMQ's back-off and attempt limits), replays the connection's state on
//! the new socket and resends the requests still waiting for a Response. Meanwhile message
//! sends and new requests wait for the connection, at most the failover `timeout` when it
//! is set; acknowledgements and other fire-and-forget commands are kept and sent once
//! resumed. Deliveries received on a lost socket and not yet handed out are dropped: the
//! broker dispatches them again.
//!
//! With `priorityBackup`, while the installed socket goes to a non-priority broker the
//! supervisor also tries the priority brokers after each wait of the reconnect back-off;
//! when one accepts, the connection moves there: the old socket is detached (sends wait),
//! the Responses it still owes are awaited, it is closed, and the state is replayed on the
//! new socket exactly as after a reconnect.

use crate::ack_merger::AckMerger;
use crate::consumer::ack_range;
use crate::error::ClientError;
use crate::producer::ProducerWindow;
use crate::session::{AckMode, Session};
use crate::uri::{BrokerUri, FailoverUri, TcpUri};
use futures_util::{SinkExt, StreamExt};
use openwire::{
    Command, ConnectionId, ConnectionInfo, ConsumerId, ConsumerInfo, DataStructure, Destination,
    DestinationInfo, DestinationKind, IdStr, KeepAliveInfo, MessageAck, MessageDispatch, MessageId,
    NegotiatedWireFormat, OpenWireCodec, ProducerInfo, RemoveInfo, SessionId, SessionInfo,
    ShutdownInfo, WireFormat,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, oneshot, Notify};
use tokio::task::JoinHandle;
use tokio_util::codec::Framed;

/// How long a request (ConnectionInfo, ProducerInfo, persistent send …) waits for its
/// Response once sent (a `failover:` connection that is reconnecting first waits for the
/// connection, see the failover `timeout`).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long opening one socket may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

type Pending = oneshot::Sender<Result<(), ClientError>>;

/// A request waiting for its Response; `resend` holds the command to send again on the next
/// socket (failover only; `None` for the replay requests of a socket being opened).
struct PendingEntry {
    tx: Pending,
    resend: Option<Command>,
    /// Generation of the socket it was last written to; 0 while unsent.
    sent_on: u64,
}

/// What the writer task is asked to do.
enum Out {
    Command(Command),
    /// An AUTO acknowledgement that later ones may join until the writer takes it
    /// ([`Inner::send_auto_ack`]).
    Ack(OpenAck),
    /// Flush, close the socket, answer, stop.
    Close(oneshot::Sender<()>),
}

/// What happened to a connection, as broadcast by [`Connection::events`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionEvent {
    /// The first connection, to this broker (`tcp://host:port`).
    Connected(String),
    /// The socket was lost; a `failover:` connection is reconnecting.
    Interrupted,
    /// Reconnected to this broker, state replayed and in-flight sends resent.
    Resumed(String),
    /// `priorityBackup`: moved from a non-priority broker to this priority broker, which
    /// accepted a connection; state replayed there as after a reconnect (no
    /// `Interrupted` comes before it). The previous broker's socket was closed once the
    /// requests sent on it were answered.
    MovedToPriority(String),
}

/// The current socket.
struct Link {
    /// `None` while a `failover:` connection is reconnecting.
    out: Option<mpsc::UnboundedSender<Out>>,
    /// Generation of the installed socket.
    generation: u64,
    uri: TcpUri,
    reader: Option<JoinHandle<()>>,
    writer: Option<JoinHandle<()>>,
    /// Fire-and-forget commands issued while reconnecting, sent once resumed.
    backlog: Vec<Command>,
    /// The AUTO acknowledgement queued last, if nothing was queued after it.
    open_ack: Option<OpenAck>,
}

/// A queued MessageAck that later acknowledgements of the next deliveries to the same
/// consumer still join, until the writer takes it (then `None`).
type OpenAck = Arc<Mutex<Option<Box<MessageAck>>>>;

fn lock_ack(cell: &OpenAck) -> std::sync::MutexGuard<'_, Option<Box<MessageAck>>> {
    cell.lock().unwrap_or_else(|e| e.into_inner())
}

impl Link {
    /// Installs (`Some`) or detaches (`None`) the writer's channel and returns the one it
    /// replaces. An open acknowledgement stays with the writer it was queued for: later
    /// ones no longer join it.
    fn set_out(
        &mut self,
        out: Option<mpsc::UnboundedSender<Out>>,
    ) -> Option<mpsc::UnboundedSender<Out>> {
        self.open_ack = None;
        std::mem::replace(&mut self.out, out)
    }

    /// Queues `out` for the writer; what follows an open acknowledgement closes it.
    fn push(&mut self, out: Out) -> Result<(), mpsc::error::SendError<Out>> {
        self.open_ack = None;
        match &self.out {
            Some(tx) => tx.send(out),
            None => Err(mpsc::error::SendError(out)),
        }
    }
}

/// What is replayed on a new socket, in this order (same ids).
#[derive(Default)]
pub(crate) struct Replay {
    /// Temporary destinations by name (created before the sessions).
    pub(crate) temp_destinations: BTreeMap<IdStr, DestinationInfo>,
    pub(crate) sessions: BTreeMap<i64, SessionInfo>,
    pub(crate) producers: BTreeMap<(i64, i64), ProducerInfo>,
    pub(crate) consumers: BTreeMap<(i64, i64), ConsumerInfo>,
}

/// A delivery and the generation of the socket it came on.
pub(crate) type Dispatch = (u64, Box<MessageDispatch>);

/// Options of [`Connection::connect_with`].
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// The JMS client id (needed for durable subscriptions; unique per broker). Default:
    /// derived from the generated ConnectionId.
    pub client_id: Option<String>,
}

pub(crate) struct Inner {
    pub(crate) connection_id: IdStr,
    pub(crate) client_id: String,
    failover: Option<FailoverUri>,
    link: Mutex<Link>,
    pending: Mutex<HashMap<i32, PendingEntry>>,
    consumers: Mutex<HashMap<(i64, i64), mpsc::UnboundedSender<Dispatch>>>,
    producer_windows: Mutex<HashMap<(i64, i64), Arc<ProducerWindow>>>,
    /// Brokers the broker announced (ConnectionControl `connectedBrokers`), tried after the
    /// URI's own when `updateURIsSupported` (failover only).
    announced: Mutex<Vec<TcpUri>>,
    replay: Mutex<Replay>,
    events: broadcast::Sender<ConnectionEvent>,
    /// Signalled by the reader of the installed socket when it ends (failover only).
    lost: Notify,
    /// Woken when a socket is installed or the connection closes: sends waiting for a
    /// `failover:` connection to come back.
    link_changed: Notify,
    closing: AtomicBool,
    next_generation: AtomicU64,
    /// Deliveries from sockets older than this are dropped (and never acknowledged).
    pub(crate) min_generation: AtomicU64,
    /// The newest socket generation whose reader has ended (a socket can die while it is
    /// being set up, before it is installed).
    last_ended: AtomicU64,
    /// How many times a `failover:` connection lost its socket (a transaction begun before
    /// an interruption cannot commit).
    pub(crate) interruptions: AtomicU64,
    next_command_id: AtomicI32,
    next_session: AtomicI64,
    pub(crate) next_child: AtomicI64,
    next_transaction: AtomicI64,
    next_temp: AtomicI64,
}

impl Inner {
    fn command_id(&self) -> i32 {
        self.next_command_id.fetch_add(1, Ordering::Relaxed)
    }

    fn link(&self) -> std::sync::MutexGuard<'_, Link> {
        self.link.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<i32, PendingEntry>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn replay(&self) -> std::sync::MutexGuard<'_, Replay> {
        self.replay.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn consumers(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(i64, i64), mpsc::UnboundedSender<Dispatch>>> {
        self.consumers.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn producer_windows(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(i64, i64), Arc<ProducerWindow>>> {
        self.producer_windows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn announced(&self) -> std::sync::MutexGuard<'_, Vec<TcpUri>> {
        self.announced.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A ConnectionControl's `connectedBrokers` (`tcp://a:1,tcp://b:2`): with
    /// `updateURIsSupported` they become reconnect candidates.
    fn brokers_announced(&self, list: &str) {
        let Some(failover) = &self.failover else {
            return;
        };
        if !failover.options.update_uris_supported {
            return;
        }
        let mut uris = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match TcpUri::parse(item) {
                Ok(u) => uris.push(u),
                Err(e) => tracing::debug!("ignoring announced broker {item:?}: {e}"),
            }
        }
        if uris.is_empty() {
            return;
        }
        tracing::info!(
            "connection {}: brokers announced: {list}",
            self.connection_id
        );
        *self.announced() = uris;
    }

    /// The next local transaction number of this connection.
    pub(crate) fn transaction_value(&self) -> i64 {
        self.next_transaction.fetch_add(1, Ordering::Relaxed)
    }

    /// Sends without waiting. While a `failover:` connection reconnects the command is kept
    /// and sent once resumed.
    pub(crate) fn send(&self, mut command: Command) -> Result<(), ClientError> {
        command.set_command_id(self.command_id());
        let mut link = self.link();
        match link.push(Out::Command(command)) {
            Ok(()) => Ok(()),
            // No writer (reconnecting, or gone): keep the command (failover) or fail.
            Err(mpsc::error::SendError(Out::Command(c))) => self.keep_or_fail(&mut link, c),
            Err(_) => Err(ClientError::Closed),
        }
    }

    /// Acknowledges (standard ack) `id`, delivered to `consumer` from `destination`, as an
    /// AUTO session does for each message `recv` returns.
    ///
    /// When the acknowledgement queued last is this consumer's and the writer has not taken
    /// it yet, `id` joins its range (the next delivery in order) instead of queueing a
    /// MessageAck of its own: it leaves with the write it would have left with, and a
    /// consumer taking messages faster than the writer writes costs one small update per
    /// message (the writer's [`AckMerger`] did the same after each one had been built,
    /// boxed and queued). Anything queued after an ack closes it, so acknowledgements
    /// never move past other commands.
    pub(crate) fn send_auto_ack(
        &self,
        consumer: &ConsumerId,
        destination: &Destination,
        id: Option<MessageId>,
    ) -> Result<(), ClientError> {
        let mut link = self.link();
        let writer_alive = link.out.as_ref().is_some_and(|tx| !tx.is_closed());
        if let (true, Some(cell), Some(_)) = (writer_alive, &link.open_ack, &id) {
            if let Some(ack) = lock_ack(cell).as_mut() {
                if ack.consumer_id.as_ref() == Some(consumer)
                    && ack.destination.as_ref() == Some(destination)
                    && ack.last_message_id.is_some()
                    && ack.message_count < i32::MAX
                {
                    ack.last_message_id = id;
                    ack.message_count += 1;
                    return Ok(());
                }
            }
        }
        let mut ack = Box::new(ack_range(
            MessageAck::STANDARD,
            consumer,
            destination,
            id.clone(),
            id,
            1,
        ));
        ack.command_id = self.command_id();
        if link.out.is_some() {
            let cell: OpenAck = Arc::new(Mutex::new(Some(ack)));
            match link.push(Out::Ack(cell.clone())) {
                Ok(()) => {
                    link.open_ack = Some(cell);
                    return Ok(());
                }
                Err(_) => match lock_ack(&cell).take() {
                    Some(a) => ack = a,
                    None => return Err(ClientError::Closed),
                },
            }
        }
        self.keep_or_fail(&mut link, Command::MessageAck(ack))
    }

    /// A command that found no writer: kept for the reconnect (failover) or an error.
    fn keep_or_fail(&self, link: &mut Link, command: Command) -> Result<(), ClientError> {
        if self.failover.is_some() && !self.closing.load(Ordering::SeqCst) {
            link.backlog.push(command);
            Ok(())
        } else {
            Err(ClientError::Closed)
        }
    }

    /// The failover `timeout` option (`None`: -1, wait as long as it takes; or `tcp://`).
    pub(crate) fn failover_timeout(&self) -> Option<Duration> {
        self.failover.as_ref().and_then(|f| f.options.timeout)
    }

    /// When a send started now must have a connection by: `now + timeout` with the
    /// failover `timeout` option, `None` (wait as long as it takes) without it.
    pub(crate) fn send_deadline(&self) -> Option<tokio::time::Instant> {
        self.failover_timeout()
            .map(|t| tokio::time::Instant::now() + t)
    }

    /// Waits until a socket is installed (at once unless a `failover:` connection is
    /// reconnecting), like ActiveMQ's `FailoverTransport.oneway`: at most until `deadline`
    /// (the failover `timeout`), then [`ClientError::FailoverTimeout`]. ActiveMQ applies
    /// the timeout to messages only and lets other requests wait; here every request that
    /// needs the broker (sessions, producers, consumers, temporary queues, messages) is
    /// bounded by it.
    ///
    /// # Errors
    ///
    /// [`ClientError::Closed`] once the connection is closed or gave up reconnecting;
    /// [`ClientError::FailoverTimeout`] at `deadline`.
    pub(crate) async fn wait_for_link(
        &self,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<(), ClientError> {
        if self.failover.is_none() {
            return Ok(());
        }
        // The common case, without registering for a wake-up.
        if !self.closing.load(Ordering::SeqCst) && self.link().out.is_some() {
            return Ok(());
        }
        let mut logged = false;
        loop {
            let changed = self.link_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.closing.load(Ordering::SeqCst) {
                return Err(ClientError::Closed);
            }
            if self.link().out.is_some() {
                return Ok(());
            }
            if !logged {
                tracing::debug!(
                    "connection {}: send waits for the reconnect",
                    self.connection_id
                );
                logged = true;
            }
            match deadline {
                None => changed.await,
                Some(d) => {
                    if tokio::time::timeout_at(d, changed).await.is_err() {
                        let timeout = self.failover_timeout().unwrap_or_default();
                        tracing::info!(
                            "connection {}: failover timeout of {timeout:?} reached",
                            self.connection_id
                        );
                        return Err(ClientError::FailoverTimeout(timeout));
                    }
                }
            }
        }
    }

    /// A message sent without waiting for a Response (async or transacted): first waits
    /// for the connection as [`Inner::wait_for_link`] does, then [`Inner::send`].
    pub(crate) async fn send_message(
        &self,
        command: Command,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<(), ClientError> {
        self.wait_for_link(deadline).await?;
        self.send(command)
    }

    /// Sends `command` with ResponseRequired and waits for its Response. On a `failover:`
    /// connection that is reconnecting it first waits for the connection
    /// ([`Inner::wait_for_link`], bounded by the failover `timeout`); once sent it survives
    /// a reconnect: it is sent again on the new socket.
    pub(crate) async fn request(&self, command: Command) -> Result<(), ClientError> {
        self.request_with(command, true).await
    }

    /// Sends `command` with ResponseRequired and waits for its Response, but never sends it
    /// again: if the socket is lost first, the answer is [`ClientError::Closed`] (a commit
    /// whose outcome is unknown).
    pub(crate) async fn request_once(&self, command: Command) -> Result<(), ClientError> {
        self.request_with(command, false).await
    }

    async fn request_with(&self, mut command: Command, resend: bool) -> Result<(), ClientError> {
        // A RemoveInfo (closing) does not wait: ActiveMQ answers it itself while
        // disconnected; here it stays pending and is resent, as before.
        if resend && !matches!(command, Command::RemoveInfo(_)) {
            self.wait_for_link(self.send_deadline()).await?;
        }
        let id = self.command_id();
        command.set_command_id(id);
        command.set_response_required(true);
        let (tx, rx) = oneshot::channel();
        {
            let mut link = self.link();
            if !resend && link.out.is_none() {
                return Err(ClientError::Closed);
            }
            let kept = self
                .failover
                .as_ref()
                .filter(|_| resend)
                .map(|_| command.clone());
            let resendable = kept.is_some();
            let sent_on = link.generation;
            self.pending().insert(
                id,
                PendingEntry {
                    tx,
                    resend: kept,
                    sent_on,
                },
            );
            let sent = link.push(Out::Command(command)).is_ok();
            if !sent {
                if !resendable {
                    self.pending().remove(&id);
                    return Err(ClientError::Closed);
                }
                if let Some(p) = self.pending().get_mut(&id) {
                    p.sent_on = 0;
                }
            }
        }
        self.wait(id, rx).await
    }

    /// A replay request on the socket being opened (not resent on another one).
    async fn request_on(
        &self,
        out: &mpsc::UnboundedSender<Out>,
        generation: u64,
        mut command: Command,
    ) -> Result<(), ClientError> {
        let id = self.command_id();
        command.set_command_id(id);
        command.set_response_required(true);
        let (tx, rx) = oneshot::channel();
        self.pending().insert(
            id,
            PendingEntry {
                tx,
                resend: None,
                sent_on: generation,
            },
        );
        if out.send(Out::Command(command)).is_err() {
            self.pending().remove(&id);
            return Err(ClientError::Closed);
        }
        self.wait(id, rx).await
    }

    async fn wait(
        &self,
        id: i32,
        rx: oneshot::Receiver<Result<(), ClientError>>,
    ) -> Result<(), ClientError> {
        match tokio::time::timeout(REQUEST_TIMEOUT, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(ClientError::Closed),
            Err(_) => {
                self.pending().remove(&id);
                Err(ClientError::Timeout(REQUEST_TIMEOUT))
            }
        }
    }

    /// The connection is closed or gave up: every waiting request, consumer, send and
    /// producer window learns it.
    fn fail_all(&self) {
        self.pending().clear();
        self.consumers().clear();
        for w in self.producer_windows().values() {
            w.close();
        }
        self.link_changed.notify_waiters();
    }

    /// Whether the installed socket goes to a priority broker, or there is none to move
    /// to (`priorityBackup` off).
    fn on_priority_broker(&self) -> bool {
        let Some(failover) = &self.failover else {
            return true;
        };
        if !failover.options.priority_backup {
            return true;
        }
        failover
            .options
            .is_priority(&self.link().uri, &failover.uris)
    }

    /// The socket of `generation` is gone: its requests that cannot be resent fail (only
    /// those written to it: a replay may be running on the next socket).
    fn socket_gone(&self, generation: u64) {
        self.pending()
            .retain(|_, p| p.resend.is_some() || p.sent_on != generation);
    }

    /// A socket's reader ended: fail the requests that cannot be resent; if it was the
    /// installed socket of a `failover:` connection, ask the supervisor to reconnect.
    fn reader_ended(&self, generation: u64) {
        // Before the link lock: `open_link` checks it under that lock before installing.
        self.last_ended.fetch_max(generation, Ordering::SeqCst);
        if self.failover.is_none() || self.closing.load(Ordering::SeqCst) {
            self.fail_all();
            return;
        }
        self.socket_gone(generation);
        let mut link = self.link();
        if link.generation == generation && link.out.is_some() {
            link.set_out(None);
            self.interruptions.fetch_add(1, Ordering::SeqCst);
            self.min_generation.store(
                self.next_generation.load(Ordering::SeqCst),
                Ordering::SeqCst,
            );
            drop(link);
            self.lost.notify_one();
        }
    }
}

/// An OpenWire connection: to one broker (`tcp://`), or to the first reachable one of a
/// `failover:(…)` list, reconnecting transparently when the socket is lost.
pub struct Connection {
    inner: Arc<Inner>,
    supervisor: Option<JoinHandle<()>>,
}

impl Connection {
    /// Connects to a `tcp://host:port` or `failover:(uri,…)?options` URI: WireFormatInfo
    /// exchange, then ConnectionInfo with a generated ConnectionId, answered by the broker.
    ///
    /// With `failover:` the brokers are tried in order (`randomize=false`) or shuffled,
    /// pass after pass with the [`ReconnectPolicy`](crate::ReconnectPolicy) back-off until
    /// `startupMaxReconnectAttempts`/`maxReconnectAttempts` failed passes. When the socket
    /// is lost later, the connection reconnects the same way and replays ConnectionInfo
    /// (same ConnectionId, `failoverReconnect`), every SessionInfo, ProducerInfo and
    /// ConsumerInfo, and resends the requests that had no Response yet (a persistent send
    /// keeps its MessageId, so the broker does not store it twice).
    ///
    /// # Errors
    ///
    /// A malformed URI, no broker reachable within the attempt limits, or a broker that
    /// refuses the connection.
    pub async fn connect(uri: &str) -> Result<Connection, ClientError> {
        Connection::connect_with(uri, ConnectOptions::default()).await
    }

    /// [`Connection::connect`] with options (the client id).
    ///
    /// # Errors
    ///
    /// As [`Connection::connect`]; an `InvalidClientIDException` from the broker when the
    /// client id is in use.
    pub async fn connect_with(
        uri: &str,
        options: ConnectOptions,
    ) -> Result<Connection, ClientError> {
        let parsed = BrokerUri::parse(uri)?;
        let (first_uri, failover) = match &parsed {
            BrokerUri::Tcp(t) => (t.clone(), None),
            BrokerUri::Failover(f) => {
                let first = f
                    .uris
                    .first()
                    .cloned()
                    .ok_or_else(|| ClientError::Protocol("failover: without brokers".into()))?;
                (first, Some(f.clone()))
            }
        };
        let (events, _) = broadcast::channel(64);
        let connection_id = generate_connection_id();
        let inner = Arc::new(Inner {
            client_id: options
                .client_id
                .unwrap_or_else(|| format!("{connection_id}-client")),
            connection_id: connection_id.into(),
            failover,
            link: Mutex::new(Link {
                out: None,
                generation: 0,
                uri: first_uri,
                reader: None,
                writer: None,
                backlog: Vec::new(),
                open_ack: None,
            }),
            pending: Mutex::new(HashMap::new()),
            consumers: Mutex::new(HashMap::new()),
            producer_windows: Mutex::new(HashMap::new()),
            announced: Mutex::new(Vec::new()),
            replay: Mutex::new(Replay::default()),
            events,
            lost: Notify::new(),
            link_changed: Notify::new(),
            closing: AtomicBool::new(false),
            next_generation: AtomicU64::new(1),
            min_generation: AtomicU64::new(0),
            interruptions: AtomicU64::new(0),
            last_ended: AtomicU64::new(0),
            next_command_id: AtomicI32::new(1),
            next_session: AtomicI64::new(1),
            next_child: AtomicI64::new(1),
            next_transaction: AtomicI64::new(1),
            next_temp: AtomicI64::new(1),
        });
        let uri = match &parsed {
            BrokerUri::Tcp(t) => {
                open_link(&inner, t, false).await?;
                t.clone()
            }
            BrokerUri::Failover(_) => establish(&inner, true).await?,
        };
        tracing::info!("Successfully connected to {uri}");
        let _ = inner
            .events
            .send(ConnectionEvent::Connected(uri.to_string()));
        let supervisor = inner
            .failover
            .is_some()
            .then(|| tokio::spawn(supervise(inner.clone())));
        Ok(Connection { inner, supervisor })
    }

    /// The generated ConnectionId (`ID:…`).
    pub fn connection_id(&self) -> &str {
        &self.inner.connection_id
    }

    /// The broker this connection talks to (the last one connected to, for `failover:`).
    pub fn uri(&self) -> TcpUri {
        self.inner.link().uri.clone()
    }

    /// Connection events from now on: interrupted, resumed on a broker.
    pub fn events(&self) -> broadcast::Receiver<ConnectionEvent> {
        self.inner.events.subscribe()
    }

    /// The JMS client id.
    pub fn client_id(&self) -> &str {
        &self.inner.client_id
    }

    /// Opens a session (SessionInfo) with the given acknowledgement mode
    /// ([`AckMode::Transacted`] for a transacted session).
    ///
    /// # Errors
    ///
    /// The connection is closed or the broker refuses the session.
    pub async fn create_session(&self, mode: AckMode) -> Result<Session, ClientError> {
        let id = SessionId {
            connection_id: self.inner.connection_id.clone(),
            value: self.inner.next_session.fetch_add(1, Ordering::Relaxed),
        };
        let info = SessionInfo {
            session_id: Some(id.clone()),
            ..Default::default()
        };
        self.inner.replay().sessions.insert(id.value, info.clone());
        if let Err(e) = self.inner.request(Command::SessionInfo(info)).await {
            self.inner.replay().sessions.remove(&id.value);
            return Err(e);
        }
        Ok(Session::new(self.inner.clone(), id, mode))
    }

    /// Creates a temporary queue (`ID:…:n`) that lives as long as this connection: the
    /// reply-to of request/reply. Re-created on the new broker after a failover.
    ///
    /// # Errors
    ///
    /// The connection is closed or the broker refuses it.
    pub async fn create_temporary_queue(&self) -> Result<Destination, ClientError> {
        create_temporary_queue(&self.inner).await
    }

    /// Deletes a temporary destination created by this connection (fails on the broker
    /// while a consumer is still open on it).
    ///
    /// # Errors
    ///
    /// The connection is closed, or the broker refuses (consumers still active).
    pub async fn delete_temporary_destination(
        &self,
        destination: &Destination,
    ) -> Result<(), ClientError> {
        let info = DestinationInfo {
            connection_id: Some(ConnectionId::new(self.inner.connection_id.clone())),
            destination: Some(destination.clone()),
            operation_type: DestinationInfo::REMOVE,
            ..Default::default()
        };
        self.inner
            .request(Command::DestinationInfo(Box::new(info)))
            .await?;
        self.inner
            .replay()
            .temp_destinations
            .remove(&destination.physical_name);
        Ok(())
    }

    /// Removes the connection on the broker (RemoveInfo, answered), sends ShutdownInfo and
    /// closes the socket.
    pub async fn close(mut self) -> Result<(), ClientError> {
        let remove = RemoveInfo {
            object_id: Some(DataStructure::ConnectionId(ConnectionId::new(
                self.inner.connection_id.clone(),
            ))),
            ..Default::default()
        };
        // A `failover:` connection that is reconnecting answers its own RemoveInfo, as
        // ActiveMQ's FailoverTransport does: nothing is left to remove on a broker it is
        // not connected to, and closing must not wait for a reconnect that may not come.
        let disconnected = self.inner.failover.is_some() && self.inner.link().out.is_none();
        let removed = if disconnected {
            tracing::debug!(
                "connection {}: closed while reconnecting; RemoveInfo answered locally",
                self.inner.connection_id
            );
            Ok(())
        } else {
            self.inner
                .request(Command::RemoveInfo(Box::new(remove)))
                .await
        };
        self.inner.closing.store(true, Ordering::SeqCst);
        self.inner.link_changed.notify_waiters();
        if let Some(s) = self.supervisor.take() {
            s.abort();
        }
        let _ = self
            .inner
            .send(Command::ShutdownInfo(ShutdownInfo::default()));
        let (tx, rx) = oneshot::channel();
        let out = self.inner.link().out.clone();
        if let Some(out) = out {
            if out.send(Out::Close(tx)).is_ok() {
                let _ = tokio::time::timeout(Duration::from_secs(2), rx).await;
            }
        }
        self.inner.fail_all();
        removed
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.inner.closing.store(true, Ordering::SeqCst);
        if let Some(s) = self.supervisor.take() {
            s.abort();
        }
        {
            let mut link = self.inner.link();
            link.set_out(None);
            if let Some(r) = link.reader.take() {
                r.abort();
            }
            if let Some(w) = link.writer.take() {
                w.abort();
            }
        }
        for w in self.inner.producer_windows().values() {
            w.close();
        }
        self.inner.link_changed.notify_waiters();
    }
}

/// How long a move to a priority broker waits for the Responses still owed on the previous
/// broker's socket before closing it; what is unanswered then is resent on the new one.
const MOVE_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// A socket whose WireFormatInfo exchange is done, not yet carrying the connection.
struct Handshaken {
    framed: Framed<TcpStream, OpenWireCodec>,
    negotiated: NegotiatedWireFormat,
}

/// Why the supervisor woke up.
enum Wake {
    /// The installed socket was lost (or a stale signal of a loss already dealt with).
    Lost,
    /// `priorityBackup`: a priority broker accepted this socket.
    Priority(TcpUri, Box<Handshaken>),
}

/// Reconnects each time the installed socket is lost and, with `priorityBackup`, moves to
/// a priority broker as soon as one accepts a connection (failover only).
async fn supervise(inner: Arc<Inner>) {
    loop {
        let wake = next_wake(&inner).await;
        if inner.closing.load(Ordering::SeqCst) {
            return;
        }
        match wake {
            Wake::Lost => {
                if inner.link().out.is_some() {
                    // Signalled for a socket that a move to a priority broker replaced.
                    continue;
                }
                if !reconnect(&inner).await {
                    return;
                }
            }
            Wake::Priority(uri, socket) => match move_to(&inner, &uri, *socket).await {
                Ok(true) => {
                    tracing::info!("Successfully reconnected to {uri} (priority broker)");
                    let _ = inner
                        .events
                        .send(ConnectionEvent::MovedToPriority(uri.to_string()));
                }
                Ok(false) => {
                    // The old socket died on its own meanwhile: this was the reconnect.
                    tracing::info!("Successfully reconnected to {uri}");
                    let _ = inner.events.send(ConnectionEvent::Interrupted);
                    let _ = inner.events.send(ConnectionEvent::Resumed(uri.to_string()));
                }
                Err(e) => {
                    tracing::warn!(
                        "connection {}: moving to priority broker {uri} failed: {e}",
                        inner.connection_id
                    );
                    if !reconnect(&inner).await {
                        return;
                    }
                }
            },
        }
    }
}

/// Waits for the installed socket to be lost. Meanwhile, with `priorityBackup` and not on
/// a priority broker, tries the priority brokers after each wait of the reconnect back-off
/// (as ActiveMQ's reconnect task builds its priority backup), until one accepts.
async fn next_wake(inner: &Arc<Inner>) -> Wake {
    let lost = inner.lost.notified();
    tokio::pin!(lost);
    let candidates = match &inner.failover {
        Some(f) if !inner.on_priority_broker() => f.priority_connect_uris(),
        _ => Vec::new(),
    };
    if candidates.is_empty() {
        lost.await;
        return Wake::Lost;
    }
    let mut delays = inner
        .failover
        .as_ref()
        .map(|f| f.options.reconnect.delays());
    loop {
        let wait = delays.as_mut().and_then(Iterator::next).unwrap_or_default();
        tokio::select! {
            () = &mut lost => return Wake::Lost,
            () = tokio::time::sleep(wait) => {}
        }
        for uri in &candidates {
            tokio::select! {
                () = &mut lost => return Wake::Lost,
                r = handshake(uri) => match r {
                    Ok(socket) => return Wake::Priority(uri.clone(), Box::new(socket)),
                    Err(e) => tracing::debug!("priority broker {uri} not available: {e}"),
                },
            }
        }
    }
}

/// After the installed socket was lost: reconnects (events, logs); `false` when it gave up
/// and the connection is closed.
async fn reconnect(inner: &Arc<Inner>) -> bool {
    let from = inner.link().uri.clone();
    tracing::warn!(
        "Transport ({from}) failed, connection {} interrupted; reconnecting",
        inner.connection_id
    );
    let _ = inner.events.send(ConnectionEvent::Interrupted);
    match establish(inner, false).await {
        Ok(uri) => {
            tracing::info!("Successfully reconnected to {uri}");
            let _ = inner.events.send(ConnectionEvent::Resumed(uri.to_string()));
            true
        }
        Err(e) => {
            tracing::error!("connection {}: giving up: {e}", inner.connection_id);
            inner.closing.store(true, Ordering::SeqCst);
            inner.fail_all();
            false
        }
    }
}

/// Moves the connection to the priority broker `uri` on `socket`, which it accepted. The
/// installed socket is detached first: new sends wait, its deliveries are dropped (its
/// broker takes them back when the socket closes) and a transaction open on it is lost.
/// The Responses still owed on it are awaited (up to [`MOVE_DRAIN_TIMEOUT`]) so that a
/// send it answers is not resent elsewhere; it is closed after flushing what was queued
/// for it; then the state is replayed on `socket` as after a reconnect. `Ok(false)`: the
/// old socket was lost meanwhile, so this was a plain reconnect.
///
/// # Errors
///
/// The replay on `socket` failed; the connection is detached then and must reconnect.
async fn move_to(
    inner: &Arc<Inner>,
    uri: &TcpUri,
    socket: Handshaken,
) -> Result<bool, ClientError> {
    let detached = {
        let mut link = inner.link();
        link.set_out(None).map(|out| {
            inner.interruptions.fetch_add(1, Ordering::SeqCst);
            inner.min_generation.store(
                inner.next_generation.load(Ordering::SeqCst),
                Ordering::SeqCst,
            );
            (
                out,
                link.reader.take(),
                link.writer.take(),
                link.generation,
                link.uri.clone(),
            )
        })
    };
    let Some((old_out, old_reader, old_writer, old_generation, from)) = detached else {
        install_link(inner, uri, socket, true).await?;
        return Ok(false);
    };
    tracing::info!(
        "connection {}: priority broker {uri} accepts; moving from {from}",
        inner.connection_id
    );
    let drained = tokio::time::Instant::now() + MOVE_DRAIN_TIMEOUT;
    while inner
        .pending()
        .values()
        .any(|p| p.sent_on == old_generation)
        && inner.last_ended.load(Ordering::SeqCst) < old_generation
        && tokio::time::Instant::now() < drained
    {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let (tx, rx) = oneshot::channel();
    if old_out.send(Out::Close(tx)).is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(2), rx).await;
    }
    for task in [old_reader, old_writer].into_iter().flatten() {
        task.abort();
    }
    inner.last_ended.fetch_max(old_generation, Ordering::SeqCst);
    inner.socket_gone(old_generation);
    install_link(inner, uri, socket, true).await?;
    Ok(true)
}

/// Tries the failover URI's brokers pass after pass with the back-off until one accepts
/// and the state is replayed; gives up after the attempt limit.
async fn establish(inner: &Arc<Inner>, first: bool) -> Result<TcpUri, ClientError> {
    let failover = inner
        .failover
        .clone()
        .ok_or(ClientError::Unsupported("reconnect without failover:"))?;
    let policy = &failover.options.reconnect;
    let limit = policy.attempt_limit(first);
    let mut delays = policy.delays();
    let mut failed_passes: u32 = 0;
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x9e37_79b9)
        | 1;
    loop {
        let mut uris = failover.connect_uris();
        for extra in inner.announced().iter() {
            if !uris.iter().any(|u| u.addr() == extra.addr()) {
                uris.push(extra.clone());
            }
        }
        if failover.options.randomize {
            shuffle(&mut uris, &mut seed);
        }
        let mut last = None;
        for uri in &uris {
            if inner.closing.load(Ordering::SeqCst) {
                return Err(ClientError::Closed);
            }
            match open_link(inner, uri, !first).await {
                Ok(()) => return Ok(uri.clone()),
                Err(e) => {
                    tracing::debug!("connect attempt to {uri} failed: {e}");
                    last = Some(e);
                }
            }
        }
        failed_passes += 1;
        if limit.is_some_and(|l| failed_passes > l) {
            return Err(last.unwrap_or(ClientError::Closed));
        }
        let wait = delays.next().unwrap_or_default();
        tokio::time::sleep(wait).await;
    }
}

/// Fisher–Yates with xorshift64: good enough to spread clients over brokers.
fn shuffle<T>(v: &mut [T], seed: &mut u64) {
    for i in (1..v.len()).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let j = (*seed % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

/// Opens a socket to `uri` and exchanges WireFormatInfo.
async fn handshake(uri: &TcpUri) -> Result<Handshaken, ClientError> {
    let socket = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(uri.addr()))
        .await
        .map_err(|_| ClientError::Timeout(CONNECT_TIMEOUT))??;
    let ours = WireFormat {
        provider_name: Some("ferromq-client".into()),
        ..WireFormat::broker_default()
    };
    socket.set_nodelay(ours.tcp_no_delay_enabled)?;
    let codec = OpenWireCodec::default().with_read_chunk(openwire::CLIENT_READ_CHUNK);
    let mut framed = Framed::new(socket, codec);
    framed.set_backpressure_boundary(openwire::WRITE_BATCH);
    framed
        .send(Command::WireFormatInfo(ours.to_info()?))
        .await?;
    let theirs = match tokio::time::timeout(REQUEST_TIMEOUT, framed.next()).await {
        Err(_) => return Err(ClientError::Timeout(REQUEST_TIMEOUT)),
        Ok(None) => return Err(ClientError::Closed),
        Ok(Some(frame)) => match frame? {
            Command::WireFormatInfo(w) => w,
            other => {
                return Err(ClientError::Protocol(format!(
                    "expected WireFormatInfo, got {}",
                    other.name()
                )))
            }
        },
    };
    let negotiated = ours.negotiate(&theirs)?;
    framed.codec_mut().apply(&negotiated);
    Ok(Handshaken { framed, negotiated })
}

/// Opens a socket to `uri` and makes it the connection's ([`install_link`]).
async fn open_link(inner: &Arc<Inner>, uri: &TcpUri, reconnect: bool) -> Result<(), ClientError> {
    let socket = handshake(uri).await?;
    install_link(inner, uri, socket, reconnect).await
}

/// Replays the connection's state on `socket` and installs it: requests still waiting for
/// a Response are sent again, then what was issued while reconnecting.
async fn install_link(
    inner: &Arc<Inner>,
    uri: &TcpUri,
    socket: Handshaken,
    reconnect: bool,
) -> Result<(), ClientError> {
    let Handshaken { framed, negotiated } = socket;
    let (sink, stream) = framed.split();

    let generation = inner.next_generation.fetch_add(1, Ordering::SeqCst);
    let (out, rx) = mpsc::unbounded_channel();
    let keep_alive = u64::try_from(negotiated.max_inactivity_duration)
        .ok()
        .filter(|ms| *ms > 0)
        .map(|ms| Duration::from_millis((ms / 3).max(1)));
    let writer = tokio::spawn(write_loop(sink, rx, keep_alive));
    let reader = tokio::spawn(read_loop(
        stream,
        Arc::downgrade(inner),
        out.clone(),
        generation,
    ));
    let replayed = replay(inner, &out, generation, reconnect).await;
    if let Err(e) = replayed {
        reader.abort();
        writer.abort();
        return Err(e);
    }

    let mut link = inner.link();
    if inner.closing.load(Ordering::SeqCst) || inner.last_ended.load(Ordering::SeqCst) >= generation
    {
        // Closing, or the socket died during the replay (its end would go unnoticed).
        reader.abort();
        writer.abort();
        return Err(ClientError::Closed);
    }
    let mut pending = inner.pending();
    let mut ids: Vec<i32> = pending
        .iter()
        .filter(|(_, p)| p.resend.is_some())
        .map(|(id, _)| *id)
        .collect();
    ids.sort_unstable();
    if !ids.is_empty() {
        tracing::info!(
            "connection {}: resending {} request(s) that had no Response",
            inner.connection_id,
            ids.len()
        );
    }
    for id in ids {
        let Some(command) = pending.get(&id).and_then(|p| p.resend.clone()) else {
            continue;
        };
        match command {
            // Replayed above from the registry: the request is answered.
            Command::SessionInfo(_) | Command::ProducerInfo(_) | Command::ConsumerInfo(_) => {
                if let Some(p) = pending.remove(&id) {
                    let _ = p.tx.send(Ok(()));
                }
            }
            other => {
                let _ = out.send(Out::Command(other));
                if let Some(p) = pending.get_mut(&id) {
                    p.sent_on = generation;
                }
            }
        }
    }
    drop(pending);
    for command in std::mem::take(&mut link.backlog) {
        let _ = out.send(Out::Command(command));
    }
    if let Some(old) = link.reader.replace(reader) {
        old.abort();
    }
    if let Some(old) = link.writer.replace(writer) {
        old.abort();
    }
    link.set_out(Some(out));
    link.generation = generation;
    link.uri = uri.clone();
    drop(link);
    // The broker forgot what it owed the old socket's producers.
    for w in inner.producer_windows().values() {
        w.reset();
    }
    inner.link_changed.notify_waiters();
    Ok(())
}

/// ConnectionInfo (same ConnectionId), then every session, producer and consumer, on the
/// socket of `generation`.
async fn replay(
    inner: &Inner,
    out: &mpsc::UnboundedSender<Out>,
    generation: u64,
    reconnect: bool,
) -> Result<(), ClientError> {
    let info = ConnectionInfo {
        connection_id: Some(ConnectionId::new(inner.connection_id.clone())),
        client_id: Some(inner.client_id.clone()),
        failover_reconnect: reconnect,
        ..Default::default()
    };
    inner
        .request_on(out, generation, Command::ConnectionInfo(Box::new(info)))
        .await?;
    let (temps, sessions, producers, consumers) = {
        let r = inner.replay();
        (
            r.temp_destinations.values().cloned().collect::<Vec<_>>(),
            r.sessions.values().cloned().collect::<Vec<_>>(),
            r.producers.values().cloned().collect::<Vec<_>>(),
            r.consumers.values().cloned().collect::<Vec<_>>(),
        )
    };
    for t in temps {
        inner
            .request_on(out, generation, Command::DestinationInfo(Box::new(t)))
            .await?;
    }
    for s in sessions {
        inner
            .request_on(out, generation, Command::SessionInfo(s))
            .await?;
    }
    for p in producers {
        inner
            .request_on(out, generation, Command::ProducerInfo(Box::new(p)))
            .await?;
    }
    for c in consumers {
        inner
            .request_on(out, generation, Command::ConsumerInfo(Box::new(c)))
            .await?;
    }
    Ok(())
}

async fn write_loop(
    mut sink: futures_util::stream::SplitSink<Framed<TcpStream, OpenWireCodec>, Command>,
    mut rx: mpsc::UnboundedReceiver<Out>,
    keep_alive: Option<Duration>,
) {
    let mut tick = keep_alive.map(|d| {
        let mut i = tokio::time::interval_at(tokio::time::Instant::now() + d, d);
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });
    loop {
        let command = tokio::select! {
            c = rx.recv() => match c {
                Some(Out::Command(c)) => c,
                Some(Out::Ack(cell)) => match lock_ack(&cell).take() {
                    Some(ack) => Command::MessageAck(ack),
                    None => continue,
                },
                Some(Out::Close(done)) => {
                    let _ = sink.close().await;
                    let _ = done.send(());
                    return;
                }
                None => break,
            },
            _ = async {
                match tick.as_mut() {
                    Some(t) => { t.tick().await; }
                    None => std::future::pending::<()>().await,
                }
            } => Command::KeepAliveInfo(KeepAliveInfo::default()),
        };
        // Batch what is already queued into one flush; let the tasks that are ready to run
        // (a consumer taking its next message, say) queue theirs first.
        tokio::task::yield_now().await;
        let mut acks = AckMerger::default();
        let mut next = Some(command);
        while let Some(command) = next.take() {
            for c in acks.push(command).into_iter().flatten() {
                if let Err(e) = sink.feed(c).await {
                    tracing::warn!("send failed: {e}");
                    return;
                }
            }
            match rx.try_recv() {
                Ok(Out::Command(c)) => next = Some(c),
                // Taken now: later acknowledgements start a new one.
                Ok(Out::Ack(cell)) => next = lock_ack(&cell).take().map(Command::MessageAck),
                Ok(Out::Close(done)) => {
                    if let Some(held) = acks.take() {
                        let _ = sink.feed(held).await;
                    }
                    let _ = sink.close().await;
                    let _ = done.send(());
                    return;
                }
                Err(_) => {}
            }
        }
        if let Some(held) = acks.take() {
            if let Err(e) = sink.feed(held).await {
                tracing::warn!("send failed: {e}");
                return;
            }
        }
        if let Err(e) = sink.flush().await {
            tracing::warn!("send failed: {e}");
            return;
        }
    }
    let _ = sink.close().await;
}

async fn read_loop(
    mut stream: futures_util::stream::SplitStream<Framed<TcpStream, OpenWireCodec>>,
    inner: std::sync::Weak<Inner>,
    out: mpsc::UnboundedSender<Out>,
    generation: u64,
) {
    while let Some(frame) = stream.next().await {
        let Some(inner) = inner.upgrade() else { return };
        let command = match frame {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("connection {}: {e}", inner.connection_id);
                break;
            }
        };
        match command {
            Command::Response(r) => complete(&inner, r.correlation_id, Ok(())),
            Command::ExceptionResponse(e) => {
                let (class, message) = e
                    .exception
                    .map(|t| {
                        (
                            t.class_name.unwrap_or_default(),
                            t.message.unwrap_or_default(),
                        )
                    })
                    .unwrap_or_default();
                complete(
                    &inner,
                    e.correlation_id,
                    Err(ClientError::Broker { class, message }),
                );
            }
            Command::MessageDispatch(d) => {
                let key = d
                    .consumer_id
                    .as_ref()
                    .map(|c| (c.session_id, c.value))
                    .unwrap_or_default();
                if let Some(tx) = inner.consumers().get(&key) {
                    let _ = tx.send((generation, d));
                }
            }
            Command::ProducerAck(a) => {
                let key = a
                    .producer_id
                    .as_ref()
                    .map(|p| (p.session_id, p.value))
                    .unwrap_or_default();
                let window = inner.producer_windows().get(&key).cloned();
                if let Some(w) = window {
                    w.release(i64::from(a.size));
                }
            }
            Command::ConnectionControl(c) => {
                if let Some(list) = c.connected_brokers.as_deref() {
                    inner.brokers_announced(list);
                }
            }
            Command::ConnectionError(e) => {
                let text = e
                    .exception
                    .as_ref()
                    .and_then(|t| t.message.clone())
                    .unwrap_or_default();
                tracing::warn!("connection {}: broker error: {text}", inner.connection_id);
            }
            Command::KeepAliveInfo(k) if k.response_required => {
                let k = KeepAliveInfo {
                    command_id: inner.command_id(),
                    ..Default::default()
                };
                let _ = out.send(Out::Command(Command::KeepAliveInfo(k)));
            }
            other => tracing::debug!("ignored {}", other.name()),
        }
    }
    if let Some(inner) = inner.upgrade() {
        inner.reader_ended(generation);
    }
}

fn complete(inner: &Inner, correlation: i32, result: Result<(), ClientError>) {
    if let Some(p) = inner.pending().remove(&correlation) {
        let _ = p.tx.send(result);
    }
}

/// DestinationInfo ADD of a new `ID:<connection>:<n>` temporary queue, kept for replay.
pub(crate) async fn create_temporary_queue(inner: &Inner) -> Result<Destination, ClientError> {
    let n = inner.next_temp.fetch_add(1, Ordering::Relaxed);
    let destination = Destination::new(
        DestinationKind::TempQueue,
        format!("{}:{n}", inner.connection_id),
    );
    let info = DestinationInfo {
        connection_id: Some(ConnectionId::new(inner.connection_id.clone())),
        destination: Some(destination.clone()),
        operation_type: DestinationInfo::ADD,
        ..Default::default()
    };
    inner
        .replay()
        .temp_destinations
        .insert(destination.physical_name.clone(), info.clone());
    if let Err(e) = inner
        .request(Command::DestinationInfo(Box::new(info)))
        .await
    {
        inner
            .replay()
            .temp_destinations
            .remove(&destination.physical_name);
        return Err(e);
    }
    Ok(destination)
}

/// `ID:<host>-<pid>-<millis>-<n>:1`, unique per process run like ActiveMQ's IdGenerator.
fn generate_connection_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    format!(
        "ID:ferromq-client-{}-{millis}-{}:1",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
