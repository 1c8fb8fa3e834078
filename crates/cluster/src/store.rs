//! The replicated store: `broker::store::Store` over a Raft node.

use crate::log_store::{JournalLogStore, LogShared};
use crate::network::{serve, Identity, TcpNetwork};
use crate::proposer::Proposer;
use crate::state_machine::{BrokerStateMachine, ResetHook, SmShared};
use crate::types::{strip_scheme, NodeId, Raft};
use broker::store::{
    check_store_limit, AppendFuture, StateMachine, Store, StoreError, StoreOp, StoreStats,
};
use journal::JournalConfig;
use openraft::{BasicNode, ServerState, SnapshotPolicy};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How one node of a replicated cluster runs.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub node_id: NodeId,
    /// The cluster's name: every node has the same; a node refuses replication
    /// connections from a node of another name (two clusters sharing an address).
    pub cluster_name: String,
    /// Every node of the cluster, this one included: id → replication address
    /// (`host:port` or `tcp://host:port`), the address the other nodes connect to.
    pub peers: BTreeMap<NodeId, String>,
    /// This node's journal (the Raft log).
    pub journal: JournalConfig,
    pub heartbeat_interval: Duration,
    pub election_timeout_min: Duration,
    pub election_timeout_max: Duration,
    /// A snapshot is built after this many entries since the last one.
    pub snapshot_after_entries: u64,
    /// Entries kept in the log below a snapshot (so a briefly lagging follower catches up
    /// from the log rather than from a snapshot).
    pub keep_entries_after_snapshot: u64,
    /// Disk this node's log and snapshot may use; past it, appends that add messages fail
    /// with `Full` (acks and other ops still pass: they are what frees space).
    pub store_limit: u64,
}

impl ClusterConfig {
    pub fn new(node_id: NodeId, peers: BTreeMap<NodeId, String>, journal: JournalConfig) -> Self {
        ClusterConfig {
            node_id,
            cluster_name: "ferromq".to_string(),
            peers,
            journal,
            heartbeat_interval: Duration::from_millis(50),
            election_timeout_min: Duration::from_millis(300),
            election_timeout_max: Duration::from_millis(600),
            snapshot_after_entries: 50_000,
            keep_entries_after_snapshot: 1_000,
            store_limit: u64::MAX,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("invalid cluster configuration: {0}")]
    Config(String),
    #[error("journal: {0}")]
    Journal(#[from] journal::JournalError),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("state machine: {0}")]
    StateMachine(String),
    #[error("raft: {0}")]
    Raft(String),
}

/// This node's part in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The Raft leader: the master, the only node that takes writes.
    Master,
    /// A follower or candidate.
    Slave,
    /// Stopped.
    Shutdown,
}

/// What `ferromq cluster status` reports about a node (ARCHITECTURE decision 6); what a
/// node answers to a status request on its replication port ([`crate::query_status`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NodeStatus {
    pub id: NodeId,
    pub address: String,
    pub role: Role,
    pub term: u64,
    pub last_log_index: u64,
    pub applied_index: u64,
    /// The leader this node knows of.
    pub leader: Option<NodeId>,
}

/// A node's status from its Raft metrics; `address` is its replication address.
pub(crate) fn node_status(raft: &Raft, address: &str) -> NodeStatus {
    let m = raft.metrics();
    let m = m.borrow();
    NodeStatus {
        id: m.id,
        address: address.to_string(),
        role: match m.state {
            ServerState::Leader => Role::Master,
            ServerState::Shutdown => Role::Shutdown,
            _ => Role::Slave,
        },
        term: m.current_term,
        last_log_index: m.last_log_index.unwrap_or(0),
        applied_index: m.last_applied.map_or(0, |l| l.index),
        leader: m.current_leader,
    }
}

/// How `StoreError::NotMaster` names the master.
pub(crate) fn master_name(id: NodeId, address: &str) -> String {
    format!("node {id} at {address}")
}

/// A node of a replicated cluster, and the broker's store on it.
pub struct ReplicatedStore {
    id: NodeId,
    peers: BTreeMap<NodeId, String>,
    raft: Raft,
    log: Arc<LogShared>,
    server: Mutex<Option<JoinHandle<()>>>,
    /// The Raft thread (see [`on_raft_thread`]): stopped by `shutdown` or when dropped.
    raft_thread: Mutex<Option<RaftThread>>,
    closed: AtomicBool,
    store_limit: u64,
    /// Turns appends into Raft entries, in call order.
    proposer: Arc<Proposer>,
}

/// Entries per AppendEntries RPC (openraft's `max_payload_entries`, 300 by default: with
/// batched entries a catching-up follower got frames of hundreds of MB that never made it
/// within the RPC timeout).
const MAX_ENTRIES_PER_RPC: u64 = 16;

