//! The single-node store: the operation log of `crates/journal`, committed by local fsync.
//!
//! Every append is one journal record holding the encoded ops. The journal's committer
//! thread batches records into one `fdatasync`, then calls back here in index order; we
//! decode what was written and apply it to the state machine, so what the broker holds is
//! exactly what is on disk. Disk is reclaimed by snapshots: once the records written since
//! the last snapshot (counted across restarts) outgrow both `snapshot_bytes` and the live
//! state (so a drained backlog is snapshotted at once), the live
//! state is written as a snapshot and whole segments below it are deleted (segments still
//! holding bodies of paged-out messages stay).

use crate::journal_body::{decode_entry, JournalBodyReader};
use crate::op_codec::{decode_ops, encode_ops};
use crate::store::{
    check_store_limit, AppendFuture, StateMachine, Store, StoreError, StoreOp, StoreStats,
};
use journal::{Committed, Committer, Journal, JournalConfig, JournalError, SnapshotMeta};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::{mpsc, oneshot};

/// Record kind of an entry of encoded `StoreOp`s.
const KIND_OPS: u8 = 1;

#[derive(Debug, Clone)]
pub struct JournalStoreConfig {
    pub journal: JournalConfig,
    /// Log bytes written since the last snapshot that trigger the next one.
    pub snapshot_bytes: u64,
    /// Disk the store may use; past it, appends that add messages fail with `Full`
    /// (acks and other ops still pass: they are what frees space).
    pub store_limit: u64,
}

impl JournalStoreConfig {
    pub fn new(journal: JournalConfig) -> JournalStoreConfig {
        JournalStoreConfig {
            journal,
            snapshot_bytes: 64 << 20,
            store_limit: u64::MAX,
        }
    }
}

/// What `append` and `close` hand to the submitting task, in call order.
enum Submission {
    /// The encoded entry and where to send the receiver that resolves when it is durable.
    Append(
        bytes::Bytes,
        oneshot::Sender<Result<oneshot::Receiver<Result<u64, JournalError>>, JournalError>>,
    ),
    /// From `close`: every append before it is in the committer's queue now, so the
    /// committer may stop (it finishes what is queued).
    Close,
}

pub struct JournalStore {
    committer: Committer,
    /// `append` must enqueue synchronously and in call order, but the committer's queue is
    /// bounded: when it is full, one task forwards in order. Unbounded because callers
    /// bound their own in-flight appends (connections cap unreceipted sends).
    submissions: mpsc::UnboundedSender<Submission>,
    /// Appends handed to the forwarding task and not yet in the committer's queue. While
    /// it is zero, `append` puts entries straight into the committer's queue (no task hop
    /// on the common path); otherwise it queues behind them to keep call order.
    forwarding: Arc<Mutex<usize>>,
    thread: Mutex<Option<std::thread::JoinHandle<Journal>>>,
    snapshots: Arc<AtomicU64>,
    closed: AtomicBool,
    store_limit: u64,
}

fn io(e: JournalError) -> StoreError {
    match e {
        JournalError::Closed => StoreError::Closed,
        other => StoreError::Io(other.to_string()),
    }
}

