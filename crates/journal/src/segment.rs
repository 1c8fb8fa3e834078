//! One segment file: records with contiguous indexes starting at the index in
//! its name.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::JournalError;
use crate::record::{decode_record, probe_record, Entry, Position, RecordParse, HEADER_LEN};

/// Suffix of segment file names.
pub(crate) const SEGMENT_SUFFIX: &str = ".log";

/// What recovery did to a segment's tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TailTruncation {
    /// Offset the file was cut at.
    pub offset: u64,
    /// Bytes removed.
    pub removed: u64,
}

/// An open segment file and the offsets of its records.
#[derive(Debug)]
pub(crate) struct Segment {
    /// Index of the first record (also the number in the file name).
    pub first_index: u64,
    pub path: PathBuf,
    pub file: Arc<File>,
    /// Start offset of every record, in index order. 8 bytes of memory per
    /// record: the price of O(1) reads by index.
    pub offsets: Vec<u64>,
    /// Bytes of valid data: the end of the last record.
    pub size: u64,
    /// File length (≥ `size`). Bytes past `size` are zeros: room zero-filled
    /// ahead of the records (`JournalConfig::preallocate`), so appends do not
    /// change the file size. Only the last segment has such a tail; it is
    /// trimmed by [`seal`](Self::seal) before the next segment is created.
    pub allocated: u64,
    /// Written or truncated since its last fdatasync.
    pub dirty: bool,
}

impl Segment {
    /// `<first_index as 20 digits>.log`.
    pub fn file_name(first_index: u64) -> String {
        format!("{first_index:020}{SEGMENT_SUFFIX}")
    }

    /// The first index encoded in a segment file name, if it is one.
    pub fn parse_name(name: &str) -> Option<u64> {
        let digits = name.strip_suffix(SEGMENT_SUFFIX)?;
        if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    }