/// The thread [`on_raft_thread`] started: `stop` ends it (so does dropping it), `ended`
/// tells when its tasks are gone (the peer listener's port among what they held).
struct RaftThread {
    stop: tokio::sync::oneshot::Sender<()>,
    ended: tokio::sync::oneshot::Receiver<()>,
}

/// Runs `start` on a new thread with a single-threaded runtime of its own, where it and
/// every task it spawns (openraft's core, replication streams and state machine worker;
/// the peer listener) live until the returned thread is stopped or dropped.
///
/// A round of replication is a chain of hand-offs between those tasks (a follower: peer
/// connection, Raft core, log store, Raft core, peer connection). On the broker's
/// multi-threaded runtime most of them woke the other worker thread, a futex wake and a
/// context switch each; on one thread they are plain task switches. The work that can
/// take long (encoding and writing a snapshot, reading one for a peer, installing one)
/// runs on blocking threads, never on this one.
async fn on_raft_thread<T, F, Fut>(start: F) -> Result<(Raft, T, RaftThread), ClusterError>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(Raft, T), ClusterError>>,
    T: Send + 'static,
{
    let (started_tx, started_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (ended_tx, ended_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name("raft".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = started_tx.send(Err(ClusterError::Io(e)));
                    return;
                }
            };
            runtime.block_on(async move {
                let started = start().await;
                let ok = started.is_ok();
                let _ = started_tx.send(started);
                if ok {
                    let _ = stop_rx.await;
                }
            });
            // Whatever still runs (a snapshot being written) is abandoned: the file is
            // only adopted once complete.
            runtime.shutdown_background();
            let _ = ended_tx.send(());
        })?;
    let (raft, value) = started_rx.await.map_err(|_| {
        ClusterError::Raft("the raft thread ended before the node started".into())
    })??;
    let thread = RaftThread {
        stop: stop_tx,
        ended: ended_rx,
    };
    Ok((raft, value, thread))
}

impl ReplicatedStore {
    /// Binds this node's address from `config.peers` and starts it (see [`Self::start`]).
    ///
    /// # Errors
    /// See [`Self::start`]; also when the address cannot be bound.
    pub async fn open(
        config: ClusterConfig,
        machine: Arc<dyn StateMachine>,
        reset: Option<ResetHook>,
    ) -> Result<ReplicatedStore, ClusterError> {
        let addr = config.peers.get(&config.node_id).ok_or_else(|| {
            ClusterError::Config(format!("node {} is not in its peers list", config.node_id))
        })?;
        let listener = TcpListener::bind(strip_scheme(addr)).await?;
        Self::start(config, listener, machine, reset).await
    }

    /// Opens the journal, loads its snapshot into `machine`, starts the Raft node serving
    /// peers on `listener`, and forms the cluster from `config.peers` if this node's log
    /// is empty (every node may do so: they all write the same initial membership).
    /// Committed entries after the snapshot are applied once a leader confirms them.
    ///
    /// `reset` empties `machine` before a snapshot from the leader replaces the state it
    /// holds (a node that lagged behind the leader's purged log); without it such a node
    /// stops with an error and must be restarted.
    ///
    /// # Errors
    /// A bad config, journal I/O or corruption, an undecodable snapshot.
    pub async fn start(
        config: ClusterConfig,
        listener: TcpListener,
        machine: Arc<dyn StateMachine>,
        reset: Option<ResetHook>,
    ) -> Result<ReplicatedStore, ClusterError> {
        if !config.peers.contains_key(&config.node_id) {
            return Err(ClusterError::Config(format!(
                "node {} is not in its peers list",
                config.node_id
            )));
        }
        let ms = |d: Duration| d.as_millis() as u64;
        let raft_config = openraft::Config {
            cluster_name: config.cluster_name.clone(),
            heartbeat_interval: ms(config.heartbeat_interval),
            election_timeout_min: ms(config.election_timeout_min),
            election_timeout_max: ms(config.election_timeout_max),
            snapshot_policy: SnapshotPolicy::LogsSinceLast(config.snapshot_after_entries),
            max_in_snapshot_log_to_keep: config.keep_entries_after_snapshot,
            max_payload_entries: MAX_ENTRIES_PER_RPC,
            ..Default::default()
        }
        .validate()
        .map_err(|e| ClusterError::Config(e.to_string()))?;

        let log = LogShared::open(config.journal.clone())?;
        let sm = SmShared::open(log.clone(), machine, reset).map_err(ClusterError::StateMachine)?;
        let log_store = JournalLogStore::new(log.clone(), config.node_id)?;
        let address = config.peers[&config.node_id].clone();
        let node_id = config.node_id;
        let identity = Arc::new(Identity::new(
            node_id,
            &config.cluster_name,
            config.peers.keys().copied(),
        ));
        let network = TcpNetwork::new(log.clone(), identity.clone());
        let listener = listener.into_std()?;
        let (raft, server, thread) = on_raft_thread(move || async move {
            let raft = Raft::new(
                node_id,
                Arc::new(raft_config),
                network,
                log_store,
                BrokerStateMachine::new(sm.clone()),
            )
            .await
            .map_err(|e| ClusterError::Raft(e.to_string()))?;
            sm.mark_started();
            let listener = TcpListener::from_std(listener)?;
            let server = tokio::spawn(serve(listener, raft.clone(), address, identity));
            Ok((raft, server))
        })
        .await?;

        let initialized = raft
            .is_initialized()
            .await
            .map_err(|e| ClusterError::Raft(e.to_string()))?;
        if !initialized {
            let members: BTreeMap<NodeId, BasicNode> = config
                .peers
                .iter()
                .map(|(id, addr)| (*id, BasicNode::new(strip_scheme(addr))))
                .collect();
            if let Err(e) = raft.initialize(members).await {
                // Another node's initial membership got here first: same cluster.
                tracing::debug!(error = %e, "cluster already initialized");
            }
        }
        Ok(ReplicatedStore {
            proposer: Proposer::new(raft.clone(), config.node_id),
            id: config.node_id,
            peers: config.peers,
            raft,
            log,
            server: Mutex::new(Some(server)),
            raft_thread: Mutex::new(Some(thread)),
            closed: AtomicBool::new(false),
            store_limit: config.store_limit,
        })
    }

