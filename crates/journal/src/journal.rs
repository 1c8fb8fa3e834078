//! The journal: segments, appends, truncation, purge, snapshots.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, RwLock};

use bytes::Bytes;

use crate::config::JournalConfig;
use crate::error::JournalError;
use crate::iter::{EntryIter, SegmentCursor};
use crate::reader::{FileMap, Files, JournalReader};
use crate::record::{encode_record, encoded_len, Entry, Position, HEADER_LEN};
use crate::segment::Segment;
use crate::snapshot::{self, SnapshotMeta};

/// The operation log. Single writer, synchronous, `Send`. See the crate
/// documentation for the design.
#[derive(Debug)]
pub struct Journal {
    config: JournalConfig,
    /// In index order; never empty after `open`; the last one is active.
    segments: Vec<Segment>,
    files: FileMap,
    next_index: u64,
    last_term: u64,
    snapshot: Option<SnapshotMeta>,
    snapshot_size: u64,
    /// A segment file was created since the directory was last fsync'd.
    dir_dirty: bool,
    /// Reused encoding buffer.
    buf: Vec<u8>,
}

impl Journal {
    /// Opens or creates the journal in `config.dir`.
    ///
    /// Recovery scans the segments in order, checking each record's CRC,
    /// length (≤ `max_record_size`) and index contiguity. A torn or corrupt
    /// record at the tail of the *last* segment, with nothing valid after it,
    /// is cut off with a `tracing::warn!`. Damage anywhere else (a bad record
    /// followed by valid data, damage in an earlier segment, a gap between
    /// segments) is [`JournalError::Corrupt`] naming the file and offset.
    /// Zeros from the end of the last segment's last record to the end of the
    /// file are its preallocated room (`JournalConfig::preallocate`): kept,
    /// silently; a record always starts with a non-zero length.
    ///
    /// If a snapshot is present whose index is beyond the log's last entry
    /// (the log is older than the snapshot), the log is purged through the
    /// snapshot and continues at `snapshot.index + 1`.
    pub fn open(config: JournalConfig) -> Result<Journal, JournalError> {
        let dir = config.dir.clone();
        std::fs::create_dir_all(&dir).map_err(|e| JournalError::io(&dir, e))?;
        let (snapshot, snapshot_size) = match snapshot::load_meta(&dir)? {
            Some((meta, size)) => (Some(meta), size),
            None => (None, 0),
        };

        let mut found = Vec::new();
        let listing = std::fs::read_dir(&dir).map_err(|e| JournalError::io(&dir, e))?;
        for item in listing {
            let item = item.map_err(|e| JournalError::io(&dir, e))?;
            if let Some(first) = item.file_name().to_str().and_then(Segment::parse_name) {
                found.push((first, item.path()));
            }
        }
        found.sort_by_key(|(first, _)| *first);

        let mut segments: Vec<Segment> = Vec::with_capacity(found.len());
        let count = found.len();
        for (i, (first, path)) in found.into_iter().enumerate() {
            if let Some(prev) = segments.last() {
                if first != prev.next_index() {
                    return Err(JournalError::corrupt(
                        &path,
                        0,
                        format!(
                            "gap between segments: previous segment ends at index {}, this one starts at {first}",
                            prev.next_index().saturating_sub(1)
                        ),
                    ));
                }
            }
            let (segment, _truncation) = Segment::recover(
                path,
                first,
                config.max_record_size,
                i + 1 == count,
                config.sync,
            )?;
            segments.push(segment);
        }

        let next_index = match segments.last() {
            Some(seg) => seg.next_index(),
            None => snapshot.map_or(1, |s| s.index.saturating_add(1)),
        };
        let mut journal = Journal {
            files: Arc::new(RwLock::new(BTreeMap::new())),
            config,
            segments,
            next_index,
            last_term: 0,
            snapshot,
            snapshot_size,
            dir_dirty: false,
            buf: Vec::new(),
        };
        {
            let mut map = journal.files_mut()?;
            for seg in &journal.segments {
                map.insert(seg.first_index, (seg.path.clone(), Arc::clone(&seg.file)));
            }
        }
        if journal.segments.is_empty() {
            journal.create_segment(next_index)?;
            journal.sync_dir_if_dirty()?;
        }
        journal.last_term = journal.term_of_last()?;
        if let Some(snap) = snapshot {
            if snap.index > journal.last_index() {
                tracing::warn!(
                    snapshot_index = snap.index,
                    last_index = journal.last_index(),
                    "journal: log ends before the snapshot; purging it through the snapshot"
                );
                journal.purge_through(snap.index)?;
            }
        }
        Ok(journal)
    }

    /// The configuration this journal was opened with.
    pub fn config(&self) -> &JournalConfig {
        &self.config
    }

    /// First index held in segments; `last_index() + 1` if they hold none.
    pub fn first_index(&self) -> u64 {
        self.segments
            .first()
            .map_or(self.next_index, |s| s.first_index)
    }

    /// Last appended index: 0 when nothing was ever written; the snapshot's
    /// index after a snapshot with empty segments.
    pub fn last_index(&self) -> u64 {
        self.next_index - 1
    }

    /// Term of the last entry (the snapshot's term if the segments hold none
    /// and the snapshot is at `last_index`, else 0).
    pub fn last_term(&self) -> u64 {
        self.last_term
    }

    /// Appends records with `term`; indexes are `last_index + 1 ..`. The batch
    /// is encoded into one buffer and written with one positional write.
    /// Not durable until [`sync`](Self::sync).
    pub fn append(
        &mut self,
        term: u64,
        records: &[(u8, &[u8])],
    ) -> Result<Vec<(u64, Position)>, JournalError> {
        let first = self.next_index;
        let positions =
            self.write_batch(records.iter().map(|&(kind, payload)| (kind, term, payload)))?;
        Ok(positions
            .into_iter()
            .enumerate()
            .map(|(i, p)| (first + i as u64, p))
            .collect())
    }

    /// Appends entries that already carry indexes (a Raft follower); the
    /// first must be `last_index + 1` and the rest contiguous, else
    /// [`JournalError::NotContiguous`] and nothing is written.
    pub fn append_entries(&mut self, entries: &[Entry]) -> Result<Vec<Position>, JournalError> {
        for (i, entry) in entries.iter().enumerate() {
            let expected = self.next_index + i as u64;
            if entry.index != expected {
                return Err(JournalError::NotContiguous {
                    expected,
                    got: entry.index,
                });
            }
        }
        self.write_batch(entries.iter().map(|e| (e.kind, e.term, &e.payload[..])))
    }

