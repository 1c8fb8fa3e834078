//! Cluster suite: three real `ferromq` processes with `[persistence] kind = "replicated"`
//! (Raft), started by `testkit::TestCluster` on loopback with their replication links
//! through proxies the tests control; clients are the seed's Java programs and our STOMP
//! client. Every test counts messages: acknowledged (receipt / `send()` returned) against
//! received, and reports losses and duplicates.
//!
//! - `seed`: the seed's SeedProducer/SeedConsumer over the 3-node `failover:` URL, with the
//!   master killed between producing and consuming.
//! - `repeated_kills`: STOMP producers and a consumer under continuous load while the
//!   master is SIGKILLed again and again (each killed node restarted).
//! - `java_kills`: the same with the real Java client: `failover:` producers and
//!   consumers while the master is SIGKILLed 10 times.
//! - `partition`: the master cut off from both slaves stops serving, a new one is elected,
//!   the old one rejoins as a slave after healing.
//! - `catch_up`: a node down while thousands of messages are sent catches up and serves.
//! - `quorum`: one node alone serves nobody; a second one brings service back.
//! - `busy_master` (ignored: a broker bug): a healthy master under heavy pipelined load
//!   must keep its clients.
//!
//! Tests run one at a time ([`serial`]): each starts three brokers, and two cores running
//! two clusters would blur the elections the tests measure. Java needs
//! `openjdk-17-jdk-headless libactivemq-java` (see `../openwire/java.rs`).

mod busy_master;
mod catch_up;
#[path = "../openwire/java.rs"]
#[allow(dead_code)]
mod java;
mod java_kills;
mod ledger;
mod master_client;
mod partition;
mod quorum;
mod repeated_kills;
mod seed;

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// How long a cluster may take to elect a master (start-up or after a kill).
pub const MASTER_TIMEOUT: Duration = Duration::from_secs(20);

static SERIAL: Mutex<()> = Mutex::new(());

/// Held for the whole of a test, so cluster tests never overlap.
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A runtime for the STOMP clients; the test thread itself stays synchronous (it polls the
/// cluster and kills processes).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("cannot build a tokio runtime: {e}"))
}

/// Whether something accepts TCP connections on `addr` now.
pub fn accepts(addr: &str) -> bool {
    addr.parse::<std::net::SocketAddr>()
        .is_ok_and(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_millis(200)).is_ok())
}
