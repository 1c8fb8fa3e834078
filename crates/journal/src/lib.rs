//! The ferromq operation log.
//!
//! The journal stores opaque records (a `kind` byte and a payload) with
//! contiguous indexes. It knows nothing of messages or protocols: broker
//! state is *derived* by applying the log in order (ARCHITECTURE.md,
//! decision 1). It is the single-node store today and is built to become
//! openraft's log storage.
//!
//! # Layout on disk
//!
//! * Segment files `<first index, 20 digits>.log`, each a run of records
//!   `[len u32][crc32c u32][kind u8][term u64][index u64][payload]` (see
//!   [`decode_record`]). A new segment is started when the next batch would
//!   take the active one past `segment_size`. With
//!   [`JournalConfig::preallocate`] the active segment ends with zeros (room
//!   written ahead, so appends do not change the file size and an fdatasync
//!   need not commit file system metadata); a segment is trimmed to its last
//!   record before the next one is created.
//! * `snapshot`: the caller's state as of some index, replaced atomically
//!   through `snapshot.tmp` (write, fdatasync, rename, fsync directory).
//!
//! # Design notes
//!
//! **Why every record carries `(term, index)`.** Raft identifies a log entry
//! by its index and the term of the leader that wrote it: followers check
//! `(prev_index, prev_term)` before accepting entries, a conflicting suffix
//! is found by comparing terms and dropped with [`Journal::truncate_after`],
//! and leaders are elected by comparing `(last_term, last_index)`. Storing
//! both in each record (term 0 on a single node) means the same files serve
//! the single-node store and the replicated log, with no second format and
//! no second fsync. Indexes are contiguous and checked on recovery, so a
//! missing record is detected, never silently skipped.
//!
//! **Why segments are deleted whole after a snapshot.** Disk is reclaimed
//! only by [`Journal::write_snapshot`] followed by
//! [`Journal::purge_through`]: once the live state up to index N is in the
//! snapshot, every segment whose entries are all ≤ N is unlinked. There is
//! no in-place compaction: records are never rewritten, so positions handed
//! out stay valid until their segment goes (then reads say
//! [`JournalError::Purged`]), Raft's log prefix can be dropped exactly as
//! Raft expects, and a crash can never leave a half-compacted file.
//!
//! **Group commit.** [`Committer`] runs one OS thread that owns the
//! [`Journal`]. It takes everything queued (up to 4 MiB of payload), appends
//! it with one `write`, issues *one* fdatasync, calls the commit callback
//! with the entries in index order, and then resolves every waiter. So when
//! the receiver returned by [`Committer::submit`] yields `Ok(index)`, the
//! record is on disk: fdatasync returned (with `sync: false`, only the write
//! happened). If an append or sync fails, every waiter in the batch gets the
//! error and the committer refuses all later work with
//! [`JournalError::Failed`]: after a failed fsync the page cache state is
//! unknown and the only safe recovery is to reopen.
//!
//! **Fsync latency.** Every fsync on the write path is timed into the
//! [`FsyncLatency`] histogram that [`JournalConfig::fsync_latency`] shares: the
//! batch's fdatasync (what [`Journal::take_pending_sync`] hands out, used by the
//! committer and by the Raft log's flusher alike), a full segment's sync, a
//! truncation's, the directory's. Fixed buckets of atomics, so recording takes no
//! lock. Snapshot writes are not counted.
//!
//! **Recovery and torn writes.** A crash can tear only the tail of the last
//! segment: the previous segment is fdatasync'd before a new one is created,
//! and writes go only to the last segment. So on [`Journal::open`] a damaged
//! record at the end of the last segment with nothing valid after it is cut
//! off (with a warning), together with any room after it; zeros alone after
//! the last record are room, not damage. Damage followed by a valid record,
//! damage in any other segment, or a gap between segments is reported as
//! [`JournalError::Corrupt`] and never repaired silently.
//!
//! **Memory.** Each open segment keeps the offset of every record (8 bytes
//! per record) so reads by index are one positional read.
mod committer;
mod config;
mod error;
mod fsync_latency;
mod iter;
mod journal;
mod reader;
mod record;
mod segment;
mod snapshot;

pub use committer::{CommitCallback, Committed, Committer, JournalStats};
pub use config::JournalConfig;
pub use error::JournalError;
pub use fsync_latency::{FsyncLatency, FsyncLatencySnapshot, FSYNC_BUCKETS_MICROS};
pub use iter::EntryIter;
pub use journal::{Journal, PendingSync, SnapshotWriter, WrittenSnapshot};
pub use reader::JournalReader;
pub use record::{decode_record, encode_record, encoded_len, Entry, Position, RecordParse};
pub use snapshot::SnapshotMeta;
