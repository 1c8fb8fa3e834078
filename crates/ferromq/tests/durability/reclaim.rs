//! Disk reclamation: snapshots let the journal drop the segments of acknowledged messages.

use std::time::Duration;

use testkit::TestBroker;
use tokio::time::Instant;

use crate::fixture::{
    assert_nothing_arrives, collect, connect, journal_bytes, segment_files, seq_of,
};

const QUEUE: &str = "/queue/durability.backlog";
/// Small segments and snapshot threshold, so reclamation happens within seconds.
const CONFIG: &str = r#"
[persistence.journal]
segment_size = "64 KiB"
snapshot_bytes = "256 KiB"
"#;
/// Backlog size: 5,000 × 1 KiB, about 80 segments of 64 KiB.
const BACKLOG: usize = 5_000;
const BODY_SIZE: usize = 1024;
/// Concurrent producers filling the backlog (so that group commit has batches).
const PRODUCERS: usize = 4;
/// Every this many sends, and on the last one, a producer waits for a receipt (receipts
/// come in order, so it covers the sends before it).
const RECEIPT_EVERY: usize = 50;
/// The consumer ACKs (ack mode `client`: cumulative) with a receipt every this many.
const ACK_EVERY: usize = 100;
/// Most segment files, and most bytes in the journal dir, once the backlog is drained.
const MAX_SEGMENTS: usize = 3;
const MAX_JOURNAL_BYTES: u64 = 1 << 20;
/// Time allowed to fill and to drain the backlog.
const FILL_BUDGET: Duration = Duration::from_secs(120);
const DRAIN_BUDGET: Duration = Duration::from_secs(120);
/// Time allowed for the journal to shrink after the drain, while small messages flow
/// through the queue (a snapshot is deferred until the log outgrows twice the last one,
/// and the last one may have been taken with much of the backlog in it).
const SHRINK_BUDGET: Duration = Duration::from_secs(60);
/// Messages sent and consumed per round while waiting for the journal to shrink.
const CHURN_ROUND: usize = 20;
const CHURN_BODY_SIZE: usize = 4096;

fn journal_summary(data_dir: &std::path::Path) -> String {
    format!(
        "{} segments, {} bytes",
        segment_files(data_dir).len(),
        journal_bytes(data_dir)
    )
}

