//! The broker's own state machine on every node: paging with a memory limit far below
//! the backlog, and the store limit.

use crate::{others, Cluster, TestMachine};
use broker::{
    BodyKind, Broker, BrokerConfig, BrokerError, ConsumerSpec, Core, Destination, Message, Outbox,
    Store, StoreError,
};
use bytes::Bytes;
use cluster::{ClusterConfig, ResetHook};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The broker's memory limit on every node.
const LIMIT: usize = 256 * 1024;
/// Persistent 10 KB messages: about 8× the limit.
const COUNT: usize = 200;
const SETTLE: Duration = Duration::from_secs(20);

impl TestMachine for Core {
    fn fresh() -> Arc<Self> {
        Core::new(6, LIMIT)
    }

    fn reset_hook(self: &Arc<Self>) -> ResetHook {
        let core = self.clone();
        Arc::new(move || core.reset())
    }
}

fn snapshot_often(c: &mut ClusterConfig) {
    c.snapshot_after_entries = 20;
    c.keep_entries_after_snapshot = 0;
}

fn body(i: usize) -> String {
    format!("{i:05}-{}", "p".repeat(10_000))
}

fn message(queue: &Destination, i: usize) -> Message {
    let mut m = Message::new(
        format!("paged-{i}"),
        queue.clone(),
        BodyKind::Text,
        Bytes::from(body(i)),
    );
    m.persistent = true;
    m
}

impl Cluster<Core> {
    /// A broker over node `id`'s core and store.
    fn broker(&self, id: u64) -> Broker {
        let node = self.node(id);
        let store: Arc<dyn Store> = node.store.clone().expect("node running");
        Broker::new(
            BrokerConfig {
                name: format!("node{id}"),
                memory_limit: LIMIT,
                max_redeliveries: 6,
            },
            node.machine.clone(),
            store,
        )
    }