    /// Creates a new, empty segment file (fails if it exists).
    pub fn create(dir: &Path, first_index: u64) -> Result<Segment, JournalError> {
        let path = dir.join(Self::file_name(first_index));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| JournalError::io(&path, e))?;
        Ok(Segment {
            first_index,
            path,
            file: Arc::new(file),
            offsets: Vec::new(),
            size: 0,
            allocated: 0,
            dirty: true,
        })
    }

    /// Opens an existing segment and scans it, checking every record's CRC,
    /// length and index. In the last segment, zeros after the last record are
    /// its zero-filled room (kept, no warning); a damaged tail (nothing valid
    /// after it) is cut off and reported; any other damage is
    /// [`JournalError::Corrupt`].
    pub fn recover(
        path: PathBuf,
        first_index: u64,
        max_record_size: u32,
        is_last: bool,
        sync: bool,
    ) -> Result<(Segment, Option<TailTruncation>), JournalError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| JournalError::io(&path, e))?;
        let mut data = Vec::new();
        file.read_to_end(&mut data)
            .map_err(|e| JournalError::io(&path, e))?;
        let mut offsets = Vec::new();
        let mut pos = 0usize;
        let mut truncation = None;
        // End of the data that is not zero-filled room.
        let mut filled = data.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        while pos < data.len() {
            if is_last && pos >= filled {
                // Nothing but zeros from here: the preallocated room after the
                // last record (a record starts with its non-zero length).
                break;
            }
            let expected = first_index + offsets.len() as u64;
            match decode_record(&data[pos..], max_record_size) {
                RecordParse::Complete { entry, consumed } => {
                    if entry.index != expected {
                        return Err(JournalError::corrupt(
                            &path,
                            pos as u64,
                            format!("record has index {}, expected {expected}", entry.index),
                        ));
                    }
                    offsets.push(pos as u64);
                    pos += consumed;
                }
                RecordParse::Incomplete | RecordParse::Corrupt(_) if !is_last => {
                    return Err(JournalError::corrupt(
                        &path,
                        pos as u64,
                        format!(
                            "damaged record in a segment that is not the last: {}",
                            describe(&data[pos..], max_record_size)
                        ),
                    ));
                }
                RecordParse::Incomplete | RecordParse::Corrupt(_) => {
                    if let Some((at, index)) =
                        find_valid_after(&data, pos, filled, expected, max_record_size)
                    {
                        return Err(JournalError::corrupt(
                            &path,
                            pos as u64,
                            format!(
                                "{} followed by a valid record (index {index} at offset {at})",
                                describe(&data[pos..], max_record_size)
                            ),
                        ));
                    }
                    tracing::warn!(
                        path = %path.display(),
                        offset = pos,
                        removed = data.len() - pos,
                        reason = %describe(&data[pos..], max_record_size),
                        "journal: truncating torn or corrupt tail of the last segment"
                    );
                    file.set_len(pos as u64)
                        .map_err(|e| JournalError::io(&path, e))?;
                    if sync {
                        file.sync_data().map_err(|e| JournalError::io(&path, e))?;
                    }
                    truncation = Some(TailTruncation {
                        offset: pos as u64,
                        removed: (data.len() - pos) as u64,
                    });
                    data.truncate(pos);
                    filled = pos;
                }
            }
        }
        let size = pos as u64;
        Ok((
            Segment {
                first_index,
                path,
                file: Arc::new(file),
                offsets,
                size,
                allocated: data.len() as u64,
                dirty: false,
            },
            truncation,
        ))
    }

    /// Number of records.
    pub fn count(&self) -> u64 {
        self.offsets.len() as u64
    }

    /// Index the next record appended here gets.
    pub fn next_index(&self) -> u64 {
        self.first_index + self.count()
    }

    /// Whether `index` is held here.
    pub fn contains(&self, index: u64) -> bool {
        index >= self.first_index && index < self.next_index()
    }

    /// Where the payload of the record with `index` lies, from the offsets alone (no read).
    pub fn position(&self, index: u64) -> Option<Position> {
        if !self.contains(index) {
            return None;
        }
        let i = (index - self.first_index) as usize;
        let start = self.offsets[i];
        let end = self.offsets.get(i + 1).copied().unwrap_or(self.size);
        let len = end.checked_sub(start + HEADER_LEN as u64)?;
        Some(Position {
            segment: self.first_index,
            offset: start + HEADER_LEN as u64,
            len: u32::try_from(len).ok()?,
        })
    }

    /// Writes `buf` (encoded records) at the end with one positional write;
    /// `starts` are the records' start offsets relative to `buf`. Then, if the
    /// file is shorter than `zero_to`, zero-fills it up to there (not synced
    /// here: the batch's fdatasync covers it).
    pub fn write(
        &mut self,
        buf: &[u8],
        starts: &[usize],
        zero_to: u64,
    ) -> Result<(), JournalError> {
        self.dirty = true;
        let end = self.size + buf.len() as u64;
        let written = self.file.write_all_at(buf, self.size).and_then(|()| {
            let from = end.max(self.allocated);
            if zero_to > from {
                write_zeros(&self.file, from, zero_to)
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            // Drop whatever part of the batch reached the file (and the
            // zero-filled room: records are never written past a damaged one).
            let _ = self.file.set_len(self.size);
            self.allocated = self.size;
            return Err(JournalError::io(&self.path, e));
        }
        let base = self.size;
        self.offsets.extend(starts.iter().map(|&s| base + s as u64));
        self.size = end;
        self.allocated = self.allocated.max(end).max(zero_to);
        Ok(())
    }

    /// Cuts the zero-filled room off (the segment is full: the next one is
    /// about to be created) and, when `sync`, makes the segment durable with
    /// its final size, so that a segment that is not the last always ends
    /// with its last record.
    pub fn seal(&mut self, sync: bool) -> Result<(), JournalError> {
        if self.allocated > self.size {
            self.file
                .set_len(self.size)
                .map_err(|e| JournalError::io(&self.path, e))?;
            self.allocated = self.size;
            if sync {
                self.file
                    .sync_all()
                    .map_err(|e| JournalError::io(&self.path, e))?;
                self.dirty = false;
                return Ok(());
            }
            self.dirty = true;
        }
        if sync {
            self.sync()?;
        }
        Ok(())
    }

    /// Reads the record with `index` (must be held here).
    pub fn read(
        &self,
        index: u64,
        max_record_size: u32,
    ) -> Result<(Entry, Position), JournalError> {
        let i = (index - self.first_index) as usize;
        let start = self.offsets[i];
        let end = self.offsets.get(i + 1).copied().unwrap_or(self.size);
        let mut buf = vec![0u8; (end - start) as usize];
        self.file
            .read_exact_at(&mut buf, start)
            .map_err(|e| JournalError::io(&self.path, e))?;
        match decode_record(&buf, max_record_size) {
            RecordParse::Complete { entry, .. } if entry.index == index => {
                let position = Position {
                    segment: self.first_index,
                    offset: start + HEADER_LEN as u64,
                    len: entry.payload.len() as u32,
                };
                Ok((entry, position))
            }
            RecordParse::Complete { entry, .. } => Err(JournalError::corrupt(
                &self.path,
                start,
                format!("record has index {}, expected {index}", entry.index),
            )),
            other => Err(JournalError::corrupt(
                &self.path,
                start,
                format!("reading index {index}: {other:?}"),
            )),
        }
    }

    /// Keeps the first `keep` records, cutting the file after them.
    pub fn truncate_records(&mut self, keep: usize) -> Result<(), JournalError> {
        if keep >= self.offsets.len() {
            return Ok(());
        }
        let new_size = self.offsets[keep];
        // set_len also drops the zero-filled room: the records cut off must
        // not survive past the new end, even as stale bytes.
        self.file
            .set_len(new_size)
            .map_err(|e| JournalError::io(&self.path, e))?;
        self.offsets.truncate(keep);
        self.size = new_size;
        self.allocated = new_size;
        self.dirty = true;
        Ok(())
    }

    /// fdatasync if dirty.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        if self.dirty {
            self.file
                .sync_data()
                .map_err(|e| JournalError::io(&self.path, e))?;
            self.dirty = false;
        }
        Ok(())
    }
}

