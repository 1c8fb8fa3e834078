//! Reading payloads by [`Position`] from any thread.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use bytes::Bytes;

use crate::error::JournalError;
use crate::record::{read_u32, Position, BODY_FIXED, HEADER_LEN, PREFIX_LEN};

/// Open segment files by first index, shared between the writer and readers.
/// The writer removes a segment from the map before deleting its file.
pub(crate) type FileMap = Arc<RwLock<Files>>;

/// Segment first index → (path, open file).
pub(crate) type Files = BTreeMap<u64, (PathBuf, Arc<File>)>;

/// A cheap, cloneable, `Send + Sync` handle reading payloads by [`Position`]
/// while the writer appends.
#[derive(Debug, Clone)]
pub struct JournalReader {
    pub(crate) files: FileMap,
    pub(crate) max_record_size: u32,
}

impl JournalReader {
    /// Reads the payload at `pos`, checking the record's length and CRC.
    /// A segment that was purged (or removed by truncation) gives
    /// [`JournalError::Purged`].
    pub fn read_payload(&self, pos: Position) -> Result<Bytes, JournalError> {
        let (path, file) = {
            let map = self
                .files
                .read()
                .map_err(|_| JournalError::Failed("journal reader lock poisoned".into()))?;
            match map.get(&pos.segment) {
                Some((path, file)) => (path.clone(), Arc::clone(file)),
                None => {
                    return Err(JournalError::Purged {
                        index_or_segment: pos.segment,
                    })
                }
            }
        };
        if pos.len > self.max_record_size || pos.offset < HEADER_LEN as u64 {
            return Err(JournalError::corrupt(
                &path,
                pos.offset,
                format!("invalid position {pos:?}"),
            ));
        }
        let start = pos.offset - HEADER_LEN as u64;
        let mut buf = vec![0u8; HEADER_LEN + pos.len as usize];
        file.read_exact_at(&mut buf, start)
            .map_err(|e| JournalError::io(&path, e))?;
        let len = read_u32(&buf, 0).unwrap_or(0) as usize;
        if len != BODY_FIXED + pos.len as usize {
            return Err(JournalError::corrupt(
                &path,
                start,
                format!(
                    "record length {len} does not match position length {}",
                    pos.len
                ),
            ));
        }
        let crc = read_u32(&buf, 4).unwrap_or(0);
        if crc32c::crc32c(&buf[PREFIX_LEN..]) != crc {
            return Err(JournalError::corrupt(&path, start, "crc mismatch"));
        }
        let mut bytes = Bytes::from(buf);
        Ok(bytes.split_off(HEADER_LEN))
    }
}
