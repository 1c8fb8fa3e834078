//! A replicated cluster of real broker processes on loopback, with the replication links
//! running through proxies the test controls.

use crate::port::reserve_port;
use crate::tcp_proxy::TcpProxy;
use crate::test_broker::binary;
use crate::wait_until;
use std::collections::BTreeMap;
use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long a node may take to open its replication port.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a client-port probe may take (loopback: a refused connect is immediate).
const PROBE_TIMEOUT: Duration = Duration::from_millis(200);
/// Lines of each node's log printed when a test panics (the whole file stays on disk
/// only as long as the test process: it lives in the node's temp dir).
const LOG_TAIL_LINES: usize = 300;
/// Raft timing written into every node's config: the broker's defaults.
const HEARTBEAT_INTERVAL: &str = "50ms";
const ELECTION_TIMEOUT: &str = "300ms";

/// `n` brokers with `[persistence] kind = "replicated"`, each with its own temp dir, log
/// file and free ports (OpenWire, STOMP, console, replication).
///
/// Node `i` reaches node `j` through its own proxy `(i, j)`: `peers` in node `i`'s config
/// lists the proxies from `i` (and its own real address for itself), so
/// [`partition`](Self::partition) can isolate one node silently and [`heal`](Self::heal)
/// reconnects it. Nodes are indexed from 0; node `i` has Raft id `i + 1`.
///
/// The master is found by its client ports: only the master listens for clients.
/// `Drop` kills every process; when the test panics it prints every node's log.
pub struct TestCluster {
    nodes: Vec<Node>,
    /// `(from, to)` → the proxy `from` uses to reach `to`'s replication port.
    links: BTreeMap<(usize, usize), TcpProxy>,
}

struct Node {
    dir: tempfile::TempDir,
    openwire_port: u16,
    stomp_port: u16,
    console_port: u16,
    replication_port: u16,
    child: Option<Child>,
    starts: u32,
}

impl Node {
    fn config_path(&self) -> PathBuf {
        self.dir.path().join("node.toml")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("broker.log")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }
}

fn accepts(addr: &str) -> bool {
    addr.parse::<SocketAddr>()
        .is_ok_and(|a| TcpStream::connect_timeout(&a, PROBE_TIMEOUT).is_ok())
}

impl TestCluster {
    /// Writes `n` node configs and starts every node; returns once each one listens on its
    /// replication port (a master may not be elected yet: see
    /// [`wait_for_master`](Self::wait_for_master)).
    ///
    /// # Panics
    /// When a node exits during start-up or does not listen within 30 s (its log is
    /// printed).
    pub fn start(n: usize) -> TestCluster {
        assert!(n >= 1, "a cluster needs at least one node");
        let mut nodes = Vec::with_capacity(n);
        for i in 0..n {
            let dir = tempfile::Builder::new()
                .prefix(&format!("ferromq-cluster-node{}-", i + 1))
                .tempdir()
                .unwrap_or_else(|e| panic!("cannot create temp dir: {e}"));
            nodes.push(Node {
                dir,
                openwire_port: reserve_port(),
                stomp_port: reserve_port(),
                console_port: reserve_port(),
                replication_port: reserve_port(),
                child: None,
                starts: 0,
            });
        }
        let mut links = BTreeMap::new();
        for from in 0..n {
            for to in (0..n).filter(|&to| to != from) {
                let target = format!("127.0.0.1:{}", nodes[to].replication_port);
                links.insert((from, to), TcpProxy::start(&target));
            }
        }
        let mut cluster = TestCluster { nodes, links };
        for i in 0..n {
            cluster.write_config(i);
        }
        for i in 0..n {
            cluster.launch(i);
        }
        cluster
    }

    fn write_config(&self, i: usize) {
        let node = &self.nodes[i];
        let peers: Vec<String> = (0..self.nodes.len())
            .map(|j| {
                let addr = if j == i {
                    format!("127.0.0.1:{}", node.replication_port)
                } else {
                    self.links[&(i, j)].addr()
                };
                format!("\"{}=tcp://{addr}\"", j + 1)
            })
            .collect();
        let consoles: Vec<String> = (0..self.nodes.len())
            .map(|j| format!("\"{}=http://{}\"", j + 1, self.console_addr(j)))
            .collect();
        let config = format!(
            "# Node {id} of a {n}-node test cluster (testkit::TestCluster).\n\
             [broker]\n\
             name = \"node{id}\"\n\
             data_dir = \"{data}\"\n\
             \n\
             [listeners]\n\
             openwire = \"127.0.0.1:{openwire}\"\n\
             stomp = \"127.0.0.1:{stomp}\"\n\
             \n\
             [console]\n\
             bind = \"127.0.0.1:{console}\"\n\
             peers = [{consoles}]\n\
             \n\
             [persistence]\n\
             kind = \"replicated\"\n\
             \n\
             [persistence.replicated]\n\
             replicas = {n}\n\
             node_id = {id}\n\
             bind = \"tcp://127.0.0.1:{repl}\"\n\
             hostname = \"127.0.0.1\"\n\
             peers = [{peers}]\n\
             heartbeat_interval = \"{HEARTBEAT_INTERVAL}\"\n\
             election_timeout = \"{ELECTION_TIMEOUT}\"\n",
            id = i + 1,
            n = self.nodes.len(),
            data = node.dir.path().join("data").display(),
            openwire = node.openwire_port,
            stomp = node.stomp_port,
            console = node.console_port,
            repl = node.replication_port,
            peers = peers.join(", "),
            consoles = consoles.join(", "),
        );
        std::fs::write(node.config_path(), config)
            .unwrap_or_else(|e| panic!("cannot write node {} config: {e}", i + 1));
    }