/// Once a backlog of persistent messages is consumed with receipted ACKs, snapshots shrink
/// the journal to a few segments; after `kill -9` the state recovered from that snapshot
/// has an empty queue that still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drained_backlog_shrinks_the_journal() {
    let mut broker = TestBroker::start_with(Some(CONFIG), &[]);
    let addr = broker.stomp_addr();
    let data_dir = broker.data_dir();

    eprintln!("--- fill: {BACKLOG} x {BODY_SIZE} B persistent messages from {PRODUCERS} producers");
    let started = Instant::now();
    let mut producers = Vec::new();
    for p in 0..PRODUCERS {
        let addr = addr.clone();
        producers.push(tokio::spawn(async move {
            let mut client = connect(&addr, None).await;
            let count = BACKLOG / PRODUCERS;
            let body = vec![b'x'; BODY_SIZE];
            for n in 0..count {
                let seq = format!("backlog-{p}-{n}");
                let receipt = (n + 1) % RECEIPT_EVERY == 0 || n + 1 == count;
                client
                    .send(
                        QUEUE,
                        body.clone(),
                        &[("persistent", "true"), ("seq", seq.as_str())],
                        receipt,
                    )
                    .await
                    .unwrap_or_else(|e| panic!("send {seq}: {e}"));
            }
            client.disconnect().await.expect("disconnect");
        }));
    }
    for p in producers {
        tokio::time::timeout(FILL_BUDGET, p)
            .await
            .expect("fill within budget")
            .expect("producer task");
    }
    eprintln!(
        "--- filled in {:?}: journal holds {}",
        started.elapsed(),
        journal_summary(&data_dir)
    );

    eprintln!("--- drain: consume all with receipted cumulative ACKs every {ACK_EVERY}");
    let started = Instant::now();
    let mut consumer = connect(&addr, None).await;
    consumer
        .subscribe("s", QUEUE, "client", &[("activemq.prefetchSize", "200")])
        .await
        .expect("subscribe");
    let deadline = Instant::now() + DRAIN_BUDGET;
    let mut received = 0;
    while received < BACKLOG {
        let wait = deadline.saturating_duration_since(Instant::now());
        let frame = consumer
            .recv(wait)
            .await
            .expect("receive")
            .unwrap_or_else(|| {
                panic!("only {received} of {BACKLOG} received within {DRAIN_BUDGET:?}")
            });
        received += 1;
        if received % ACK_EVERY == 0 || received == BACKLOG {
            consumer
                .ack(&frame, None, true)
                .await
                .unwrap_or_else(|e| panic!("ACK of {} not receipted: {e}", seq_of(&frame)));
        }
    }
    assert_nothing_arrives(&mut consumer, "after the backlog").await;
    eprintln!(
        "--- drained in {:?}: journal holds {}",
        started.elapsed(),
        journal_summary(&data_dir)
    );

    eprintln!("--- wait for the journal to shrink to <= {MAX_SEGMENTS} segments and < {MAX_JOURNAL_BYTES} B, churning small messages");
    let shrunk = |d: &std::path::Path| {
        segment_files(d).len() <= MAX_SEGMENTS && journal_bytes(d) < MAX_JOURNAL_BYTES
    };
    let deadline = Instant::now() + SHRINK_BUDGET;
    let mut producer = connect(&addr, None).await;
    let mut rounds = 0;
    while !shrunk(&data_dir) {
        assert!(
            Instant::now() < deadline,
            "journal still holds {} after {SHRINK_BUDGET:?} and {rounds} churn rounds of \
             {CHURN_ROUND} x {CHURN_BODY_SIZE} B",
            journal_summary(&data_dir)
        );
        for n in 0..CHURN_ROUND {
            let seq = format!("churn-{rounds}-{n}");
            producer
                .send(
                    QUEUE,
                    vec![b'c'; CHURN_BODY_SIZE],
                    &[("persistent", "true"), ("seq", seq.as_str())],
                    n + 1 == CHURN_ROUND,
                )
                .await
                .expect("churn send");
        }
        let got = collect(&mut consumer, CHURN_ROUND, false, DRAIN_BUDGET).await;
        assert_eq!(got.len(), CHURN_ROUND, "churn round {rounds} delivered");
        if let Some(last) = got.last() {
            consumer.ack(last, None, true).await.expect("churn ACK");
        }
        rounds += 1;
    }
    eprintln!(
        "--- shrunk after {rounds} churn rounds ({} KiB churned): journal holds {}",
        rounds * CHURN_ROUND * CHURN_BODY_SIZE / 1024,
        journal_summary(&data_dir)
    );
    consumer.disconnect().await.expect("disconnect");

    eprintln!("--- SIGKILL and restart from the snapshot: queue empty, still working");
    tokio::task::block_in_place(|| broker.restart());
    let mut consumer = connect(&addr, None).await;
    consumer
        .subscribe("s", QUEUE, "client-individual", &[])
        .await
        .expect("subscribe after restart");
    assert_nothing_arrives(&mut consumer, "acknowledged backlog came back").await;
    let mut producer = connect(&addr, None).await;
    producer
        .send(
            QUEUE,
            "after",
            &[("persistent", "true"), ("seq", "after-restart")],
            true,
        )
        .await
        .expect("send after restart");
    let got = collect(&mut consumer, 1, true, DRAIN_BUDGET).await;
    assert_eq!(
        got.iter().map(seq_of).collect::<Vec<_>>(),
        ["after-restart"],
        "message sent after the restart"
    );
}
