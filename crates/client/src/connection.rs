//! One OpenWire connection over a single `tcp://` URI: the WireFormatInfo exchange,
//! ConnectionInfo, sessions, producers and auto-acknowledging queue consumers.
//!
//! Two tasks per connection: a reader that routes Responses to the waiting request and
//! MessageDispatches to their consumer, and a writer that owns the socket's write half (and
//! sends KeepAliveInfo while the negotiated inactivity duration is positive). Failover is not
//! here yet.

use crate::uri::{BrokerUri, TcpUri};
use crate::UriError;
use futures_util::{SinkExt, StreamExt};
use openwire::{
    Command, ConnectionId, ConnectionInfo, ConsumerId, ConsumerInfo, DataStructure, Destination,
    KeepAliveInfo, Message, MessageAck, MessageDispatch, MessageId, MessageKind, OpenWireCodec,
    OpenWireError, ProducerId, ProducerInfo, RemoveInfo, SessionId, SessionInfo, ShutdownInfo,
    WireFormat,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::codec::Framed;

/// How long a request (ConnectionInfo, ProducerInfo, persistent send …) waits for its Response.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// MessageAck type STANDARD (ActiveMQ `MessageAck.STANDARD_ACK_TYPE`).
const STANDARD_ACK: i8 = 2;

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Uri(#[from] UriError),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("OpenWire: {0}")]
    Wire(#[from] OpenWireError),
    /// The broker answered with an ExceptionResponse.
    #[error("broker refused: {class}: {message}")]
    Broker { class: String, message: String },
    #[error("connection closed")]
    Closed,
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("not supported yet: {0}")]
    Unsupported(&'static str),
    #[error("protocol: {0}")]
    Protocol(String),
}

type Pending = oneshot::Sender<Result<(), ClientError>>;

/// What the writer task is asked to do.
enum Out {
    Command(Command),
    /// Flush, close the socket, answer, stop.
    Close(oneshot::Sender<()>),
}

struct Inner {
    connection_id: String,
    out: mpsc::UnboundedSender<Out>,
    pending: Mutex<HashMap<i32, Pending>>,
    consumers: Mutex<HashMap<(i64, i64), mpsc::UnboundedSender<MessageDispatch>>>,
    next_command_id: AtomicI32,
    next_session: AtomicI64,
    next_child: AtomicI64,
}

impl Inner {
    fn command_id(&self) -> i32 {
        self.next_command_id.fetch_add(1, Ordering::Relaxed)
    }

    fn send(&self, mut command: Command) -> Result<(), ClientError> {
        command.set_command_id(self.command_id());
        self.out
            .send(Out::Command(command))
            .map_err(|_| ClientError::Closed)
    }

    /// Sends `command` with ResponseRequired and waits for its Response.
    async fn request(&self, mut command: Command) -> Result<(), ClientError> {
        let id = self.command_id();
        command.set_command_id(id);
        command.set_response_required(true);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().expect("pending").insert(id, tx);
        if self.out.send(Out::Command(command)).is_err() {
            self.pending.lock().expect("pending").remove(&id);
            return Err(ClientError::Closed);
        }
        match tokio::time::timeout(REQUEST_TIMEOUT, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(ClientError::Closed),
            Err(_) => {
                self.pending.lock().expect("pending").remove(&id);
                Err(ClientError::Timeout(REQUEST_TIMEOUT))
            }
        }
    }

    fn fail_all(&self) {
        self.pending.lock().expect("pending").clear();
        self.consumers.lock().expect("consumers").clear();
    }
}

/// An OpenWire connection to one broker.
pub struct Connection {
    inner: Arc<Inner>,
    uri: TcpUri,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Connection {
    /// Connects to a `tcp://host:port` URI: WireFormatInfo exchange, then ConnectionInfo with a
    /// generated ConnectionId, answered by the broker. `failover:` URIs are not supported yet.
    pub async fn connect(uri: &str) -> Result<Connection, ClientError> {
        let uri = match BrokerUri::parse(uri)? {
            BrokerUri::Tcp(t) => t,
            BrokerUri::Failover(_) => return Err(ClientError::Unsupported("failover: URIs")),
        };
        let socket = TcpStream::connect(uri.addr()).await?;
        let ours = WireFormat {
            provider_name: Some("ferromq-client".into()),
            ..WireFormat::broker_default()
        };
        socket.set_nodelay(ours.tcp_no_delay_enabled)?;
        let mut framed = Framed::new(socket, OpenWireCodec::default());
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
        let (sink, stream) = framed.split();

        let (out, rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            connection_id: generate_connection_id(),
            out,
            pending: Mutex::new(HashMap::new()),
            consumers: Mutex::new(HashMap::new()),
            next_command_id: AtomicI32::new(1),
            next_session: AtomicI64::new(1),
            next_child: AtomicI64::new(1),
        });
        let keep_alive = u64::try_from(negotiated.max_inactivity_duration)
            .ok()
            .filter(|ms| *ms > 0)
            .map(|ms| Duration::from_millis((ms / 3).max(1)));
        let writer = tokio::spawn(write_loop(sink, rx, keep_alive));
        let reader = tokio::spawn(read_loop(stream, Arc::downgrade(&inner)));
        let conn = Connection {
            inner,
            uri,
            reader,
            writer,
        };
        let info = ConnectionInfo {
            connection_id: Some(ConnectionId::new(conn.inner.connection_id.clone())),
            client_id: Some(format!("{}-client", conn.inner.connection_id)),
            ..Default::default()
        };
        conn.inner
            .request(Command::ConnectionInfo(Box::new(info)))
            .await?;
        tracing::info!("Successfully connected to {}", conn.uri);
        Ok(conn)
    }

    /// The generated ConnectionId (`ID:…`).
    pub fn connection_id(&self) -> &str {
        &self.inner.connection_id
    }

    /// The broker this connection talks to.
    pub fn uri(&self) -> &TcpUri {
        &self.uri
    }

    /// Opens a session (SessionInfo); acknowledgement is AUTO.
    pub async fn create_session(&self) -> Result<Session, ClientError> {
        let id = SessionId {
            connection_id: self.inner.connection_id.clone(),
            value: self.inner.next_session.fetch_add(1, Ordering::Relaxed),
        };
        let info = SessionInfo {
            session_id: Some(id.clone()),
            ..Default::default()
        };
        self.inner.request(Command::SessionInfo(info)).await?;
        Ok(Session {
            inner: self.inner.clone(),
            id,
        })
    }

    /// Removes the connection on the broker (RemoveInfo, answered), sends ShutdownInfo and
    /// closes the socket.
    pub async fn close(self) -> Result<(), ClientError> {
        let remove = RemoveInfo {
            object_id: Some(DataStructure::ConnectionId(ConnectionId::new(
                self.inner.connection_id.clone(),
            ))),
            ..Default::default()
        };
        let removed = self
            .inner
            .request(Command::RemoveInfo(Box::new(remove)))
            .await;
        let _ = self
            .inner
            .send(Command::ShutdownInfo(ShutdownInfo::default()));
        let (tx, rx) = oneshot::channel();
        if self.inner.out.send(Out::Close(tx)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(2), rx).await;
        }
        self.inner.fail_all();
        removed
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
        self.writer.abort();
    }
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
        if let Err(e) = sink.feed(command).await {
            tracing::warn!("send failed: {e}");
            return;
        }
        // Batch what is already queued into one flush.
        while let Ok(next) = rx.try_recv() {
            match next {
                Out::Command(c) => {
                    if let Err(e) = sink.feed(c).await {
                        tracing::warn!("send failed: {e}");
                        return;
                    }
                }
                Out::Close(done) => {
                    let _ = sink.close().await;
                    let _ = done.send(());
                    return;
                }
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
                if let Some(tx) = inner.consumers.lock().expect("consumers").get(&key) {
                    let _ = tx.send(*d);
                }
            }
            Command::KeepAliveInfo(k) if k.response_required => {
                let _ = inner.send(Command::KeepAliveInfo(KeepAliveInfo::default()));
            }
            other => tracing::debug!("ignored {}", other.name()),
        }
    }
    if let Some(inner) = inner.upgrade() {
        inner.fail_all();
    }
}

