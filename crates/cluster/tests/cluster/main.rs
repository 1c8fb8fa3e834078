//! Three Raft nodes in one process on loopback, each with its own journal and state
//! machine: a recording one here, the broker's own in `broker_machine`.

mod broker_machine;

use broker::store::{SnapshotImage, StateMachine, Store, StoreError, StoreOp};
use cluster::{ClusterConfig, ReplicatedStore, ResetHook, Role};
use journal::JournalConfig;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Records the `ProducerMark` seqs it applies, in order; its snapshot is that list.
#[derive(Default)]
struct Recording {
    state: Mutex<RecState>,
}

#[derive(Default)]
struct RecState {
    seqs: Vec<u64>,
    last_index: u64,
    resets: u64,
}

impl Recording {
    fn seqs(&self) -> Vec<u64> {
        self.state.lock().unwrap().seqs.clone()
    }
    fn resets(&self) -> u64 {
        self.state.lock().unwrap().resets
    }
}

impl StateMachine for Recording {
    fn apply(&self, index: u64, ops: &[StoreOp]) {
        let mut s = self.state.lock().unwrap();
        // Strictly increasing, except a snapshot applied at the index it covers.
        assert!(
            index > s.last_index
                || (index == s.last_index && s.seqs.is_empty())
                || s.last_index == 0,
            "applied {index} after {}",
            s.last_index
        );
        s.last_index = index;
        for op in ops {
            match op {
                StoreOp::ProducerMark { producer, seq } if producer == "p" => s.seqs.push(*seq),
                _ => {}
            }
        }
    }

    fn snapshot(&self) -> SnapshotImage {
        SnapshotImage::from_ops(
            self.state
                .lock()
                .unwrap()
                .seqs
                .iter()
                .map(|&seq| StoreOp::ProducerMark {
                    producer: "p".into(),
                    seq,
                })
                .collect(),
        )
    }
}

/// A state machine the harness can make afresh for a node (start, restart) and empty
/// before a leader's snapshot replaces its state.
trait TestMachine: StateMachine + Sized + 'static {
    fn fresh() -> Arc<Self>;
    fn reset_hook(self: &Arc<Self>) -> ResetHook;
}

impl TestMachine for Recording {
    fn fresh() -> Arc<Self> {
        Arc::new(Recording::default())
    }

    fn reset_hook(self: &Arc<Self>) -> ResetHook {
        let m = self.clone();
        Arc::new(move || {
            let mut s = m.state.lock().unwrap();
            s.seqs.clear();
            s.last_index = 0;
            s.resets += 1;
        })
    }
}

fn mark(seq: u64) -> Vec<StoreOp> {
    vec![StoreOp::ProducerMark {
        producer: "p".into(),
        seq,
    }]
}

struct Node<M = Recording> {
    id: u64,
    dir: PathBuf,
    machine: Arc<M>,
    store: Option<Arc<ReplicatedStore>>,
}

struct Cluster<M = Recording> {
    _tmp: tempfile::TempDir,
    peers: BTreeMap<u64, String>,
    nodes: Vec<Node<M>>,
    tune: fn(&mut ClusterConfig),
}

fn journal_config(dir: &Path) -> JournalConfig {
    let mut j = JournalConfig::new(dir);
    // Small segments, so purging after a snapshot really deletes files.
    j.segment_size = 16 * 1024;
    j.preallocate = 0;
    j
}

impl<M: TestMachine> Cluster<M> {
    async fn start(tune: fn(&mut ClusterConfig)) -> Cluster<M> {
        let tmp = tempfile::tempdir().unwrap();
        let mut listeners = Vec::new();
        let mut peers = BTreeMap::new();
        for id in 1..=3u64 {
            // Not `bind(0)`: a stopped node's port must stay free for its restart. An
            // ephemeral port can meanwhile become another test's outgoing connection, or
            // another test's cluster node (which this cluster's nodes would then dial).
            let port = testkit::reserve_port();
            let l = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .unwrap();
            peers.insert(id, format!("tcp://{}", l.local_addr().unwrap()));
            listeners.push((id, l));
        }
        let mut cluster = Cluster {
            peers,
            nodes: Vec::new(),
            tune,
            _tmp: tmp,
        };
        for (id, listener) in listeners {
            let dir = cluster._tmp.path().join(format!("node{id}"));
            let machine = M::fresh();
            let store = cluster
                .open(id, &dir, machine.clone(), Some(listener))
                .await;
            cluster.nodes.push(Node {
                id,
                dir,
                machine,
                store: Some(Arc::new(store)),
            });
        }
        cluster
    }

