//! openraft's state machine: committed entries are applied, in index order, to the
//! broker's [`broker::store::StateMachine`]; snapshots are that state machine's ops
//! (`StateMachine::snapshot`, encoded with `encode_ops`), written to the journal's
//! snapshot file.
//!
//! The journal snapshot file holds `[u32 BE length][openraft SnapshotMeta as JSON][ops]`;
//! its journal meta is the `(term, index)` of the last entry it covers, so the journal's
//! own purge and recovery rules apply unchanged. Snapshot data on the wire is the ops
//! alone.

use crate::log_store::LogShared;
use crate::types::{RaftLogId, SnapshotMeta, StoredMembership, TypeConfig};
use broker::journal_body::{decode_entry, inline_paged_bodies, oldest_body_ref, JournalBodyReader};
use broker::op_codec::{decode_ops, encode_image, encode_ops, image_size_hint};
use broker::store::{BodyReader, SnapshotImage, StateMachine, StoreOp};
use bytes::{Bytes, BytesMut};
use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine, Snapshot};
use openraft::{EntryPayload, OptionalSend, StorageError, StorageIOError};
use std::io::Cursor;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

type NodeId = u64;

/// Called before a snapshot from the leader replaces state this node already holds: it
/// must empty the broker state (the snapshot's ops are applied next).
pub type ResetHook = Arc<dyn Fn() + Send + Sync>;

struct Applied {
    last_applied: Option<RaftLogId>,
    membership: StoredMembership,
    /// Ops were applied to the broker state (so installing a snapshot must reset it).
    has_state: bool,
}

