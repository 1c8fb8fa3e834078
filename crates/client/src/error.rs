//! [`ClientError`]: why a client operation failed.

use crate::UriError;
use openwire::OpenWireError;
use std::time::Duration;

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URI does not parse or names an unknown option.
    #[error(transparent)]
    Uri(#[from] UriError),
    /// A socket error (connect refused, reset …).
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A frame could not be encoded or decoded, or a body is not of the expected kind.
    #[error("OpenWire: {0}")]
    Wire(#[from] OpenWireError),
    /// The broker answered with an ExceptionResponse.
    #[error("broker refused: {class}: {message}")]
    Broker {
        /// The Java exception class (`javax.jms.InvalidSelectorException` …).
        class: String,
        /// Its message.
        message: String,
    },
    /// The connection is closed (or a `failover:` connection gave up reconnecting).
    #[error("connection closed")]
    Closed,
    /// No Response within the request timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// A `failover:` connection was still reconnecting when the failover `timeout` option
    /// ran out for this send (ActiveMQ's "Failover timeout of … ms reached").
    #[error("failover timeout of {0:?} reached while reconnecting")]
    FailoverTimeout(Duration),
    /// Not implemented by this client.
    #[error("not supported: {0}")]
    Unsupported(&'static str),
    /// The peer sent something this client cannot make sense of.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The transaction was rolled back instead of committed: the connection failed over
    /// while it was open, so the broker discarded its sends and acknowledgements. Received
    /// messages come again; send again in a new transaction.
    #[error("transaction rolled back: {0}")]
    TransactionRolledBack(String),
    /// The commit was sent but the connection was lost before the broker answered: it may or
    /// may not have been applied (ActiveMQ's "transaction completion in doubt").
    #[error("transaction in doubt: {0}")]
    TransactionInDoubt(String),
    /// The operation needs something the session or connection was not created with
    /// (commit on a non-transacted session, durable subscription without a client id …).
    #[error("illegal state: {0}")]
    IllegalState(&'static str),
}
