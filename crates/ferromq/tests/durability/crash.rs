//! Producers and consumers at full speed while the broker is SIGKILLed again and again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use stomp::StompClient;
use testkit::TestBroker;
use tokio::time::Instant;

use crate::fixture::{connect, seq_of, try_connect, wait_for, QUIET, RECONNECT_PAUSE, SEQ};
use crate::ledger::Ledger;

/// Segments and snapshots small enough that kills also land during segment rolls,
/// snapshot writes and purges.
const SMALL_JOURNAL: &str = r#"
[persistence.journal]
segment_size = "64 KiB"
snapshot_bytes = "256 KiB"
"#;
const PRODUCERS: usize = 4;
const CONSUMERS: usize = 2;
/// SIGKILL + restart cycles.
const KILLS: u32 = 7;
/// Time between a restart being under way again and the next SIGKILL: from the low to the
/// high bound, varied so that kills land at different moments of the traffic.
const KILL_INTERVAL_MIN: Duration = Duration::from_millis(1000);
const KILL_INTERVAL_SPREAD_MS: u64 = 1000;
/// After each restart, the clients must make this much progress (receipted sends and
/// receipted ACKs) before the next kill, within [`PROGRESS_BUDGET`]: a kill that only
/// interrupts reconnects tests little. With the small journal, 300 × 1 KiB sends and their
/// ACKs outgrow `snapshot_bytes` (256 KiB), so every run writes a snapshot before its kill
/// at least until snapshots outgrow 128 KiB.
const MIN_PROGRESS: usize = 20;
const MIN_PROGRESS_SNAPSHOTS: usize = 300;
const PROGRESS_BUDGET: Duration = Duration::from_secs(30);
/// Producers pause while this many receipted messages are not yet delivered, so that the
/// final drain stays short.
const MAX_BACKLOG: usize = 300;
/// Time allowed for the consumers to receive every receipted message after the last kill.
const DRAIN_BUDGET: Duration = Duration::from_secs(60);
/// How long a consumer waits on `recv` before checking whether it should stop.
const POLL: Duration = Duration::from_millis(200);
/// Body sizes: small by default; larger with the small journal, so that many segments
/// roll and several snapshots are written between kills.
const BODY_SIZE: usize = 64;
const BODY_SIZE_SNAPSHOTS: usize = 1024;
/// What the broker logs after each snapshot (`journal_store.rs`).
const SNAPSHOT_LOG: &str = "snapshot written";

fn lock(ledger: &Mutex<Ledger>) -> MutexGuard<'_, Ledger> {
    ledger.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sends persistent messages with receipts until `stop`; a send whose receipt does not
/// come is recorded as unconfirmed, and the producer reconnects and goes on with a new seq.
async fn produce(
    addr: String,
    queue: &'static str,
    body_size: usize,
    id: usize,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
) {
    let body = bytes::Bytes::from(vec![b'b'; body_size]);
    let mut client: Option<StompClient> = None;
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let backlog = {
            let l = lock(&ledger);
            l.receipted.len().saturating_sub(l.received.len())
        };
        if backlog > MAX_BACKLOG {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        }
        let Some(c) = client.as_mut() else {
            client = try_connect(&addr, None).await;
            if client.is_none() {
                tokio::time::sleep(RECONNECT_PAUSE).await;
            }
            continue;
        };
        let seq = format!("p{id}-{n}");
        n += 1;
        let sent = c
            .send(
                queue,
                body.clone(),
                &[("persistent", "true"), (SEQ, seq.as_str())],
                true,
            )
            .await;
        match sent {
            Ok(()) => lock(&ledger).on_receipted(seq),
            Err(_) => {
                lock(&ledger).on_unconfirmed(seq);
                client = None;
            }
        }
    }
    if let Some(c) = client {
        let _ = c.disconnect().await;
    }
}

/// Receives and ACKs (with receipt) one message at a time until `stop`, reconnecting after
/// any error; on stop it disconnects, which puts its unacknowledged messages back.
async fn consume(
    addr: String,
    queue: &'static str,
    id: usize,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
) {
    let mut client: Option<StompClient> = None;
    while !stop.load(Ordering::Relaxed) {
        let Some(c) = client.as_mut() else {
            let Some(mut c) = try_connect(&addr, None).await else {
                tokio::time::sleep(RECONNECT_PAUSE).await;
                continue;
            };
            let subscribed = c
                .subscribe(
                    &format!("c{id}"),
                    queue,
                    "client-individual",
                    &[("activemq.prefetchSize", "10")],
                )
                .await;
            if subscribed.is_ok() {
                client = Some(c);
            }
            continue;
        };
        let frame = match c.recv(POLL).await {
            Ok(Some(frame)) => frame,
            Ok(None) => continue,
            Err(_) => {
                client = None;
                continue;
            }
        };
        let seq = seq_of(&frame);
        lock(&ledger).on_received(&seq);
        match c.ack(&frame, None, true).await {
            Ok(()) => lock(&ledger).on_ack_receipted(seq),
            Err(_) => client = None,
        }
    }
    if let Some(c) = client {
        let _ = c.disconnect().await;
    }
}

/// Deterministic spread of kill intervals (no RNG dependency needed).
fn kill_interval(kill: u32) -> Duration {
    let ms = (u64::from(kill) * 7919 + 421) % KILL_INTERVAL_SPREAD_MS;
    KILL_INTERVAL_MIN + Duration::from_millis(ms)
}

