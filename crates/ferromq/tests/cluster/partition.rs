//! The master cut off from both slaves by the harness's proxies.

use crate::ledger::Ledger;
use crate::master_client::{drain, send_all};
use crate::{accepts, runtime, serial, MASTER_TIMEOUT};
use cluster::{NodeStatus, Role};
use std::time::{Duration, Instant};
use stomp::{ConnectOptions, StompClient};
use testkit::{wait_until, TestCluster};

/// Messages sent before the partition, and again to the new master during it.
const BATCH: usize = 20;
/// Attempts on the isolated master's open connection while it is cut off.
const STALE_SENDS: usize = 5;
/// How long one stale send waits for a receipt that must not come.
const STALE_RECEIPT_TIMEOUT: Duration = Duration::from_secs(2);
/// The isolated master must stop serving within this (generous: its lease is twice the
/// election timeout, 600 ms by default, from the last check a quorum answered).
const STOP_SERVING_TIMEOUT: Duration = Duration::from_secs(5);
/// After healing, the old master must be a caught-up slave within this.
const REJOIN_TIMEOUT: Duration = Duration::from_secs(20);
const DRAIN_QUIET: Duration = Duration::from_secs(2);
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

fn bodies(prefix: &str) -> Vec<String> {
    (0..BATCH).map(|n| format!("{prefix}-{n}")).collect()
}

fn status(rt: &tokio::runtime::Runtime, addr: &str) -> Option<NodeStatus> {
    rt.block_on(cluster::query_status(addr, Duration::from_secs(1)))
        .ok()
}

/// The master, silently cut off from both slaves (its replication links swallow every
/// byte): it acknowledges nothing more, stops accepting clients within a few seconds; the
/// two others elect a new master that serves; after healing, the old master is a slave
/// that caught up, and every acknowledged message (before and during the partition) is
/// received.
#[test]
fn partitioned_master_stops_serving_and_rejoins() {
    let _serial = serial();
    eprintln!("--- starting three replicated nodes");
    let cluster = TestCluster::start(3);
    let old = cluster.wait_for_master(MASTER_TIMEOUT);
    let addrs = cluster.stomp_addrs();
    let queue = "/queue/partition";
    let rt = runtime();
    let ledger = Ledger::default();

    eprintln!("--- {BATCH} receipted sends to master node {}", old + 1);
    rt.block_on(send_all(&addrs, queue, &bodies("before"), &ledger));
    let mut stale = rt
        .block_on(StompClient::connect(&addrs[old], ConnectOptions::default()))
        .unwrap_or_else(|e| panic!("cannot connect to the master: {e}"));
    stale.set_receipt_timeout(STALE_RECEIPT_TIMEOUT);

    eprintln!("--- partition node {} from both slaves", old + 1);
    let cut_at = Instant::now();
    cluster.partition(old);
    let mut stale_acked = Vec::new();
    for n in 0..STALE_SENDS {
        let body = format!("stale-{n}");
        let sent = rt.block_on(stale.send(queue, body.clone(), &[("persistent", "true")], true));
        if sent.is_ok() {
            ledger.acked(body.clone());
            stale_acked.push(body);
        } else {
            break;
        }
    }
    eprintln!(
        "--- the isolated master receipted {} of the sends on its open connection",
        stale_acked.len()
    );
    let stopped = wait_until(STOP_SERVING_TIMEOUT, || {
        !accepts(&cluster.openwire_addr(old)) && !accepts(&addrs[old])
    });
    let stopped_after = cut_at.elapsed();
    assert!(
        stopped,
        "the isolated master node {} still accepts clients {STOP_SERVING_TIMEOUT:?} after the partition",
        old + 1
    );
    let new = cluster.wait_for_master(MASTER_TIMEOUT);
    eprintln!(
        "--- node {} stopped serving {} ms after the partition; node {} serves {} ms after it",
        old + 1,
        stopped_after.as_millis(),
        new + 1,
        cut_at.elapsed().as_millis()
    );
    assert_ne!(new, old, "the isolated node cannot be master");
    rt.block_on(send_all(&addrs, queue, &bodies("during"), &ledger));

    eprintln!(
        "--- heal: node {} must rejoin as a slave and catch up",
        old + 1
    );
    cluster.heal();
    let mut last = None;
    let rejoined = wait_until(REJOIN_TIMEOUT, || {
        let (Some(o), Some(m)) = (
            status(&rt, &cluster.replication_addr(old)),
            status(&rt, &cluster.replication_addr(new)),
        ) else {
            return false;
        };
        let ok = o.role == Role::Slave
            && o.leader == Some(m.id)
            && m.role == Role::Master
            && o.applied_index >= m.last_log_index;
        last = Some((o, m));
        ok
    });
    assert!(
        rejoined,
        "node {} did not rejoin as a caught-up slave; last status (old, master): {last:?}",
        old + 1
    );
    assert_eq!(
        cluster.master(),
        Some(new),
        "after healing, only the new master serves"
    );
    assert!(
        stale_acked.is_empty(),
        "the isolated master acknowledged {stale_acked:?} without a quorum"
    );

    let drained = rt.block_on(drain(&addrs, queue, DRAIN_QUIET, DRAIN_TIMEOUT, &ledger));
    eprintln!("--- drained {drained} from node {}", new + 1);
    let tally = ledger.tally();
    tally.print("partitioned master");
    tally.assert_nothing_lost("partitioned master");
}
