//! openraft's log storage over the journal (ARCHITECTURE decision 1: one log, no second
//! fsync).
//!
//! Every Raft entry with index ≥ 1 is one journal record whose header carries the entry's
//! `(term, index)`; the payload is the encoded ops for normal entries (the single-node
//! record format), empty for a leader's blank entry, JSON for a membership change. The
//! journal's indexes start at 1, openraft's at 0: entry 0 is the initial membership that
//! `Raft::initialize` writes, identical on every node, so it is kept in a small file
//! (`raft-init`) beside the segments. The vote and the last purged log id live in
//! `raft-vote` and `raft-purged`, each replaced atomically (write, fsync, rename, fsync
//! directory).
//!
//! `append` writes the batch under the journal lock (so it is readable at once), then one
//! `fdatasync` covers everything written since the last one.
//!
//! On a follower that fsync runs in `append` itself, on the Raft thread, and the callback
//! completes right after it: the leader keeps one AppendEntries in flight per follower, so
//! no other append could share the fsync, and handing it to another thread and back cost
//! two thread wake-ups per round (measured: +10 % rounds per second with one producer).
//!
//! openraft 0.9's core waits for that callback before it does anything else, so a leader
//! would send each entry to its followers only after its own fsync: two fsyncs in a row per
//! round. On the leader (this node's saved vote is a committed vote for itself) `append`
//! therefore reports the write as flushed at once and asks a flusher thread to sync (one
//! fsync for all requests queued meanwhile): the followers receive the entry while the
//! leader's fsync runs. openraft then counts the leader in a quorum before its copy is on
//! disk, so the two places where a commit becomes visible wait for the leader's own fsync
//! as well ([`LogShared::durable`]): the state machine applies an entry (and its client is
//! answered) only once it is durable here, and the commit index sent to followers never
//! passes the leader's durable entry. See
//! docs/replication.md, "The leader's fsync runs beside replication".

use crate::types::{entry_to_record, log_id, record_to_entry, Entry, RaftLogId, TypeConfig, Vote};
use journal::{Journal, JournalError};
use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{OptionalSend, StorageError, StorageIOError};
use std::fmt::Debug;
use std::io::Write;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};

type NodeId = u64;

const VOTE_FILE: &str = "raft-vote";
const INIT_FILE: &str = "raft-init";
const PURGED_FILE: &str = "raft-purged";

/// Counters the store reports in `stats()`.
#[derive(Debug, Default)]
pub(crate) struct LogCounters {
    pub last_index: AtomicU64,
    pub syncs: AtomicU64,
    pub disk_bytes: AtomicU64,
    pub segments: AtomicUsize,
    pub snapshots: AtomicU64,
}

/// What the log store, its readers, the flusher and the state machine (snapshots) share.
pub(crate) struct LogShared {
    journal: Mutex<Journal>,
    dir: PathBuf,
    sync: bool,
    /// Entry 0 (openraft's initial membership), if written.
    init: Mutex<Option<Entry>>,
    purged: Mutex<Option<RaftLogId>>,
    /// The oldest entry that paged-out bodies of the latest snapshot still live in
    /// (`u64::MAX`: none): purging stops below it, whatever openraft's purge point.
    keep_bodies_from: AtomicU64,
    /// The newest entry on this node's disk: fsynced, or found in the log at start-up.
    durable: tokio::sync::watch::Sender<Durable>,
    /// Bumped (under the journal lock) by every truncation, so a flush that took its mark
    /// before a truncation does not publish an entry that was cut off meanwhile.
    truncations: AtomicU64,
    pub counters: LogCounters,
}

/// What [`LogShared::durable`] publishes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Durable {
    pub log_id: Option<RaftLogId>,
    /// An fsync failed: nothing written after it may count as durable, ever.
    pub failed: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// Writes `data` to `dir/name` atomically and durably.