/// Writes zeros to `file[from..to]`.
fn write_zeros(file: &File, from: u64, to: u64) -> std::io::Result<()> {
    const CHUNK: u64 = 1024 * 1024;
    let zeros = vec![0u8; (to - from).min(CHUNK) as usize];
    let mut at = from;
    while at < to {
        let n = (to - at).min(CHUNK) as usize;
        file.write_all_at(&zeros[..n], at)?;
        at += n as u64;
    }
    Ok(())
}

/// Looks for a CRC-valid record with a plausible index after the damaged
/// record at `bad`: its presence means the damage is not a torn tail.
/// Only starts before `filled` (where the zeros up to the end of the file
/// begin) are tried: a record starts with its non-zero length.
fn find_valid_after(
    data: &[u8],
    bad: usize,
    filled: usize,
    expected: u64,
    max_record_size: u32,
) -> Option<(usize, u64)> {
    for at in bad + 1..filled.min(data.len()) {
        let remaining = (data.len() - at) as u64;
        // A later record's index can be at most one per minimal record further.
        let max_index = expected.saturating_add(remaining / HEADER_LEN as u64 + 1);
        if let Some(index) = probe_record(&data[at..], max_record_size, expected, max_index) {
            return Some((at, index));
        }
    }
    None
}

fn describe(buf: &[u8], max_record_size: u32) -> String {
    match decode_record(buf, max_record_size) {
        RecordParse::Incomplete => format!("incomplete record ({} bytes left)", buf.len()),
        RecordParse::Corrupt(reason) => reason,
        RecordParse::Complete { .. } => "valid record".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(Segment::file_name(42), "00000000000000000042.log");
        assert_eq!(Segment::parse_name("00000000000000000042.log"), Some(42));
        assert_eq!(Segment::parse_name("42.log"), None);
        assert_eq!(Segment::parse_name("0000000000000000004x.log"), None);
        assert_eq!(Segment::parse_name("snapshot"), None);
        assert_eq!(
            Segment::parse_name(&Segment::file_name(u64::MAX)),
            Some(u64::MAX)
        );
    }
}
