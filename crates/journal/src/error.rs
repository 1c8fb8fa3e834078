//! The journal's error type.

use std::path::{Path, PathBuf};

/// Everything that can go wrong in the journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// An I/O call failed on `path`.
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Data on disk is damaged in a way recovery must not paper over.
    #[error("corrupt journal data in {path} at offset {offset}: {reason}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    /// `append_entries` was given entries that do not continue the log.
    #[error("entries not contiguous: expected index {expected}, got {got}")]
    NotContiguous { expected: u64, got: u64 },
    /// A record's payload exceeds `JournalConfig::max_record_size`.
    #[error("record of {size} bytes exceeds the limit of {limit} bytes")]
    RecordTooLarge { size: usize, limit: u32 },
    /// The index or segment asked for was purged (or truncated away).
    #[error("index or segment {index_or_segment} was purged")]
    Purged { index_or_segment: u64 },
    /// The group committer failed earlier and accepts no more work.
    #[error("journal failed: {0}")]
    Failed(String),
    /// The group committer was shut down.
    #[error("journal closed")]
    Closed,
}

impl JournalError {
    pub(crate) fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        JournalError::Io {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl AsRef<Path>, offset: u64, reason: impl Into<String>) -> Self {
        JournalError::Corrupt {
            path: path.as_ref().to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }
}
