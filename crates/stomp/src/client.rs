//! [`StompClient`]: a small async STOMP client over TCP, for the CLI, benchmarks and tests.
//!
//! Heart-beat limitation: outgoing heart-beats are only sent from inside client calls
//! (`recv`, `send_*`, waiting for receipts), when the negotiated interval has elapsed
//! since the last write. A client left idle outside those calls sends nothing, and
//! incoming heart-beats are not monitored (a dead server shows up as a timeout).

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::codec::Framed;

use crate::{Command, Frame, Item, Limits, StompCodec, StompError, Version};

/// Options for [`StompClient::connect`].
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// The `host` (virtual host) header.
    pub host: String,
    pub login: Option<String>,
    pub passcode: Option<String>,
    /// Sent as the `client-id` header when set (ActiveMQ uses it for durable subscriptions).
    pub client_id: Option<String>,
    /// `(cx, cy)` in milliseconds: what we can send, what we want to receive.
    pub heart_beat: (u32, u32),
    /// The `accept-version` header.
    pub accept_version: String,
}

impl Default for ConnectOptions {
    fn default() -> ConnectOptions {
        ConnectOptions {
            host: "localhost".to_string(),
            login: None,
            passcode: None,
            client_id: None,
            heart_beat: (0, 0),
            accept_version: "1.0,1.1,1.2".to_string(),
        }
    }
}

/// Client failures.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A codec error other than I/O (those become [`ClientError::Io`]).
    #[error("protocol error: {0}")]
    Protocol(StompError),
    /// The server sent an ERROR frame.
    #[error("server error: {message}")]
    Server { message: String, details: String },
    /// The connection was closed by the server.
    #[error("connection closed")]
    Closed,
    /// No answer (CONNECTED or RECEIPT) in time.
    #[error("timed out waiting for the server")]
    Timeout,
    /// The server sent a frame that makes no sense here.
    #[error("unexpected {0} frame")]
    Unexpected(Command),
    /// A frame passed in lacks a header the operation needs (e.g. ACK of a MESSAGE
    /// without `message-id`).
    #[error("frame lacks the {0} header")]
    MissingHeader(&'static str),
}

impl From<StompError> for ClientError {
    fn from(e: StompError) -> ClientError {
        match e {
            StompError::Io(io) => ClientError::Io(io),
            other => ClientError::Protocol(other),
        }
    }
}

/// Default wait for CONNECTED and for receipts.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// An async STOMP client over `Framed<TcpStream, StompCodec>`.
#[derive(Debug)]
pub struct StompClient {
    framed: Framed<TcpStream, StompCodec>,
    version: Version,
    connected_headers: Vec<(String, String)>,
    pending: VecDeque<Frame>,
    next_receipt: u64,
    heart_beat_out: Option<Duration>,
    last_write: Instant,
    receipt_timeout: Duration,
}

fn server_error(frame: &Frame) -> ClientError {
    ClientError::Server {
        message: frame.header("message").unwrap_or_default().to_string(),
        details: String::from_utf8_lossy(&frame.body).into_owned(),
    }
}

fn parse_heart_beat(value: Option<&str>) -> (u64, u64) {
    let Some((a, b)) = value.and_then(|v| v.split_once(',')) else {
        return (0, 0);
    };
    (
        a.trim().parse().unwrap_or_default(),
        b.trim().parse().unwrap_or_default(),
    )
}

impl StompClient {
    /// Connects, sends CONNECT and waits (30 s) for CONNECTED. The codec version is set
    /// from the CONNECTED `version` header (absent: 1.0).
    pub async fn connect(addr: &str, opts: ConnectOptions) -> Result<StompClient, ClientError> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut framed = Framed::new(stream, StompCodec::new(Limits::default()));
        let mut connect = Frame::new(Command::Connect)
            .with_header("accept-version", opts.accept_version.as_str())
            .with_header("host", opts.host.as_str());
        if let Some(login) = &opts.login {
            connect.push_header("login", login.as_str());
        }
        if let Some(passcode) = &opts.passcode {
            connect.push_header("passcode", passcode.as_str());
        }
        if let Some(client_id) = &opts.client_id {
            connect.push_header("client-id", client_id.as_str());
        }
        if opts.heart_beat != (0, 0) {
            connect.push_header(
                "heart-beat",
                format!("{},{}", opts.heart_beat.0, opts.heart_beat.1),
            );
        }
        framed.send(Item::Frame(connect)).await?;

