//! The conformance suite of the [`Store`] trait (STYLE rule 6): every guarantee the trait's
//! docs in `store.rs` promise, checked the same way for every implementation.
//!
//! Each check takes a [`StoreFactory`] (how to open the store under test over its own
//! directory, and how to bring its content back) and a [`Recorder`] state machine that
//! records every applied entry. `conformance_tests!` instantiates the whole suite for one
//! implementation; adding a store means adding a factory and one macro line at the bottom.

use crate::destination::Destination;
use crate::journal_store::{JournalStore, JournalStoreConfig};
use crate::memory_store::MemoryStore;
use crate::message::{BodyKind, Message};
use crate::store::{
    AppendFuture, QueueRef, SnapshotImage, StateMachine, Store, StoreError, StoreOp,
};
use bytes::Bytes;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a check waits for something that should happen promptly.
const SETTLE: Duration = Duration::from_secs(10);
/// Concurrent appenders in the concurrency check.
const APPENDERS: u64 = 32;
/// Appends each of them makes.
const APPENDS_EACH: u64 = 20;

type Applied = Vec<(u64, Vec<StoreOp>)>;
type SnapshotFn = dyn Fn(&Applied) -> Vec<StoreOp> + Send + Sync;

/// A state machine that records what it is given and notices overlapping applies.
pub(crate) struct Recorder {
    applied: Mutex<Applied>,
    applying: AtomicBool,
    overlaps: AtomicUsize,
    /// (last applied index when asked, ops returned) for each snapshot request.
    snapshots: Mutex<Applied>,
    snapshot_with: Box<SnapshotFn>,
}

impl Recorder {
    /// Its snapshot is every op applied so far, in order: replaying it rebuilds the same
    /// "state" (the flattened op list).
    pub fn new() -> Arc<Recorder> {
        Recorder::with_snapshot(Box::new(|applied: &Applied| flatten(applied)))
    }

    pub fn with_snapshot(snapshot_with: Box<SnapshotFn>) -> Arc<Recorder> {
        Arc::new(Recorder {
            applied: Mutex::new(Vec::new()),
            applying: AtomicBool::new(false),
            overlaps: AtomicUsize::new(0),
            snapshots: Mutex::new(Vec::new()),
            snapshot_with,
        })
    }

    pub fn applied(&self) -> Applied {
        self.applied.lock().unwrap().clone()
    }

    pub fn applied_len(&self) -> usize {
        self.applied.lock().unwrap().len()
    }

    pub fn has_applied(&self, index: u64) -> Option<Vec<StoreOp>> {
        self.applied
            .lock()
            .unwrap()
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, ops)| ops.clone())
    }

    pub fn overlaps(&self) -> usize {
        self.overlaps.load(Ordering::SeqCst)
    }

    pub fn snapshots(&self) -> Applied {
        self.snapshots.lock().unwrap().clone()
    }

    pub fn as_machine(self: &Arc<Self>) -> Arc<dyn StateMachine> {
        self.clone()
    }
}

impl StateMachine for Recorder {
    fn apply(&self, index: u64, ops: &[StoreOp]) {
        if self.applying.swap(true, Ordering::SeqCst) {
            self.overlaps.fetch_add(1, Ordering::SeqCst);
        }
        // Widen the window in which a concurrent apply would be caught.
        std::thread::yield_now();
        // `body_ref` is where a paging store found the body: location metadata the store
        // adds, not part of the op that was appended.
        let mut ops = ops.to_vec();
        for op in &mut ops {
            if let StoreOp::AddMessage { message } | StoreOp::Restore { message, .. } = op {
                message.body_ref = None;
            }
        }
        self.applied.lock().unwrap().push((index, ops));
        self.applying.store(false, Ordering::SeqCst);
    }

    fn snapshot(&self) -> SnapshotImage {
        let applied = self.applied.lock().unwrap();
        let ops = (self.snapshot_with)(&applied);
        let last = applied.last().map_or(0, |(i, _)| *i);
        self.snapshots.lock().unwrap().push((last, ops.clone()));
        SnapshotImage::from_ops(ops)
    }
}

