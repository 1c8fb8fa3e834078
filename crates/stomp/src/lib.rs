//! STOMP 1.0/1.1/1.2 for ferromq: frames, header escaping, a sans-IO `tokio_util`
//! codec with limits, and a small async client.
//!
//! Files:
//! * `command.rs` — [`Command`], the frame commands and their wire spelling.
//! * `version.rs` — [`Version`] and `accept-version` negotiation.
//! * `frame.rs` — [`Frame`] (command, ordered headers, body) and [`Item`] (frame or heart-beat).
//! * `header.rs` — header escaping/unescaping per version ([`header::escape`], [`header::unescape`]).
//! * `codec.rs` — [`StompCodec`], the incremental decoder/encoder, and its [`Limits`].
//! * `error.rs` — [`StompError`].
//! * `client.rs` — [`StompClient`], an async client over TCP (used by the CLI, benchmarks, tests).

mod client;
mod codec;
mod command;
mod error;
mod frame;
pub mod header;
mod version;

pub use client::{ClientError, ConnectOptions, StompClient};
pub use codec::{Limits, StompCodec};
pub use command::Command;
pub use error::StompError;
pub use frame::{Frame, Item};
pub use version::Version;
