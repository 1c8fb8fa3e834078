//! Rust client for ferromq and ActiveMQ Classic over OpenWire (work in progress, issue 5).
//!
//! * [`uri`] — `tcp://` and `failover:(…)` URIs with ActiveMQ's option names and defaults, and
//!   the reconnect back-off sequence.

pub mod uri;

pub use uri::{BrokerUri, FailoverOptions, FailoverUri, ReconnectPolicy, TcpUri, UriError};
