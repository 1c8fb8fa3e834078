//! Listeners and per-connection protocol handlers: they turn protocol frames into broker
//! operations and deliveries back into frames.
//!
//! - `openwire_listener`, `openwire_connection`, `openwire_message`: the same for OpenWire
//!   (ActiveMQ's JMS client), built on `crates/openwire`.
//! - `stomp_listener`: accept loop; `stomp_connection`: one connection (CONNECT,
//!   heart-beats, subscriptions, acks, transactions, receipts in order);
//!   `stomp_message`: STOMP headers ⇄ broker messages.

mod accept_loop;
pub mod openwire_connection;
pub mod openwire_listener;
pub mod openwire_message;
pub mod stomp_connection;
pub mod stomp_listener;
pub mod stomp_message;

pub use openwire_connection::OpenWireSettings;
pub use openwire_listener::OpenWireListener;
pub use stomp_connection::StompSettings;
pub use stomp_listener::StompListener;
