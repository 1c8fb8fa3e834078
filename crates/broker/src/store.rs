//! The `Store` trait: what the broker core asks of persistence (ARCHITECTURE decision 2).
//!
//! The broker never writes its state anywhere else: every change to persistent state is a
//! [`StoreOp`] appended to the store, and the in-memory state is *derived* by applying the
//! committed ops in log order through [`StateMachine::apply`]. That is the same path on
//! start-up (recovery), on a single node (after the local fsync) and, later, on Raft
//! followers (after quorum commit).
//!
//! # What an implementation must guarantee
//!
//! 1. `append(ops)`: the ops of one call form one log entry and are applied atomically.
//!    When the returned future resolves with `Ok(index)`, the entry is durable (fsynced on
//!    this node, or committed by a quorum) **and** has already been applied to the state
//!    machine.
//! 2. Entries are applied exactly once each, in strictly increasing, gap-free index order,
//!    never concurrently with each other.
//! 3. On open, the store replays its durable content (the latest snapshot, whose ops are
//!    applied with the snapshot's index, then every later entry) before it accepts appends.
//! 4. A store may compact: it asks the state machine for [`StateMachine::snapshot`] right
//!    after applying some index and later replays the image's ops instead of the entries
//!    up to that index. The snapshot ops must rebuild an equivalent state.
//! 5. A store that can page sets `Message::body_ref` on every `AddMessage` it applies and
//!    keeps the record readable while any live message (including those in a snapshot's
//!    `Restore` ops) refers to it.
//! 6. Errors: `NotMaster` when this node may not write now, `Full` when the store limit is
//!    reached; an `Io` failure means the entry may or may not be durable (the caller treats
//!    it as not acknowledged).

use crate::destination::Destination;
use crate::message::Message;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The broker key of a message: derived from the log index of the entry that added it
/// (`index << 16 | position of the op in the entry`), so keys are unique, monotonic in log
/// order and survive recovery unchanged. Non-persistent messages get keys with the top bit
/// set from a separate counter; they never reach the store.
pub type MessageKey = u64;

/// Most `AddMessage` ops one entry may carry (the key has 16 bits for the op position).
pub const MAX_OPS_PER_ENTRY: usize = 0xFFFF;

pub fn message_key(index: u64, op_position: usize) -> MessageKey {
    (index << 16) | (op_position as u64 & 0xFFFF)
}

/// Names a durable topic subscription (JMS: client id + subscription name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DurableName {
    pub client_id: String,
    pub name: String,
}

/// Where messages wait to be consumed: a queue, or a durable subscription.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum QueueRef {
    Queue(crate::destination::Name),
    Durable(DurableName),
}

/// One change to persistent broker state.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreOp {
    /// A persistent message sent to a queue or topic. On a topic it is copied to every
    /// durable subscription that exists and matches when the op is applied.
    AddMessage {
        message: Message,
    },
    /// Messages consumed (or moved away) from a queue or durable subscription.
    Ack {
        queue: QueueRef,
        keys: Vec<MessageKey>,
    },
    AddSubscription {
        name: DurableName,
        topic: Destination,
        selector: Option<String>,
        no_local: bool,
    },
    RemoveSubscription {
        name: DurableName,
    },
    AddDestination {
        destination: Destination,
    },
    RemoveDestination {
        destination: Destination,
    },
    /// The highest producer sequence stored for a producer, to drop resends after failover.
    ProducerMark {
        producer: String,
        seq: u64,
    },
    /// Snapshot only: a message still pending in `queue` under its original key.
    Restore {
        queue: QueueRef,
        key: MessageKey,
        message: Message,
    },
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("this node is not the master and may not write{}", leader.as_ref().map_or(String::new(), |l| format!(" (the master is {l})")))]
    NotMaster {
        /// The master this node knows of: `node N at ADDRESS` (its replication address).
        leader: Option<String>,
    },
    #[error("store limit of {limit} bytes reached")]
    Full { limit: u64 },
    #[error("too many operations in one entry ({count} > {max})")]
    TooManyOps { count: usize, max: usize },
    #[error("store I/O failed: {0}")]
    Io(String),
    #[error("corrupt store record at index {index}: {reason}")]
    Corrupt { index: u64, reason: String },
    #[error("store is closed")]
    Closed,
}

/// Where a message body can be read back from the store when it is not kept in memory
/// (paging): the record of the entry that added the message, and the body's place in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyRef {
    /// Index of the entry that holds the body.
    pub index: u64,
    pub segment: u64,
    pub record_offset: u64,
    pub record_len: u32,
    pub body_offset: u32,
    pub body_len: u32,
}

/// Reads paged-out bodies back (ARCHITECTURE decision 2's `read_body`).
pub trait BodyReader: Send + Sync {
    /// # Errors
    /// The record is gone or corrupt.
    fn read_body(&self, body: &BodyRef) -> Result<bytes::Bytes, StoreError>;
}