impl JournalStore {
    /// Opens the journal and replays it (snapshot, then later entries) into `machine`.
    /// Must run inside a tokio runtime (snapshots are written from a task).
    ///
    /// # Errors
    /// I/O errors, corruption in the middle of the log, undecodable entries.
    pub fn open(
        config: JournalStoreConfig,
        machine: Arc<dyn StateMachine>,
    ) -> Result<JournalStore, StoreError> {
        let journal = Journal::open(config.journal.clone()).map_err(io)?;
        machine.attach_body_reader(Arc::new(JournalBodyReader::new(journal.reader())));
        let mut from = journal.first_index();
        if let Some((meta, data)) = journal.read_snapshot().map_err(io)? {
            let ops = decode_ops(&data).map_err(|e| StoreError::Corrupt {
                index: meta.index,
                reason: format!("snapshot: {e}"),
            })?;
            machine.apply(meta.index, &ops);
            from = from.max(meta.index + 1);
            tracing::info!(index = meta.index, ops = ops.len(), "loaded snapshot");
        }
        let mut replayed = 0u64;
        // Log written since the last snapshot counts toward the next one, across restarts.
        let mut replayed_bytes = 0u64;
        for item in journal.entries(from).map_err(io)? {
            let (entry, position) = item.map_err(io)?;
            if entry.kind != KIND_OPS {
                continue;
            }
            replayed_bytes += entry.payload.len() as u64 + 32;
            let ops = decode_entry(entry.index, &entry.payload, position)?;
            machine.apply(entry.index, &ops);
            replayed += 1;
        }
        tracing::info!(
            entries = replayed,
            last_index = journal.last_index(),
            segments = journal.segment_count(),
            "journal recovered"
        );

        let runtime = tokio::runtime::Handle::current();
        let committer_slot: Arc<OnceLock<Committer>> = Arc::new(OnceLock::new());
        let snapshots = Arc::new(AtomicU64::new(0));
        let mut since_snapshot = replayed_bytes;
        let threshold = config.snapshot_bytes;
        let slot = committer_slot.clone();
        let snapshot_count = snapshots.clone();
        let apply_machine = machine.clone();
        let on_commit = Box::new(move |batch: &[Committed]| {
            let mut last = 0;
            for c in batch {
                last = c.index;
                since_snapshot += c.payload.len() as u64 + 32;
                match decode_entry(c.index, &c.payload, c.position) {
                    Ok(ops) => apply_machine.apply(c.index, &ops),
                    // We encoded it a moment ago: failing to decode is a bug, not bad input.
                    Err(e) => {
                        tracing::error!(index = c.index, error = %e, "cannot decode own entry")
                    }
                }
            }
            // Space snapshots by the live state now (a drained backlog snapshots at once),
            // so writing them costs about what the log grew by at most.
            if since_snapshot > threshold.max(apply_machine.snapshot_size_hint()) {
                since_snapshot = 0;
                let image = apply_machine.snapshot();
                // Segments holding bodies of paged-out messages stay until those go.
                let keep_from = image.oldest_body_ref();
                let data = image.encode();
                let meta = SnapshotMeta {
                    index: last,
                    term: 0,
                };
                let purge_through = keep_from.map_or(last, |i| i.saturating_sub(1));
                if let Some(committer) = slot.get().cloned() {
                    let count = snapshot_count.clone();
                    runtime.spawn(async move {
                        match committer.snapshot_keeping(meta, data, purge_through).await {
                            Ok(()) => {
                                count.fetch_add(1, Ordering::Relaxed);
                                tracing::info!(index = meta.index, "snapshot written, log purged");
                            }
                            Err(e) => tracing::error!(error = %e, "snapshot failed"),
                        }
                    });
                }
            }
        });
        let (committer, thread) = Committer::start(journal, on_commit);
        let _ = committer_slot.set(committer.clone());
        let (submissions, mut rx) = mpsc::unbounded_channel::<Submission>();
        let forward = committer.clone();
        let forwarding = Arc::new(Mutex::new(0usize));
        let forwarded = forwarding.clone();
        tokio::spawn(async move {
            while let Some(submission) = rx.recv().await {
                match submission {
                    Submission::Append(payload, reply) => {
                        let _ = reply.send(forward.submit(KIND_OPS, payload).await);
                        // In the committer's queue now: direct appends may follow it.
                        let mut n = forwarded.lock().unwrap_or_else(|e| e.into_inner());
                        *n = n.saturating_sub(1);
                    }
                    Submission::Close => forward.shutdown(),
                }
            }
        });
        Ok(JournalStore {
            committer,
            submissions,
            forwarding,
            thread: Mutex::new(Some(thread)),
            snapshots,
            closed: AtomicBool::new(false),
            store_limit: config.store_limit,
        })
    }
}

impl Store for JournalStore {
    fn append(&self, ops: Vec<StoreOp>) -> AppendFuture {
        if let Err(full) =
            check_store_limit(&ops, || self.committer.stats().disk_size, self.store_limit)
        {
            return Box::pin(std::future::ready(Err(full)));
        }
        if self.closed.load(Ordering::Acquire) {
            return Box::pin(std::future::ready(Err(StoreError::Closed)));
        }
        let mut payload = encode_ops(&ops);
        let mut forwarding = self.forwarding.lock().unwrap_or_else(|e| e.into_inner());
        if *forwarding == 0 {
            match self.committer.try_submit(KIND_OPS, payload) {
                Ok(Ok(done)) => {
                    drop(forwarding);
                    return Box::pin(async move {
                        done.await.map_err(|_| StoreError::Closed)?.map_err(io)
                    });
                }
                Ok(Err(returned)) => payload = returned,
                Err(e) => return Box::pin(std::future::ready(Err(io(e)))),
            }
        }
        let (reply, submitted) = oneshot::channel();
        if self
            .submissions
            .send(Submission::Append(payload, reply))
            .is_err()
        {
            return Box::pin(std::future::ready(Err(StoreError::Closed)));
        }
        *forwarding += 1;
        drop(forwarding);
        Box::pin(async move {
            let done = submitted
                .await
                .map_err(|_| StoreError::Closed)?
                .map_err(io)?;
            done.await.map_err(|_| StoreError::Closed)?.map_err(io)
        })
    }

    fn stats(&self) -> StoreStats {
        let s = self.committer.stats();
        StoreStats {
            last_index: s.last_index,
            disk_bytes: s.disk_size,
            segments: s.segment_count,
            syncs: s.syncs,
            snapshots: self.snapshots.load(Ordering::Relaxed),
        }
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let Some(thread) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return;
        };
        // Appends enqueued before `close` may still sit in the forwarding task's channel:
        // the task stops the committer once it has passed them on. It cannot run while a
        // current-thread runtime is blocked in here, so there we stop at once (appends still
        // in the channel then fail with `Closed`).
        let flavor = tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor());
        let current_thread = matches!(flavor, Ok(tokio::runtime::RuntimeFlavor::CurrentThread));
        if current_thread || self.submissions.send(Submission::Close).is_err() {
            self.committer.shutdown();
        }
        if flavor.is_ok() && !current_thread {
            let _ = tokio::task::block_in_place(|| thread.join());
        } else {
            let _ = thread.join();
        }
    }
}
