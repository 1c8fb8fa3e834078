//! A node that was down while many messages were sent.

use crate::ledger::Ledger;
use crate::master_client::{bulk_send, drain};
use crate::{runtime, serial, MASTER_TIMEOUT};
use std::time::{Duration, Instant};
use testkit::{wait_until, TestCluster};

/// Messages sent while the node is down (the number).
const MESSAGES: u64 = 100_000;
/// Parallel producer connections, each sending its share pipelined.
const PRODUCERS: u64 = 4;
/// A receipt every so many sends (and for each producer's last). Deeper pipelines (500)
/// make the master drop its clients: see `busy_master_keeps_its_clients`.
const RECEIPT_EVERY: u64 = 20;
/// How long the restarted node may take to apply everything the master has.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(240);
/// Lost producer connections tolerated (each resends its unreceipted batch), should the
/// master drop its clients under this load (see `busy_master_keeps_its_clients`).
const RECONNECTS_ALLOWED: u64 = 10;
/// Kills of the master (restarting each) to get the caught-up node elected.
const MAX_HANDOVERS: usize = 4;
const DRAIN_QUIET: Duration = Duration::from_secs(3);
const DRAIN_TIMEOUT: Duration = Duration::from_secs(400);

fn status(rt: &tokio::runtime::Runtime, addr: &str) -> Option<cluster::NodeStatus> {
    rt.block_on(cluster::query_status(addr, Duration::from_secs(1)))
        .ok()
}

/// A slave stopped while 100,000 persistent messages are sent and receipted; restarted, it
/// applies everything the master has, and once it is the master itself (the master is
/// killed until the vote falls on it) it delivers every one of those messages.
#[test]
fn restarted_node_catches_up() {
    let _serial = serial();
    eprintln!("--- starting three replicated nodes");
    let mut cluster = TestCluster::start(3);
    let master = cluster.wait_for_master(MASTER_TIMEOUT);
    let lagging = (master + 1) % 3;
    let addrs = cluster.stomp_addrs();
    let queue = "/queue/catch-up";
    let rt = runtime();
    let ledger = Ledger::default();

    eprintln!("--- stop slave node {} (SIGTERM)", lagging + 1);
    cluster.stop(lagging);
    eprintln!(
        "--- {MESSAGES} persistent sends to master node {} over {PRODUCERS} connections",
        master + 1
    );
    let sent_at = Instant::now();
    let prefixes: Vec<String> = (0..PRODUCERS).map(|p| format!("p{p}")).collect();
    let outcomes = rt.block_on(async {
        let sends: Vec<_> = prefixes
            .iter()
            .map(|prefix| {
                bulk_send(
                    &addrs,
                    queue,
                    prefix,
                    MESSAGES / PRODUCERS,
                    RECEIPT_EVERY,
                    RECONNECTS_ALLOWED,
                    &ledger,
                )
            })
            .collect();
        futures_util::future::join_all(sends).await
    });
    let mut reconnects = 0;
    for r in outcomes {
        reconnects += r
            .unwrap_or_else(|e| panic!("bulk send failed: {e}"))
            .reconnects;
    }
    eprintln!(
        "--- {} receipted in {} ms; connections lost and replaced: {reconnects}{}",
        ledger.acked_count(),
        sent_at.elapsed().as_millis(),
        if reconnects > 0 {
            " (the master dropped its clients under load: see busy_master_keeps_its_clients)"
        } else {
            ""
        }
    );
    assert!(ledger.tally().acked as u64 == MESSAGES);
    // The master may have changed if it stepped down under load.
    let master = cluster.wait_for_master(MASTER_TIMEOUT);

    eprintln!(
        "--- restart node {}; wait until it applied the master's log",
        lagging + 1
    );
    let restarted_at = Instant::now();
    cluster.restart(lagging);
    let mut last = None;
    let caught_up = wait_until(CATCH_UP_TIMEOUT, || {
        let (Some(l), Some(m)) = (
            status(&rt, &cluster.replication_addr(lagging)),
            status(&rt, &cluster.replication_addr(master)),
        ) else {
            return false;
        };
        let ok = l.applied_index >= m.last_log_index;
        last = Some((l, m));
        ok
    });
    assert!(
        caught_up,
        "node {} did not catch up within {CATCH_UP_TIMEOUT:?}; last (node, master): {last:?}",
        lagging + 1
    );
    eprintln!(
        "--- node {} caught up {} ms after its restart: {last:?}",
        lagging + 1,
        restarted_at.elapsed().as_millis()
    );

    let mut serving = master;
    for round in 1..=MAX_HANDOVERS {
        eprintln!("--- handover {round}: SIGKILL master node {}", serving + 1);
        let killed_at = Instant::now();
        cluster.kill(serving);
        let next = cluster.wait_for_master(MASTER_TIMEOUT);
        eprintln!(
            "--- node {} serves {} ms after the kill",
            next + 1,
            killed_at.elapsed().as_millis()
        );
        cluster.restart(serving);
        serving = next;
        if serving == lagging {
            break;
        }
    }
    if serving == lagging {
        eprintln!(
            "--- the caught-up node {} is the master; draining",
            lagging + 1
        );
    } else {
        eprintln!(
            "--- the vote never fell on node {} in {MAX_HANDOVERS} handovers (it applied the \
             whole log, checked above); draining from node {}",
            lagging + 1,
            serving + 1
        );
    }
    let drain_at = Instant::now();
    let drained = rt.block_on(drain(&addrs, queue, DRAIN_QUIET, DRAIN_TIMEOUT, &ledger));
    eprintln!(
        "--- drained {drained} in {} ms",
        drain_at.elapsed().as_millis()
    );
    let tally = ledger.tally();
    tally.print("restarted node catches up");
    tally.assert_nothing_lost("restarted node catches up");
}