    fn write_batch<'a>(
        &mut self,
        records: impl ExactSizeIterator<Item = (u8, u64, &'a [u8])> + Clone,
    ) -> Result<Vec<Position>, JournalError> {
        let limit = self.config.max_record_size;
        let mut total = 0usize;
        for (_, _, payload) in records.clone() {
            if payload.len() > limit as usize {
                return Err(JournalError::RecordTooLarge {
                    size: payload.len(),
                    limit,
                });
            }
            total += encoded_len(payload.len());
        }
        if records.len() == 0 {
            return Ok(Vec::new());
        }
        self.ensure_active()?;
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        buf.reserve(total);
        let mut starts = Vec::with_capacity(records.len());
        let mut last_term = self.last_term;
        for (i, (kind, term, payload)) in records.enumerate() {
            starts.push(buf.len());
            encode_record(&mut buf, kind, term, self.next_index + i as u64, payload);
            last_term = term;
        }
        let result = self.write_encoded(&buf, &starts);
        // Keep a modest buffer around; don't pin a huge one.
        if buf.capacity() <= 8 * 1024 * 1024 {
            self.buf = buf;
        }
        let base = result?;
        let segment = self.active().first_index;
        let positions = starts
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                let end = starts.get(i + 1).copied().unwrap_or(total);
                Position {
                    segment,
                    offset: base + (s + HEADER_LEN) as u64,
                    len: (end - s - HEADER_LEN) as u32,
                }
            })
            .collect::<Vec<_>>();
        self.next_index += positions.len() as u64;
        self.last_term = last_term;
        Ok(positions)
    }

    /// Rolls if needed, writes; returns the file offset the batch starts at.
    fn write_encoded(&mut self, buf: &[u8], starts: &[usize]) -> Result<u64, JournalError> {
        let active = self.active();
        if active.size > 0 && active.size + buf.len() as u64 > self.config.segment_size {
            self.roll()?;
        }
        let preallocate = self.config.preallocate;
        let segment_size = self.config.segment_size;
        let active = self.active_mut();
        let base = active.size;
        let end = base + buf.len() as u64;
        // Out of zero-filled room: make more, up to the segment size.
        let zero_to = if preallocate > 0 && end > active.allocated {
            end.saturating_add(preallocate).min(segment_size.max(end))
        } else {
            0
        };
        active.write(buf, starts, zero_to)?;
        Ok(base)
    }

    /// Recreates the active segment if a failed truncate/purge left none.
    fn ensure_active(&mut self) -> Result<(), JournalError> {
        if self.segments.is_empty() {
            self.create_segment(self.next_index)?;
            self.sync_dir_if_dirty()?;
        }
        Ok(())
    }

    fn active(&self) -> &Segment {
        // `segments` is never empty after `open`.
        &self.segments[self.segments.len() - 1]
    }

    fn active_mut(&mut self) -> &mut Segment {
        let last = self.segments.len() - 1;
        &mut self.segments[last]
    }

    fn files_mut(&self) -> Result<std::sync::RwLockWriteGuard<'_, Files>, JournalError> {
        self.files
            .write()
            .map_err(|_| JournalError::Failed("journal file map lock poisoned".into()))
    }

    /// Starts a new active segment at `next_index`. The old active segment is
    /// trimmed to its last record and synced first (when syncing), so a
    /// segment that is not the last is always complete on disk and ends with
    /// a record: damage in it is corruption, never a torn write.
    fn roll(&mut self) -> Result<(), JournalError> {
        let sync = self.config.sync;
        if sync {
            let latency = Arc::clone(&self.config.fsync_latency);
            latency.time(|| self.active_mut().seal(true))?;
        } else {
            self.active_mut().seal(false)?;
        }
        self.create_segment(self.next_index)
    }

    fn create_segment(&mut self, first_index: u64) -> Result<(), JournalError> {
        let seg = Segment::create(&self.config.dir, first_index)?;
        self.files_mut()?
            .insert(first_index, (seg.path.clone(), Arc::clone(&seg.file)));
        self.segments.push(seg);
        self.dir_dirty = true;
        Ok(())
    }

    fn sync_dir_if_dirty(&mut self) -> Result<(), JournalError> {
        if self.dir_dirty {
            if self.config.sync {
                self.config
                    .fsync_latency
                    .time(|| snapshot::sync_dir(&self.config.dir))?;
            }
            self.dir_dirty = false;
        }
        Ok(())
    }

    /// What [`sync`](Self::sync) would fsync, taken out of the journal (the segments count
    /// as synced from here on) so that the fsync can run while whatever guards the journal
    /// is released: appends and reads go on meanwhile, and the fsync still covers every
    /// record written before this call. Empty when `config.sync` is false.
    pub fn take_pending_sync(&mut self) -> PendingSync {
        if !self.config.sync {
            return PendingSync::default();
        }
        let files = self
            .segments
            .iter_mut()
            .filter(|s| s.dirty)
            .map(|s| {
                s.dirty = false;
                (s.path.clone(), s.file.clone())
            })
            .collect();
        let dir = std::mem::take(&mut self.dir_dirty).then(|| self.config.dir.clone());
        PendingSync {
            files,
            dir,
            latency: Some(Arc::clone(&self.config.fsync_latency)),
        }
    }

    /// fdatasync every segment written since the last sync, and the directory
    /// if segment files were created. No-op when `config.sync` is false. After a failed
    /// fsync the journal is not retried (the kernel may have dropped the dirty pages):
    /// callers fail every waiter and stop.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        self.take_pending_sync().run()
    }

    /// Removes `segments[from..]` (newest first, so a crash leaves a
    /// contiguous log) and fsyncs the directory.
    fn remove_segments_from(&mut self, from: usize) -> Result<(), JournalError> {
        while self.segments.len() > from {
            let Some(seg) = self.segments.pop() else {
                break;
            };
            self.files_mut()?.remove(&seg.first_index);
            std::fs::remove_file(&seg.path).map_err(|e| JournalError::io(&seg.path, e))?;
            self.dir_dirty = true;
        }
        self.sync_dir_if_dirty()
    }

    /// Drops every entry with index > `index` (a Raft conflict); durable when
    /// it returns (unless `config.sync` is false). Later segments are removed
    /// whole; the one containing `index` is truncated.
    pub fn truncate_after(&mut self, index: u64) -> Result<(), JournalError> {
        if index >= self.last_index() {
            return Ok(());
        }
        self.ensure_active()?;
        // The segment that will hold `index` (and where appends continue).
        let keep = self.segments.partition_point(|s| s.first_index <= index);
        if keep == 0 {
            // Everything held is after `index`: start over at index + 1.
            self.remove_segments_from(0)?;
            self.next_index = index + 1;
            self.create_segment(index + 1)?;
            self.sync_dir_if_dirty()?;
        } else {
            self.remove_segments_from(keep)?;
            let seg = self.active_mut();
            let records = (index + 1 - seg.first_index) as usize;
            seg.truncate_records(records)?;
            if self.config.sync {
                let latency = Arc::clone(&self.config.fsync_latency);
                latency.time(|| self.active_mut().sync())?;
            }
            self.next_index = index + 1;
        }
        self.last_term = self.term_of_last()?;
        Ok(())
    }

    /// Deletes whole segment files whose entries are all ≤ `index`. The
    /// active segment is never deleted: if it lies entirely ≤ `index`, a fresh
    /// one is started first. If `index > last_index` (a snapshot from a Raft
    /// leader that is ahead of this log), every segment goes and the log
    /// continues at `index + 1` (`last_index()` becomes `index`). The caller
    /// guarantees a snapshot at ≥ `index` exists.
    pub fn purge_through(&mut self, index: u64) -> Result<(), JournalError> {
        let index = index.min(u64::MAX - 1);
        self.ensure_active()?;
        let last = self.last_index();
        if index > last {
            self.remove_segments_from(0)?;
            self.next_index = index + 1;
            self.create_segment(index + 1)?;
            self.sync_dir_if_dirty()?;
            self.last_term = match self.snapshot {
                Some(s) if s.index == index => s.term,
                _ => self.last_term,
            };
            return Ok(());
        }
        if self.active().first_index <= index {
            // The active segment holds only entries ≤ index (index == last).
            self.roll()?;
        }
        // Segments other than the active one, whose last index
        // (= next segment's first - 1) is ≤ index.
        let n = self.segments.len();
        let purge = (0..n - 1)
            .take_while(|&i| self.segments[i + 1].first_index - 1 <= index)
            .count();
        if purge == 0 {
            return self.sync_dir_if_dirty();
        }
        // Oldest first, so a crash leaves a contiguous suffix.
        let removed: Vec<Segment> = self.segments.drain(..purge).collect();
        for seg in removed {
            self.files_mut()?.remove(&seg.first_index);
            std::fs::remove_file(&seg.path).map_err(|e| JournalError::io(&seg.path, e))?;
            self.dir_dirty = true;
        }
        self.sync_dir_if_dirty()
    }

    /// The entry at `index`: `None` if it was never written (0 or beyond
    /// `last_index`), [`JournalError::Purged`] if it was purged.
    pub fn read(&self, index: u64) -> Result<Option<Entry>, JournalError> {
        Ok(self.read_with_position(index)?.map(|(e, _)| e))
    }

    /// Like [`read`](Self::read), with the record's position.
    pub fn read_with_position(
        &self,
        index: u64,
    ) -> Result<Option<(Entry, Position)>, JournalError> {
        if index == 0 || index > self.last_index() {
            return Ok(None);
        }
        if index < self.first_index() {
            return Err(JournalError::Purged {
                index_or_segment: index,
            });
        }
        let i = self.segments.partition_point(|s| s.first_index <= index) - 1;
        let seg = &self.segments[i];
        if !seg.contains(index) {
            return Ok(None);
        }
        seg.read(index, self.config.max_record_size).map(Some)
    }

    /// Where the payload of the record with `index` lies (for [`JournalReader`] reads),
    /// without reading it: `None` if it is not held (never written, or purged).
    pub fn position(&self, index: u64) -> Option<Position> {
        if index < self.first_index() || index > self.last_index() {
            return None;
        }
        let i = self.segments.partition_point(|s| s.first_index <= index);
        self.segments.get(i.checked_sub(1)?)?.position(index)
    }

    /// Sequential iterator from `from` (clamped to `first_index`) to
    /// `last_index`, with positions. Used for recovery/replay.
    pub fn entries(&self, from: u64) -> Result<EntryIter, JournalError> {
        let from = from.max(self.first_index());
        let last = self.last_index();
        let mut cursors = VecDeque::new();
        if from <= last {
            for seg in self.segments.iter().filter(|s| s.count() > 0) {
                let seg_last = seg.next_index() - 1;
                if seg_last < from {
                    continue;
                }
                let start_index = from.max(seg.first_index);
                cursors.push_back(SegmentCursor {
                    first_index: seg.first_index,
                    path: seg.path.clone(),
                    file: Arc::clone(&seg.file),
                    start: seg.offsets[(start_index - seg.first_index) as usize],
                    end: seg.size,
                    next_index: start_index,
                    last_index: seg_last,
                });
            }
        }
        Ok(EntryIter::new(cursors, self.config.max_record_size))
    }

    /// A cheap, cloneable, `Send + Sync` handle reading payloads by position.
    pub fn reader(&self) -> JournalReader {
        JournalReader {
            files: Arc::clone(&self.files),
            max_record_size: self.config.max_record_size,
        }
    }

    /// Bytes of records in all segments plus the snapshot file (the active
    /// segment's zero-filled room, at most `preallocate` bytes, is not
    /// counted).
    pub fn disk_size(&self) -> u64 {
        self.segments.iter().map(|s| s.size).sum::<u64>() + self.snapshot_size
    }

    /// Number of segment files.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Writes a snapshot atomically (tmp file, fdatasync, rename, fsync dir),
    /// replacing the previous one. Does not purge.
    pub fn write_snapshot(&mut self, meta: SnapshotMeta, data: &[u8]) -> Result<(), JournalError> {
        let written = self.snapshot_writer().write(meta, data)?;
        self.adopt_snapshot(written);
        Ok(())
    }

    /// What writes a snapshot file for this journal without the journal itself, so that
    /// whatever guards the journal need not be held while a large snapshot is written and
    /// fsynced (appends and reads go on meanwhile). One writer at a time; the journal takes
    /// the snapshot as its own with [`adopt_snapshot`](Self::adopt_snapshot).
    pub fn snapshot_writer(&self) -> SnapshotWriter {
        SnapshotWriter {
            dir: self.config.dir.clone(),
            sync: self.config.sync,
        }
    }

    /// Records a snapshot that [`SnapshotWriter::write`] put in place.
    pub fn adopt_snapshot(&mut self, written: WrittenSnapshot) {
        self.snapshot_size = written.size;
        self.snapshot = Some(written.meta);
    }

    /// The current snapshot's meta, if there is one.
    pub fn snapshot_meta(&self) -> Option<SnapshotMeta> {
        self.snapshot
    }

    /// Loads the snapshot's data (CRC-checked).
    pub fn read_snapshot(&self) -> Result<Option<(SnapshotMeta, Bytes)>, JournalError> {
        snapshot::read(&self.config.dir)
    }

    /// Term of the entry at `last_index`, from disk.
    fn term_of_last(&self) -> Result<u64, JournalError> {
        let last = self.last_index();
        if last >= self.first_index() && last > 0 {
            if let Some(entry) = self.read(last)? {
                return Ok(entry.term);
            }
        }
        Ok(match self.snapshot {
            Some(s) if s.index == last => s.term,
            _ => 0,
        })
    }

    #[cfg(test)]
    pub(crate) fn dir(&self) -> &std::path::Path {
        &self.config.dir
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::segment::Segment;
    use proptest::prelude::*;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Tests run with zero-filled room after the records (the demanding case
    /// for recovery); `model_agrees` also covers none.
    pub(crate) fn config(dir: &Path, segment_size: u64) -> JournalConfig {
        JournalConfig {
            segment_size,
            sync: false,
            preallocate: JournalConfig::DEFAULT_PREALLOCATE,
            ..JournalConfig::new(dir)
        }
    }

    fn payload(i: u64) -> Vec<u8> {
        format!("payload number {i} {}", "x".repeat((i % 7) as usize)).into_bytes()
    }

    fn append_n(j: &mut Journal, term: u64, n: u64) -> Vec<(u64, Position)> {
        let start = j.last_index() + 1;
        let payloads: Vec<Vec<u8>> = (start..start + n).map(payload).collect();
        let records: Vec<(u8, &[u8])> = payloads.iter().map(|p| (1u8, &p[..])).collect();
        j.append(term, &records).unwrap()
    }

    fn segment_files(dir: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        v.sort();
        v
    }

    /// Counts WARN events emitted on this thread.
    struct WarnCounter(Arc<AtomicUsize>);

    impl tracing::Subscriber for WarnCounter {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            if *event.metadata().level() == tracing::Level::WARN {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }

    pub(crate) fn count_warnings<R>(f: impl FnOnce() -> R) -> (R, usize) {
        let n = Arc::new(AtomicUsize::new(0));
        let r = tracing::subscriber::with_default(WarnCounter(Arc::clone(&n)), f);
        let count = n.load(Ordering::SeqCst);
        (r, count)
    }

    #[test]
    fn empty_journal() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(config(dir.path(), 1024)).unwrap();
        assert_eq!(j.last_index(), 0);
        assert_eq!(j.first_index(), 1);
        assert_eq!(j.last_term(), 0);
        assert_eq!(j.read(0).unwrap(), None);
        assert_eq!(j.read(1).unwrap(), None);
        assert_eq!(j.entries(0).unwrap().count(), 0);
        assert_eq!(j.segment_count(), 1);
        assert_eq!(j.snapshot_meta(), None);
        assert!(j.read_snapshot().unwrap().is_none());
    }

    /// `position` agrees with what a read reports, across segments, after a reopen, and
    /// knows nothing of purged or unwritten indexes.
    #[test]
    fn position_matches_reads_without_reading() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(config(dir.path(), 256)).unwrap();
        for _ in 0..10 {
            append_n(&mut j, 1, 4);
        }
        assert!(j.segment_count() > 2, "spans several segments");
        let check = |j: &Journal| {
            for index in j.first_index()..=j.last_index() {
                let (entry, read_at) = j.read_with_position(index).unwrap().unwrap();
                assert_eq!(j.position(index), Some(read_at), "index {index}");
                let via_reader = j.reader().read_payload(read_at).unwrap();
                assert_eq!(via_reader, entry.payload);
            }
            assert_eq!(j.position(0), None);
            assert_eq!(j.position(j.last_index() + 1), None);
        };
        check(&j);
        j.purge_through(10).unwrap();
        assert!(j.first_index() > 1);
        assert_eq!(j.position(1), None, "purged");
        check(&j);
        drop(j);
        let j = Journal::open(config(dir.path(), 256)).unwrap();
        check(&j);
    }

    #[test]
    fn append_read_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path(), 1 << 20);
        cfg.sync = true;
        let mut j = Journal::open(cfg.clone()).unwrap();
        let a = j
            .append(1, &[(7, b"one"), (8, b""), (9, b"three")])
            .unwrap();
        assert_eq!(a.iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![1, 2, 3]);
        let b = j.append(2, &[(10, b"four")]).unwrap();
        assert_eq!(b[0].0, 4);
        assert!(j.append(2, &[]).unwrap().is_empty());
        j.sync().unwrap();
        assert_eq!(j.last_index(), 4);
        assert_eq!(j.last_term(), 2);
        let check = |j: &Journal| {
            let e = j.read(3).unwrap().unwrap();
            assert_eq!(
                (e.term, e.index, e.kind, &e.payload[..]),
                (1, 3, 9, &b"three"[..])
            );
            assert_eq!(j.read(2).unwrap().unwrap().payload.len(), 0);
            assert_eq!(j.read(4).unwrap().unwrap().kind, 10);
            assert_eq!(j.read(5).unwrap(), None);
            let all: Vec<_> = j.entries(0).unwrap().map(|r| r.unwrap()).collect();
            assert_eq!(all.len(), 4);
            let reader = j.reader();
            for (entry, pos) in &all {
                assert_eq!(reader.read_payload(*pos).unwrap(), entry.payload);
                assert_eq!(j.read(entry.index).unwrap().as_ref(), Some(entry));
            }
            assert_eq!(all[2].1, a[2].1);
            assert_eq!(all[3].1, b[0].1);
            let from3: Vec<u64> = j.entries(3).unwrap().map(|r| r.unwrap().0.index).collect();
            assert_eq!(from3, vec![3, 4]);
        };
        check(&j);
        let size = j.disk_size();
        drop(j);
        let mut j = Journal::open(cfg).unwrap();
        assert_eq!(j.last_index(), 4);
        assert_eq!(j.last_term(), 2);
        assert_eq!(j.disk_size(), size);
        check(&j);
        // append_entries
        let e5 = Entry {
            term: 3,
            index: 5,
            kind: 1,
            payload: Bytes::from_static(b"5"),
        };
        let e7 = Entry {
            term: 3,
            index: 7,
            kind: 1,
            payload: Bytes::from_static(b"7"),
        };
        assert!(matches!(
            j.append_entries(std::slice::from_ref(&e7)),
            Err(JournalError::NotContiguous {
                expected: 5,
                got: 7
            })
        ));
        assert!(matches!(
            j.append_entries(&[e5.clone(), e7]),
            Err(JournalError::NotContiguous {
                expected: 6,
                got: 7
            })
        ));
        assert_eq!(j.last_index(), 4);
        let p = j.append_entries(std::slice::from_ref(&e5)).unwrap();
        assert_eq!(j.reader().read_payload(p[0]).unwrap(), e5.payload);
        assert_eq!(j.read(5).unwrap(), Some(e5));
        assert_eq!(j.last_term(), 3);
        // Record size limit.
        // A journal whose records exceed a (lowered) limit is corrupt to it.
        drop(j);
        let mut small = config(dir.path(), 1 << 20);
        small.max_record_size = 4;
        assert!(matches!(
            Journal::open(small.clone()),
            Err(JournalError::Corrupt { .. })
        ));
        let dir2 = tempfile::tempdir().unwrap();
        small.dir = dir2.path().to_path_buf();
        let mut j = Journal::open(small).unwrap();
        assert!(matches!(
            j.append(3, &[(1, b"1234"), (1, b"12345")]),
            Err(JournalError::RecordTooLarge { size: 5, limit: 4 })
        ));
        assert_eq!(j.last_index(), 0);
        assert_eq!(j.append(3, &[(1, b"1234")]).unwrap()[0].0, 1);
    }

    #[test]
    fn reader_on_other_thread_while_appending() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(config(dir.path(), 4096)).unwrap();
        let reader = j.reader();
        let (tx, rx) = std::sync::mpsc::channel::<(u64, Position)>();
        let t = std::thread::spawn(move || {
            let mut n = 0;
            for (index, pos) in rx {
                assert_eq!(reader.read_payload(pos).unwrap(), payload(index));
                n += 1;
            }
            n
        });
        for _ in 0..200 {
            for (i, p) in append_n(&mut j, 0, 3) {
                tx.send((i, p)).unwrap();
            }
        }
        drop(tx);
        assert_eq!(t.join().unwrap(), 600);
        assert!(j.segment_count() > 1);
    }

    #[test]
    fn segments_roll() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), 200);
        let mut j = Journal::open(cfg.clone()).unwrap();
        let mut positions = Vec::new();
        for _ in 0..50 {
            positions.extend(append_n(&mut j, 1, 1));
        }
        // A batch larger than the segment size goes whole into one segment.
        positions.extend(append_n(&mut j, 1, 10));
        assert_eq!(j.last_index(), 60);
        let files = segment_files(dir.path());
        assert_eq!(files.len(), j.segment_count());
        assert!(files.len() > 10, "{}", files.len());
        assert_eq!(files[0].file_name().unwrap(), "00000000000000000001.log");
        for f in &files[..files.len() - 1] {
            assert!(std::fs::metadata(f).unwrap().len() <= 200);
        }
        let last = positions.last().unwrap().1;
        assert_eq!(positions[50].1.segment, last.segment);
        assert_eq!(positions[50].1.segment, 51);
        drop(j);
        let j = Journal::open(cfg).unwrap();
        assert_eq!(j.last_index(), 60);
        let got: Vec<_> = j.entries(17).unwrap().map(|r| r.unwrap()).collect();
        assert_eq!(got.len(), 44);
        for (k, (e, p)) in got.iter().enumerate() {
            assert_eq!(e.index, 17 + k as u64);
            assert_eq!(&e.payload[..], &payload(e.index)[..]);
            assert_eq!(*p, positions[e.index as usize - 1].1);
            assert_eq!(j.reader().read_payload(*p).unwrap(), e.payload);
        }
    }

    #[test]
    fn torn_tail_at_every_offset() {
        let src = tempfile::tempdir().unwrap();
        let mut j = Journal::open(config(src.path(), 1 << 20)).unwrap();
        append_n(&mut j, 1, 4);
        let last = append_n(&mut j, 1, 1)[0].1;
        drop(j);
        let file = src.path().join(Segment::file_name(1));
        let bytes = std::fs::read(&file).unwrap();
        let start = last.offset as usize - HEADER_LEN;
        let end = start + HEADER_LEN + last.len as usize;
        // The rest is the zero-filled room.
        assert_eq!(bytes.len() as u64, 1 << 20);
        assert!(bytes[end..].iter().all(|&b| b == 0));
        let bytes = &bytes[..end];
        // A write torn at every byte, in a file that was appended to (ends
        // there) or one with zero-filled room after the records.
        for (cut, room) in (start..end).flat_map(|cut| [(cut, 0), (cut, 4096)]) {
            let dir = tempfile::tempdir().unwrap();
            let mut torn = bytes[..cut].to_vec();
            torn.resize(cut + room, 0);
            std::fs::write(dir.path().join(Segment::file_name(1)), &torn).unwrap();
            let (j, warnings) = count_warnings(|| Journal::open(config(dir.path(), 1 << 20)));
            let mut j = j.unwrap();
            assert_eq!(j.last_index(), 4, "cut at {cut}");
            assert_eq!(warnings, usize::from(cut > start), "cut at {cut}");
            let len = std::fs::metadata(dir.path().join(Segment::file_name(1)))
                .unwrap()
                .len();
            // A torn record is cut off with the room after it; zeros right
            // after the last record are room and stay.
            let expect = if cut > start { start } else { start + room };
            assert_eq!(len, expect as u64, "cut at {cut}");
            assert_eq!(append_n(&mut j, 2, 1)[0].0, 5);
            drop(j);
            let j = Journal::open(config(dir.path(), 1 << 20)).unwrap();
            assert_eq!(j.last_index(), 5);
            assert_eq!(j.last_term(), 2);
        }
    }

    #[test]
    fn garbage_at_tail() {
        for (garbage, room) in [
            (vec![0xffu8; 3], 0),
            ((0..=255u8).cycle().take(1000).collect(), 0),
            (vec![0xffu8; 3], 4096),
            ((1..=255u8).cycle().take(1000).collect(), 70_000),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let mut j = Journal::open(config(dir.path(), 1 << 20)).unwrap();
            let pos = append_n(&mut j, 1, 5);
            drop(j);
            let file = dir.path().join(Segment::file_name(1));
            let mut bytes = std::fs::read(&file).unwrap();
            let good = (pos[4].1.offset + u64::from(pos[4].1.len)) as usize;
            bytes.truncate(good);
            bytes.extend_from_slice(&garbage);
            bytes.resize(bytes.len() + room, 0);
            std::fs::write(&file, &bytes).unwrap();
            let (j, warnings) = count_warnings(|| Journal::open(config(dir.path(), 1 << 20)));
            let j = j.unwrap();
            assert_eq!(j.last_index(), 5);
            assert_eq!(warnings, 1);
            assert_eq!(std::fs::metadata(&file).unwrap().len(), good as u64);
        }
    }

    /// Zeros after the last record are the preallocated room, not damage:
    /// kept as they are, no warning, and appends go into them.
    #[test]
    fn zero_filled_room() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path(), 1 << 20);
        cfg.preallocate = 1000;
        let mut j = Journal::open(cfg.clone()).unwrap();
        let file = dir.path().join(Segment::file_name(1));
        let len = || std::fs::metadata(&file).unwrap().len();
        let pos = append_n(&mut j, 1, 3);
        let end = pos[2].1.offset + u64::from(pos[2].1.len);
        assert_eq!(len(), end + 1000);
        assert_eq!(j.disk_size(), end);
        // The next batch fits into the room: the file size does not change.
        let pos = append_n(&mut j, 1, 2);
        assert_eq!(len(), end + 1000);
        let end2 = pos[1].1.offset + u64::from(pos[1].1.len);
        drop(j);
        for room in [0u64, 1, 4096, 100_000] {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&file)
                .unwrap()
                .set_len(end2 + room)
                .unwrap();
            let (j, warnings) = count_warnings(|| Journal::open(cfg.clone()));
            let j = j.unwrap();
            assert_eq!((j.last_index(), warnings), (5, 0), "room {room}");
            assert_eq!(len(), end2 + room);
            assert_eq!(j.disk_size(), end2);
            assert_eq!(j.entries(0).unwrap().count(), 5);
        }
        // Appending past the room makes more (never past the segment size).
        let mut j = Journal::open(cfg.clone()).unwrap();
        let big = vec![7u8; 150_000];
        let p = j.append(1, &[(1, &big[..])]).unwrap();
        let end3 = p[0].1.offset + u64::from(p[0].1.len);
        assert_eq!(len(), end3 + 1000);
        let p = j.append(1, &[(1, &big[..]); 5]).unwrap();
        let end4 = p[4].1.offset + u64::from(p[4].1.len);
        assert_eq!(len(), end4 + 1000);
        let fill = vec![7u8; ((1 << 20) - 500 - end4) as usize - HEADER_LEN];
        let p = j.append(1, &[(1, &fill[..])]).unwrap();
        assert_eq!(p[0].1.offset + u64::from(p[0].1.len), (1 << 20) - 500);
        assert_eq!(len(), 1 << 20);
        assert_eq!(j.segment_count(), 1);
        // Damage in the middle is still an error with room after the records.
        drop(j);
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[pos[0].1.offset as usize] ^= 1;
        std::fs::write(&file, &bytes).unwrap();
        assert!(matches!(
            Journal::open(cfg.clone()),
            Err(JournalError::Corrupt { .. })
        ));
        // A valid record whose last bytes are zeros, after a damaged one, is
        // found even though it runs into the zeros at the end.
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path(), 1 << 20);
        cfg.preallocate = 4096;
        let mut j = Journal::open(cfg.clone()).unwrap();
        let p = j.append(1, &[(1, b"first"), (1, &[0u8; 100])]).unwrap();
        drop(j);
        let file = dir.path().join(Segment::file_name(1));
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[p[0].1.offset as usize] ^= 1;
        std::fs::write(&file, &bytes).unwrap();
        assert!(matches!(
            Journal::open(cfg.clone()),
            Err(JournalError::Corrupt { .. })
        ));
    }

    /// A segment that is not the last has no room after its records: rolling
    /// trims it, so zeros at its end are damage (a lost record).
    #[test]
    fn rolled_segments_are_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path(), 300);
        cfg.preallocate = 120;
        cfg.sync = true;
        let mut j = Journal::open(cfg.clone()).unwrap();
        let mut positions = Vec::new();
        for _ in 0..20 {
            positions.extend(append_n(&mut j, 1, 1));
        }
        let files = segment_files(dir.path());
        assert!(files.len() > 3);
        let mut ends = std::collections::HashMap::new();
        for (_, p) in &positions {
            ends.insert(p.segment, p.offset + u64::from(p.len));
        }
        for f in &files[..files.len() - 1] {
            let first = Segment::parse_name(f.file_name().unwrap().to_str().unwrap()).unwrap();
            assert_eq!(std::fs::metadata(f).unwrap().len(), ends[&first]);
        }
        let last = files.last().unwrap();
        assert!(
            std::fs::metadata(last).unwrap().len()
                > ends[&j.segments[j.segments.len() - 1].first_index]
        );
        drop(j);
        assert_eq!(Journal::open(cfg.clone()).unwrap().last_index(), 20);
        let mut bytes = std::fs::read(&files[0]).unwrap();
        bytes.resize(bytes.len() + 50, 0);
        std::fs::write(&files[0], &bytes).unwrap();
        assert!(matches!(
            Journal::open(cfg),
            Err(JournalError::Corrupt { .. })
        ));
    }

    #[test]
    fn corruption_mid_log_is_an_error() {
        // A flipped byte in a record followed by valid records.
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(config(dir.path(), 1 << 20)).unwrap();
        let pos = append_n(&mut j, 1, 5);
        drop(j);
        let file = dir.path().join(Segment::file_name(1));
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[pos[1].1.offset as usize] ^= 0x40;
        std::fs::write(&file, &bytes).unwrap();
        match Journal::open(config(dir.path(), 1 << 20)) {
            Err(JournalError::Corrupt { path, offset, .. }) => {
                assert_eq!(path, file);
                assert_eq!(offset, pos[1].1.offset - HEADER_LEN as u64);
            }
            other => panic!("{other:?}"),
        }
        // A damaged length field (claims more than is left) mid-log.
        bytes[pos[1].1.offset as usize] ^= 0x40;
        let start = pos[2].1.offset as usize - HEADER_LEN;
        bytes[start + 3] = 0x01; // length += 16 MiB
        std::fs::write(&file, &bytes).unwrap();
        assert!(matches!(
            Journal::open(config(dir.path(), 1 << 20)),
            Err(JournalError::Corrupt { .. })
        ));

        // Damage at the end of a segment that is not the last.
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(config(dir.path(), 100)).unwrap();
        for _ in 0..10 {
            append_n(&mut j, 1, 1);
        }
        drop(j);
        let files = segment_files(dir.path());
        assert!(files.len() >= 3);
        let mut bytes = std::fs::read(&files[0]).unwrap();
        let n = bytes.len();
        bytes[n - 1] ^= 1;
        std::fs::write(&files[0], &bytes).unwrap();
        match Journal::open(config(dir.path(), 100)) {
            Err(JournalError::Corrupt { path, .. }) => assert_eq!(path, files[0]),
            other => panic!("{other:?}"),
        }
        bytes[n - 1] ^= 1;
        std::fs::write(&files[0], &bytes[..n - 1]).unwrap();
        assert!(matches!(
            Journal::open(config(dir.path(), 100)),
            Err(JournalError::Corrupt { .. })
        ));
        std::fs::write(&files[0], &bytes).unwrap();
        assert!(Journal::open(config(dir.path(), 100)).is_ok());

        // A missing segment in the middle: a gap.
        std::fs::remove_file(&files[1]).unwrap();
        match Journal::open(config(dir.path(), 100)) {
            Err(JournalError::Corrupt {
                path, offset: 0, ..
            }) => assert_eq!(path, files[2]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn truncate_after_then_append() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), 150);
        let mut j = Journal::open(cfg.clone()).unwrap();
        for t in 1..=20 {
            append_n(&mut j, t, 1);
        }
        let segs = j.segment_count();
        assert!(segs > 3);
        j.truncate_after(7).unwrap();
        assert_eq!(j.last_index(), 7);
        assert_eq!(j.last_term(), 7);
        assert!(j.segment_count() < segs);
        assert_eq!(j.read(8).unwrap(), None);
        j.truncate_after(100).unwrap();
        assert_eq!(j.last_index(), 7);
        let p = j
            .append(50, &[(3, b"new eight"), (3, b"new nine")])
            .unwrap();
        assert_eq!(p[0].0, 8);
        assert_eq!(&j.read(8).unwrap().unwrap().payload[..], b"new eight");
        drop(j);
        let mut j = Journal::open(cfg.clone()).unwrap();
        assert_eq!(j.last_index(), 9);
        assert_eq!(j.last_term(), 50);
        let idx: Vec<u64> = j.entries(1).unwrap().map(|r| r.unwrap().0.index).collect();
        assert_eq!(idx, (1..=9).collect::<Vec<_>>());
        assert_eq!(&j.read(7).unwrap().unwrap().payload[..], &payload(7)[..]);
        j.truncate_after(0).unwrap();
        assert_eq!((j.first_index(), j.last_index(), j.last_term()), (1, 0, 0));
        assert_eq!(segment_files(dir.path()).len(), 1);
        append_n(&mut j, 1, 2);
        drop(j);
        let j = Journal::open(cfg).unwrap();
        assert_eq!(j.last_index(), 2);
    }

    #[test]
    fn purge_through_deletes_whole_segments() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), 150);
        let mut j = Journal::open(cfg.clone()).unwrap();
        let mut positions = Vec::new();
        for _ in 0..30 {
            positions.extend(append_n(&mut j, 1, 1));
        }
        let firsts: Vec<u64> = j.segments.iter().map(|s| s.first_index).collect();
        j.purge_through(12).unwrap();
        // Kept: the segment containing 13 and everything after.
        let keep_from = *firsts.iter().filter(|&&f| f <= 13).max().unwrap();
        assert_eq!(j.first_index(), keep_from);
        assert!(keep_from <= 13);
        let files = segment_files(dir.path());
        assert_eq!(
            files[0].file_name().unwrap().to_str().unwrap(),
            Segment::file_name(keep_from)
        );
        assert_eq!(
            files.len(),
            firsts.iter().filter(|&&f| f >= keep_from).count()
        );
        assert!(matches!(
            j.read(keep_from - 1),
            Err(JournalError::Purged { index_or_segment }) if index_or_segment == keep_from - 1
        ));
        assert!(matches!(
            j.reader().read_payload(positions[0].1),
            Err(JournalError::Purged {
                index_or_segment: 1
            })
        ));
        assert_eq!(
            j.reader().read_payload(positions[12].1).unwrap(),
            payload(13)
        );
        let from: Vec<u64> = j.entries(1).unwrap().map(|r| r.unwrap().0.index).collect();
        assert_eq!(from, (keep_from..=30).collect::<Vec<_>>());
        drop(j);
        let mut j = Journal::open(cfg.clone()).unwrap();
        assert_eq!((j.first_index(), j.last_index()), (keep_from, 30));
        // Purging everything rolls a fresh active segment.
        j.purge_through(30).unwrap();
        assert_eq!(
            (j.first_index(), j.last_index(), j.segment_count()),
            (31, 30, 1)
        );
        assert_eq!(j.last_term(), 1);
        assert_eq!(segment_files(dir.path()).len(), 1);
        assert_eq!(j.entries(0).unwrap().count(), 0);
        drop(j);
        let mut j = Journal::open(cfg.clone()).unwrap();
        assert_eq!((j.first_index(), j.last_index()), (31, 30));
        assert_eq!(append_n(&mut j, 2, 1)[0].0, 31);
        // Purging beyond the log (snapshot from a leader) jumps ahead.
        j.purge_through(100).unwrap();
        assert_eq!((j.first_index(), j.last_index()), (101, 100));
        assert_eq!(append_n(&mut j, 2, 1)[0].0, 101);
        drop(j);
        let j = Journal::open(cfg).unwrap();
        assert_eq!((j.first_index(), j.last_index()), (101, 101));
    }

    #[test]
    fn snapshots() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path(), 150);
        cfg.sync = true;
        let mut j = Journal::open(cfg.clone()).unwrap();
        for _ in 0..20 {
            append_n(&mut j, 3, 1);
        }
        let m1 = SnapshotMeta { index: 10, term: 3 };
        j.write_snapshot(m1, b"state at ten").unwrap();
        assert_eq!(j.snapshot_meta(), Some(m1));
        let (m, data) = j.read_snapshot().unwrap().unwrap();
        assert_eq!((m, &data[..]), (m1, &b"state at ten"[..]));
        let m2 = SnapshotMeta { index: 20, term: 3 };
        j.write_snapshot(m2, b"state at twenty").unwrap();
        assert!(!dir.path().join("snapshot.tmp").exists());
        assert_eq!(
            j.read_snapshot().unwrap().unwrap().1,
            Bytes::from_static(b"state at twenty")
        );
        j.purge_through(20).unwrap();
        assert_eq!(j.segment_count(), 1);
        drop(j);
        // A leftover tmp file from a crash mid-write is ignored and removed.
        std::fs::write(dir.path().join("snapshot.tmp"), b"half a snap").unwrap();
        let (j, _) = count_warnings(|| Journal::open(cfg.clone()));
        let mut j = j.unwrap();
        assert!(!dir.path().join("snapshot.tmp").exists());
        assert_eq!(j.snapshot_meta(), Some(m2));
        assert_eq!(
            (j.first_index(), j.last_index(), j.last_term()),
            (21, 20, 3)
        );
        assert_eq!(append_n(&mut j, 4, 1)[0].0, 21);
        drop(j);

        // Snapshot only, no segment files at all.
        for f in segment_files(dir.path()) {
            std::fs::remove_file(f).unwrap();
        }
        let j = Journal::open(cfg.clone()).unwrap();
        assert_eq!(
            (j.first_index(), j.last_index(), j.last_term()),
            (21, 20, 3)
        );
        drop(j);

        // A log that ends before the snapshot is purged through it.
        let dir2 = tempfile::tempdir().unwrap();
        let mut j = Journal::open(config(dir2.path(), 150)).unwrap();
        append_n(&mut j, 1, 5);
        j.write_snapshot(SnapshotMeta { index: 9, term: 2 }, b"s")
            .unwrap();
        drop(j);
        let (j, _) = count_warnings(|| Journal::open(config(dir2.path(), 150)));
        let j = j.unwrap();
        assert_eq!((j.first_index(), j.last_index(), j.last_term()), (10, 9, 2));

        // A damaged snapshot is reported.
        let snap = dir.path().join("snapshot");
        let mut bytes = std::fs::read(&snap).unwrap();
        let n = bytes.len();
        bytes[n - 1] ^= 1;
        std::fs::write(&snap, &bytes).unwrap();
        let j = Journal::open(cfg.clone()).unwrap();
        assert!(matches!(
            j.read_snapshot(),
            Err(JournalError::Corrupt { .. })
        ));
        drop(j);
        bytes[10] ^= 1;
        std::fs::write(&snap, &bytes).unwrap();
        assert!(matches!(
            Journal::open(cfg),
            Err(JournalError::Corrupt { .. })
        ));
    }

    /// Every fsync of a synced journal lands in the histogram its config shares (one per
    /// batch that wrote something, none for a sync with nothing to do); a journal opened
    /// with `sync: false` records none.
    #[test]
    fn fsyncs_are_recorded_in_the_shared_histogram() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path(), 1 << 20);
        cfg.sync = true;
        let latency = Arc::clone(&cfg.fsync_latency);
        let mut j = Journal::open(cfg.clone()).unwrap();
        let after_open = latency.snapshot().count;
        for _ in 0..5 {
            append_n(&mut j, 1, 1);
            j.sync().unwrap();
        }
        j.sync().unwrap();
        let s = latency.snapshot();
        assert_eq!(s.count - after_open, 5, "{s:?}");
        assert!(s.sum > std::time::Duration::ZERO);
        drop(j);

        let quiet = config(dir.path(), 1 << 20);
        let mut j = Journal::open(quiet.clone()).unwrap();
        append_n(&mut j, 1, 3);
        j.sync().unwrap();
        assert_eq!(quiet.fsync_latency.snapshot().count, 0);
    }

    /// Prints the cost of one small append + fdatasync here (run with
    /// `--nocapture` to see it).
    #[test]
    fn measure_sync_latency() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path(), 1 << 20);
        cfg.sync = true;
        let mut j = Journal::open(cfg).unwrap();
        append_n(&mut j, 1, 1);
        j.sync().unwrap();
        let rounds = 50u32;
        let started = std::time::Instant::now();
        for _ in 0..rounds {
            append_n(&mut j, 1, 1);
            j.sync().unwrap();
        }
        let each = started.elapsed() / rounds;
        println!(
            "append + fdatasync of one small record: {each:?} (in {})",
            j.dir().display()
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        Append { term_bump: bool, sizes: Vec<usize> },
        Truncate(u8),
        Purge(u8),
        Reopen,
        Sync,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            5 => (any::<bool>(), proptest::collection::vec(0usize..60, 1..6))
                .prop_map(|(term_bump, sizes)| Op::Append { term_bump, sizes }),
            2 => any::<u8>().prop_map(Op::Truncate),
            2 => any::<u8>().prop_map(Op::Purge),
            1 => Just(Op::Reopen),
            1 => Just(Op::Sync),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        #[test]
        fn model_agrees(
            ops in proptest::collection::vec(op(), 1..40),
            preallocate in prop_oneof![Just(0u64), 1u64..100, Just(4096)],
        ) {
            let dir = tempfile::tempdir().unwrap();
            let cfg = JournalConfig { preallocate, ..config(dir.path(), 160) };
            let mut j = Journal::open(cfg.clone()).unwrap();
            // model[i] is the entry with index i + 1; entries below `first` are purged.
            let mut model: Vec<Entry> = Vec::new();
            let mut first = 1u64;
            let mut term = 1u64;
            for (n, op) in ops.into_iter().enumerate() {
                match op {
                    Op::Append { term_bump, sizes } => {
                        if term_bump { term += 1; }
                        let payloads: Vec<Vec<u8>> = sizes.iter().enumerate()
                            .map(|(k, &s)| vec![(n + k) as u8; s]).collect();
                        let records: Vec<(u8, &[u8])> =
                            payloads.iter().map(|p| (n as u8, &p[..])).collect();
                        let got = j.append(term, &records).unwrap();
                        for ((index, _), p) in got.iter().zip(payloads) {
                            prop_assert_eq!(*index, model.len() as u64 + 1);
                            model.push(Entry { term, index: *index, kind: n as u8, payload: p.into() });
                        }
                    }
                    Op::Truncate(x) => {
                        // Raft never truncates below what it purged.
                        let last = model.len() as u64;
                        let lo = first - 1;
                        let at = lo + u64::from(x) % (last - lo + 1);
                        j.truncate_after(at).unwrap();
                        model.truncate(at as usize);
                    }
                    Op::Purge(x) => {
                        let last = model.len() as u64;
                        let at = u64::from(x) % (last + 2);
                        if at > last {
                            // Jump ahead: model a snapshot-installed log.
                            j.purge_through(at).unwrap();
                            let t = j.last_term();
                            while (model.len() as u64) < at {
                                let index = model.len() as u64 + 1;
                                model.push(Entry { term: t, index, kind: 0, payload: Bytes::new() });
                            }
                            first = at + 1;
                        } else {
                            j.purge_through(at).unwrap();
                            let f = j.first_index();
                            prop_assert!(f >= first, "first went back");
                            prop_assert!(f <= at.max(first - 1) + 1, "purged too much");
                            if at == last { prop_assert_eq!(f, last + 1); }
                            first = f;
                        }
                    }
                    Op::Reopen => {
                        drop(j);
                        j = Journal::open(cfg.clone()).unwrap();
                    }
                    Op::Sync => j.sync().unwrap(),
                }
                let last = model.len() as u64;
                prop_assert_eq!(j.last_index(), last);
                prop_assert_eq!(j.first_index(), first);
                if last >= first {
                    prop_assert_eq!(j.last_term(), model[last as usize - 1].term);
                }
                let reader = j.reader();
                let mut expect = first;
                for item in j.entries(0).unwrap() {
                    let (entry, pos) = item.unwrap();
                    prop_assert_eq!(&entry, &model[expect as usize - 1]);
                    prop_assert_eq!(reader.read_payload(pos).unwrap(), entry.payload.clone());
                    expect += 1;
                }
                prop_assert_eq!(expect, last + 1);
                for i in first..=last {
                    prop_assert_eq!(j.read(i).unwrap(), Some(model[i as usize - 1].clone()));
                }
                prop_assert_eq!(j.read(last + 1).unwrap(), None);
                prop_assert_eq!(j.segment_count(), segment_files(dir.path()).len());
            }
        }
    }
}

