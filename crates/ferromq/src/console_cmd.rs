//! The web console: started by `ferromq broker`, and `ferromq console hash-password` to
//! make a `[[console.users]] password_hash`.

use crate::cluster_cmd;
use crate::config::{parse_address, Config, ConfigError};
use anyhow::Context;
use broker::Broker;
use cluster::ReplicatedStore;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

#[derive(clap::Args)]
pub struct ConsoleArgs {
    #[command(subcommand)]
    command: ConsoleCommand,
}

#[derive(clap::Subcommand)]
enum ConsoleCommand {
    /// Print an argon2 hash of a password (read from standard input) for
    /// `[[console.users]] password_hash`.
    HashPassword,
}

pub fn run(args: ConsoleArgs) -> anyhow::Result<()> {
    match args.command {
        ConsoleCommand::HashPassword => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("cannot read the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            anyhow::ensure!(!password.is_empty(), "the password is empty");
            println!("{}", console::hash_password(password)?);
            Ok(())
        }
    }
}

/// The journal's fsync histogram as the console reads it (the console knows no journal).
fn histogram_source(latency: Arc<journal::FsyncLatency>) -> console::HistogramSource {
    Arc::new(move || {
        let s = latency.snapshot();
        console::LatencyHistogram {
            buckets: s
                .buckets
                .iter()
                .map(|(le, n)| (le.as_secs_f64(), *n))
                .collect(),
            count: s.count,
            sum_seconds: s.sum.as_secs_f64(),
        }
    })
}

/// How long the cluster page waits for each node's status.
const NODE_QUERY_TIMEOUT: Duration = Duration::from_secs(1);

/// A replicated node's view of its cluster: local numbers from its Raft metrics, every
/// node's state asked on the replication ports (as `ferromq cluster status` does).
struct Replicated {
    store: Arc<ReplicatedStore>,
    peers: BTreeMap<u64, String>,
    consoles: BTreeMap<u64, String>,
}

impl console::ClusterView for Replicated {
    fn role(&self) -> String {
        if self.store.is_leader() {
            "master"
        } else {
            "slave"
        }
        .to_string()
    }

    fn local(&self) -> Option<console::LocalRaft> {
        let s = self.store.status();
        Some(console::LocalRaft {
            node_id: s.id,
            term: s.term,
            last_log_index: s.last_log_index,
            applied_index: s.applied_index,
            is_master: self.store.is_leader(),
        })
    }

    fn nodes(&self) -> console::NodesFuture {
        let peers = self.peers.clone();
        let consoles = self.consoles.clone();
        let me = self.store.node_id();
        Box::pin(async move {
            let answers = cluster_cmd::gather(&peers, NODE_QUERY_TIMEOUT).await;
            cluster_cmd::build_rows(&answers)
                .into_iter()
                .map(|r| console::ClusterNode {
                    console_url: consoles.get(&r.id).cloned(),
                    this_node: r.id == me,
                    id: r.id,
                    address: r.address,
                    role: r.role.to_string(),
                    term: r.term,
                    last_log_index: r.last_log_index,
                    applied_index: r.applied_index,
                    lag: r.lag,
                    elected: r.elected,
                })
                .collect()
        })
    }
}

/// Starts the console on `console.bind`; it shows this node's role and cluster (master
/// or slave in replicated mode) and serves on slaves too.
pub async fn start(
    config: &Config,
    broker: &Broker,
    replicated: Option<Arc<ReplicatedStore>>,
    fsync_latency: Option<Arc<journal::FsyncLatency>>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let cluster: Arc<dyn console::ClusterView> = match replicated {
        Some(store) => Arc::new(Replicated {
            store,
            peers: config.persistence.replicated.peer_map()?,
            consoles: config.console.peer_map()?,
        }),
        None => Arc::new(console::Standalone),
    };
    if config.console.users.is_empty() && config.persistence.kind == "replicated" {
        tracing::warn!("no [[console.users]] configured: each node generates its own console password; configure the users for a cluster");
    }
    let settings = console::ConsoleSettings {
        bind: parse_address(&config.console.bind).map_err(ConfigError)?,
        users: config
            .console
            .users
            .iter()
            .map(|u| console::UserEntry {
                name: u.name.clone(),
                password_hash: u.password_hash.clone(),
            })
            .collect(),
        data_dir: config.broker.data_dir.clone(),
        cluster,
        fsync_latency: fsync_latency.map(histogram_source),
    };
    Ok(console::start(settings, broker.clone(), shutdown).await?)
}
