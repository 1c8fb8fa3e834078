//! The openraft type configuration and the conversion between Raft entries and journal
//! records (also used on the wire).

use bytes::Bytes;
use openraft::{BasicNode, CommittedLeaderId, EntryPayload, LogId};
use std::io::Cursor;

/// A Raft node id.
pub type NodeId = u64;

/// Application data of one log entry: the ops of one `Store::append`, encoded with
/// `broker::op_codec::encode_ops`. Kept encoded so the journal record holds exactly these
/// bytes (the same record format as the single-node store) and followers decode what was
/// written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpsPayload(pub Bytes);

impl std::fmt::Display for OpsPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ops({} bytes)", self.0.len())
    }
}

openraft::declare_raft_types!(
    /// ferromq's Raft types: node id `u64`, node = its replication address, app data =
    /// encoded ops, response = the entry's log index.
    pub TypeConfig:
        D = OpsPayload,
        R = u64,
        NodeId = NodeId,
        Node = BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
);

pub type Entry = openraft::Entry<TypeConfig>;
pub type Raft = openraft::Raft<TypeConfig>;
pub type StorageError = openraft::StorageError<NodeId>;
pub type Vote = openraft::Vote<NodeId>;
pub type RaftLogId = LogId<NodeId>;
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, BasicNode>;
pub type StoredMembership = openraft::StoredMembership<NodeId, BasicNode>;

/// Journal record kind of an entry of encoded `StoreOp`s (same value as the single-node
/// store's, so a journal written by either reads the same).
pub const KIND_OPS: u8 = 1;
/// A leader's blank entry (committed at the start of its term).
pub const KIND_BLANK: u8 = 2;
/// A membership change, JSON-encoded `openraft::Membership`.
pub const KIND_MEMBERSHIP: u8 = 3;

/// A log id from the `(term, index)` of a journal record. With `single-term-leader` a
/// committed leader id is the term alone.
pub fn log_id(term: u64, index: u64) -> RaftLogId {
    LogId::new(CommittedLeaderId::new(term, 0), index)
}

/// `(term, index, kind, payload)` of an entry, as stored in a journal record.
pub fn entry_to_record(entry: &Entry) -> Result<(u64, u64, u8, Bytes), String> {
    let term = entry.log_id.leader_id.term;
    let index = entry.log_id.index;
    Ok(match &entry.payload {
        EntryPayload::Blank => (term, index, KIND_BLANK, Bytes::new()),
        EntryPayload::Normal(ops) => (term, index, KIND_OPS, ops.0.clone()),
        EntryPayload::Membership(m) => {
            let json = serde_json::to_vec(m).map_err(|e| e.to_string())?;
            (term, index, KIND_MEMBERSHIP, Bytes::from(json))
        }
    })
}

/// The entry a journal record holds.
pub fn record_to_entry(term: u64, index: u64, kind: u8, payload: Bytes) -> Result<Entry, String> {
    let payload = match kind {
        KIND_OPS => EntryPayload::Normal(OpsPayload(payload)),
        KIND_BLANK => EntryPayload::Blank,
        KIND_MEMBERSHIP => EntryPayload::Membership(
            serde_json::from_slice(&payload).map_err(|e| format!("membership entry: {e}"))?,
        ),
        other => return Err(format!("unknown record kind {other} at index {index}")),
    };
    Ok(Entry {
        log_id: log_id(term, index),
        payload,
    })
}

/// Accepts `tcp://host:port` or `host:port`.
pub fn strip_scheme(addr: &str) -> &str {
    addr.strip_prefix("tcp://").unwrap_or(addr)
}
