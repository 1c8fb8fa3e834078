//! A healthy master under heavy write load.

use crate::ledger::Ledger;
use crate::master_client::bulk_send;
use crate::{runtime, serial, MASTER_TIMEOUT};
use std::time::Instant;
use testkit::TestCluster;

/// Messages sent, pipelined over several connections.
const MESSAGES: u64 = 20_000;
const PRODUCERS: u64 = 4;
const RECEIPT_EVERY: u64 = 500;

/// With all three nodes up and nothing failing, a master flooded with pipelined persistent
/// sends keeps its quorum and therefore its clients: no producer connection is closed.
///
/// This failed while the watchdog gave `ensure_linearizable()` (which also waits for
/// applies) one election timeout: a loaded master then closed every client connection
/// although it was still the Raft leader with a quorum.
#[test]
fn busy_master_keeps_its_clients() {
    let _serial = serial();
    eprintln!("--- starting three replicated nodes");
    let cluster = TestCluster::start(3);
    let master = cluster.wait_for_master(MASTER_TIMEOUT);
    let addrs = cluster.stomp_addrs();
    let rt = runtime();
    let ledger = Ledger::default();
    eprintln!(
        "--- {MESSAGES} pipelined persistent sends to node {} over {PRODUCERS} connections",
        master + 1
    );
    let started = Instant::now();
    let prefixes: Vec<String> = (0..PRODUCERS).map(|p| format!("p{p}")).collect();
    let outcomes = rt.block_on(futures_util::future::join_all(prefixes.iter().map(
        |prefix| {
            bulk_send(
                &addrs,
                "/queue/busy",
                prefix,
                MESSAGES / PRODUCERS,
                RECEIPT_EVERY,
                0,
                &ledger,
            )
        },
    )));
    eprintln!(
        "--- {} receipted in {} ms",
        ledger.acked_count(),
        started.elapsed().as_millis()
    );
    for o in outcomes {
        if let Err(e) = o {
            panic!(
                "a producer lost its connection to the healthy master node {}: {e}",
                master + 1
            );
        }
    }
}