    fn launch(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        node.starts += 1;
        let log = File::options()
            .create(true)
            .append(true)
            .open(node.log_path())
            .unwrap_or_else(|e| panic!("cannot open node log: {e}"));
        let log2 = log
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot clone log handle: {e}"));
        let child = Command::new(binary())
            .arg("broker")
            .arg("--config")
            .arg(node.config_path())
            .env(
                "RUST_LOG",
                std::env::var("FERROMQ_TEST_LOG").unwrap_or_else(|_| "info,openraft=warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e} (build it with cargo build)",
                    binary().display()
                )
            });
        node.child = Some(child);
        let addr = format!("127.0.0.1:{}", node.replication_port);
        let up = wait_until(START_TIMEOUT, || {
            if let Some(c) = self.nodes[i].child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    panic!(
                        "node {} exited during start-up ({status}); log:\n{}",
                        i + 1,
                        self.nodes[i].log()
                    );
                }
            }
            accepts(&addr)
        });
        assert!(
            up,
            "node {} did not listen for replication on {addr} within {START_TIMEOUT:?}; log:\n{}",
            i + 1,
            self.nodes[i].log()
        );
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Every node index whose OpenWire port accepts a connection now.
    pub fn serving(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| accepts(&self.openwire_addr(i)))
            .collect()
    }

    /// The node serving clients now, if exactly one does.
    pub fn master(&self) -> Option<usize> {
        match self.serving().as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// Polls until exactly one node accepts OpenWire connections; returns its index.
    ///
    /// # Panics
    /// When that does not happen within `timeout` (which nodes serve is in the message).
    pub fn wait_for_master(&self, timeout: Duration) -> usize {
        let mut found = None;
        let ok = wait_until(timeout, || {
            found = self.master();
            found.is_some()
        });
        match (ok, found) {
            (true, Some(i)) => i,
            _ => panic!(
                "no single master within {timeout:?} (serving now: {:?}, running: {:?})",
                self.serving(),
                self.running(),
            ),
        }
    }

    /// Node indexes whose process is alive.
    pub fn running(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].child.is_some())
            .collect()
    }

    pub fn is_running(&mut self, i: usize) -> bool {
        matches!(
            self.nodes[i].child.as_mut().map(Child::try_wait),
            Some(Ok(None))
        )
    }

    /// SIGKILL: node `i` dies at once, nothing flushed, sockets closed by the kernel.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait (20 s) for a clean exit; returns whether it exited successfully.
    pub fn stop(&mut self, i: usize) -> bool {
        self.nodes[i]
            .child
            .take()
            .is_some_and(crate::process::stop_child)
    }

    /// Starts node `i` again (killing it first if it runs) on the same dir and ports;
    /// returns once it listens for replication.
    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        self.launch(i);
    }

    /// How many times node `i` was started.
    pub fn starts(&self, i: usize) -> u32 {
        self.nodes[i].starts
    }

    /// Cuts node `i` off from every other node, silently in both directions (nothing is
    /// closed: the nodes notice through their heartbeats and timeouts). Clients still reach
    /// it.
    pub fn partition(&self, i: usize) {
        for ((from, to), proxy) in &self.links {
            if *from == i || *to == i {
                proxy.block();
            }
        }
    }

    /// Ends every partition: the blocked links are cut, new connections pass again.
    pub fn heal(&self) {
        for proxy in self.links.values() {
            if proxy.is_blocked() {
                proxy.unblock();
            }
        }
    }

    pub fn openwire_addr(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.nodes[i].openwire_port)
    }

    /// Node `i`'s web console.
    pub fn console_addr(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.nodes[i].console_port)
    }

    pub fn stomp_addr(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.nodes[i].stomp_port)
    }

    /// Every node's STOMP address, by index.
    pub fn stomp_addrs(&self) -> Vec<String> {
        (0..self.nodes.len()).map(|i| self.stomp_addr(i)).collect()
    }

    /// Node `i`'s own replication listener (not a proxy): for status queries.
    pub fn replication_addr(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.nodes[i].replication_port)
    }

    /// `failover:(tcp://A,tcp://B,tcp://C)?randomize=false` over every node's OpenWire
    /// port, as the seed's programs use it.
    pub fn failover_url(&self) -> String {
        let addrs: Vec<String> = (0..self.nodes.len())
            .map(|i| format!("tcp://{}", self.openwire_addr(i)))
            .collect();
        format!("failover:({})?randomize=false", addrs.join(","))
    }

    pub fn config_path(&self, i: usize) -> PathBuf {
        self.nodes[i].config_path()
    }

    pub fn log(&self, i: usize) -> String {
        self.nodes[i].log()
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
        if std::thread::panicking() {
            for (i, node) in self.nodes.iter().enumerate() {
                let log = node.log();
                let lines: Vec<&str> = log.lines().collect();
                let shown = lines.len().min(LOG_TAIL_LINES);
                eprintln!(
                    "----- node {} log ({}, started {} times; last {shown} of {} lines) -----\n{}",
                    i + 1,
                    node.log_path().display(),
                    node.starts,
                    lines.len(),
                    lines[lines.len() - shown..].join("\n")
                );
            }
        }
    }
}