/// With producers (persistent SENDs, receipts) and consumers (client-individual, ACKs
/// with receipts) running and the broker SIGKILLed and restarted [`KILLS`] times: every
/// message whose SEND was receipted is delivered at least once, and no message whose
/// ACK was receipted is delivered again, not even after a final kill and restart.
/// Duplicates (after an ACK whose receipt was lost) are allowed and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_broker_loses_no_receipted_message() {
    run_kill_loop(None, "/queue/durability.crash", BODY_SIZE, MIN_PROGRESS).await;
}

/// The same invariants as [`killed_broker_loses_no_receipted_message`] with 64 KiB
/// segments and a 256 KiB snapshot threshold, so that kills also hit segment rolls,
/// snapshot writes and purges, and restarts recover from snapshots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_broker_with_frequent_snapshots_loses_no_receipted_message() {
    let snapshots = run_kill_loop(
        Some(SMALL_JOURNAL),
        "/queue/durability.crash-snapshots",
        BODY_SIZE_SNAPSHOTS,
        MIN_PROGRESS_SNAPSHOTS,
    )
    .await;
    assert!(
        snapshots > 0,
        "no snapshot was written: the variant tested nothing more"
    );
}

/// Runs the kill loop and checks its invariants; returns how many snapshots the broker
/// wrote (over all its runs).
async fn run_kill_loop(
    config: Option<&str>,
    queue: &'static str,
    body_size: usize,
    min_progress: usize,
) -> usize {
    let mut broker = TestBroker::start_with(config, &[]);
    let addr = broker.stomp_addr();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let stop_producers = Arc::new(AtomicBool::new(false));
    let stop_consumers = Arc::new(AtomicBool::new(false));

    eprintln!("--- start {PRODUCERS} producers and {CONSUMERS} consumers on {queue}");
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|i| {
            tokio::spawn(produce(
                addr.clone(),
                queue,
                body_size,
                i,
                ledger.clone(),
                stop_producers.clone(),
            ))
        })
        .collect();
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|i| {
            tokio::spawn(consume(
                addr.clone(),
                queue,
                i,
                ledger.clone(),
                stop_consumers.clone(),
            ))
        })
        .collect();

    let mut kills = 0;
    for k in 0..KILLS {
        let (sent0, acked0) = {
            let l = lock(&ledger);
            (l.receipted.len(), l.ack_receipted.len())
        };
        let progressed = wait_for(PROGRESS_BUDGET, || {
            let l = lock(&ledger);
            l.receipted.len() >= sent0 + min_progress
                && l.ack_receipted.len() >= acked0 + min_progress
        })
        .await;
        assert!(
            progressed,
            "no progress ({min_progress} receipted sends and ACKs) within {PROGRESS_BUDGET:?} \
             after start {k}: {:?}",
            lock(&ledger).summary()
        );
        tokio::time::sleep(kill_interval(k)).await;
        let before = lock(&ledger).receipted.len();
        eprintln!(
            "--- kill {}: SIGKILL with {before} sends receipted so far, restart",
            k + 1
        );
        tokio::task::block_in_place(|| broker.restart());
        kills += 1;
    }

    eprintln!("--- stop the producers; consumers receive every receipted message");
    stop_producers.store(true, Ordering::Relaxed);
    for p in producers {
        p.await.expect("producer task");
    }
    let drained = wait_for(DRAIN_BUDGET, || lock(&ledger).missing() == 0).await;
    if !drained {
        eprintln!(
            "--- {} receipted messages still missing after {DRAIN_BUDGET:?}",
            lock(&ledger).missing()
        );
    }
    stop_consumers.store(true, Ordering::Relaxed);
    for c in consumers {
        c.await.expect("consumer task");
    }

    eprintln!("--- final SIGKILL and restart, then drain whatever is left");
    tokio::task::block_in_place(|| broker.restart());
    let mut drain = connect(&addr, None).await;
    drain
        .subscribe(
            "drain",
            queue,
            "client-individual",
            &[("activemq.prefetchSize", "100")],
        )
        .await
        .expect("subscribe drain");
    let deadline = Instant::now() + DRAIN_BUDGET;
    let mut leftovers = 0;
    while Instant::now() < deadline {
        let Some(frame) = drain.recv(QUIET).await.expect("drain receive") else {
            break;
        };
        let seq = seq_of(&frame);
        lock(&ledger).on_received(&seq);
        drain.ack(&frame, None, true).await.expect("drain ACK");
        lock(&ledger).on_ack_receipted(seq);
        leftovers += 1;
    }
    drain.disconnect().await.expect("drain disconnect");

    let s = lock(&ledger).summary();
    let snapshots = broker.log().matches(SNAPSHOT_LOG).count();
    eprintln!(
        "{queue}: sent_receipted={} received={} lost={} duplicates={} kills={kills} \
         (unconfirmed sends={}, of which delivered={}; distinct received={}; \
         left after final restart={leftovers}; acked came back={}; snapshots={snapshots})",
        s.sent_receipted,
        s.received,
        s.lost.len(),
        s.duplicates,
        s.sent_unconfirmed,
        s.unconfirmed_delivered,
        s.distinct_received,
        s.acked_came_back.len(),
    );
    assert!(s.lost.is_empty(), "receipted messages lost: {:?}", s.lost);
    assert!(
        s.acked_came_back.is_empty(),
        "messages delivered again after a receipted ACK: {:?}",
        s.acked_came_back
    );
    snapshots
}