/// Writes a journal's snapshot file (see [`Journal::snapshot_writer`]).
#[derive(Debug, Clone)]
pub struct SnapshotWriter {
    dir: std::path::PathBuf,
    sync: bool,
}

/// A snapshot file in place, for [`Journal::adopt_snapshot`].
#[derive(Debug, Clone, Copy)]
pub struct WrittenSnapshot {
    meta: SnapshotMeta,
    size: u64,
}

impl SnapshotWriter {
    /// Writes the snapshot atomically (tmp file, fdatasync, rename, fsync dir), replacing
    /// the previous one.
    ///
    /// # Errors
    /// I/O.
    pub fn write(&self, meta: SnapshotMeta, data: &[u8]) -> Result<WrittenSnapshot, JournalError> {
        let size = snapshot::write(&self.dir, meta, data, self.sync)?;
        Ok(WrittenSnapshot { meta, size })
    }
}

/// The fsyncs of [`Journal::take_pending_sync`], to run without the journal.
#[derive(Debug, Default)]
pub struct PendingSync {
    files: Vec<(std::path::PathBuf, std::sync::Arc<std::fs::File>)>,
    dir: Option<std::path::PathBuf>,
    /// The journal's [`FsyncLatency`](crate::FsyncLatency); `None` when nothing is synced.
    latency: Option<Arc<crate::FsyncLatency>>,
}

impl PendingSync {
    /// fdatasync the segments, then the directory; each one's duration is recorded in
    /// the journal's [`JournalConfig::fsync_latency`].
    pub fn run(self) -> Result<(), JournalError> {
        let Some(latency) = &self.latency else {
            return Ok(());
        };
        for (path, file) in &self.files {
            latency
                .time(|| file.sync_data())
                .map_err(|e| JournalError::io(path, e))?;
        }
        if let Some(dir) = &self.dir {
            latency.time(|| snapshot::sync_dir(dir))?;
        }
        Ok(())
    }
}
