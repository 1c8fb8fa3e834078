//! Journal configuration.

use std::path::PathBuf;
use std::sync::Arc;

use crate::fsync_latency::FsyncLatency;

/// How a [`Journal`](crate::Journal) is laid out and how careful it is.
#[derive(Debug, Clone)]
pub struct JournalConfig {
    /// Directory holding the segment files and the snapshot.
    pub dir: PathBuf,
    /// A new segment is started when appending a batch would take the active
    /// segment past this size (a single batch larger than this gets a segment
    /// of its own). Default 64 MiB.
    pub segment_size: u64,
    /// Largest payload accepted. On append a larger payload is
    /// [`JournalError::RecordTooLarge`](crate::JournalError::RecordTooLarge);
    /// on read a record claiming more is corruption. Default 256 MiB.
    pub max_record_size: u32,
    /// `false` skips every fdatasync/fsync (benchmarks and tests only: data is
    /// then not durable). Default `true`.
    pub sync: bool,
    /// Zero-fill the active segment this many bytes ahead of its last record
    /// (in one step whenever a batch reaches the end of the zeroed part; never
    /// past `segment_size`). Appends then overwrite blocks that already exist
    /// in a file whose size does not change, so an fdatasync flushes data only
    /// instead of also committing an inode size change to the file system's
    /// journal (measured on ext4/virtio: ~35% cheaper fdatasync, +30% persistent
    /// sends with receipts). The last segment then ends with zeros, which
    /// recovery treats as free room (see [`Journal::open`](crate::Journal::open)).
    /// 0 turns it off: the last segment ends with its last record. Default
    /// [`DEFAULT_PREALLOCATE`](Self::DEFAULT_PREALLOCATE).
    pub preallocate: u64,
    /// Where the journal records how long each of its fsyncs on the write path takes
    /// (the group commit's fdatasync, a full segment's sync before the next one starts,
    /// a truncation's, the directory's after a segment is created). Clones of this config
    /// share it: keep a clone of the `Arc` to read it (metrics). Default: a new one.
    pub fsync_latency: Arc<FsyncLatency>,
}

impl JournalConfig {
    /// Default segment size: 64 MiB.
    pub const DEFAULT_SEGMENT_SIZE: u64 = 64 * 1024 * 1024;
    /// Default maximum payload size: 256 MiB.
    pub const DEFAULT_MAX_RECORD_SIZE: u32 = 256 * 1024 * 1024;
    /// Recommended zero-filled run ahead of the last record: 4 MiB (one
    /// extension costs ~5 ms of writing and syncing zeros, once per ~4000
    /// 1 KiB records).
    pub const DEFAULT_PREALLOCATE: u64 = 4 * 1024 * 1024;

    /// A configuration with the defaults for `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        JournalConfig {
            dir: dir.into(),
            segment_size: Self::DEFAULT_SEGMENT_SIZE,
            max_record_size: Self::DEFAULT_MAX_RECORD_SIZE,
            sync: true,
            preallocate: Self::DEFAULT_PREALLOCATE,
            fsync_latency: Arc::default(),
        }
    }
}
