//! What the console knows of the cluster this node is in: its own role and Raft numbers
//! (cheap, local) and every node's state (asked over the network when the cluster page or
//! API is opened). The binary implements it; a single node uses [`Standalone`].

use serde::Serialize;
use std::future::Future;
use std::pin::Pin;

/// One node as the cluster page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterNode {
    pub id: u64,
    /// Replication address.
    pub address: String,
    /// `master`, `slave` or `unreachable`.
    pub role: String,
    pub term: Option<u64>,
    pub last_log_index: Option<u64>,
    pub applied_index: Option<u64>,
    /// Entries behind the elected master.
    pub lag: Option<u64>,
    /// The elected master.
    pub elected: bool,
    /// Its web console, when `console.peers` names it.
    pub console_url: Option<String>,
    /// This node (the one whose console answers).
    pub this_node: bool,
}

/// This node's own Raft numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalRaft {
    pub node_id: u64,
    pub term: u64,
    pub last_log_index: u64,
    pub applied_index: u64,
    pub is_master: bool,
}

pub type NodesFuture = Pin<Box<dyn Future<Output = Vec<ClusterNode>> + Send>>;

pub trait ClusterView: Send + Sync {
    /// `master` or `slave` (a single node is its own master).
    fn role(&self) -> String;
    /// Raft numbers of this node; `None` without replication.
    fn local(&self) -> Option<LocalRaft>;
    /// Every node of the cluster (empty without replication).
    fn nodes(&self) -> NodesFuture;
}

/// A single node: always the master, no cluster.
pub struct Standalone;

impl ClusterView for Standalone {
    fn role(&self) -> String {
        "master".to_string()
    }
    fn local(&self) -> Option<LocalRaft> {
        None
    }
    fn nodes(&self) -> NodesFuture {
        Box::pin(std::future::ready(Vec::new()))
    }
}
