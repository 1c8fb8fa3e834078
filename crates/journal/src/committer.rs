//! Group commit: one OS thread owns the [`Journal`]; submissions queue on a
//! bounded channel and are appended and fdatasync'd in batches.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::error::JournalError;
use crate::journal::Journal;
use crate::reader::JournalReader;
use crate::record::Position;
use crate::snapshot::SnapshotMeta;

/// Capacity of the submission queue (commands, not bytes).
const QUEUE_CAPACITY: usize = 4096;
/// A batch stops taking queued records once it holds this many payload bytes.
const BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Called on the writer thread after each batch is durable, with the batch's
/// entries in index order, before any waiter is resolved.
pub type CommitCallback = Box<dyn FnMut(&[Committed]) + Send>;

/// One durable entry, as given to the [`CommitCallback`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    pub index: u64,
    pub kind: u8,
    pub payload: Bytes,
    pub position: Position,
}

/// Counters of a [`Committer`], read without locking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JournalStats {
    /// Last index appended (durable once its batch's sync returned).
    pub last_index: u64,
    /// Bytes on disk (segments and snapshot).
    pub disk_size: u64,
    pub segment_count: usize,
    /// Number of batch syncs.
    pub syncs: u64,
    /// Total time spent in those syncs.
    pub sync_nanos_total: u64,
}

type Waiter = oneshot::Sender<Result<u64, JournalError>>;

enum Command {
    Append {
        kind: u8,
        payload: Bytes,
        done: Waiter,
    },
    Snapshot {
        meta: SnapshotMeta,
        data: Bytes,
        purge_through: u64,
        done: oneshot::Sender<Result<(), JournalError>>,
    },
    /// Sent by `shutdown` to wake the thread.
    Wake,
}

struct Shared {
    term: AtomicU64,
    shutdown: AtomicBool,
    failed: Mutex<Option<String>>,
    last_index: AtomicU64,
    disk_size: AtomicU64,
    segment_count: AtomicU64,
    syncs: AtomicU64,
    sync_nanos: AtomicU64,
    reader: JournalReader,
    max_record_size: u32,
}

impl Shared {
    fn failure(&self) -> Option<String> {
        match self.failed.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn set_failure(&self, msg: String) {
        match self.failed.lock() {
            Ok(mut g) => *g = Some(msg),
            Err(p) => *p.into_inner() = Some(msg),
        }
    }

    /// The error for work that cannot be accepted.
    fn refusal(&self) -> JournalError {
        match self.failure() {
            Some(msg) => JournalError::Failed(msg),
            None => JournalError::Closed,
        }
    }

    /// Refuses work when closed or failed, and payloads over the limit (so
    /// one oversized record cannot fail a whole batch).
    fn check(&self, payload_len: usize) -> Result<(), JournalError> {
        if payload_len > self.max_record_size as usize {
            return Err(JournalError::RecordTooLarge {
                size: payload_len,
                limit: self.max_record_size,
            });
        }
        self.check_open()
    }

    fn check_open(&self) -> Result<(), JournalError> {
        if self.shutdown.load(Ordering::Acquire) || self.failure().is_some() {
            return Err(self.refusal());
        }
        Ok(())
    }

    fn update(&self, journal: &Journal) {
        self.last_index
            .store(journal.last_index(), Ordering::Release);
        self.disk_size.store(journal.disk_size(), Ordering::Release);
        self.segment_count
            .store(journal.segment_count() as u64, Ordering::Release);
    }
}

/// Cheap, cloneable handle to the group-commit thread.
///
/// When the receiver returned by [`submit`](Self::submit) resolves with
/// `Ok(index)`, the record is on disk: the fdatasync covering it returned
/// (unless the journal was opened with `sync: false`), and the
/// [`CommitCallback`] has seen it.
#[derive(Clone)]
pub struct Committer {
    tx: mpsc::Sender<Command>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Committer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Committer")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Committer {
    /// Starts the writer thread, which owns `journal`. The thread ends,
    /// returning the journal, when every `Committer` handle is dropped or
    /// [`shutdown`](Self::shutdown) is called (work already queued is
    /// finished first), or after a failed append/sync.
    pub fn start(journal: Journal, on_commit: CommitCallback) -> (Committer, JoinHandle<Journal>) {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let shared = Arc::new(Shared {
            term: AtomicU64::new(0),
            shutdown: AtomicBool::new(false),
            failed: Mutex::new(None),
            last_index: AtomicU64::new(0),
            disk_size: AtomicU64::new(0),
            segment_count: AtomicU64::new(0),
            syncs: AtomicU64::new(0),
            sync_nanos: AtomicU64::new(0),
            reader: journal.reader(),
            max_record_size: journal.config().max_record_size,
        });
        shared.update(&journal);
        let thread_shared = Arc::clone(&shared);
        let handle = std::thread::spawn(move || writer_loop(journal, rx, thread_shared, on_commit));
        (Committer { tx, shared }, handle)
    }

