//! HA for ferromq: the replicated store (issue 4), openraft over the journal.
//!
//! * [`ReplicatedStore`] implements [`broker::store::Store`]: `append` proposes the ops as
//!   part of one Raft entry (`proposer`: group commit, in call order) and resolves with its index once a quorum has it and this node has
//!   applied it; on a follower it fails with `NotMaster`.
//! * The Raft log *is* the journal ([`log_store`]): one record per entry with the entry's
//!   `(term, index)` in the record header, one fdatasync per batch, `truncate` =
//!   `truncate_after`, `purge` = `purge_through`.
//! * Committed entries are applied to the broker's [`broker::store::StateMachine`]
//!   ([`state_machine`]); snapshots are its ops, in the journal's snapshot file.
//! * Nodes talk over TCP ([`network`]); the same port answers status requests
//!   ([`query_status`], for `ferromq cluster status`).
//!
//! See `docs/replication.md`.

// openraft's `StorageError` is what its traits return; boxing it in helpers would only
// move the conversion.
#![allow(clippy::result_large_err)]

mod failover;
pub mod log_store;
pub mod network;
mod proposer;
pub mod state_machine;
mod store;
pub mod types;

pub use network::query_status;
pub use state_machine::ResetHook;
pub use store::{ClusterConfig, ClusterError, NodeStatus, ReplicatedStore, Role};
pub use types::{NodeId, TypeConfig};
