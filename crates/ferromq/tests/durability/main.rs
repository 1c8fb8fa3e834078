//! Durability suite: real `ferromq` processes, SIGKILLed and restarted, checked from the
//! outside over STOMP and by looking at the journal files.
//!
//! Invariants under test (ARCHITECTURE.md decisions 1 and 4):
//! - a persistent SEND is receipted only once its record is fsynced, so a receipted message
//!   survives `kill -9`;
//! - a receipted ACK is never undone; an unreceipted one may let the message come once more;
//! - a torn record at the journal tail is cut off with a warning, never a refusal to start;
//! - disk of acknowledged messages is reclaimed through snapshots.
//!
//! Build the broker first (`cargo build -p ferromq`, or `--release` for `cargo test
//! --release`): the tests run `target/<profile>/ferromq`.

mod crash;
mod durable_subscription;
mod fixture;
mod ledger;
mod reclaim;
mod restart;
mod torn_tail;