    /// Queues a record (waiting while the queue is full). The returned
    /// receiver resolves with its index once it is durable, or with the
    /// error that stopped the committer.
    pub async fn submit(
        &self,
        kind: u8,
        payload: Bytes,
    ) -> Result<oneshot::Receiver<Result<u64, JournalError>>, JournalError> {
        let (command, rx) = self.append_command(kind, payload)?;
        self.tx
            .send(command)
            .await
            .map_err(|_| self.shared.refusal())?;
        Ok(rx)
    }

    /// The queued form of one record, after checking its size, and the receiver its
    /// waiter gets.
    fn append_command(
        &self,
        kind: u8,
        payload: Bytes,
    ) -> Result<(Command, oneshot::Receiver<Result<u64, JournalError>>), JournalError> {
        self.shared.check(payload.len())?;
        let (done, rx) = oneshot::channel();
        Ok((
            Command::Append {
                kind,
                payload,
                done,
            },
            rx,
        ))
    }

    /// Queues a record without waiting: `Ok(None)` hands the payload back when the queue
    /// is full (the caller then falls back to [`submit`](Self::submit)). Lets callers
    /// enqueue in call order without a task hop on the common path.
    pub fn try_submit(
        &self,
        kind: u8,
        payload: Bytes,
    ) -> Result<Result<oneshot::Receiver<Result<u64, JournalError>>, Bytes>, JournalError> {
        let (command, rx) = self.append_command(kind, payload)?;
        match self.tx.try_send(command) {
            Ok(()) => Ok(Ok(rx)),
            Err(mpsc::error::TrySendError::Full(Command::Append { payload, .. })) => {
                Ok(Err(payload))
            }
            Err(_) => Err(self.shared.refusal()),
        }
    }

    /// [`submit`](Self::submit) from a thread that is not running async code.
    /// Like tokio's `blocking_send`, it panics if called from within an async
    /// runtime's context; use `submit` there.
    pub fn blocking_submit(
        &self,
        kind: u8,
        payload: Bytes,
    ) -> Result<oneshot::Receiver<Result<u64, JournalError>>, JournalError> {
        let (command, rx) = self.append_command(kind, payload)?;
        self.tx
            .blocking_send(command)
            .map_err(|_| self.shared.refusal())?;
        Ok(rx)
    }

    /// Runs on the writer thread, in order with appends: writes the snapshot,
    /// then purges segments whose entries are all ≤ `meta.index`. Resolves
    /// when done. A failed snapshot is reported but does not stop the
    /// committer.
    pub async fn snapshot(&self, meta: SnapshotMeta, data: Bytes) -> Result<(), JournalError> {
        self.snapshot_keeping(meta, data, meta.index).await
    }