fn complete(inner: &Inner, correlation: i32, result: Result<(), ClientError>) {
    if let Some(tx) = inner.pending.lock().expect("pending").remove(&correlation) {
        let _ = tx.send(result);
    }
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

/// A session (AUTO acknowledge).
pub struct Session {
    inner: Arc<Inner>,
    id: SessionId,
}

impl Session {
    /// An anonymous producer (ProducerInfo without destination): the destination is chosen
    /// per send.
    pub async fn create_producer(&self) -> Result<Producer, ClientError> {
        let id = ProducerId {
            connection_id: self.id.connection_id.clone(),
            session_id: self.id.value,
            value: self.inner.next_child.fetch_add(1, Ordering::Relaxed),
        };
        let info = ProducerInfo {
            producer_id: Some(id.clone()),
            ..Default::default()
        };
        self.inner
            .request(Command::ProducerInfo(Box::new(info)))
            .await?;
        Ok(Producer {
            inner: self.inner.clone(),
            id,
            sequence: AtomicI64::new(1),
        })
    }

    /// A consumer on `queue` with the given prefetch; messages are acknowledged (STANDARD ack)
    /// as [`Consumer::recv`] hands them out.
    pub async fn create_consumer(
        &self,
        queue: &str,
        prefetch: i32,
    ) -> Result<Consumer, ClientError> {
        let id = ConsumerId {
            connection_id: self.id.connection_id.clone(),
            session_id: self.id.value,
            value: self.inner.next_child.fetch_add(1, Ordering::Relaxed),
        };
        let destination = Destination::queue(queue);
        let (tx, rx) = mpsc::unbounded_channel();
        self.inner
            .consumers
            .lock()
            .expect("consumers")
            .insert((id.session_id, id.value), tx);
        let info = ConsumerInfo {
            consumer_id: Some(id.clone()),
            destination: Some(destination.clone()),
            prefetch_size: prefetch,
            dispatch_async: true,
            ..Default::default()
        };
        if let Err(e) = self
            .inner
            .request(Command::ConsumerInfo(Box::new(info)))
            .await
        {
            self.inner
                .consumers
                .lock()
                .expect("consumers")
                .remove(&(id.session_id, id.value));
            return Err(e);
        }
        Ok(Consumer {
            inner: self.inner.clone(),
            id,
            destination,
            rx,
        })
    }
}

/// Sends messages; one producer id, message ids numbered from 1.
pub struct Producer {
    inner: Arc<Inner>,
    id: ProducerId,
    sequence: AtomicI64,
}

impl Producer {
    /// Sends a text message to `queue`. A persistent send waits for the broker's Response
    /// (the message is stored); a non-persistent one returns once queued for the socket.
    pub async fn send_text(
        &self,
        queue: &str,
        text: &str,
        persistent: bool,
    ) -> Result<MessageId, ClientError> {
        let mut m = Message::new(MessageKind::Text);
        m.set_text(Some(text))?;
        m.persistent = persistent;
        m.destination = Some(Destination::queue(queue));
        m.producer_id = Some(self.id.clone());
        m.priority = 4;
        m.timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or_default();
        let id = MessageId {
            text_view: None,
            producer_id: Some(self.id.clone()),
            producer_sequence_id: self.sequence.fetch_add(1, Ordering::Relaxed),
            broker_sequence_id: 0,
        };
        m.message_id = Some(id.clone());
        if persistent {
            self.inner.request(Command::Message(Box::new(m))).await?;
        } else {
            self.inner.send(Command::Message(Box::new(m)))?;
        }
        Ok(id)
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        let _ = self.inner.send(Command::RemoveInfo(Box::new(RemoveInfo {
            object_id: Some(DataStructure::ProducerId(self.id.clone())),
            ..Default::default()
        })));
    }
}

/// Receives from one queue.
pub struct Consumer {
    inner: Arc<Inner>,
    id: ConsumerId,
    destination: Destination,
    rx: mpsc::UnboundedReceiver<MessageDispatch>,
}

impl Consumer {
    /// The next message, or `None` if none arrives within `timeout`. The message is
    /// acknowledged before it is returned (AUTO acknowledge).
    pub async fn recv(&mut self, timeout: Duration) -> Result<Option<Message>, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let dispatch = match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Err(_) => return Ok(None),
                Ok(None) => return Err(ClientError::Closed),
                Ok(Some(d)) => d,
            };
            let Some(message) = dispatch.message else {
                continue;
            };
            let ack = MessageAck {
                destination: dispatch
                    .destination
                    .or_else(|| Some(self.destination.clone())),
                consumer_id: Some(self.id.clone()),
                ack_type: STANDARD_ACK,
                first_message_id: message.message_id.clone(),
                last_message_id: message.message_id.clone(),
                message_count: 1,
                ..Default::default()
            };
            self.inner.send(Command::MessageAck(Box::new(ack)))?;
            return Ok(Some(message));
        }
    }

    /// [`Consumer::recv`] for text messages: the body, or an error for other kinds.
    pub async fn recv_text(&mut self, timeout: Duration) -> Result<Option<String>, ClientError> {
        match self.recv(timeout).await? {
            None => Ok(None),
            Some(m) if m.kind == MessageKind::Text => Ok(Some(m.text()?.unwrap_or_default())),
            Some(m) => Err(ClientError::Protocol(format!(
                "expected a text message, got {}",
                m.kind.name()
            ))),
        }
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.inner
            .consumers
            .lock()
            .expect("consumers")
            .remove(&(self.id.session_id, self.id.value));
        let _ = self.inner.send(Command::RemoveInfo(Box::new(RemoveInfo {
            object_id: Some(DataStructure::ConsumerId(self.id.clone())),
            ..Default::default()
        })));
    }
}