        let deadline = Instant::now() + DEFAULT_TIMEOUT;
        let connected = loop {
            match tokio::time::timeout_at(deadline, framed.next()).await {
                Err(_) => return Err(ClientError::Timeout),
                Ok(None) => return Err(ClientError::Closed),
                Ok(Some(Err(e))) => return Err(e.into()),
                Ok(Some(Ok(Item::HeartBeat))) => continue,
                Ok(Some(Ok(Item::Frame(f)))) => match f.command {
                    Command::Connected => break f,
                    Command::Error => return Err(server_error(&f)),
                    other => return Err(ClientError::Unexpected(other)),
                },
            }
        };
        let version = connected
            .header("version")
            .and_then(Version::parse)
            .unwrap_or(Version::V1_0);
        framed.codec_mut().set_version(version);
        let (_, server_wants) = parse_heart_beat(connected.header("heart-beat"));
        let we_send = u64::from(opts.heart_beat.0);
        let heart_beat_out = (we_send > 0 && server_wants > 0)
            .then(|| Duration::from_millis(we_send.max(server_wants)));
        tracing::debug!(%version, ?heart_beat_out, "stomp client connected");
        Ok(StompClient {
            framed,
            version,
            connected_headers: connected.headers,
            pending: VecDeque::new(),
            next_receipt: 1,
            heart_beat_out,
            last_write: Instant::now(),
            receipt_timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The version negotiated in CONNECTED.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Headers of the server's CONNECTED frame.
    pub fn connected_headers(&self) -> &[(String, String)] {
        &self.connected_headers
    }

    /// How long to wait for a RECEIPT (default 30 s).
    pub fn set_receipt_timeout(&mut self, timeout: Duration) {
        self.receipt_timeout = timeout;
    }

    /// Sends one frame as given.
    pub async fn send_frame(&mut self, frame: Frame) -> Result<(), ClientError> {
        self.framed.send(Item::Frame(frame)).await?;
        self.last_write = Instant::now();
        Ok(())
    }

    /// Sends a frame with a fresh `receipt` header (or its own, if it has one) and waits
    /// for the matching RECEIPT; MESSAGE frames arriving meanwhile are buffered for
    /// [`recv`](Self::recv). ERROR → [`ClientError::Server`].
    pub async fn send_frame_with_receipt(&mut self, mut frame: Frame) -> Result<(), ClientError> {
        let receipt = match frame.header("receipt") {
            Some(r) => r.to_string(),
            None => {
                let r = format!("rcpt-{}", self.next_receipt);
                self.next_receipt += 1;
                frame.push_header("receipt", r.as_str());
                r
            }
        };
        self.send_frame(frame).await?;
        self.wait_receipt(&receipt).await
    }

    async fn wait_receipt(&mut self, receipt: &str) -> Result<(), ClientError> {
        let deadline = Instant::now() + self.receipt_timeout;
        loop {
            let Some(frame) = self.read_frame(deadline).await? else {
                return Err(ClientError::Timeout);
            };
            match frame.command {
                Command::Receipt if frame.header("receipt-id") == Some(receipt) => return Ok(()),
                Command::Message => self.pending.push_back(frame),
                Command::Error => return Err(server_error(&frame)),
                other => tracing::debug!(command = %other, "stomp client ignoring frame"),
            }
        }
    }

    /// Sends to `destination` with extra headers; sets `content-length`.
    pub async fn send(
        &mut self,
        destination: &str,
        body: impl Into<Bytes>,
        headers: &[(&str, &str)],
        receipt: bool,
    ) -> Result<(), ClientError> {
        let mut frame = Frame::new(Command::Send)
            .with_header("destination", destination)
            .with_body(body);
        for (n, v) in headers {
            frame.push_header(*n, *v);
        }
        // ActiveMQ reads a SEND with content-length as a BytesMessage and without it as a
        // TextMessage: UTF-8 without NUL goes as text, anything else as bytes.
        if frame.body.contains(&0) || std::str::from_utf8(&frame.body).is_err() {
            frame.set_content_length();
        }
        self.send_maybe_receipt(frame, receipt).await
    }

    async fn send_maybe_receipt(&mut self, frame: Frame, receipt: bool) -> Result<(), ClientError> {
        if receipt {
            self.send_frame_with_receipt(frame).await
        } else {
            self.send_frame(frame).await
        }
    }

    /// SUBSCRIBE (with receipt). `ack` is `auto`, `client` or `client-individual`.
    pub async fn subscribe(
        &mut self,
        id: &str,
        destination: &str,
        ack: &str,
        headers: &[(&str, &str)],
    ) -> Result<(), ClientError> {
        let mut frame = Frame::new(Command::Subscribe)
            .with_header("id", id)
            .with_header("destination", destination)
            .with_header("ack", ack);
        for (n, v) in headers {
            frame.push_header(*n, *v);
        }
        self.send_frame_with_receipt(frame).await
    }

    /// UNSUBSCRIBE (with receipt).
    pub async fn unsubscribe(&mut self, id: &str) -> Result<(), ClientError> {
        self.send_frame_with_receipt(Frame::new(Command::Unsubscribe).with_header("id", id))
            .await
    }

    /// Next MESSAGE (buffered ones first); ERROR → [`ClientError::Server`]; heart-beats
    /// and stray receipts skipped; `Ok(None)` on timeout.
    pub async fn recv(&mut self, timeout: Duration) -> Result<Option<Frame>, ClientError> {
        if let Some(frame) = self.pending.pop_front() {
            return Ok(Some(frame));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let Some(frame) = self.read_frame(deadline).await? else {
                return Ok(None);
            };
            match frame.command {
                Command::Message => return Ok(Some(frame)),
                Command::Error => return Err(server_error(&frame)),
                other => tracing::debug!(command = %other, "stomp client ignoring frame"),
            }
        }
    }

    /// Reads the next frame before `deadline` (`Ok(None)` past it), sending heart-beats
    /// while waiting.
    async fn read_frame(&mut self, deadline: Instant) -> Result<Option<Frame>, ClientError> {
        loop {
            self.maybe_heart_beat().await?;
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let mut until = deadline;
            if let Some(interval) = self.heart_beat_out {
                until = until.min(self.last_write + interval);
            }
            match tokio::time::timeout_at(until, self.framed.next()).await {
                Err(_) => continue,
                Ok(None) => return Err(ClientError::Closed),
                Ok(Some(Err(e))) => return Err(e.into()),
                Ok(Some(Ok(Item::HeartBeat))) => continue,
                Ok(Some(Ok(Item::Frame(frame)))) => return Ok(Some(frame)),
            }
        }
    }

    async fn maybe_heart_beat(&mut self) -> Result<(), ClientError> {
        if let Some(interval) = self.heart_beat_out {
            if self.last_write.elapsed() >= interval {
                self.framed.send(Item::HeartBeat).await?;
                self.last_write = Instant::now();
            }
        }
        Ok(())
    }

    /// ACKs `message` as the negotiated version wants: 1.2 `id` = the MESSAGE's `ack`
    /// header; 1.1 `message-id` + `subscription`; 1.0 `message-id`.
    pub async fn ack(
        &mut self,
        message: &Frame,
        transaction: Option<&str>,
        receipt: bool,
    ) -> Result<(), ClientError> {
        let frame = self.ack_frame(Command::Ack, message, transaction)?;
        self.send_maybe_receipt(frame, receipt).await
    }

    /// NACKs `message` (STOMP 1.1+), headers as for [`ack`](Self::ack).
    pub async fn nack(
        &mut self,
        message: &Frame,
        transaction: Option<&str>,
        receipt: bool,
    ) -> Result<(), ClientError> {
        let frame = self.ack_frame(Command::Nack, message, transaction)?;
        self.send_maybe_receipt(frame, receipt).await
    }

    fn ack_frame(
        &self,
        command: Command,
        message: &Frame,
        transaction: Option<&str>,
    ) -> Result<Frame, ClientError> {
        let mut frame = Frame::new(command);
        match self.version {
            Version::V1_2 => {
                let id = message
                    .header("ack")
                    .or_else(|| message.header("message-id"))
                    .ok_or(ClientError::MissingHeader("ack"))?;
                frame.push_header("id", id);
            }
            Version::V1_1 => {
                let id = message
                    .header("message-id")
                    .ok_or(ClientError::MissingHeader("message-id"))?;
                let sub = message
                    .header("subscription")
                    .ok_or(ClientError::MissingHeader("subscription"))?;
                frame.push_header("message-id", id);
                frame.push_header("subscription", sub);
            }
            Version::V1_0 => {
                let id = message
                    .header("message-id")
                    .ok_or(ClientError::MissingHeader("message-id"))?;
                frame.push_header("message-id", id);
            }
        }
        if let Some(tx) = transaction {
            frame.push_header("transaction", tx);
        }
        Ok(frame)
    }

    /// BEGIN a transaction (with receipt).
    pub async fn begin(&mut self, tx: &str) -> Result<(), ClientError> {
        self.tx_frame(Command::Begin, tx).await
    }

    /// COMMIT a transaction (with receipt).
    pub async fn commit(&mut self, tx: &str) -> Result<(), ClientError> {
        self.tx_frame(Command::Commit, tx).await
    }

    /// ABORT a transaction (with receipt).
    pub async fn abort(&mut self, tx: &str) -> Result<(), ClientError> {
        self.tx_frame(Command::Abort, tx).await
    }

    async fn tx_frame(&mut self, command: Command, tx: &str) -> Result<(), ClientError> {
        self.send_frame_with_receipt(Frame::new(command).with_header("transaction", tx))
            .await
    }

    /// DISCONNECT with a receipt, waits for it, closes the connection. A server that
    /// closes the connection instead of sending the receipt is not an error.
    pub async fn disconnect(mut self) -> Result<(), ClientError> {
        match self
            .send_frame_with_receipt(Frame::new(Command::Disconnect))
            .await
        {
            Ok(()) | Err(ClientError::Closed) => {}
            Err(e) => return Err(e),
        }
        SinkExt::<Item>::close(&mut self.framed).await?;
        Ok(())
    }
}