pub(crate) fn write_file_atomic(
    dir: &Path,
    name: &str,
    data: &[u8],
    sync: bool,
) -> std::io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let path = dir.join(name);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        if sync {
            f.sync_all()?;
        }
    }
    std::fs::rename(&tmp, &path)?;
    if sync {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn read_json<T: serde::de::DeserializeOwned>(dir: &Path, name: &str) -> std::io::Result<Option<T>> {
    match std::fs::read(dir.join(name)) {
        Ok(data) => serde_json::from_slice(&data)
            .map(Some)
            .map_err(|e| io_err(format!("{}: {e}", dir.join(name).display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The log id of the newest entry `journal` holds (entry 0 from the init file).
fn last_written(journal: &Journal, init: Option<&Entry>) -> Option<RaftLogId> {
    if journal.last_index() >= 1 {
        Some(log_id(journal.last_term(), journal.last_index()))
    } else {
        init.map(|e| e.log_id)
    }
}

impl LogShared {
    /// Opens the journal and the small files beside it.
    pub(crate) fn open(config: journal::JournalConfig) -> Result<Arc<LogShared>, JournalError> {
        let dir = config.dir.clone();
        let sync = config.sync;
        let journal = Journal::open(config)?;
        let ioe = |e: std::io::Error| JournalError::Failed(e.to_string());
        let init: Option<Entry> = read_json(&dir, INIT_FILE).map_err(ioe)?;
        let mut purged: Option<RaftLogId> = read_json(&dir, PURGED_FILE).map_err(ioe)?;
        // `Journal::open` purges a log that ends before its snapshot (a snapshot was
        // installed and we stopped before purging): the purge point is the snapshot.
        if let Some(snap) = journal.snapshot_meta() {
            if journal.first_index() > 1
                && snap.index + 1 == journal.first_index()
                && !matches!(purged, Some(p) if p.index >= snap.index)
            {
                purged = Some(log_id(snap.term, snap.index));
            }
        }
        let on_disk = last_written(&journal, init.as_ref());
        let shared = LogShared {
            journal: Mutex::new(journal),
            dir,
            sync,
            init: Mutex::new(init),
            purged: Mutex::new(purged),
            keep_bodies_from: AtomicU64::new(u64::MAX),
            durable: tokio::sync::watch::Sender::new(Durable {
                log_id: on_disk,
                failed: false,
            }),
            truncations: AtomicU64::new(0),
            counters: LogCounters::default(),
        };
        shared.update_counters(&lock(&shared.journal));
        Ok(Arc::new(shared))
    }

    pub(crate) fn journal(&self) -> MutexGuard<'_, Journal> {
        lock(&self.journal)
    }

    /// The newest entry on this node's disk.
    pub(crate) fn durable(&self) -> Durable {
        *self.durable.borrow()
    }

    /// Waits until the entry at `index` is on this node's disk.
    ///
    /// # Errors
    /// An fsync failed before it got there.
    pub(crate) async fn wait_durable(&self, index: u64) -> std::io::Result<()> {
        let mut rx = self.durable.subscribe();
        let d = rx
            .wait_for(|d| d.failed || d.log_id.is_some_and(|l| l.index >= index))
            .await
            .map_err(|_| io_err("log flusher stopped"))?;
        if d.log_id.is_some_and(|l| l.index >= index) {
            Ok(())
        } else {
            Err(io_err(format!("log entry {index}: fsync failed")))
        }
    }

    /// `log_id` (what the journal held when its fsync started) is on disk, unless a
    /// truncation ran since `truncations` was read. Called under the journal lock.
    fn publish_durable(&self, log_id: Option<RaftLogId>, truncations: u64) {
        if self.truncations.load(Ordering::Acquire) != truncations {
            return;
        }
        self.durable.send_if_modified(|d| {
            let newer = log_id.is_some_and(|l| d.log_id.is_none_or(|old| l.index > old.index));
            if newer {
                d.log_id = log_id;
            }
            newer
        });
    }

    /// One fdatasync for everything written so far, then publishes the durable mark.
    ///
    /// The fsync runs without the journal lock: the Raft core keeps appending and the
    /// replication streams keep reading (sending entries to the followers while this
    /// node's own fsync runs) instead of queueing behind it.
    fn sync_written(&self) -> Result<(), String> {
        let (pending, mark, truncations) = {
            let mut j = self.journal();
            let mark = last_written(&j, lock(&self.init).as_ref());
            let truncations = self.truncations.load(Ordering::Acquire);
            (j.take_pending_sync(), mark, truncations)
        };
        let result = pending.run();
        {
            let j = self.journal();
            self.update_counters(&j);
            match &result {
                Ok(()) => self.publish_durable(mark, truncations),
                Err(e) => {
                    tracing::error!(error = %e, "raft log: fsync failed");
                    self.fail_durable();
                }
            }
        }
        self.counters.syncs.fetch_add(1, Ordering::Relaxed);
        result.map_err(|e| e.to_string())
    }

    /// Entries from `index` on hold bodies that paged-out messages of the latest snapshot
    /// read back (`None`: no such message), so a purge must keep them.
    pub(crate) fn keep_bodies_from(&self, index: Option<u64>) {
        self.keep_bodies_from
            .store(index.unwrap_or(u64::MAX), Ordering::Release);
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn update_counters(&self, j: &Journal) {
        let c = &self.counters;
        c.last_index.store(j.last_index(), Ordering::Relaxed);
        c.disk_bytes.store(j.disk_size(), Ordering::Relaxed);
        c.segments.store(j.segment_count(), Ordering::Relaxed);
    }

    /// Entries from `from` on were cut off `j` (whose lock the caller holds): the durable
    /// mark moves back to what is left, and a flush that started before does not publish.
    fn note_truncated(&self, j: &Journal, from: u64) {
        self.truncations.fetch_add(1, Ordering::AcqRel);
        let last = last_written(j, lock(&self.init).as_ref());
        self.durable.send_if_modified(|d| {
            let cut = d.log_id.is_some_and(|l| l.index >= from);
            if cut {
                d.log_id = last;
            }
            cut
        });
    }

    /// Marks every later fsync as failed and wakes whoever waits for one.
    fn fail_durable(&self) {
        self.durable.send_modify(|d| d.failed = true);
    }

    fn log_state(&self) -> LogState<TypeConfig> {
        let j = self.journal();
        let purged = *lock(&self.purged);
        let from_log = if j.last_index() >= 1 && j.last_index() >= j.first_index() {
            Some(log_id(j.last_term(), j.last_index()))
        } else if j.last_index() == 0 {
            lock(&self.init).as_ref().map(|e| e.log_id)
        } else {
            None
        };
        LogState {
            last_purged_log_id: purged,
            last_log_id: from_log.max(purged),
        }
    }

    fn read_entries(&self, start: u64, end: u64) -> Result<Vec<Entry>, StorageError<NodeId>> {
        let mut out = Vec::new();
        let mut next = start;
        if next >= end {
            return Ok(out);
        }
        if next == 0 {
            match lock(&self.init).as_ref() {
                Some(e) => out.push(e.clone()),
                None => return Ok(out),
            }
            next = 1;
        }
        if next >= end {
            return Ok(out);
        }
        let j = self.journal();
        if next < j.first_index() {
            return Ok(out);
        }
        let iter = j.entries(next).map_err(|e| StorageIOError::read_logs(&e))?;
        for item in iter {
            let (rec, _) = item.map_err(|e| StorageIOError::read_logs(&e))?;
            if rec.index >= end || rec.index != next {
                break;
            }
            let entry = record_to_entry(rec.term, rec.index, rec.kind, rec.payload)
                .map_err(|e| StorageIOError::read_log_at_index(rec.index, &io_err(e)))?;
            out.push(entry);
            next += 1;
        }
        Ok(out)
    }
}

/// Reads entries for openraft's replication tasks.
#[derive(Clone)]
pub struct JournalLogReader {
    shared: Arc<LogShared>,
}

fn bounds(range: &impl RangeBounds<u64>) -> (u64, u64) {
    let start = match range.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s + 1,
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&e) => e.saturating_add(1),
        Bound::Excluded(&e) => e,
        Bound::Unbounded => u64::MAX,
    };
    (start, end)
}

impl RaftLogReader<TypeConfig> for JournalLogReader {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError<NodeId>> {
        let (start, end) = bounds(&range);
        self.shared.read_entries(start, end)
    }
}

enum Flush {
    /// Sync (a leader's append, already reported as flushed to openraft).
    Sync,
    Stop,
}

/// openraft's `RaftLogStorage` over a [`journal::Journal`].
pub struct JournalLogStore {
    shared: Arc<LogShared>,
    node_id: NodeId,
    vote: Option<Vote>,
    flush: mpsc::Sender<Flush>,
}

/// Whether `vote` makes `node_id` the leader of its term (so its appends are its own
/// proposals, not a leader's entries it must hold on disk before it may answer).
fn leads(vote: Option<&Vote>, node_id: NodeId) -> bool {
    vote.is_some_and(|v| v.committed && v.leader_id.voted_for == Some(node_id))
}

impl JournalLogStore {
    /// Starts the flusher thread. The vote is read from `raft-vote`.
    pub(crate) fn new(shared: Arc<LogShared>, node_id: NodeId) -> std::io::Result<JournalLogStore> {
        let vote = read_json(shared.dir(), VOTE_FILE)?;
        let (flush, rx) = mpsc::channel::<Flush>();
        let flusher = shared.clone();
        std::thread::Builder::new()
            .name("raft-log-flush".into())
            .spawn(move || flusher_loop(&flusher, &rx))?;
        Ok(JournalLogStore {
            shared,
            node_id,
            vote,
            flush,
        })
    }
}

impl Drop for JournalLogStore {
    fn drop(&mut self) {
        let _ = self.flush.send(Flush::Stop);
    }
}

/// A leader's fsyncs: one fdatasync for everything written before it (group commit: the
/// requests that queued meanwhile share it).
fn flusher_loop(shared: &LogShared, rx: &mpsc::Receiver<Flush>) {
    while let Ok(first) = rx.recv() {
        let mut stop = false;
        let mut sync = false;
        for msg in std::iter::once(first).chain(rx.try_iter()) {
            match msg {
                Flush::Sync => sync = true,
                Flush::Stop => stop = true,
            }
        }
        if sync {
            // A failure is logged and marks the log failed (see `sync_written`).
            let _ = shared.sync_written();
        }
        if stop {
            break;
        }
    }
}

impl RaftLogReader<TypeConfig> for JournalLogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError<NodeId>> {
        let (start, end) = bounds(&range);
        self.shared.read_entries(start, end)
    }
}

impl RaftLogStorage<TypeConfig> for JournalLogStore {
    type LogReader = JournalLogReader;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        Ok(self.shared.log_state())
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        JournalLogReader {
            shared: self.shared.clone(),
        }
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError<NodeId>> {
        let data = serde_json::to_vec(vote).map_err(|e| StorageIOError::write_vote(&e))?;
        write_file_atomic(self.shared.dir(), VOTE_FILE, &data, self.shared.sync)
            .map_err(|e| StorageIOError::write_vote(&e))?;
        self.vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError<NodeId>> {
        Ok(self.vote)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut records = Vec::new();
        for entry in entries {
            if entry.log_id.index == 0 {
                let data =
                    serde_json::to_vec(&entry).map_err(|e| StorageIOError::write_logs(&e))?;
                write_file_atomic(self.shared.dir(), INIT_FILE, &data, self.shared.sync)
                    .map_err(|e| StorageIOError::write_logs(&e))?;
                let id = entry.log_id;
                *lock(&self.shared.init) = Some(entry);
                // Written and fsynced above.
                self.shared
                    .publish_durable(Some(id), self.shared.truncations.load(Ordering::Acquire));
                continue;
            }
            let (term, index, kind, payload) =
                entry_to_record(&entry).map_err(|e| StorageIOError::write_logs(&io_err(e)))?;
            records.push(journal::Entry {
                term,
                index,
                kind,
                payload,
            });
        }
        if !records.is_empty() {
            let mut j = self.shared.journal();
            j.append_entries(&records)
                .map_err(|e| StorageIOError::write_logs(&e))?;
            self.shared
                .counters
                .last_index
                .store(j.last_index(), Ordering::Relaxed);
        }
        if leads(self.vote.as_ref(), self.node_id) {
            // Replication starts now; what this node applies and what it tells followers
            // is committed waits for the fsync (see the module docs).
            callback.log_io_completed(Ok(()));
            if self.flush.send(Flush::Sync).is_err() {
                self.shared.fail_durable();
            }
        } else {
            // A follower: the leader keeps one AppendEntries in flight to it, so no other
            // append could share this fsync. It runs here, on the Raft thread (which has
            // nothing else to do until this append is answered), rather than on the
            // flusher and back: two thread wake-ups less per round.
            callback.log_io_completed(self.shared.sync_written().map_err(io_err));
        }
        Ok(())
    }

    async fn truncate(&mut self, log_id: RaftLogId) -> Result<(), StorageError<NodeId>> {
        tracing::info!(
            from = log_id.index,
            "raft log: truncating conflicting entries"
        );
        if log_id.index == 0 {
            let _ = std::fs::remove_file(self.shared.dir().join(INIT_FILE));
            *lock(&self.shared.init) = None;
        }
        let mut j = self.shared.journal();
        j.truncate_after(log_id.index.saturating_sub(1))
            .map_err(|e| StorageIOError::write_logs(&e))?;
        self.shared.update_counters(&j);
        self.shared.note_truncated(&j, log_id.index);
        Ok(())
    }

    async fn purge(&mut self, log_id: RaftLogId) -> Result<(), StorageError<NodeId>> {
        // The purge point is durable before any segment goes, so `get_log_state` never
        // reports entries that are no longer there.
        let data = serde_json::to_vec(&log_id).map_err(|e| StorageIOError::write_logs(&e))?;
        write_file_atomic(self.shared.dir(), PURGED_FILE, &data, self.shared.sync)
            .map_err(|e| StorageIOError::write_logs(&e))?;
        *lock(&self.shared.purged) = Some(log_id);
        // Segments holding bodies of paged-out messages stay (openraft never reads below
        // its purge point; the journal just keeps more than openraft needs).
        let keep_from = self.shared.keep_bodies_from.load(Ordering::Acquire);
        let through = log_id.index.min(keep_from.saturating_sub(1));
        let mut j = self.shared.journal();
        j.purge_through(through)
            .map_err(|e| StorageIOError::write_logs(&e))?;
        self.shared.update_counters(&j);
        tracing::debug!(
            through,
            raft_purged = log_id.index,
            segments = j.segment_count(),
            "raft log purged"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn open(dir: &Path) -> Arc<LogShared> {
        let config = journal::JournalConfig {
            sync: false,
            ..journal::JournalConfig::new(dir)
        };
        LogShared::open(config).expect("open")
    }

    fn write(shared: &LogShared, term: u64, from: u64, to: u64) {
        let entries: Vec<_> = (from..=to)
            .map(|index| journal::Entry {
                term,
                index,
                kind: crate::types::KIND_BLANK,
                payload: Bytes::new(),
            })
            .collect();
        shared.journal().append_entries(&entries).expect("append");
    }

    fn durable_index(shared: &LogShared) -> Option<u64> {
        shared.durable().log_id.map(|l| l.index)
    }

    /// What a flusher publishes: the journal's last entry when its fsync started, moving
    /// forward only, and nothing if a truncation ran meanwhile.
    #[test]
    fn durable_mark_follows_flushes_and_truncations() {
        let dir = tempfile::tempdir().expect("tempdir");
        let shared = open(dir.path());
        assert_eq!(durable_index(&shared), None);
        write(&shared, 1, 1, 5);
        // Written, not flushed: not durable.
        assert_eq!(durable_index(&shared), None);
        let before = shared.truncations.load(Ordering::Acquire);
        shared.publish_durable(Some(log_id(1, 5)), before);
        assert_eq!(durable_index(&shared), Some(5));
        // An older flush finishing late does not move it back.
        shared.publish_durable(Some(log_id(1, 3)), before);
        assert_eq!(durable_index(&shared), Some(5));

        // A new leader's entries replace 4 and 5: the mark falls back to 3.
        {
            let mut j = shared.journal();
            j.truncate_after(3).expect("truncate");
            shared.note_truncated(&j, 4);
        }
        assert_eq!(shared.durable().log_id, Some(log_id(1, 3)));
        write(&shared, 2, 4, 6);
        // A flush whose mark was taken before the truncation must not publish (its
        // entry 5 of term 1 is gone); one taken after does.
        shared.publish_durable(Some(log_id(1, 5)), before);
        assert_eq!(durable_index(&shared), Some(3));
        shared.publish_durable(
            Some(log_id(2, 6)),
            shared.truncations.load(Ordering::Acquire),
        );
        assert_eq!(shared.durable().log_id, Some(log_id(2, 6)));

        // A truncation above the mark leaves it alone.
        write(&shared, 2, 7, 8);
        {
            let mut j = shared.journal();
            j.truncate_after(7).expect("truncate");
            shared.note_truncated(&j, 8);
        }
        assert_eq!(durable_index(&shared), Some(6));

        // Reopened: what the journal holds is on disk.
        drop(shared);
        let shared = open(dir.path());
        assert_eq!(shared.durable().log_id, Some(log_id(2, 7)));
    }

    #[tokio::test]
    async fn apply_waits_for_the_fsync_and_fails_with_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let shared = open(dir.path());
        write(&shared, 1, 1, 2);
        let waiter = {
            let shared = shared.clone();
            tokio::spawn(async move { shared.wait_durable(2).await })
        };
        tokio::task::yield_now().await;
        shared.publish_durable(Some(log_id(1, 1)), 0);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "entry 2 is not on disk yet");
        shared.publish_durable(Some(log_id(1, 2)), 0);
        assert!(waiter.await.expect("join").is_ok());

        write(&shared, 1, 3, 3);
        let waiter = {
            let shared = shared.clone();
            tokio::spawn(async move { shared.wait_durable(3).await })
        };
        shared.fail_durable();
        assert!(
            waiter.await.expect("join").is_err(),
            "an fsync failure fails the wait"
        );
        assert!(
            shared.wait_durable(2).await.is_ok(),
            "what was on disk stays so"
        );
    }

    #[test]
    fn leader_mode_is_a_committed_vote_for_this_node() {
        let mut vote = Vote::new(3, 1);
        assert!(!leads(Some(&vote), 1), "a candidate's own vote");
        vote.commit();
        assert!(leads(Some(&vote), 1));
        assert!(!leads(Some(&vote), 2), "a follower of node 1");
        assert!(!leads(None, 1));
    }
}
