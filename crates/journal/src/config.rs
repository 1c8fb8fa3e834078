//! Journal configuration.

use std::path::PathBuf;

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
}

impl JournalConfig {
    /// Default segment size: 64 MiB.
    pub const DEFAULT_SEGMENT_SIZE: u64 = 64 * 1024 * 1024;
    /// Default maximum payload size: 256 MiB.
    pub const DEFAULT_MAX_RECORD_SIZE: u32 = 256 * 1024 * 1024;

    /// A configuration with the defaults for `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        JournalConfig {
            dir: dir.into(),
            segment_size: Self::DEFAULT_SEGMENT_SIZE,
            max_record_size: Self::DEFAULT_MAX_RECORD_SIZE,
            sync: true,
        }
    }
}