    /// Like [`Committer::snapshot`], but purges only segments whose entries are all
    /// ≤ `purge_through` (clamped to `meta.index`): the caller still reads record bodies
    /// from later segments (paged-out messages).
    pub async fn snapshot_keeping(
        &self,
        meta: SnapshotMeta,
        data: Bytes,
        purge_through: u64,
    ) -> Result<(), JournalError> {
        self.shared.check_open()?;
        let (done, rx) = oneshot::channel();
        let purge_through = purge_through.min(meta.index);
        self.tx
            .send(Command::Snapshot {
                meta,
                data,
                purge_through,
                done,
            })
            .await
            .map_err(|_| self.shared.refusal())?;
        rx.await.map_err(|_| self.shared.refusal())?
    }

    /// Sets the term given to records appended from now on (0 on a single
    /// node).
    pub fn set_term(&self, term: u64) {
        self.shared.term.store(term, Ordering::Release);
    }

    /// The term records are currently appended with.
    pub fn term(&self) -> u64 {
        self.shared.term.load(Ordering::Acquire)
    }

    /// A reader for payloads by position.
    pub fn reader(&self) -> JournalReader {
        self.shared.reader.clone()
    }

    /// Current counters (atomics; no call to the writer thread).
    pub fn stats(&self) -> JournalStats {
        let s = &self.shared;
        JournalStats {
            last_index: s.last_index.load(Ordering::Acquire),
            disk_size: s.disk_size.load(Ordering::Acquire),
            segment_count: s.segment_count.load(Ordering::Acquire) as usize,
            syncs: s.syncs.load(Ordering::Acquire),
            sync_nanos_total: s.sync_nanos.load(Ordering::Acquire),
        }
    }