pub(crate) struct SmShared {
    machine: Arc<dyn StateMachine>,
    /// Reads paged-out bodies back from this node's own journal.
    bodies: Arc<dyn BodyReader>,
    reset: Option<ResetHook>,
    log: Arc<LogShared>,
    applied: Mutex<Applied>,
    snapshot_seq: std::sync::atomic::AtomicU64,
    /// Set once the Raft node runs: from then on the current snapshot is only asked for to
    /// send it to a peer (openraft's start-up reads only its meta, so it gets the file as
    /// it is rather than every paged body read back).
    started: std::sync::atomic::AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn other(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// The snapshot file's start (meta length and meta) in a buffer with room for `ops_len`
/// more bytes: the ops are encoded straight after it.
fn snapshot_file_head(meta: &SnapshotMeta, ops_len: usize) -> Result<BytesMut, serde_json::Error> {
    let json = serde_json::to_vec(meta)?;
    let mut out = BytesMut::with_capacity(4 + json.len() + ops_len);
    out.extend_from_slice(&(json.len() as u32).to_be_bytes());
    out.extend_from_slice(&json);
    Ok(out)
}

fn decode_snapshot_file(data: &Bytes) -> Result<(SnapshotMeta, Bytes), String> {
    if data.len() < 4 {
        return Err("snapshot file too short".into());
    }
    let len = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
    if data.len() < 4 + len {
        return Err("snapshot meta truncated".into());
    }
    let meta = serde_json::from_slice(&data[4..4 + len]).map_err(|e| e.to_string())?;
    Ok((meta, data.slice(4 + len..)))
}

impl SmShared {
    /// Loads the journal's snapshot (if any) into `machine`.
    pub(crate) fn open(
        log: Arc<LogShared>,
        machine: Arc<dyn StateMachine>,
        reset: Option<ResetHook>,
    ) -> Result<Arc<SmShared>, String> {
        let mut applied = Applied {
            last_applied: None,
            membership: StoredMembership::default(),
            has_state: false,
        };
        // Bodies of applied messages point into this node's journal records, so the broker
        // may page them out past its memory limit (as on a single node).
        let bodies: Arc<dyn BodyReader> = Arc::new(JournalBodyReader::new(log.journal().reader()));
        machine.attach_body_reader(bodies.clone());
        let snapshot = log.journal().read_snapshot().map_err(|e| e.to_string())?;
        if let Some((jmeta, data)) = snapshot {
            let (meta, ops) = decode_snapshot_file(&data)?;
            let ops = decode_ops(&ops).map_err(|e| format!("snapshot {}: {e}", jmeta.index))?;
            log.keep_bodies_from(oldest_body_ref(&ops));
            machine.apply(jmeta.index, &ops);
            tracing::info!(index = jmeta.index, ops = ops.len(), "loaded snapshot");
            applied.last_applied = meta.last_log_id;
            applied.membership = meta.last_membership;
            applied.has_state = !ops.is_empty();
        }
        Ok(Arc::new(SmShared {
            machine,
            bodies,
            reset,
            log,
            applied: Mutex::new(applied),
            snapshot_seq: std::sync::atomic::AtomicU64::new(0),
            started: std::sync::atomic::AtomicBool::new(false),
        }))
    }

    /// The Raft node is running (see `started`).
    pub(crate) fn mark_started(&self) {
        self.started.store(true, Ordering::Release);
    }

    fn read_current(&self) -> Result<Option<(SnapshotMeta, Bytes)>, StorageError<NodeId>> {
        let snapshot = self
            .log
            .journal()
            .read_snapshot()
            .map_err(|e| StorageIOError::read_snapshot(None, &e))?;
        match snapshot {
            None => Ok(None),
            Some((_, data)) => {
                let (meta, ops) = decode_snapshot_file(&data)
                    .map_err(|e| StorageIOError::read_snapshot(None, &other(e)))?;
                Ok(Some((meta, ops)))
            }
        }
    }

    /// The current snapshot as another node may install it: body refs point into this
    /// node's journal, so paged-out bodies are read back into the ops and refs dropped.
    fn read_current_for_peer(&self) -> Result<Option<(SnapshotMeta, Bytes)>, StorageError<NodeId>> {
        let Some((meta, data)) = self.read_current()? else {
            return Ok(None);
        };
        if !self.started.load(Ordering::Acquire) {
            return Ok(Some((meta, data)));
        }
        let signature = meta.signature();
        let mut ops = decode_ops(&data)
            .map_err(|e| StorageIOError::read_snapshot(Some(signature.clone()), &other(e)))?;
        let refers = ops.iter().any(|op| match op {
            StoreOp::Restore { message, .. } | StoreOp::AddMessage { message } => {
                message.body_ref.is_some()
            }
            _ => false,
        });
        if !refers {
            return Ok(Some((meta, data)));
        }
        inline_paged_bodies(&mut ops, &self.bodies)
            .map_err(|e| StorageIOError::read_snapshot(Some(signature), &other(e)))?;
        Ok(Some((meta, encode_ops(&ops))))
    }

    /// Decodes a committed entry; messages it adds note where their bodies sit in this
    /// node's journal record for the entry (written before it could commit here).
    fn decode_committed(&self, index: u64, payload: &Bytes) -> Result<Vec<StoreOp>, String> {
        let position = self.log.journal().position(index);
        match position {
            Some(p) if p.len as usize == payload.len() => {
                decode_entry(index, payload, p).map_err(|e| e.to_string())
            }
            _ => {
                tracing::debug!(
                    index,
                    "entry not found in the journal: its bodies stay in memory"
                );
                decode_ops(payload).map_err(|e| e.to_string())
            }
        }
    }

    /// Replaces this node's state with a snapshot from the leader (`data`: its ops).
    fn install(&self, meta: &SnapshotMeta, data: Vec<u8>) -> Result<(), StorageError<NodeId>> {
        let data = Bytes::from(data);
        let ops = decode_ops(&data)
            .map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), &other(e)))?;
        self.write_snapshot(meta, &data)?;
        // A leader's snapshot carries its bodies inline: nothing here refers to the log.
        self.log.keep_bodies_from(None);
        let has_state = lock(&self.applied).has_state;
        if has_state {
            match &self.reset {
                Some(reset) => reset(),
                None => {
                    return Err(StorageIOError::write_state_machine(&other(
                        "a snapshot from the leader must replace existing broker state, \
                         but the state machine cannot be reset (restart the node to load it)",
                    ))
                    .into())
                }
            }
        }
        let index = meta.last_log_id.map_or(0, |l| l.index);
        self.machine.apply(index, &ops);
        tracing::info!(index, ops = ops.len(), "installed snapshot from the leader");
        let mut a = lock(&self.applied);
        a.last_applied = meta.last_log_id;
        a.membership = meta.last_membership.clone();
        a.has_state = !ops.is_empty();
        Ok(())
    }

    /// Writes the snapshot file for `meta` with these (encoded) ops.
    fn write_snapshot(&self, meta: &SnapshotMeta, ops: &[u8]) -> Result<(), StorageError<NodeId>> {
        let mut file = snapshot_file_head(meta, ops.len())
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        file.extend_from_slice(ops);
        self.write_snapshot_file(meta, &file)
    }

    /// Writes a whole snapshot file (head and ops) for `meta`.
    fn write_snapshot_file(
        &self,
        meta: &SnapshotMeta,
        file: &[u8],
    ) -> Result<(), StorageError<NodeId>> {
        let jmeta = journal::SnapshotMeta {
            index: meta.last_log_id.map_or(0, |l| l.index),
            term: meta.last_log_id.map_or(0, |l| l.leader_id.term),
        };
        // Written without the journal lock: the Raft core keeps appending (and replication
        // reading) while a large snapshot is written and fsynced; holding it stalled the
        // master past its lease with a 135 MB backlog.
        let writer = self.log.journal().snapshot_writer();
        let written = writer
            .write(jmeta, file)
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        let mut j = self.log.journal();
        j.adopt_snapshot(written);
        self.log.update_counters(&j);
        self.log.counters.snapshots.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// The state machine handed to openraft.
pub struct BrokerStateMachine {
    shared: Arc<SmShared>,
}

impl BrokerStateMachine {
    pub(crate) fn new(shared: Arc<SmShared>) -> BrokerStateMachine {
        BrokerStateMachine { shared }
    }
}

/// Builds a snapshot from the image taken when the builder was made (in the state
/// machine's task, between two applies, so it matches `last_applied` exactly).
pub struct OpsSnapshotBuilder {
    shared: Arc<SmShared>,
    image: SnapshotImage,
    last_applied: Option<RaftLogId>,
    membership: StoredMembership,
}

impl RaftSnapshotBuilder<TypeConfig> for OpsSnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let seq = self.shared.snapshot_seq.fetch_add(1, Ordering::Relaxed);
        let meta = SnapshotMeta {
            last_log_id: self.last_applied,
            last_membership: self.membership.clone(),
            snapshot_id: match self.last_applied {
                Some(l) => format!("{}-{}-{seq}", l.leader_id.term, l.index),
                None => format!("none-{seq}"),
            },
        };
        // Encoding and writing a large backlog takes seconds: on a blocking thread, so no
        // runtime worker stalls meanwhile. The ops are encoded straight into the file's
        // buffer; the one copy made is the ops openraft gets back.
        let image = std::mem::take(&mut self.image);
        let keep = image.oldest_body_ref();
        let (shared, file_meta) = (self.shared.clone(), meta.clone());
        let started = std::time::Instant::now();
        let data = tokio::task::spawn_blocking(move || {
            let mut file = snapshot_file_head(&file_meta, image_size_hint(&image))
                .map_err(|e| StorageIOError::write_snapshot(Some(file_meta.signature()), &e))?;
            let head = file.len();
            encode_image(&mut file, image);
            shared.write_snapshot_file(&file_meta, &file)?;
            Ok::<_, StorageError<NodeId>>(file[head..].to_vec())
        })
        .await
        .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &other(e)))??;
        // Before openraft purges below this snapshot: keep what its paged messages read.
        self.shared.log.keep_bodies_from(keep);
        tracing::info!(
            index = ?self.last_applied.map(|l| l.index),
            bytes = data.len(),
            took_ms = started.elapsed().as_millis() as u64,
            "snapshot built"
        );
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for BrokerStateMachine {
    type SnapshotBuilder = OpsSnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<RaftLogId>, StoredMembership), StorageError<NodeId>> {
        let a = lock(&self.shared.applied);
        Ok((a.last_applied, a.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<u64>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = crate::types::Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<_> = entries.into_iter().collect();
        // On the leader openraft commits before the leader's own fsync (see log_store):
        // nothing is applied, and so no client answered, before it is on disk here too.
        if let Some(last) = entries.last() {
            self.shared
                .log
                .wait_durable(last.log_id.index)
                .await
                .map_err(|e| StorageIOError::apply(last.log_id, &e))?;
        }
        let mut out = Vec::new();
        for entry in entries {
            let index = entry.log_id.index;
            match entry.payload {
                EntryPayload::Blank => {}
                EntryPayload::Normal(ops) => {
                    let ops = self
                        .shared
                        .decode_committed(index, &ops.0)
                        .map_err(|e| StorageIOError::apply(entry.log_id, &other(e)))?;
                    self.shared.machine.apply(index, &ops);
                    lock(&self.shared.applied).has_state = true;
                }
                EntryPayload::Membership(m) => {
                    lock(&self.shared.applied).membership =
                        StoredMembership::new(Some(entry.log_id), m);
                }
            }
            lock(&self.shared.applied).last_applied = Some(entry.log_id);
            out.push(index);
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        let a = lock(&self.shared.applied);
        let started = std::time::Instant::now();
        let image = self.shared.machine.snapshot();
        tracing::info!(
            ops = image.len(),
            took_ms = started.elapsed().as_millis() as u64,
            "snapshot image taken"
        );
        OpsSnapshotBuilder {
            shared: self.shared.clone(),
            image,
            last_applied: a.last_applied,
            membership: a.membership.clone(),
        }
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        // Decoding, writing and applying hundreds of MB takes seconds: on a blocking
        // thread, so the Raft core (on its own thread) keeps answering the leader.
        let (shared, file_meta) = (self.shared.clone(), meta.clone());
        tokio::task::spawn_blocking(move || shared.install(&file_meta, snapshot.into_inner()))
            .await
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &other(e)))?
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        // Reads (and may re-encode) the whole file: on a blocking thread, as above.
        let shared = self.shared.clone();
        let current = tokio::task::spawn_blocking(move || shared.read_current_for_peer())
            .await
            .map_err(|e| StorageIOError::read_snapshot(None, &other(e)))??;
        Ok(current.map(|(meta, ops)| Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(ops.to_vec())),
        }))
    }
}
