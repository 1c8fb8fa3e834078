//! Rust client for ferromq and ActiveMQ Classic over OpenWire, with ActiveMQ's `failover:`
//! transport (issue 5).
//!
//! How the files fit:
//!
//! * `uri.rs` — [`BrokerUri`]: `tcp://` and `failover:(…)` URIs with ActiveMQ's option
//!   names and defaults, and the reconnect back-off sequence.
//! * `connection.rs` — [`Connection`]: the socket (reader and writer tasks), requests and
//!   their Responses, transparent reconnect for `failover:` (connection, temporary
//!   destinations, sessions, producers and consumers replayed, in-flight requests resent
//!   with the same message id, [`ConnectionEvent`]s broadcast), sends bounded by the
//!   failover `timeout` while reconnecting, the move to a priority broker
//!   (`priorityBackup`), temporary queues.
//! * `session.rs` — [`Session`]: [`AckMode`]s, local transactions (commit, rollback, typed
//!   errors when a failover made the outcome rolled back or in doubt), recover.
//! * `producer.rs` — [`Producer`]: delivery mode, priority, TTL, sync/async sends and the
//!   producer window.
//! * `consumer.rs` — [`Consumer`]: queues, topics, selectors, durable subscriptions,
//!   prefetch (0 = pull), acknowledgements; `browser.rs` — [`QueueBrowser`].
//! * `message.rs` — [`Message`]: text, bytes, map and empty bodies, typed properties.
//! * `error.rs` — [`ClientError`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), client::ClientError> {
//! use client::{AckMode, Connection, ConsumerOptions, Destination, Message};
//! use std::time::Duration;
//! let conn = Connection::connect("failover:(tcp://127.0.0.1:61616,tcp://127.0.0.1:61617)").await?;
//! let session = conn.create_session(AckMode::Auto).await?;
//! let producer = session.create_producer().await?;
//! let orders = Destination::queue("orders");
//! let mut m = Message::text("hello");
//! m.set_property("amount", 12.5f64)?;
//! producer.send(&orders, m).await?;
//! let mut consumer = session.create_consumer(&orders, ConsumerOptions::default()).await?;
//! let got = consumer.recv(Duration::from_secs(5)).await?.expect("a message");
//! assert_eq!(got.text_body()?.as_deref(), Some("hello"));
//! drop(consumer);
//! drop(producer);
//! conn.close().await?;
//! # Ok(()) }
//! ```
//!
//! Programs for each pattern are in `examples/`.

mod ack_merger;
pub mod browser;
pub mod connection;
pub mod consumer;
pub mod error;
pub mod message;
pub mod producer;
pub mod session;
pub mod uri;

pub use browser::QueueBrowser;
pub use connection::{ConnectOptions, Connection, ConnectionEvent};
pub use consumer::{Consumer, ConsumerOptions};
pub use error::ClientError;
pub use message::{Message, Property};
pub use openwire::{
    Destination, DestinationKind, MessageId, MessageKind, PrimitiveMap, PrimitiveValue,
};
pub use producer::{Producer, ProducerOptions, SendMode};
pub use session::{AckMode, Session, MAX_REDELIVERIES};
pub use uri::{BrokerUri, FailoverOptions, FailoverUri, ReconnectPolicy, TcpUri, UriError};
