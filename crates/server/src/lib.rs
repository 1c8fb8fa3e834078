//! Listeners and per-connection protocol handlers: they turn protocol frames into broker
//! operations and deliveries back into frames.
//!
//! - `stomp_listener`: accept loop; `stomp_connection`: one connection (CONNECT,
//!   heart-beats, subscriptions, acks, transactions, receipts in order);
//!   `stomp_message`: STOMP headers ⇄ broker messages.

pub mod stomp_connection;
pub mod stomp_listener;
pub mod stomp_message;

pub use stomp_connection::StompSettings;
pub use stomp_listener::StompListener;
