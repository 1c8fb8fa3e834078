//! `ferromq cluster status`: asks every peer of a replicated cluster for its state on its
//! replication port and prints one row per node (ARCHITECTURE decision 6).

use crate::config::{Config, ConfigError};
use anyhow::bail;
use cluster::{NodeStatus, Role};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args)]
pub struct ClusterArgs {
    #[command(subcommand)]
    command: ClusterCommand,
}

#[derive(clap::Subcommand)]
enum ClusterCommand {
    /// Ask every peer of the config's `[persistence.replicated]` section for its state:
    /// role, term, log and applied index, lag, which node is elected. Exits 1 when no
    /// master answered.
    Status(StatusArgs),
}

#[derive(clap::Args)]
struct StatusArgs {
    /// A node's TOML config; its `persistence.replicated.peers` are asked.
    #[arg(long)]
    config: PathBuf,
    /// Print `{"nodes": [...]}` instead of a table.
    #[arg(long)]
    json: bool,
    /// Seconds to wait for each node (asked in parallel).
    #[arg(long, default_value_t = 2.0)]
    timeout: f64,
}

pub async fn run(args: ClusterArgs) -> anyhow::Result<()> {
    match args.command {
        ClusterCommand::Status(args) => status(args).await,
    }
}

/// One row of `cluster status`; also its JSON shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct NodeRow {
    pub id: u64,
    pub address: String,
    /// `master`, `slave` or `unreachable`.
    pub role: &'static str,
    pub term: Option<u64>,
    pub last_log_index: Option<u64>,
    pub applied_index: Option<u64>,
    /// The elected master's last log index minus this node's applied index, in entries;
    /// unknown without an elected master that answered.
    pub lag: Option<u64>,
    /// This node is the elected master (the master of the highest term that answered).
    pub elected: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    nodes: &'a [NodeRow],
}

async fn status(args: StatusArgs) -> anyhow::Result<()> {
    let origin = args.config.display().to_string();
    let text = std::fs::read_to_string(&args.config)
        .map_err(|e| ConfigError(format!("cannot read {origin}: {e}")))?;
    let config = Config::from_toml(&text, &origin)?;
    let peers = config.persistence.replicated.peer_map()?;
    if peers.is_empty() {
        return Err(ConfigError(format!(
            "{origin} lists no persistence.replicated.peers: not a cluster node's config"
        ))
        .into());
    }
    if !args.timeout.is_finite() || args.timeout <= 0.0 {
        bail!("--timeout must be a positive number of seconds");
    }
    let answers = gather(&peers, Duration::from_secs_f64(args.timeout)).await;
    for (id, address, answer) in &answers {
        match answer {
            Err(e) => eprintln!("node {id} at {address}: {e}"),
            Ok(s) if s.id != *id => eprintln!(
                "node {id} at {address}: answered as node {} (check the peers list)",
                s.id
            ),
            Ok(_) => {}
        }
    }
    let rows = build_rows(&answers);
    if args.json {
        println!("{}", serde_json::to_string(&Report { nodes: &rows })?);
    } else {
        print!("{}", table(&rows));
    }
    if !rows.iter().any(|r| r.elected) {
        let reachable = rows.iter().filter(|r| r.role != "unreachable").count();
        bail!(
            "no master answered ({reachable} of {} nodes reachable)",
            rows.len()
        );
    }
    Ok(())
}

/// Asks every peer in parallel; `(id, address, status or why not)` in id order.
pub(crate) async fn gather(
    peers: &BTreeMap<u64, String>,
    timeout: Duration,
) -> Vec<(u64, String, Result<NodeStatus, String>)> {
    let asks: Vec<_> = peers
        .iter()
        .map(|(&id, addr)| {
            let addr = addr.clone();
            let ask = tokio::spawn({
                let addr = addr.clone();
                async move { cluster::query_status(&addr, timeout).await }
            });
            (id, addr, ask)
        })
        .collect();
    let mut out = Vec::with_capacity(asks.len());
    for (id, addr, ask) in asks {
        let answer = match ask.await {
            Ok(Ok(status)) => Ok(status),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(format!("query failed: {e}")),
        };
        out.push((id, addr, answer));
    }
    out
}

/// The rows for the answers: roles, the elected master, each node's lag behind it.
pub(crate) fn build_rows(answers: &[(u64, String, Result<NodeStatus, String>)]) -> Vec<NodeRow> {
    let answered = |a: &(u64, String, Result<NodeStatus, String>)| -> Option<NodeStatus> {
        a.2.as_ref()
            .ok()
            .filter(|s| s.role != Role::Shutdown)
            .cloned()
    };
    // Two nodes may both claim to lead (an old master cut off from the others): the one of
    // the higher term is elected.
    let elected = answers
        .iter()
        .filter_map(|a| answered(a).map(|s| (a.0, s)))
        .filter(|(_, s)| s.role == Role::Master)
        .max_by_key(|(_, s)| (s.term, s.last_log_index));
    let leader_last = elected.as_ref().map(|(_, s)| s.last_log_index);
    answers
        .iter()
        .map(|a| {
            let (id, address) = (a.0, a.1.clone());
            match answered(a) {
                Some(s) => NodeRow {
                    id,
                    address,
                    role: if s.role == Role::Master {
                        "master"
                    } else {
                        "slave"
                    },
                    term: Some(s.term),
                    last_log_index: Some(s.last_log_index),
                    applied_index: Some(s.applied_index),
                    lag: leader_last.map(|l| l.saturating_sub(s.applied_index)),
                    elected: elected.as_ref().is_some_and(|(e, _)| *e == id),
                },
                None => NodeRow {
                    id,
                    address,
                    role: "unreachable",
                    term: None,
                    last_log_index: None,
                    applied_index: None,
                    lag: None,
                    elected: false,
                },
            }
        })
        .collect()
}

