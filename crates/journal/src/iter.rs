//! Sequential reading of entries with their positions.

use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::JournalError;
use crate::record::{
    decode_record, read_u32, Entry, Position, RecordParse, HEADER_LEN, PREFIX_LEN,
};

const READ_CHUNK: usize = 1024 * 1024;

/// One segment's part of the iteration.
#[derive(Debug)]
pub(crate) struct SegmentCursor {
    pub first_index: u64,
    pub path: PathBuf,
    pub file: Arc<File>,
    /// File offset of the first record to read.
    pub start: u64,
    /// End of valid data when the iterator was made.
    pub end: u64,
    /// Index of the record at `start`.
    pub next_index: u64,
    /// Last index to yield from this segment (inclusive).
    pub last_index: u64,
}

/// Iterator over `(Entry, Position)` in index order, made by
/// [`Journal::entries`](crate::Journal::entries). It reads the segments
/// through its own file handles in 1 MiB chunks; it sees the log as it was when
/// it was made (do not truncate the log while iterating). After the first
/// error it yields nothing more.
#[derive(Debug)]
pub struct EntryIter {
    cursors: VecDeque<SegmentCursor>,
    max_record_size: u32,
    buf: Vec<u8>,
    buf_pos: usize,
    /// File offset of `buf[0]`.
    buf_offset: u64,
    done: bool,
}

impl EntryIter {
    pub(crate) fn new(cursors: VecDeque<SegmentCursor>, max_record_size: u32) -> Self {
        let buf_offset = cursors.front().map(|c| c.start).unwrap_or(0);
        EntryIter {
            cursors,
            max_record_size,
            buf: Vec::new(),
            buf_pos: 0,
            buf_offset,
            done: false,
        }
    }

    fn step(&mut self) -> Option<Result<(Entry, Position), JournalError>> {
        loop {
            let cur = self.cursors.front_mut()?;
            if cur.next_index > cur.last_index {
                self.cursors.pop_front();
                self.buf.clear();
                self.buf_pos = 0;
                self.buf_offset = self.cursors.front().map(|c| c.start).unwrap_or(0);
                continue;
            }
            let avail = &self.buf[self.buf_pos..];
            let record_offset = self.buf_offset + self.buf_pos as u64;
            match decode_record(avail, self.max_record_size) {
                RecordParse::Complete { entry, consumed } => {
                    if entry.index != cur.next_index {
                        return Some(Err(JournalError::corrupt(
                            &cur.path,
                            record_offset,
                            format!(
                                "record has index {}, expected {}",
                                entry.index, cur.next_index
                            ),
                        )));
                    }
                    let position = Position {
                        segment: cur.first_index,
                        offset: record_offset + HEADER_LEN as u64,
                        len: entry.payload.len() as u32,
                    };
                    self.buf_pos += consumed;
                    cur.next_index += 1;
                    return Some(Ok((entry, position)));
                }
                RecordParse::Corrupt(reason) => {
                    return Some(Err(JournalError::corrupt(&cur.path, record_offset, reason)));
                }
                RecordParse::Incomplete => {
                    let need = match read_u32(avail, 0) {
                        Some(len) => PREFIX_LEN + len as usize,
                        None => HEADER_LEN,
                    };
                    // Drop consumed bytes, then read at least what the record needs.
                    self.buf.drain(..self.buf_pos);
                    self.buf_offset += self.buf_pos as u64;
                    self.buf_pos = 0;
                    let read_at = self.buf_offset + self.buf.len() as u64;
                    let left = cur.end.saturating_sub(read_at);
                    let want = need.saturating_sub(self.buf.len()).max(READ_CHUNK) as u64;
                    let n = want.min(left) as usize;
                    if n == 0 {
                        return Some(Err(JournalError::corrupt(
                            &cur.path,
                            record_offset,
                            "segment ends inside a record",
                        )));
                    }
                    let old = self.buf.len();
                    self.buf.resize(old + n, 0);
                    if let Err(e) = cur.file.read_exact_at(&mut self.buf[old..], read_at) {
                        return Some(Err(JournalError::io(&cur.path, e)));
                    }
                }
            }
        }
    }
}

impl Iterator for EntryIter {
    type Item = Result<(Entry, Position), JournalError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.step();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}

#[cfg(test)]
mod big_batch_tests {
    use crate::{Entry, Journal, JournalConfig};
    use bytes::Bytes;

    #[test]
    fn a_batch_of_large_records_reads_back_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(JournalConfig::new(dir.path())).unwrap();
        let mut seed = 7u64;
        let records: Vec<Entry> = (1..=40u64)
            .map(|i| {
                let len = 900_000 + (i as usize * 3) % 200_000;
                let payload: Vec<u8> = (0..len)
                    .map(|_| {
                        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                        (seed >> 33) as u8
                    })
                    .collect();
                Entry {
                    term: 2,
                    index: i,
                    kind: 1,
                    payload: Bytes::from(payload),
                }
            })
            .collect();
        j.append_entries(&records[..1]).unwrap();
        j.append_entries(&records[1..]).unwrap();
        j.sync().unwrap();
        for (n, item) in j.entries(1).unwrap().enumerate() {
            let (e, _) = item.unwrap();
            assert_eq!(e.index, records[n].index);
            assert!(
                e.payload == records[n].payload,
                "payload of {} differs",
                e.index
            );
        }
        for r in &records {
            let e = j.read(r.index).unwrap().unwrap();
            assert!(e.payload == r.payload, "read({}) differs", r.index);
        }
    }
}