    /// Waits until node `id` applied everything the leader has.
    async fn caught_up(&self, id: u64, leader: u64) {
        let deadline = Instant::now() + SETTLE;
        loop {
            let want = self.store(leader).status().applied_index;
            let got = self.store(id).status().applied_index;
            if got >= want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "node {id} applied {got}, leader {leader} {want}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Drains `count` messages from `queue` through `broker`, acking as it goes.
async fn drain(broker: &Broker, queue: &Destination, count: usize) -> Vec<String> {
    let connection = broker.connect(None).expect("connect");
    let mut spec = ConsumerSpec::new(queue.clone());
    spec.prefetch = 10;
    let outbox = Outbox::new();
    let consumer = broker
        .subscribe(connection, spec, outbox.clone())
        .await
        .expect("subscribe");
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + SETTLE;
    while got.len() < count {
        let batch = outbox.drain(usize::MAX);
        if batch.is_empty() {
            assert!(
                tokio::time::timeout_at(deadline, outbox.ready())
                    .await
                    .is_ok(),
                "received {} of {count}",
                got.len()
            );
            continue;
        }
        let keys: Vec<u64> = batch.iter().map(|d| d.key).collect();
        got.extend(
            batch
                .iter()
                .map(|d| String::from_utf8_lossy(&d.message.body).into_owned()),
        );
        broker.ack(consumer, &keys).await.expect("ack commits");
    }
    broker.close_consumer(consumer);
    got
}

/// A persistent backlog far larger than the memory limit stays near the limit in memory
/// on the master and on a slave (bodies are read back from each node's own journal),
/// survives snapshots that purge the log (segments holding paged bodies stay), reaches a
/// node that was down through the leader's snapshot (bodies put back inline, since body
/// positions are per node), and a new master delivers every body intact and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backlog_larger_than_memory_is_paged_on_every_node_and_survives_failover() {
    let mut cluster = Cluster::<Core>::start(snapshot_often).await;
    let leader = cluster.leader(SETTLE).await;
    let mut followers = others(leader);
    let (slave, down) = (followers.next().unwrap(), followers.next().unwrap());
    eprintln!("--- leader {leader}; node {down} stopped while the backlog is sent");
    cluster.stop(down).await;

    let queue = Destination::Queue("paged".into());
    let broker = cluster.broker(leader);
    for i in 0..COUNT {
        broker
            .send(message(&queue, i))
            .await
            .expect("send committed");
    }
    cluster.caught_up(slave, leader).await;
    for id in [leader, slave] {
        let used = cluster.node(id).machine.memory_used();
        eprintln!("--- node {id}: {used} bytes of messages in memory");
        assert!(
            used < LIMIT + COUNT * 1024,
            "node {id} holds {used} bytes, limit {LIMIT}"
        );
    }
    let deadline = Instant::now() + SETTLE;
    while cluster.store(leader).stats().snapshots == 0 {
        assert!(Instant::now() < deadline, "the leader never snapshotted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let purged = cluster.store(leader).raft().metrics().borrow().purged;
    eprintln!("--- leader snapshotted, raft purged through {purged:?}");
    assert!(
        purged.is_some_and(|p| p.index > 2),
        "the leader purged its log: {purged:?}"
    );

    eprintln!("--- node {down} comes back and catches up from the leader's snapshot");
    cluster.restart(down).await;
    cluster.caught_up(down, leader).await;

    // Two failovers, so that at least one new master is a node that paged the bodies out
    // to its own journal and purged it (the slave, or the old leader restarted from its
    // own snapshot), not only the node that got them inline.
    let want: Vec<String> = (0..COUNT).map(body).collect();
    eprintln!("--- the leader stops; the new master delivers the first half");
    drop(broker);
    cluster.stop(leader).await;
    let first = cluster.leader(SETTLE).await;
    let broker = cluster.broker(first);
    let mut got = drain(&broker, &queue, COUNT / 2).await;
    drop(broker);
    eprintln!("--- node {leader} restarts from its snapshot, node {first} stops; the next master delivers the rest");
    cluster.restart(leader).await;
    cluster.caught_up(leader, first).await;
    cluster.stop(first).await;
    let second = cluster.leader(SETTLE).await;
    let broker = cluster.broker(second);
    got.extend(drain(&broker, &queue, COUNT - COUNT / 2).await);
    drop(broker);
    eprintln!("--- masters: node {first}, then node {second}");
    let intact = got.iter().zip(&want).filter(|(g, w)| g == w).count();
    assert_eq!(got.len(), COUNT, "received");
    assert_eq!(intact, COUNT, "bodies intact and in order");
    cluster.shutdown().await;
}

fn small_store(c: &mut ClusterConfig) {
    snapshot_often(c);
    c.store_limit = 512 * 1024;
}

/// Past `store_limit` the master refuses sends with `Full` (nothing acknowledged beyond
/// it), acks still commit, and once they are snapshotted and the log purged, sends pass
/// again; every acknowledged message is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_limit_refuses_sends_until_acks_free_the_log() {
    let cluster = Cluster::<Core>::start(small_store).await;
    let leader = cluster.leader(SETTLE).await;
    let queue = Destination::Queue("limited".into());
    let broker = cluster.broker(leader);
    let mut acked = 0;
    let refusal = loop {
        match broker.send(message(&queue, acked)).await {
            Ok(()) => acked += 1,
            Err(e) => break e,
        }
        assert!(
            acked < 1000,
            "10 MB sent without reaching a 512 KiB store limit"
        );
    };
    eprintln!("--- refused after {acked} acknowledged sends: {refusal}");
    assert!(
        matches!(refusal, BrokerError::Store(StoreError::Full { .. })),
        "{refusal:?}"
    );
    assert!(acked > 0);

    let got = drain(&broker, &queue, acked).await;
    let want: Vec<String> = (0..acked).map(body).collect();
    assert!(
        got == want,
        "every acknowledged message delivered intact, in order"
    );

    let deadline = Instant::now() + SETTLE;
    loop {
        match broker.send(message(&queue, acked)).await {
            Ok(()) => break,
            Err(BrokerError::Store(StoreError::Full { .. })) => {
                assert!(Instant::now() < deadline, "the log was never purged");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("unexpected send error: {e}"),
        }
    }
    eprintln!("--- sends pass again: {:?}", cluster.store(leader).stats());
    drop(broker);
    cluster.shutdown().await;
}