    pub fn node_id(&self) -> NodeId {
        self.id
    }

    /// The openraft handle (metrics, membership changes, tests).
    pub fn raft(&self) -> &Raft {
        &self.raft
    }

    pub fn is_leader(&self) -> bool {
        let m = self.raft.metrics();
        let m = m.borrow();
        m.state == ServerState::Leader && m.current_leader == Some(self.id)
    }

    /// The leader this node knows of, with its replication address.
    pub fn leader(&self) -> Option<(NodeId, String)> {
        let leader = self.raft.metrics().borrow().current_leader?;
        let addr = self.peers.get(&leader).cloned().unwrap_or_default();
        Some((leader, addr))
    }

    pub fn status(&self) -> NodeStatus {
        node_status(
            &self.raft,
            self.peers.get(&self.id).map_or("", String::as_str),
        )
    }

    /// Stops the node: no more appends, the Raft core and the peer listener end. Returns
    /// once the Raft thread has ended (its listener's port is free then), or after 5 s.
    pub async fn shutdown(&self) {
        self.closed.store(true, Ordering::Release);
        let server = self.server.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(server) = server {
            server.abort();
        }
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(error = %e, "raft shutdown");
        }
        let thread = self
            .raft_thread
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(thread) = thread {
            let _ = thread.stop.send(());
            // The listener's port is free once this returns (a restart in the same
            // process binds it again). A thread stuck past this is left behind.
            if tokio::time::timeout(Duration::from_secs(5), thread.ended)
                .await
                .is_err()
            {
                tracing::warn!("the raft thread did not end within 5 s of shutdown");
            }
        }
    }

    fn not_master(&self) -> StoreError {
        match self.leader() {
            Some((id, addr)) if id != self.id => {
                tracing::debug!(leader = id, address = %addr, "append refused: not the master");
                StoreError::NotMaster {
                    leader: Some(master_name(id, &addr)),
                }
            }
            _ => {
                tracing::debug!("append refused: not the master, no leader known");
                StoreError::NotMaster { leader: None }
            }
        }
    }
}

impl Store for ReplicatedStore {
    fn append(&self, ops: Vec<StoreOp>) -> AppendFuture {
        if self.closed.load(Ordering::Acquire) {
            return Box::pin(std::future::ready(Err(StoreError::Closed)));
        }
        if !self.is_leader() {
            return Box::pin(std::future::ready(Err(self.not_master())));
        }
        // The master's own disk stands for the cluster's: every node holds the same log,
        // and the master's is never behind.
        let disk_bytes = || self.log.counters.disk_bytes.load(Ordering::Relaxed);
        if let Err(full) = check_store_limit(&ops, disk_bytes, self.store_limit) {
            return Box::pin(std::future::ready(Err(full)));
        }
        // Proposed or queued now, in call order (`Store::append`'s promise), possibly in
        // one entry with the appends queued around it.
        self.proposer.append(ops)
    }

    fn stats(&self) -> StoreStats {
        let c = &self.log.counters;
        StoreStats {
            last_index: c.last_index.load(Ordering::Relaxed),
            disk_bytes: c.disk_bytes.load(Ordering::Relaxed),
            segments: c.segments.load(Ordering::Relaxed),
            syncs: c.syncs.load(Ordering::Relaxed),
            snapshots: c.snapshots.load(Ordering::Relaxed),
        }
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread {
            let raft = self.raft.clone();
            handle.spawn(async move {
                let _ = raft.shutdown().await;
            });
            return;
        }
        tokio::task::block_in_place(|| handle.block_on(self.shutdown()));
    }
}