fn flatten(applied: &Applied) -> Vec<StoreOp> {
    applied.iter().flat_map(|(_, ops)| ops.clone()).collect()
}

/// Opens the store under test and brings its content back the way that store recovers.
pub(crate) trait StoreFactory: Send {
    /// Opens the store over this factory's data (empty the first time), replaying what it
    /// holds into `machine`.
    fn open(&mut self, machine: Arc<dyn StateMachine>) -> Arc<dyn Store>;
    /// Closes the store last opened and replays its content into `machine`. Returns the
    /// reopened store when the implementation survives restarts (then appends continue
    /// the log), `None` when it only replays (memory).
    fn reopen(&mut self, machine: Arc<dyn StateMachine>) -> Option<Arc<dyn Store>>;
    /// Makes the next `open` compact early (a snapshot after a few KiB). False when this
    /// store never compacts.
    fn compact_early(&mut self) -> bool;
}

struct MemoryFactory {
    current: Option<Arc<MemoryStore>>,
}

impl MemoryFactory {
    fn new() -> MemoryFactory {
        MemoryFactory { current: None }
    }
}

impl StoreFactory for MemoryFactory {
    fn open(&mut self, machine: Arc<dyn StateMachine>) -> Arc<dyn Store> {
        let store = Arc::new(MemoryStore::new(machine));
        self.current = Some(store.clone());
        store
    }

    fn reopen(&mut self, machine: Arc<dyn StateMachine>) -> Option<Arc<dyn Store>> {
        let old = self.current.take().expect("open first");
        old.close();
        old.recover_into(machine.as_ref());
        None
    }

    fn compact_early(&mut self) -> bool {
        false
    }
}

struct JournalFactory {
    dir: tempfile::TempDir,
    snapshot_bytes: u64,
    segment_size: u64,
    current: Option<Arc<JournalStore>>,
}

impl JournalFactory {
    fn new() -> JournalFactory {
        JournalFactory {
            dir: tempfile::tempdir().expect("temp dir"),
            snapshot_bytes: 1 << 30,
            segment_size: journal::JournalConfig::DEFAULT_SEGMENT_SIZE,
            current: None,
        }
    }
}

impl StoreFactory for JournalFactory {
    fn open(&mut self, machine: Arc<dyn StateMachine>) -> Arc<dyn Store> {
        let mut journal = journal::JournalConfig::new(self.dir.path());
        journal.segment_size = self.segment_size;
        let config = JournalStoreConfig {
            snapshot_bytes: self.snapshot_bytes,
            ..JournalStoreConfig::new(journal)
        };
        let store = Arc::new(JournalStore::open(config, machine).expect("open journal store"));
        self.current = Some(store.clone());
        store
    }

    fn reopen(&mut self, machine: Arc<dyn StateMachine>) -> Option<Arc<dyn Store>> {
        if let Some(old) = self.current.take() {
            old.close();
        }
        Some(self.open(machine))
    }

    fn compact_early(&mut self) -> bool {
        self.snapshot_bytes = 2048;
        self.segment_size = 4096;
        true
    }
}

/// One entry of three ops whose first op carries `tag`, so the entry can be told apart.
fn entry(tag: u64) -> Vec<StoreOp> {
    let mut message = Message::new(
        format!("ID:conformance:{tag}"),
        Destination::Queue("conformance".into()),
        BodyKind::Text,
        Bytes::from(format!("body of entry {tag}")),
    );
    message.persistent = true;
    vec![
        StoreOp::ProducerMark {
            producer: "tagger".to_string(),
            seq: tag,
        },
        StoreOp::AddMessage { message },
        StoreOp::Ack {
            queue: QueueRef::Queue("conformance".into()),
            keys: vec![tag, tag + 1, tag + 2],
        },
    ]
}