/// The rows as an aligned table with a header line.
pub(crate) fn table(rows: &[NodeRow]) -> String {
    let num = |n: Option<u64>| n.map_or_else(|| "-".to_string(), |n| n.to_string());
    let mut cells: Vec<[String; 8]> = vec![[
        "ID".into(),
        "ADDRESS".into(),
        "ROLE".into(),
        "TERM".into(),
        "LAST LOG".into(),
        "APPLIED".into(),
        "LAG".into(),
        "ELECTED".into(),
    ]];
    for r in rows {
        cells.push([
            r.id.to_string(),
            r.address.clone(),
            r.role.to_string(),
            num(r.term),
            num(r.last_log_index),
            num(r.applied_index),
            num(r.lag),
            if r.elected { "yes" } else { "no" }.to_string(),
        ]);
    }
    let mut widths = [0usize; 8];
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    for row in &cells {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use broker::store::{SnapshotImage, StateMachine, StoreOp};
    use cluster::{ClusterConfig, ReplicatedStore};
    use std::sync::Arc;
    use std::time::Instant;

    struct Nothing;
    impl StateMachine for Nothing {
        fn apply(&self, _index: u64, _ops: &[StoreOp]) {}
        fn snapshot(&self) -> SnapshotImage {
            SnapshotImage::default()
        }
    }

    fn status(id: u64, role: Role, term: u64, last: u64, applied: u64) -> NodeStatus {
        NodeStatus {
            id,
            address: String::new(),
            role,
            term,
            last_log_index: last,
            applied_index: applied,
            leader: None,
        }
    }

    #[test]
    fn the_master_of_the_highest_term_is_elected_and_lag_is_behind_it() {
        let answers = vec![
            (1, "a:1".into(), Ok(status(1, Role::Master, 2, 90, 90))),
            (2, "a:2".into(), Ok(status(2, Role::Master, 3, 100, 99))),
            (3, "a:3".into(), Ok(status(3, Role::Slave, 3, 100, 95))),
            (4, "a:4".into(), Err("connection refused".into())),
        ];
        let rows = build_rows(&answers);
        let elected: Vec<u64> = rows.iter().filter(|r| r.elected).map(|r| r.id).collect();
        assert_eq!(elected, vec![2]);
        assert_eq!(rows[0].role, "master");
        assert_eq!(rows[0].lag, Some(10));
        assert_eq!(rows[1].lag, Some(1));
        assert_eq!(rows[2].lag, Some(5));
        assert_eq!(rows[3].role, "unreachable");
        assert_eq!(rows[3].lag, None);
        let json = serde_json::to_value(Report { nodes: &rows[3..] }).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"nodes": [{"id": 4, "address": "a:4", "role": "unreachable",
                "term": null, "last_log_index": null, "applied_index": null, "lag": null,
                "elected": false}]})
        );
    }

    #[test]
    fn without_a_master_nothing_is_elected_and_lag_is_unknown() {
        let answers = vec![
            (1, "a:1".into(), Ok(status(1, Role::Slave, 2, 90, 90))),
            (2, "a:2".into(), Err("timed out".into())),
        ];
        let rows = build_rows(&answers);
        assert!(rows.iter().all(|r| !r.elected && r.lag.is_none()));
        assert_eq!(rows[0].role, "slave");
    }

    /// Three nodes in this process; then the status of each, as `cluster status` prints it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn status_of_a_three_node_cluster() {
        let tmp = tempfile::tempdir().unwrap();
        let mut listeners = Vec::new();
        let mut peers = BTreeMap::new();
        for id in 1..=3u64 {
            // Below the ephemeral range, like every test cluster (see testkit::reserve_port).
            let port = testkit::reserve_port();
            let l = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .unwrap();
            peers.insert(id, l.local_addr().unwrap().to_string());
            listeners.push((id, l));
        }
        let mut nodes = Vec::new();
        for (id, listener) in listeners {
            let journal = journal::JournalConfig::new(tmp.path().join(format!("node{id}")));
            let config = ClusterConfig::new(id, peers.clone(), journal);
            let node = ReplicatedStore::start(config, listener, Arc::new(Nothing), None)
                .await
                .unwrap();
            nodes.push(node);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let rows = loop {
            let rows = build_rows(&gather(&peers, Duration::from_secs(2)).await);
            if rows.iter().any(|r| r.elected) && rows.iter().all(|r| r.lag == Some(0)) {
                break rows;
            }
            assert!(Instant::now() < deadline, "no settled leader: {rows:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        println!("{}", table(&rows));
        println!(
            "{}",
            serde_json::to_string(&Report { nodes: &rows }).unwrap()
        );
        assert_eq!(rows.iter().filter(|r| r.role == "master").count(), 1);
        assert_eq!(rows.iter().filter(|r| r.elected).count(), 1);
        let terms: Vec<_> = rows.iter().map(|r| r.term).collect();
        assert!(terms.windows(2).all(|w| w[0] == w[1]), "{terms:?}");

        // A stopped follower shows as unreachable; the master still answers.
        let follower = rows.iter().find(|r| r.role == "slave").unwrap().id;
        nodes[(follower - 1) as usize].shutdown().await;
        let rows = build_rows(&gather(&peers, Duration::from_secs(2)).await);
        println!("{}", table(&rows));
        println!(
            "{}",
            serde_json::to_string(&Report { nodes: &rows }).unwrap()
        );
        let down = &rows[(follower - 1) as usize];
        assert_eq!(down.role, "unreachable");
        assert_eq!((down.term, down.lag, down.elected), (None, None, false));
        assert_eq!(rows.iter().filter(|r| r.elected).count(), 1);
        for node in &nodes {
            node.shutdown().await;
        }
    }
}
