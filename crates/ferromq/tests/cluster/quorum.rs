//! Service needs a quorum: one node of three alone serves nobody.

use crate::ledger::Ledger;
use crate::master_client::{drain, send_all};
use crate::{accepts, runtime, serial, MASTER_TIMEOUT};
use std::time::{Duration, Instant};
use testkit::{wait_until, TestCluster};

const MESSAGES: usize = 50;
/// Any node still serving (elected before the second kill) must stop within this.
const STOP_SERVING_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the lone node is watched: it must not serve at any point.
const ALONE_OBSERVATION: Duration = Duration::from_secs(3);
const DRAIN_QUIET: Duration = Duration::from_secs(2);
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// With two of three nodes killed, the survivor accepts no OpenWire or STOMP client for
/// as long as it is alone; restarting one killed node restores service, and every
/// message receipted before the kills is delivered.
#[test]
fn one_node_alone_serves_nobody() {
    let _serial = serial();
    eprintln!("--- starting three replicated nodes");
    let mut cluster = TestCluster::start(3);
    let master = cluster.wait_for_master(MASTER_TIMEOUT);
    let addrs = cluster.stomp_addrs();
    let queue = "/queue/quorum";
    let rt = runtime();
    let ledger = Ledger::default();
    let bodies: Vec<String> = (0..MESSAGES).map(|n| format!("q-{n}")).collect();
    rt.block_on(send_all(&addrs, queue, &bodies, &ledger));

    let slave = (master + 1) % 3;
    let alone = (master + 2) % 3;
    eprintln!(
        "--- SIGKILL master node {} and slave node {}; node {} is alone",
        master + 1,
        slave + 1,
        alone + 1
    );
    cluster.kill(master);
    cluster.kill(slave);
    let any_client_port =
        |c: &TestCluster| (0..3).any(|i| accepts(&c.openwire_addr(i)) || accepts(&c.stomp_addr(i)));
    assert!(
        wait_until(STOP_SERVING_TIMEOUT, || !any_client_port(&cluster)),
        "a client port is still open {STOP_SERVING_TIMEOUT:?} after two of three nodes died"
    );
    let watched_from = Instant::now();
    while watched_from.elapsed() < ALONE_OBSERVATION {
        assert!(
            !any_client_port(&cluster),
            "node {} serves clients alone, {} ms into the watch",
            alone + 1,
            watched_from.elapsed().as_millis()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(cluster.is_running(alone), "the lone node died");

    eprintln!("--- restart node {}: two of three again", master + 1);
    let restarted_at = Instant::now();
    cluster.restart(master);
    let serving = cluster.wait_for_master(MASTER_TIMEOUT);
    eprintln!(
        "--- node {} serves {} ms after the restart began",
        serving + 1,
        restarted_at.elapsed().as_millis()
    );
    let drained = rt.block_on(drain(&addrs, queue, DRAIN_QUIET, DRAIN_TIMEOUT, &ledger));
    eprintln!("--- drained {drained}");
    let tally = ledger.tally();
    tally.print("one node alone");
    tally.assert_nothing_lost("one node alone");
    assert_eq!(tally.received_distinct, MESSAGES);
}
