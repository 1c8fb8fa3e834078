//! The client's `failover:` transport against a replicated three-node ferromq cluster whose
//! master is SIGKILLed under load (`testkit::TestCluster`).

use crate::load;
use client::{Connection, ConnectionEvent, Destination};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use testkit::TestCluster;

const MASTER_TIMEOUT: Duration = Duration::from_secs(20);
/// Master kills during the run (each killed node is restarted).
const KILLS: usize = 2;
/// Persistent messages sent in all.
const COUNT: usize = 400;
/// Acknowledged sends to see before each kill, so that it lands under load.
const SENDS_BETWEEN_KILLS: usize = 60;
const PREFETCH: i32 = 10;
const PROGRESS_TIMEOUT: Duration = Duration::from_secs(60);

/// A Rust producer and consumer over `failover:(A,B,C)?randomize=false` while the master
/// is SIGKILLed twice: every message whose send returned Ok is received; duplicates are
/// only deliveries whose acknowledgement died with a master (at most a prefetch window per
/// kill).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failover_across_master_kills_loses_no_acknowledged_send() {
    eprintln!("--- three replicated nodes");
    let mut cluster = tokio::task::block_in_place(|| {
        let c = TestCluster::start(3);
        c.wait_for_master(MASTER_TIMEOUT);
        c
    });
    let url = format!(
        "{}&initialReconnectDelay=10&maxReconnectDelay=500",
        cluster.failover_url()
    );
    let queue = Destination::queue("client.cluster.kills");

    let producer_conn = Connection::connect(&url).await.expect("connect producer");
    let mut producer_events = producer_conn.events();
    let consumer_conn = Connection::connect(&url).await.expect("connect consumer");
    let (producer, _csession, consumer) =
        load::open_producer_and_consumer(&producer_conn, &consumer_conn, &queue, PREFETCH).await;

    let sent = Arc::new(AtomicUsize::new(0));
    let sending = load::spawn_sender(
        producer,
        queue.clone(),
        COUNT,
        Duration::from_millis(3),
        sent.clone(),
    );
    let receiving = load::spawn_receiver(consumer, COUNT, PROGRESS_TIMEOUT);

    for kill in 1..=KILLS {
        let master = tokio::task::block_in_place(|| cluster.wait_for_master(MASTER_TIMEOUT));
        let before = sent.load(Ordering::SeqCst);
        load::wait_for_sends(&sent, before + SENDS_BETWEEN_KILLS, PROGRESS_TIMEOUT).await;
        let at_kill = sent.load(Ordering::SeqCst);
        eprintln!("--- kill {kill}: SIGKILL master node {master} at {at_kill} sends");
        tokio::task::block_in_place(|| cluster.kill(master));
        load::wait_for_sends(&sent, at_kill + 5, PROGRESS_TIMEOUT).await;
        tokio::task::block_in_place(|| {
            cluster.wait_for_master(MASTER_TIMEOUT);
            cluster.restart(master);
        });
    }

    let (producer, ok) = tokio::time::timeout(PROGRESS_TIMEOUT, sending)
        .await
        .expect("sends finish")
        .expect("sender");
    assert_eq!(ok.len(), COUNT);
    let (consumer, seen) = tokio::time::timeout(PROGRESS_TIMEOUT * 2, receiving)
        .await
        .expect("receives finish")
        .expect("receiver");
    let missing: Vec<_> = ok.iter().filter(|m| !seen.contains_key(*m)).collect();
    assert!(
        missing.is_empty(),
        "lost {} sends: {missing:?}",
        missing.len()
    );
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    eprintln!("--- {COUNT} sent, all received, {duplicates} duplicate deliveries");
    assert!(
        duplicates <= KILLS * PREFETCH as usize,
        "{duplicates} duplicates"
    );
    let mut resumed = Vec::new();
    while let Ok(e) = producer_events.try_recv() {
        if let ConnectionEvent::Resumed(on) = e {
            resumed.push(on);
        }
    }
    assert!(
        resumed.len() >= KILLS,
        "the producer failed over {} times: {resumed:?}",
        resumed.len()
    );
    drop(consumer);
    drop(producer);
    producer_conn.close().await.ok();
    consumer_conn.close().await.ok();
}