/// `Full` when a store using `used()` bytes (asked only when it matters) is past `limit`
/// and `ops` would add messages; acks and other ops always pass, since they are what
/// frees space. `u64::MAX` means no limit.
///
/// # Errors
/// [`StoreError::Full`] as above.
pub fn check_store_limit(
    ops: &[StoreOp],
    used: impl FnOnce() -> u64,
    limit: u64,
) -> Result<(), StoreError> {
    let adds = ops
        .iter()
        .any(|op| matches!(op, StoreOp::AddMessage { .. }));
    if limit != u64::MAX && adds && used() > limit {
        return Err(StoreError::Full { limit });
    }
    Ok(())
}

/// The future `append` returns.
pub type AppendFuture = Pin<Box<dyn Future<Output = Result<u64, StoreError>> + Send>>;

/// Sizes and counters a store reports (console, metrics, tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub last_index: u64,
    pub disk_bytes: u64,
    pub segments: usize,
    pub syncs: u64,
    pub snapshots: u64,
}

/// The broker state that committed ops are applied to.
pub trait StateMachine: Send + Sync {
    /// Applies one committed entry. Must not block on the store (it runs on the store's
    /// commit path).
    fn apply(&self, index: u64, ops: &[StoreOp]);
    /// The live state (destinations, subscriptions, producer marks, a `Restore` for each
    /// pending message), consistent with the last applied index. Called between two
    /// applies, so it should be quick: see [`SnapshotImage`].
    fn snapshot(&self) -> SnapshotImage;
    /// Gives the state machine a way to read bodies back, so it may drop bodies of stored
    /// messages from memory (paging). Stores that can page call this before replaying.
    fn attach_body_reader(&self, _reader: std::sync::Arc<dyn BodyReader>) {}
    /// Roughly how many bytes a snapshot taken now would have, so a store can space its
    /// snapshots by the size of the live state rather than of an old snapshot.
    fn snapshot_size_hint(&self) -> u64 {
        0
    }
}

/// The live state as [`StateMachine::snapshot`] takes it: ops, with every stored message
/// shared by reference count rather than copied.
///
/// Taking it costs a pointer per message, so the state's lock is held briefly even with a
/// backlog of hundreds of megabytes (copying every message under the lock stalled a
/// cluster master for 1.7 s, past its lease). The encoding happens later, off the lock
/// and on whatever thread the store chooses ([`crate::op_codec::encode_image`]).
#[derive(Debug, Default)]
pub struct SnapshotImage {
    /// Ops before the messages: destinations and subscriptions.
    pub(crate) head: Vec<StoreOp>,
    /// The queues `messages` refer to, by position.
    pub(crate) queues: Vec<QueueRef>,
    /// `(position in queues, key, message)`, in no particular order: [`Self::sort`] puts
    /// them in key (= log) order, the order they must be restored in.
    pub(crate) messages: Vec<(u32, MessageKey, Arc<Message>)>,
    /// Ops after the messages: producer marks.
    pub(crate) tail: Vec<StoreOp>,
}

impl SnapshotImage {
    /// An image of exactly these ops (for state machines that keep ops rather than
    /// messages).
    pub fn from_ops(ops: Vec<StoreOp>) -> SnapshotImage {
        SnapshotImage {
            head: ops,
            ..SnapshotImage::default()
        }
    }

    /// How many ops the image stands for.
    pub fn len(&self) -> usize {
        self.head.len() + self.messages.len() + self.tail.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The lowest log index whose record a message of the image still reads its body
    /// from (paged-out messages), if any: the log must be kept from there.
    pub fn oldest_body_ref(&self) -> Option<u64> {
        let in_ops = crate::journal_body::oldest_body_ref(&self.head)
            .into_iter()
            .chain(crate::journal_body::oldest_body_ref(&self.tail));
        self.messages
            .iter()
            .filter_map(|(_, _, m)| m.paged_body_index())
            .chain(in_ops)
            .min()
    }

    /// The encoded ops (see [`crate::op_codec::encode_image`]).
    pub fn encode(self) -> bytes::Bytes {
        let mut w = bytes::BytesMut::with_capacity(crate::op_codec::image_size_hint(&self));
        crate::op_codec::encode_image(&mut w, self);
        w.freeze()
    }

    /// Messages in key order (a stable sort: equal keys keep the order they were taken in).
    pub(crate) fn sort(&mut self) {
        self.messages.sort_by_key(|(_, key, _)| *key);
    }
}

/// Persistence as the broker sees it. See the module docs for the guarantees.
pub trait Store: Send + Sync {
    /// Appends the ops as one atomic entry. They are enqueued when `append` returns (log
    /// order = call order, whether or not the future is ever polled); the future resolves
    /// with the entry's index when durable and applied. A store may put the ops of several
    /// appends, in call order, into one entry (they then share its index). Must not block
    /// the caller.
    fn append(&self, ops: Vec<StoreOp>) -> AppendFuture;
    fn stats(&self) -> StoreStats;
    /// Stops accepting appends and waits for queued ones to finish.
    fn close(&self);
}