    /// Stops accepting work; the writer thread finishes what is queued and
    /// ends. Later submissions get [`JournalError::Closed`].
    pub fn shutdown(&self) {
        self.shared.shutdown.store(true, Ordering::Release);
        // If the queue is full the thread is busy and sees the flag anyway.
        let _ = self.tx.try_send(Command::Wake);
    }
}

fn writer_loop(
    mut journal: Journal,
    mut rx: mpsc::Receiver<Command>,
    shared: Arc<Shared>,
    mut on_commit: CommitCallback,
) -> Journal {
    let mut carry: Option<Command> = None;
    let mut closed = false;
    loop {
        if !closed && shared.shutdown.load(Ordering::Acquire) {
            // Refuse new work; what is already queued is still received.
            rx.close();
            closed = true;
        }
        let first = match carry.take() {
            Some(cmd) => cmd,
            None => match rx.blocking_recv() {
                Some(cmd) => cmd,
                None => break,
            },
        };
        match first {
            Command::Wake => {}
            Command::Snapshot {
                meta,
                data,
                purge_through,
                done,
            } => {
                let result = journal
                    .write_snapshot(meta, &data)
                    .and_then(|()| journal.purge_through(purge_through));
                if let Err(e) = &result {
                    tracing::warn!(error = %e, index = meta.index, "journal: snapshot failed");
                }
                shared.update(&journal);
                let _ = done.send(result);
            }
            Command::Append {
                kind,
                payload,
                done,
            } => {
                let mut bytes = payload.len();
                let mut batch = vec![(kind, payload, done)];
                while bytes < BATCH_BYTES {
                    match rx.try_recv() {
                        Ok(Command::Append {
                            kind,
                            payload,
                            done,
                        }) => {
                            bytes += payload.len();
                            batch.push((kind, payload, done));
                        }
                        Ok(other) => {
                            carry = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                if let Err(e) = commit_batch(&mut journal, &shared, &mut on_commit, batch) {
                    tracing::error!(error = %e, "journal: group commit failed; committer stopped");
                    shared.set_failure(e.to_string());
                    rx.close();
                    fail_all(carry.take(), &mut rx, &e.to_string());
                    break;
                }
            }
        }
    }
    shared.update(&journal);
    journal
}

fn commit_batch(
    journal: &mut Journal,
    shared: &Shared,
    on_commit: &mut CommitCallback,
    batch: Vec<(u8, Bytes, Waiter)>,
) -> Result<(), String> {
    let term = shared.term.load(Ordering::Acquire);
    let result = {
        let records: Vec<(u8, &[u8])> = batch.iter().map(|(k, p, _)| (*k, &p[..])).collect();
        journal.append(term, &records).and_then(|positions| {
            let started = Instant::now();
            let synced = journal.sync();
            shared
                .sync_nanos
                .fetch_add(started.elapsed().as_nanos() as u64, Ordering::AcqRel);
            shared.syncs.fetch_add(1, Ordering::AcqRel);
            synced.map(|()| positions)
        })
    };
    shared.update(journal);
    let positions = match result {
        Ok(p) => p,
        Err(e) => {
            let msg = e.to_string();
            for (_, _, done) in batch {
                let _ = done.send(Err(JournalError::Failed(msg.clone())));
            }
            return Err(msg);
        }
    };
    let mut committed = Vec::with_capacity(batch.len());
    let mut waiters = Vec::with_capacity(batch.len());
    for ((kind, payload, done), (index, position)) in batch.into_iter().zip(positions) {
        committed.push(Committed {
            index,
            kind,
            payload,
            position,
        });
        waiters.push((index, done));
    }
    on_commit(&committed);
    for (index, done) in waiters {
        let _ = done.send(Ok(index));
    }
    Ok(())
}

/// Answers everything still queued after a failure.
fn fail_all(carry: Option<Command>, rx: &mut mpsc::Receiver<Command>, msg: &str) {
    let mut next = carry;
    loop {
        let cmd = match next.take() {
            Some(c) => c,
            None => match rx.blocking_recv() {
                Some(c) => c,
                None => return,
            },
        };
        match cmd {
            Command::Append { done, .. } => {
                let _ = done.send(Err(JournalError::Failed(msg.to_string())));
            }
            Command::Snapshot { done, .. } => {
                let _ = done.send(Err(JournalError::Failed(msg.to_string())));
            }
            Command::Wake => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::tests::config;

    fn recorder() -> (CommitCallback, Arc<Mutex<Vec<Committed>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        let cb: CommitCallback = Box::new(move |batch: &[Committed]| {
            s.lock().unwrap().extend_from_slice(batch);
        });
        (cb, seen)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_submitters_group_commit() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path(), 16 * 1024);
        cfg.sync = true;
        let journal = Journal::open(cfg.clone()).unwrap();
        let (cb, seen) = recorder();
        let (committer, handle) = Committer::start(journal, cb);
        let total = 1000usize;
        let tasks = 64usize;
        let mut joins = Vec::new();
        for t in 0..tasks {
            let c = committer.clone();
            joins.push(tokio::spawn(async move {
                let mut got = Vec::new();
                for r in (t..total).step_by(tasks) {
                    let payload = Bytes::from(format!("record {r}"));
                    let rx = c.submit((r % 256) as u8, payload.clone()).await.unwrap();
                    let index = rx.await.unwrap().unwrap();
                    // Durable and visible by position once resolved.
                    got.push((index, payload));
                }
                got
            }));
        }
        let mut all = Vec::new();
        for j in joins {
            all.extend(j.await.unwrap());
        }
        all.sort_by_key(|(i, _)| *i);
        let indexes: Vec<u64> = all.iter().map(|(i, _)| *i).collect();
        assert_eq!(indexes, (1..=total as u64).collect::<Vec<_>>());
        {
            let seen = seen.lock().unwrap();
            let seen_idx: Vec<u64> = seen.iter().map(|c| c.index).collect();
            assert_eq!(
                seen_idx, indexes,
                "on_commit saw every entry in index order"
            );
            let reader = committer.reader();
            for (c, (_, payload)) in seen.iter().zip(&all) {
                assert_eq!(&c.payload, payload);
                assert_eq!(&reader.read_payload(c.position).unwrap(), payload);
            }
        }
        let stats = committer.stats();
        assert_eq!(stats.last_index, total as u64);
        assert!(stats.syncs < total as u64, "no group commit: {stats:?}");
        assert!(stats.segment_count > 1);
        println!(
            "group commit: {} records in {} syncs, {:?} per sync",
            total,
            stats.syncs,
            std::time::Duration::from_nanos(stats.sync_nanos_total / stats.syncs.max(1))
        );
        drop(committer);
        let journal = tokio::task::spawn_blocking(move || handle.join().unwrap())
            .await
            .unwrap();
        assert_eq!(journal.last_index(), total as u64);
        drop(journal);
        let journal = Journal::open(cfg).unwrap();
        for (index, payload) in &all {
            assert_eq!(&journal.read(*index).unwrap().unwrap().payload, payload);
        }
    }

    #[tokio::test]
    async fn snapshot_shutdown_and_limits() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path(), 200);
        cfg.max_record_size = 100;
        let journal = Journal::open(cfg).unwrap();
        let (cb, seen) = recorder();
        let (committer, handle) = Committer::start(journal, cb);
        committer.set_term(7);
        assert_eq!(committer.term(), 7);
        let mut last = 0;
        for i in 0..30u8 {
            let rx = committer.submit(i, Bytes::from(vec![i; 40])).await.unwrap();
            last = rx.await.unwrap().unwrap();
        }
        assert!(matches!(
            committer.submit(1, Bytes::from(vec![0; 101])).await,
            Err(JournalError::RecordTooLarge {
                size: 101,
                limit: 100
            })
        ));
        let before = committer.stats().segment_count;
        assert!(before > 3);
        committer
            .snapshot(
                SnapshotMeta {
                    index: last,
                    term: 7,
                },
                Bytes::from_static(b"state"),
            )
            .await
            .unwrap();
        assert_eq!(committer.stats().segment_count, 1);
        // Work continues after the snapshot.
        let rx = committer
            .submit(9, Bytes::from_static(b"after"))
            .await
            .unwrap();
        assert_eq!(rx.await.unwrap().unwrap(), last + 1);
        // blocking_submit from a plain thread.
        let c = committer.clone();
        let index = std::thread::spawn(move || {
            let rx = c
                .blocking_submit(1, Bytes::from_static(b"blocking"))
                .unwrap();
            rx.blocking_recv().unwrap().unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(index, last + 2);
        committer.shutdown();
        assert!(matches!(
            committer.submit(1, Bytes::new()).await,
            Err(JournalError::Closed)
        ));
        assert!(matches!(
            committer
                .snapshot(SnapshotMeta::default(), Bytes::new())
                .await,
            Err(JournalError::Closed)
        ));
        let journal = tokio::task::spawn_blocking(move || handle.join().unwrap())
            .await
            .unwrap();
        assert_eq!(journal.last_index(), last + 2);
        assert_eq!(journal.last_term(), 7);
        assert_eq!(
            journal.snapshot_meta(),
            Some(SnapshotMeta {
                index: last,
                term: 7
            })
        );
        assert_eq!(journal.first_index(), last + 1);
        assert_eq!(seen.lock().unwrap().len() as u64, last + 2);
        drop(committer);
    }

    #[test]
    fn dropping_every_handle_ends_the_thread() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(config(dir.path(), 1 << 20)).unwrap();
        let (committer, handle) = Committer::start(journal, Box::new(|_: &[Committed]| {}));
        let rx = committer
            .blocking_submit(1, Bytes::from_static(b"x"))
            .unwrap();
        let c2 = committer.clone();
        drop(committer);
        drop(c2);
        // Queued work is still completed.
        assert_eq!(rx.blocking_recv().unwrap().unwrap(), 1);
        assert_eq!(handle.join().unwrap().last_index(), 1);
    }
}
