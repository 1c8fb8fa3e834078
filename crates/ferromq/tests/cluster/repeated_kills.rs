//! Continuous load while the master is killed again and again.

use crate::ledger::Ledger;
use crate::master_client::{consume, drain, produce};
use crate::{runtime, serial, MASTER_TIMEOUT};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::{wait_until, TestCluster};

/// How many times the master is SIGKILLed.
const KILLS: usize = 8;
/// Producers (each its own connection and sequence).
const PRODUCERS: usize = 2;
/// Acknowledged sends to see between two kills, so each kill lands under load.
const ACKS_BETWEEN_KILLS: usize = 100;
/// How long the load may take to make that progress.
const PROGRESS_TIMEOUT: Duration = Duration::from_secs(30);
/// The final drain stops after this long without a message.
const DRAIN_QUIET: Duration = Duration::from_secs(3);
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Under continuous load from STOMP producers (persistent, a receipt per message) and a
/// consumer, all following the master, the master is SIGKILLed 8 times in a row and each
/// killed node restarted: every message the cluster receipted is received in the end
/// (duplicates are allowed and reported). Each failover gap (kill → first receipt from
/// the new master) is printed.
#[test]
fn repeated_master_kills_lose_no_acknowledged_message() {
    let _serial = serial();
    eprintln!("--- starting three replicated nodes");
    let mut cluster = TestCluster::start(3);
    cluster.wait_for_master(MASTER_TIMEOUT);
    let addrs = cluster.stomp_addrs();
    let queue = "/queue/kills".to_string();
    let rt = runtime();
    let ledger = Arc::new(Ledger::default());
    let stop_producers = Arc::new(AtomicBool::new(false));
    let stop_consumer = Arc::new(AtomicBool::new(false));

    eprintln!("--- {PRODUCERS} producers and a consumer on {queue}");
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            rt.spawn(produce(
                addrs.clone(),
                queue.clone(),
                format!("p{p}"),
                stop_producers.clone(),
                ledger.clone(),
            ))
        })
        .collect();
    let consumer = rt.spawn(consume(
        addrs.clone(),
        queue.clone(),
        stop_consumer.clone(),
        ledger.clone(),
    ));

    let mut gaps = Vec::new();
    let mut elections = Vec::new();
    for kill in 1..=KILLS {
        let master = cluster.wait_for_master(MASTER_TIMEOUT);
        let before = ledger.acked_count();
        assert!(
            wait_until(PROGRESS_TIMEOUT, || ledger.acked_count()
                >= before + ACKS_BETWEEN_KILLS),
            "kill {kill}: the load made no progress on node {} ({} acknowledged)",
            master + 1,
            ledger.acked_count()
        );
        eprintln!(
            "--- kill {kill}/{KILLS}: SIGKILL master node {} ({} acknowledged so far)",
            master + 1,
            ledger.acked_count()
        );
        let killed_at = Instant::now();
        cluster.kill(master);
        let new_master = cluster.wait_for_master(MASTER_TIMEOUT);
        let elected = killed_at.elapsed();
        assert_ne!(new_master, master);
        assert!(
            wait_until(PROGRESS_TIMEOUT, || ledger
                .first_ack_after(killed_at, new_master)
                .is_some()),
            "kill {kill}: nothing acknowledged by the new master node {}",
            new_master + 1
        );
        let gap = ledger
            .first_ack_after(killed_at, new_master)
            .unwrap_or_default();
        eprintln!(
            "--- node {} serves {} ms after the kill; first receipt after {} ms; restarting node {}",
            new_master + 1,
            elected.as_millis(),
            gap.as_millis(),
            master + 1
        );
        gaps.push(gap);
        elections.push(elected);
        cluster.restart(master);
    }

    eprintln!("--- stopping the producers, then the consumer; draining {queue}");
    stop_producers.store(true, Ordering::SeqCst);
    for p in producers {
        let _ = rt.block_on(p);
    }
    stop_consumer.store(true, Ordering::SeqCst);
    let _ = rt.block_on(consumer);
    let drained = rt.block_on(drain(&addrs, &queue, DRAIN_QUIET, DRAIN_TIMEOUT, &ledger));
    eprintln!("--- drained {drained} after the load");

    gaps.sort();
    elections.sort();
    let ms = |d: &[Duration]| d.iter().map(|g| g.as_millis()).collect::<Vec<_>>();
    eprintln!(
        "--- {KILLS} kills; failover gaps (kill → first receipt from the new master) sorted, ms: {:?}; \
         kill → new master listening, ms: {:?}",
        ms(&gaps),
        ms(&elections)
    );
    let tally = ledger.tally();
    tally.print("repeated master kills");
    tally.assert_nothing_lost("repeated master kills");
    assert!(tally.acked >= KILLS * ACKS_BETWEEN_KILLS);
}