fn tag_of(ops: &[StoreOp]) -> u64 {
    match ops.first() {
        Some(StoreOp::ProducerMark { seq, .. }) => *seq,
        other => panic!("entry does not start with its tag: {other:?}"),
    }
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + SETTLE;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn assert_contiguous_from(applied: &[(u64, Vec<StoreOp>)], first: u64) {
    let indexes: Vec<u64> = applied.iter().map(|(i, _)| *i).collect();
    let expected: Vec<u64> = (first..first + indexes.len() as u64).collect();
    assert_eq!(
        indexes, expected,
        "applied indexes must be gap-free, increasing, each once"
    );
}

// ----- the checks ------------------------------------------------------------------------

/// Sequential appends get indexes 1, 2, 3, … and each resolves only after its entry, with
/// its ops in their order, was applied.
pub(crate) async fn indexes_are_contiguous_and_applied_before_resolving(
    factory: &mut dyn StoreFactory,
) {
    let recorder = Recorder::new();
    let store = factory.open(recorder.as_machine());
    for tag in 1..=50u64 {
        let index = store.append(entry(tag)).await.expect("append");
        assert_eq!(index, tag, "indexes start at 1 and have no gaps");
        assert_eq!(
            recorder.has_applied(index),
            Some(entry(tag)),
            "entry {index} must be applied, ops in order, when append resolves"
        );
    }
    assert_eq!(store.stats().last_index, 50);
    assert_contiguous_from(&recorder.applied(), 1);
    assert_eq!(recorder.overlaps(), 0);
    store.close();
}

/// Under concurrent appenders every entry is applied exactly once, in index order, never
/// two at a time, and is applied by the time its own append resolves.
pub(crate) async fn concurrent_appends_apply_once_in_order(factory: &mut dyn StoreFactory) {
    let recorder = Recorder::new();
    let store = factory.open(recorder.as_machine());
    let mut tasks = Vec::new();
    for appender in 0..APPENDERS {
        let store = store.clone();
        let recorder = recorder.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for i in 0..APPENDS_EACH {
                let tag = appender * 1000 + i + 1;
                let index = store.append(entry(tag)).await.expect("append");
                assert_eq!(
                    recorder.has_applied(index),
                    Some(entry(tag)),
                    "entry {index} must be applied when its append resolves"
                );
                got.push((index, tag));
            }
            got
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.extend(t.await.expect("appender task"));
    }
    let total = APPENDERS * APPENDS_EACH;
    results.sort_unstable();
    let indexes: Vec<u64> = results.iter().map(|(i, _)| *i).collect();
    assert_eq!(indexes, (1..=total).collect::<Vec<_>>());
    let applied = recorder.applied();
    assert_contiguous_from(&applied, 1);
    assert_eq!(
        applied.len() as u64,
        total,
        "each entry applied exactly once"
    );
    for (index, tag) in &results {
        assert_eq!(tag_of(&applied[(*index - 1) as usize].1), *tag);
    }
    assert_eq!(recorder.overlaps(), 0, "applies must never overlap");
    store.close();
}

/// `append` enqueues when called: log order is call order even when the futures are
/// awaited in another order or dropped unpolled.
pub(crate) async fn log_order_is_call_order(factory: &mut dyn StoreFactory) {
    let recorder = Recorder::new();
    let store = factory.open(recorder.as_machine());
    let mut futures: Vec<(u64, AppendFuture)> = Vec::new();
    for tag in 1..=60u64 {
        let f = store.append(entry(tag));
        if tag % 3 == 0 {
            drop(f);
        } else {
            futures.push((tag, f));
        }
    }
    // Poll the kept ones backwards, after everything was enqueued.
    for (tag, f) in futures.into_iter().rev() {
        assert_eq!(f.await.expect("append"), tag);
    }
    wait_until("all 60 entries are applied", || {
        recorder.applied_len() == 60
    })
    .await;
    let applied = recorder.applied();
    assert_contiguous_from(&applied, 1);
    let tags: Vec<u64> = applied.iter().map(|(_, ops)| tag_of(ops)).collect();
    assert_eq!(tags, (1..=60).collect::<Vec<_>>());
    store.close();
}

/// Reopening replays exactly the appended entries, same indexes, same ops, same order;
/// a store that survives restarts continues the log after the last index.
pub(crate) async fn reopen_replays_everything_in_order(factory: &mut dyn StoreFactory) {
    let first = Recorder::new();
    let store = factory.open(first.as_machine());
    for tag in 1..=40u64 {
        store.append(entry(tag)).await.expect("append");
    }
    drop(store);
    let second = Recorder::new();
    let reopened = factory.reopen(second.as_machine());
    assert_eq!(
        second.applied(),
        first.applied(),
        "replay equals the original"
    );
    if let Some(store) = reopened {
        assert_eq!(store.stats().last_index, 40);
        let index = store.append(entry(41)).await.expect("append after reopen");
        assert_eq!(index, 41, "the log continues after the replayed entries");
        assert_eq!(second.has_applied(41), Some(entry(41)));
        store.close();
    }
}

/// After a snapshot, a reopened store replays the snapshot's ops (under the snapshot's
/// index) and then only the later entries; the rebuilt state equals the original.
pub(crate) async fn snapshot_replay_rebuilds_equivalent_state(factory: &mut dyn StoreFactory) {
    if !factory.compact_early() {
        return;
    }
    let first = Recorder::new();
    let store = factory.open(first.as_machine());
    for tag in 1..=200u64 {
        store.append(entry(tag)).await.expect("append");
    }
    wait_until("a snapshot is written", || store.stats().snapshots >= 1).await;
    let written = store.stats().snapshots;
    // Let any snapshot requested meanwhile finish before closing.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(store.stats().snapshots >= written);
    drop(store);

    let second = Recorder::new();
    let store = factory
        .reopen(second.as_machine())
        .expect("compacting stores reopen");
    let replay = second.applied();
    let (snap_index, snap_ops) = replay.first().cloned().expect("something replayed");
    assert!(
        first
            .snapshots()
            .iter()
            .any(|(i, ops)| *i == snap_index && *ops == snap_ops),
        "replay must start with a snapshot the machine produced (index {snap_index})"
    );
    assert!(
        snap_index > 1,
        "entries below the snapshot are not replayed"
    );
    assert_contiguous_from(&replay[1..], snap_index + 1);
    assert_eq!(replay.last().map(|(i, _)| *i), Some(200));
    assert_eq!(
        flatten(&replay),
        flatten(&first.applied()),
        "snapshot + later entries rebuild the same state"
    );
    assert_eq!(store.append(entry(201)).await.expect("append"), 201);
    store.close();
}

/// After `close`, appends fail with `Closed`; appends enqueued before it still finish.
pub(crate) async fn close_finishes_queued_then_refuses(factory: &mut dyn StoreFactory) {
    let recorder = Recorder::new();
    let store = factory.open(recorder.as_machine());
    let queued: Vec<AppendFuture> = (1..=20u64).map(|tag| store.append(entry(tag))).collect();
    store.close();
    for (i, f) in queued.into_iter().enumerate() {
        assert_eq!(
            f.await.expect("appends enqueued before close complete"),
            i as u64 + 1
        );
    }
    match store.append(entry(99)).await {
        Err(StoreError::Closed) => {}
        other => panic!("append after close must fail with Closed, got {other:?}"),
    }
    assert_eq!(recorder.applied_len(), 20);
}

macro_rules! conformance_tests {
    ($module:ident, $factory:expr) => {
        mod $module {
            use super::*;

            #[tokio::test(flavor = "multi_thread")]
            async fn indexes_are_contiguous_and_applied_before_resolving() {
                super::indexes_are_contiguous_and_applied_before_resolving(&mut $factory).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn concurrent_appends_apply_once_in_order() {
                super::concurrent_appends_apply_once_in_order(&mut $factory).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn log_order_is_call_order() {
                super::log_order_is_call_order(&mut $factory).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn reopen_replays_everything_in_order() {
                super::reopen_replays_everything_in_order(&mut $factory).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn snapshot_replay_rebuilds_equivalent_state() {
                super::snapshot_replay_rebuilds_equivalent_state(&mut $factory).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn close_finishes_queued_then_refuses() {
                super::close_finishes_queued_then_refuses(&mut $factory).await;
            }
        }
    };
}

conformance_tests!(memory_suite, MemoryFactory::new());
conformance_tests!(journal_suite, JournalFactory::new());
