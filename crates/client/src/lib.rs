//! Rust client for ferromq and ActiveMQ Classic over OpenWire (work in progress, issue 5).
//!
//! * [`uri`] — `tcp://` and `failover:(…)` URIs with ActiveMQ's option names and defaults, and
//!   the reconnect back-off sequence.
//! * [`connection`] — [`Connection`] over a `tcp://` URI or a `failover:(…)` list (transparent
//!   reconnect: state replayed, in-flight sends resent with the same message id,
//!   [`ConnectionEvent`]s broadcast), [`Session`] (AUTO ack), [`Producer`] and queue
//!   [`Consumer`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), client::ClientError> {
//! use std::time::Duration;
//! let conn = client::Connection::connect("tcp://127.0.0.1:61616").await?;
//! let session = conn.create_session().await?;
//! let producer = session.create_producer().await?;
//! producer.send_text("orders", "hello", true).await?;
//! let mut consumer = session.create_consumer("orders", 100).await?;
//! let text = consumer.recv_text(Duration::from_secs(5)).await?;
//! assert_eq!(text.as_deref(), Some("hello"));
//! conn.close().await?;
//! # Ok(()) }
//! ```

pub mod connection;
pub mod uri;

pub use connection::{ClientError, Connection, ConnectionEvent, Consumer, Producer, Session};
pub use openwire::{Message, MessageId};
pub use uri::{BrokerUri, FailoverOptions, FailoverUri, ReconnectPolicy, TcpUri, UriError};