    async fn open(
        &self,
        id: u64,
        dir: &Path,
        machine: Arc<M>,
        listener: Option<tokio::net::TcpListener>,
    ) -> ReplicatedStore {
        let mut config = ClusterConfig::new(id, self.peers.clone(), journal_config(dir));
        (self.tune)(&mut config);
        let reset = machine.reset_hook();
        match listener {
            Some(l) => ReplicatedStore::start(config, l, machine, Some(reset)).await,
            None => ReplicatedStore::open(config, machine, Some(reset)).await,
        }
        .expect("node starts")
    }

    fn node(&self, id: u64) -> &Node<M> {
        &self.nodes[(id - 1) as usize]
    }

    fn store(&self, id: u64) -> &ReplicatedStore {
        self.node(id).store.as_ref().expect("node running")
    }

    /// Waits until every running node agrees on one leader, and returns it.
    async fn leader(&self, within: Duration) -> u64 {
        let deadline = Instant::now() + within;
        loop {
            let running: Vec<&Arc<ReplicatedStore>> =
                self.nodes.iter().filter_map(|n| n.store.as_ref()).collect();
            let leaders: Vec<u64> = running
                .iter()
                .filter(|s| s.status().role == Role::Master)
                .map(|s| s.node_id())
                .collect();
            if leaders.len() == 1
                && running
                    .iter()
                    .all(|s| s.status().leader == Some(leaders[0]))
            {
                return leaders[0];
            }
            assert!(Instant::now() < deadline, "no leader within {within:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(&mut self, id: u64) {
        let store = self.nodes[(id - 1) as usize].store.take().expect("running");
        store.shutdown().await;
        drop(store);
    }

    /// Restarts a stopped node from its journal, with a fresh state machine.
    async fn restart(&mut self, id: u64) {
        let dir = self.node(id).dir.clone();
        let machine = M::fresh();
        let store = self.open(id, &dir, machine.clone(), None).await;
        let node = &mut self.nodes[(id - 1) as usize];
        node.machine = machine;
        node.store = Some(Arc::new(store));
    }

    /// Stops every node; the returned directory holds their journals until dropped.
    async fn shutdown(mut self) -> tempfile::TempDir {
        for id in 1..=3 {
            if self.node(id).store.is_some() {
                self.stop(id).await;
            }
        }
        self._tmp
    }
}

impl Cluster<Recording> {
    /// Appends seqs `range` through `leader`, pipelined; returns the indexes.
    async fn append_all(&self, leader: u64, range: std::ops::Range<u64>) -> Vec<u64> {
        let store = self.store(leader);
        let futures: Vec<_> = range.map(|seq| store.append(mark(seq))).collect();
        let mut indexes = Vec::new();
        for f in futures {
            indexes.push(
                tokio::time::timeout(Duration::from_secs(10), f)
                    .await
                    .expect("append returns")
                    .expect("append ok"),
            );
        }
        indexes
    }

    /// Waits until every running node's machine holds exactly `expected`.
    async fn converged(&self, expected: &[u64], within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let done = self
                .nodes
                .iter()
                .filter(|n| n.store.is_some())
                .all(|n| n.machine.seqs() == expected);
            if done {
                return;
            }
            if Instant::now() >= deadline {
                for n in &self.nodes {
                    let seqs = n.machine.seqs();
                    eprintln!(
                        "node {} running={} has {} seqs (last {:?}), status {:?}",
                        n.id,
                        n.store.is_some(),
                        seqs.len(),
                        seqs.last(),
                        n.store.as_ref().map(|s| s.status())
                    );
                }
                panic!(
                    "nodes did not converge on {} seqs within {within:?}",
                    expected.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn others(leader: u64) -> impl Iterator<Item = u64> {
    (1..=3).filter(move |&i| i != leader)
}

fn no_tuning(_: &mut ClusterConfig) {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicates_in_order_and_refuses_writes_on_followers() {
    let cluster = Cluster::<Recording>::start(no_tuning).await;
    let leader = cluster.leader(Duration::from_secs(10)).await;
    let indexes = cluster.append_all(leader, 0..100).await;
    assert!(
        indexes.windows(2).all(|w| w[0] <= w[1]),
        "indexes in call order (pipelined appends may share an entry): {indexes:?}"
    );
    let expected: Vec<u64> = (0..100).collect();
    // Acknowledged means applied on the leader already.
    assert_eq!(cluster.node(leader).machine.seqs(), expected);
    cluster.converged(&expected, Duration::from_secs(10)).await;
    for f in others(leader) {
        let err = cluster.store(f).append(mark(999)).await.unwrap_err();
        let master = format!("node {leader} at {}", cluster.peers[&leader]);
        assert!(
            matches!(&err, StoreError::NotMaster { leader: Some(l) } if *l == master),
            "{err}"
        );
        assert!(
            err.to_string()
                .ends_with(&format!("(the master is {master})")),
            "{err}"
        );
        assert_eq!(cluster.store(f).leader().map(|l| l.0), Some(leader));
    }
    let stats = cluster.store(leader).stats();
    // The membership, the blank entry, then the 100 pipelined appends in one entry or more.
    assert!(stats.last_index >= 2, "{stats:?}");
    assert!(stats.syncs > 0, "{stats:?}");
    let dirs: Vec<PathBuf> = cluster.nodes.iter().map(|n| n.dir.clone()).collect();
    let _tmp = cluster.shutdown().await;

    // One log: each node's journal holds the Raft entries with their (term, index), the
    // ops in the single-node record format.
    for dir in dirs {
        let journal = journal::Journal::open(journal_config(&dir)).unwrap();
        let mut seqs = Vec::new();
        for item in journal.entries(1).unwrap() {
            let (entry, _) = item.unwrap();
            assert!(
                entry.term >= 1,
                "entry {} has term {}",
                entry.index,
                entry.term
            );
            if entry.kind == cluster::types::KIND_OPS {
                for op in broker::op_codec::decode_ops(&entry.payload).unwrap() {
                    if let StoreOp::ProducerMark { seq, .. } = op {
                        seqs.push(seq);
                    }
                }
            }
        }
        assert_eq!(seqs, expected, "journal in {}", dir.display());
    }
}

/// Producers that wait for each answer share entries (the proposer's linger), and an
/// append the last entry led it to expect company for still commits alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_appends_share_entries_and_a_lone_append_still_commits() {
    const PRODUCERS: u64 = 8;
    const EACH: u64 = 25;
    let cluster = Cluster::<Recording>::start(no_tuning).await;
    let leader = cluster.leader(Duration::from_secs(10)).await;
    let store = cluster.store(leader);
    let before = store.stats().last_index;
    let producers = (0..PRODUCERS).map(|p| async move {
        for i in 0..EACH {
            tokio::time::timeout(Duration::from_secs(10), store.append(mark(p * 1000 + i)))
                .await
                .expect("append returns")
                .expect("append ok");
        }
    });
    futures_util::future::join_all(producers).await;
    let entries = store.stats().last_index - before;
    // Measured: 26-27 entries (25 is one per round); 78-81 without the linger (the
    // producers split into two groups, each an entry per round).
    assert!(
        entries <= PRODUCERS * EACH * 3 / 10,
        "{} closed-loop appends took {entries} entries",
        PRODUCERS * EACH
    );
    // The last entry carried several appends; this one comes alone.
    tokio::time::timeout(Duration::from_secs(10), store.append(mark(99_999)))
        .await
        .expect("a lone append returns")
        .expect("append ok");
    let seqs = cluster.node(leader).machine.seqs();
    assert_eq!(seqs.len() as u64, PRODUCERS * EACH + 1);
    for p in 0..PRODUCERS {
        let mine: Vec<u64> = seqs.iter().copied().filter(|s| s / 1000 == p).collect();
        let want: Vec<u64> = (0..EACH).map(|i| p * 1000 + i).collect();
        assert_eq!(mine, want, "producer {p}'s appends in its order");
    }
    cluster.converged(&seqs, Duration::from_secs(10)).await;
    let _tmp = cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_failover_and_restart_from_the_log_lose_nothing() {
    let mut cluster = Cluster::<Recording>::start(no_tuning).await;
    let first = cluster.leader(Duration::from_secs(10)).await;
    cluster.append_all(first, 0..50).await;

    cluster.stop(first).await;
    let started = Instant::now();
    let second = cluster.leader(Duration::from_secs(5)).await;
    assert_ne!(second, first);
    eprintln!("new leader {second} after {:?}", started.elapsed());
    cluster.append_all(second, 50..100).await;
    let expected: Vec<u64> = (0..100).collect();
    cluster.converged(&expected, Duration::from_secs(10)).await;

    // The old leader comes back from its journal and catches up from the log.
    cluster.restart(first).await;
    cluster.converged(&expected, Duration::from_secs(10)).await;
    assert_eq!(
        cluster.node(first).machine.resets(),
        0,
        "caught up from the log, not a snapshot"
    );

    // And it keeps up with new writes.
    let leader = cluster.leader(Duration::from_secs(10)).await;
    cluster.append_all(leader, 100..120).await;
    let expected: Vec<u64> = (0..120).collect();
    cluster.converged(&expected, Duration::from_secs(10)).await;
    cluster.shutdown().await;
}

fn snapshot_often(c: &mut ClusterConfig) {
    c.snapshot_after_entries = 20;
    c.keep_entries_after_snapshot = 0;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_behind_the_purged_log_catches_up_from_a_snapshot() {
    let mut cluster = Cluster::<Recording>::start(snapshot_often).await;
    let leader = cluster.leader(Duration::from_secs(10)).await;
    cluster.append_all(leader, 0..30).await;
    let follower = others(leader).next().unwrap();
    cluster
        .converged(&(0..30).collect::<Vec<_>>(), Duration::from_secs(10))
        .await;
    cluster.stop(follower).await;

    // Enough entries (with bodies big enough to fill segments) that the leader snapshots
    // and purges the part of the log the stopped follower lacks.
    let store = cluster.store(leader);
    let mut acked = (0..30).collect::<Vec<u64>>();
    for seq in 30..400u64 {
        let mut ops = mark(seq);
        ops.push(StoreOp::ProducerMark {
            producer: "x".repeat(200),
            seq: 0,
        });
        store.append(ops).await.expect("append ok");
        acked.push(seq);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while cluster.store(leader).stats().snapshots == 0 {
        assert!(Instant::now() < deadline, "leader never snapshotted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let purged = cluster.store(leader).raft().metrics().borrow().purged;
    eprintln!(
        "leader purged through {purged:?}, stats {:?}",
        cluster.store(leader).stats()
    );
    assert!(
        purged.is_some_and(|p| p.index > 30),
        "leader purged its log: {purged:?}"
    );

    cluster.restart(follower).await;
    cluster.converged(&acked, Duration::from_secs(15)).await;
    let snapshots_installed = cluster.node(follower).machine.resets();
    eprintln!("follower resets: {snapshots_installed}");
    let m = cluster.store(follower).raft().metrics().borrow().snapshot;
    assert!(
        m.is_some_and(|s| s.index > 30),
        "follower holds the leader's snapshot: {m:?}"
    );

    // Nothing acknowledged is lost on any node after one more restart of everything.
    let count = acked.len();
    for id in 1..=3 {
        cluster.stop(id).await;
    }
    for id in 1..=3 {
        cluster.restart(id).await;
    }
    let leader = cluster.leader(Duration::from_secs(10)).await;
    cluster.append_all(leader, 400..401).await;
    acked.push(400);
    cluster.converged(&acked, Duration::from_secs(15)).await;
    assert_eq!(acked.len(), count + 1);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_answers_status_on_its_replication_port() {
    let cluster = Cluster::<Recording>::start(no_tuning).await;
    let leader = cluster.leader(Duration::from_secs(10)).await;
    cluster.append_all(leader, 0..10).await;
    cluster
        .converged(&(0..10).collect::<Vec<_>>(), Duration::from_secs(10))
        .await;

    let mut statuses = Vec::new();
    for (id, addr) in &cluster.peers {
        let status = cluster::query_status(addr, Duration::from_secs(5))
            .await
            .expect("status answered");
        eprintln!("{status:?}");
        assert_eq!(status.id, *id);
        assert_eq!(&status.address, addr);
        statuses.push(status);
    }
    let masters: Vec<_> = statuses.iter().filter(|s| s.role == Role::Master).collect();
    assert_eq!(masters.len(), 1, "exactly one master: {statuses:?}");
    assert_eq!(masters[0].id, leader);
    let term = masters[0].term;
    for s in &statuses {
        assert_eq!(s.leader, Some(leader), "{s:?}");
        assert_eq!(s.term, term, "{s:?}");
        // The initial membership (index 0), the leader's blank entry, then the 10 appends
        // (pipelined: they may share entries).
        assert!(s.applied_index >= 2, "{s:?}");
        assert!(s.last_log_index >= s.applied_index, "{s:?}");
    }
    // A connection used for status is an ordinary one: it keeps answering.
    let again = cluster::query_status(&cluster.peers[&leader], Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(again.role, Role::Master);

    // A node that is down is an error, within the timeout.
    let mut cluster = cluster;
    let follower = others(leader).next().unwrap();
    cluster.stop(follower).await;
    let started = Instant::now();
    let err = cluster::query_status(&cluster.peers[&follower], Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "{err}");
    cluster.shutdown().await;
}

/// A node of another cluster that comes up on a stopped node's address gets no votes,
/// entries or snapshots from this cluster (which also goes on without it), and the real
/// node catches up once it is back. Two cases: the same cluster name but another node id
/// at that address (the other follower's id: another cluster's node, or a wrong address in
/// the peers list), and the same id under another cluster name. Without the checks both
/// foreign nodes applied this cluster's entries; a reviewer also saw the second answer
/// `Conflict` and the leader's Raft core panic (a follower "lost" acknowledged entries),
/// which the append after each foreign node leaves catches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_of_another_cluster_at_a_peers_address_is_refused() {
    let mut cluster = Cluster::<Recording>::start(no_tuning).await;
    let leader = cluster.leader(Duration::from_secs(10)).await;
    cluster.append_all(leader, 0..10).await;
    let mut rest = others(leader);
    let (follower, other) = (rest.next().unwrap(), rest.next().unwrap());
    cluster.stop(follower).await;

    let mut next_seq = 10;
    for (id, name) in [(other, "ferromq"), (follower, "another")] {
        // Its peers are other nodes (nothing listens there), but for its own address.
        let mut foreign_peers = BTreeMap::new();
        for n in 1..=3u64 {
            let addr = if n == id {
                cluster.peers[&follower].clone()
            } else {
                format!("tcp://127.0.0.1:{}", testkit::reserve_port())
            };
            foreign_peers.insert(n, addr);
        }
        let dir = tempfile::tempdir().unwrap();
        let mut config = ClusterConfig::new(id, foreign_peers, journal_config(dir.path()));
        config.cluster_name = name.to_string();
        let machine = Recording::fresh();
        let foreign = ReplicatedStore::open(config, machine.clone(), Some(machine.reset_hook()))
            .await
            .expect("foreign node starts on the stopped node's address");

        cluster.append_all(leader, next_seq..next_seq + 20).await;
        next_seq += 20;
        // The leader retries a peer every 100 ms and heartbeats every 50 ms: in this
        // second it dials the foreign node many times.
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(
            machine.seqs().is_empty(),
            "foreign node {id} of {name:?} applied this cluster's entries: {:?}",
            machine.seqs()
        );
        let status = foreign.status();
        // Its log holds its own initial membership (index 0) and nothing else.
        assert_eq!(status.last_log_index, 0, "{status:?}");
        assert_ne!(status.leader, Some(leader), "{status:?}");
        foreign.shutdown().await;
        // The leader still leads and commits (its Raft core is alive).
        cluster.append_all(leader, next_seq..next_seq + 1).await;
        next_seq += 1;
        assert!(cluster.store(leader).is_leader());
    }

    cluster.restart(follower).await;
    cluster
        .converged(&(0..next_seq).collect::<Vec<_>>(), Duration::from_secs(10))
        .await;
    cluster.shutdown().await;
}
