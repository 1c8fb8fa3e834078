//! Test harness, not published: real `ferromq` processes on free loopback ports.
//!
//! - [`TestBroker`]: one broker process with its own temp dir and log file; `kill()` sends
//!   SIGKILL, `stop()` SIGTERM, `restart()` starts it again on the same dir and port. Its
//!   log is printed when a test panics; `Drop` kills the process.
//! - [`reserve_port`]: a free loopback port, never handed out twice in one test process.
//! - [`TcpProxy`]: a loopback proxy in front of a broker port; `cut()` drops every open
//!   connection (network fault injection, e.g. for `failover:` clients); `block()` makes
//!   it a silent partition until `unblock()`.
//! - [`TestCluster`]: `n` replicated nodes (Raft) with their replication links through
//!   proxies; `wait_for_master()`, `kill(i)`, `stop(i)`, `restart(i)`, `partition(i)`,
//!   `heal()`, `failover_url()`; every node's log printed when a test panics.
//! - [`wait_until`]: polls a predicate instead of sleeping.

mod port;
mod process;
mod tcp_proxy;
mod test_broker;
mod test_cluster;

pub use port::reserve_port;
pub use tcp_proxy::TcpProxy;
pub use test_broker::{binary, TestBroker};
pub use test_cluster::TestCluster;

use std::time::{Duration, Instant};

/// Polls `check` every 20 ms until it returns true or `timeout` passes; returns the last
/// result.
pub fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts that `fut` (e.g. a producer's sends past the broker's memory limit) is still
/// running after `held`: flow control holds it back. `fut` can be awaited afterwards.
pub async fn assert_held_back<F: std::future::Future + Unpin>(fut: &mut F, held: Duration) {
    let blocked = tokio::time::timeout(held, fut).await.is_err();
    assert!(
        blocked,
        "all sends completed although they exceed memory_limit"
    );
}
