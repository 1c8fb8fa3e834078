//! Behaviour of the broker core through its public API ([`Broker`]), mostly over a
//! `MemoryStore`, with a few recovery checks over a `JournalStore`.

use crate::broker::{Broker, BrokerConfig};
use crate::consumer::{ConnectionId, ConsumerId, ConsumerSpec};
use crate::core::Core;
use crate::destination::Destination;
use crate::error::BrokerError;
use crate::journal_store::{JournalStore, JournalStoreConfig};
use crate::memory_store::MemoryStore;
use crate::message::{now_millis, BodyKind, Message, PropertyValue};
use crate::outbox::{Delivery, Outbox};
use crate::store::Store;
use bytes::Bytes;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Budget for things that should happen promptly (background store writes).
const SETTLE: Duration = Duration::from_secs(10);
/// How long a send that must be blocked is watched before we call it blocked.
const BLOCKED_FOR: Duration = Duration::from_millis(300);

fn memory_broker(max_redeliveries: u32, memory_limit: usize) -> Broker {
    let core = Core::new(max_redeliveries, memory_limit);
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(core.clone()));
    Broker::new(
        BrokerConfig {
            name: "test".to_string(),
            memory_limit,
            max_redeliveries,
        },
        core,
        store,
    )
}

fn broker() -> Broker {
    memory_broker(6, 64 * 1024 * 1024)
}

fn journal_broker(dir: &Path, snapshot_bytes: u64) -> Broker {
    let core = Core::new(6, 64 * 1024 * 1024);
    let mut journal = journal::JournalConfig::new(dir);
    journal.segment_size = 4096;
    let config = JournalStoreConfig {
        snapshot_bytes,
        ..JournalStoreConfig::new(journal)
    };
    let store: Arc<dyn Store> =
        Arc::new(JournalStore::open(config, core.clone()).expect("open journal store"));
    Broker::new(BrokerConfig::default(), core, store)
}

fn queue(name: &str) -> Destination {
    Destination::Queue(name.into())
}

fn topic(name: &str) -> Destination {
    Destination::Topic(name.into())
}

/// A non-persistent text message whose id and body are `body`.
fn msg(dest: &Destination, body: &str) -> Message {
    Message::new(
        body.to_string(),
        dest.clone(),
        BodyKind::Text,
        Bytes::from(body.to_string()),
    )
}

fn persistent(dest: &Destination, body: &str) -> Message {
    let mut m = msg(dest, body);
    m.persistent = true;
    m
}

fn with_prop(mut m: Message, name: &str, value: &str) -> Message {
    m.set_property(name, PropertyValue::String(value.to_string()));
    m
}

fn spec(dest: &Destination, prefetch: u32) -> ConsumerSpec {
    let mut s = ConsumerSpec::new(dest.clone());
    s.prefetch = prefetch;
    s
}

async fn consume(
    broker: &Broker,
    connection: ConnectionId,
    spec: ConsumerSpec,
) -> (ConsumerId, Arc<Outbox>) {
    let outbox = Outbox::new();
    let id = broker
        .subscribe(connection, spec, outbox.clone())
        .await
        .expect("subscribe");
    (id, outbox)
}

fn bodies(deliveries: &[Delivery]) -> Vec<String> {
    deliveries
        .iter()
        .map(|d| String::from_utf8_lossy(&d.message.body).into_owned())
        .collect()
}

fn take(outbox: &Outbox) -> Vec<Delivery> {
    outbox.drain(usize::MAX)
}

/// Waits until `outbox` holds at least `n` deliveries, then takes them all.
async fn take_at_least(outbox: &Outbox, n: usize) -> Vec<Delivery> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        got.extend(take(outbox));
        if got.len() >= n {
            return got;
        }
        assert!(
            tokio::time::timeout_at(deadline, outbox.ready())
                .await
                .is_ok(),
            "timed out waiting for {n} deliveries, got {:?}",
            bodies(&got)
        );
    }
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + SETTLE;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn pending(broker: &Broker, dest: &Destination) -> usize {
    broker
        .queues()
        .into_iter()
        .find(|q| q.destination == *dest)
        .map_or(0, |q| q.pending)
}

fn browse_bodies(broker: &Broker, dest: &Destination) -> Vec<String> {
    broker
        .browse(dest, usize::MAX)
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect()
}

async fn send_all(broker: &Broker, dest: &Destination, names: &[&str]) {
    for n in names {
        broker.send(msg(dest, n)).await.expect("send");
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_string()).collect()
}

// ----- queues: dispatch, credit, priority, selectors, exclusivity ----------------------------

/// A queue hands messages round-robin to the consumers that have credit; one without credit
/// is skipped.
#[tokio::test]
async fn queue_round_robin_skips_consumers_without_credit() {
    let b = broker();
    let q = queue("rr");
    let conn = b.connect(None).unwrap();
    let (_a, a_out) = consume(&b, conn, spec(&q, 10)).await;
    let (_b, b_out) = consume(&b, conn, spec(&q, 10)).await;
    send_all(&b, &q, &["1", "2", "3", "4", "5", "6"]).await;
    assert_eq!(bodies(&take(&a_out)), strings(&["1", "3", "5"]));
    assert_eq!(bodies(&take(&b_out)), strings(&["2", "4", "6"]));

    let q2 = queue("rr2");
    let (_c, c_out) = consume(&b, conn, spec(&q2, 1)).await;
    let (_d, d_out) = consume(&b, conn, spec(&q2, 10)).await;
    send_all(&b, &q2, &["1", "2", "3", "4"]).await;
    assert_eq!(bodies(&take(&c_out)), strings(&["1"]));
    assert_eq!(bodies(&take(&d_out)), strings(&["2", "3", "4"]));
}

/// A consumer never holds more than its prefetch; each ack returns one credit.
#[tokio::test]
async fn prefetch_limits_outstanding_and_acks_return_credit() {
    let b = broker();
    let q = queue("prefetch");
    let conn = b.connect(None).unwrap();
    let (c, out) = consume(&b, conn, spec(&q, 2)).await;
    send_all(&b, &q, &["1", "2", "3", "4", "5"]).await;
    let first = take(&out);
    assert_eq!(bodies(&first), strings(&["1", "2"]));
    assert_eq!(pending(&b, &q), 3);
    b.ack(c, &[first[0].key]).await.unwrap();
    let next = take(&out);
    assert_eq!(bodies(&next), strings(&["3"]));
    b.ack(c, &[first[1].key, next[0].key]).await.unwrap();
    assert_eq!(bodies(&take(&out)), strings(&["4", "5"]));
    assert_eq!(pending(&b, &q), 0);
}

/// Higher priority first, arrival order within a priority.
#[tokio::test]
async fn queue_delivers_higher_priority_first_fifo_within_priority() {
    let b = broker();
    let q = queue("prio");
    for (body, prio) in [
        ("a4", 4),
        ("b9", 9),
        ("c4", 4),
        ("d0", 0),
        ("e9", 9),
        ("f4", 4),
    ] {
        let mut m = persistent(&q, body);
        m.priority = prio;
        b.send(m).await.unwrap();
    }
    let conn = b.connect(None).unwrap();
    let (_c, out) = consume(&b, conn, spec(&q, 100)).await;
    assert_eq!(
        bodies(&take(&out)),
        strings(&["b9", "e9", "a4", "c4", "f4", "d0"])
    );
}

/// Each consumer only gets what its selector matches; a message nobody matches stays queued.
#[tokio::test]
async fn selectors_filter_per_consumer_and_unmatched_stay_queued() {
    let b = broker();
    let q = queue("sel");
    let conn = b.connect(None).unwrap();
    let mut red = spec(&q, 10);
    red.selector = Some("color = 'red'".to_string());
    let mut blue = spec(&q, 10);
    blue.selector = Some("color = 'blue'".to_string());
    let (_r, red_out) = consume(&b, conn, red).await;
    let (_u, blue_out) = consume(&b, conn, blue).await;
    for (body, color) in [
        ("r1", "red"),
        ("b1", "blue"),
        ("g1", "green"),
        ("r2", "red"),
    ] {
        b.send(with_prop(msg(&q, body), "color", color))
            .await
            .unwrap();
    }
    assert_eq!(bodies(&take(&red_out)), strings(&["r1", "r2"]));
    assert_eq!(bodies(&take(&blue_out)), strings(&["b1"]));
    assert_eq!(browse_bodies(&b, &q), strings(&["g1"]));
    // A consumer without a selector picks it up.
    let (_any, any_out) = consume(&b, conn, spec(&q, 10)).await;
    assert_eq!(bodies(&take(&any_out)), strings(&["g1"]));
}

/// While an exclusive consumer is present it gets every message; then the others resume.
#[tokio::test]
async fn exclusive_consumer_gets_everything_while_present() {
    let b = broker();
    let q = queue("excl");
    let conn = b.connect(None).unwrap();
    let (_n, normal_out) = consume(&b, conn, spec(&q, 100)).await;
    let mut ex = spec(&q, 100);
    ex.exclusive = true;
    let (ex_id, ex_out) = consume(&b, conn, ex).await;
    send_all(&b, &q, &["1", "2", "3", "4"]).await;
    assert_eq!(bodies(&take(&ex_out)), strings(&["1", "2", "3", "4"]));
    assert!(take(&normal_out).is_empty());
    b.close_consumer(ex_id);
    // What the exclusive consumer held goes to the remaining consumer, redelivered.
    let back = take(&normal_out);
    assert_eq!(bodies(&back), strings(&["1", "2", "3", "4"]));
    assert!(back.iter().all(|d| d.redelivered));
    send_all(&b, &q, &["5"]).await;
    assert_eq!(bodies(&take(&normal_out)), strings(&["5"]));
}

// ----- topics ----------------------------------------------------------------------------

/// Every non-durable subscriber gets every message; a subscriber gets nothing sent before
/// it subscribed.
#[tokio::test]
async fn topic_fans_out_to_current_subscribers_only() {
    let b = broker();
    let t = topic("news");
    let conn = b.connect(None).unwrap();
    let (_a, a_out) = consume(&b, conn, spec(&t, 100)).await;
    let (_b, b_out) = consume(&b, conn, spec(&t, 100)).await;
    b.send(msg(&t, "1")).await.unwrap();
    b.send(persistent(&t, "2")).await.unwrap();
    let (_late, late_out) = consume(&b, conn, spec(&t, 100)).await;
    b.send(msg(&t, "3")).await.unwrap();
    assert_eq!(bodies(&take(&a_out)), strings(&["1", "2", "3"]));
    assert_eq!(bodies(&take(&b_out)), strings(&["1", "2", "3"]));
    assert_eq!(bodies(&take(&late_out)), strings(&["3"]));
}

/// A durable subscription keeps persistent messages while its consumer is away and
/// delivers them, in order, when it comes back.
#[tokio::test]
async fn durable_subscription_keeps_messages_while_offline() {
    let b = broker();
    let t = topic("orders");
    let conn = b.connect(Some("client-1".to_string())).unwrap();
    let mut durable = spec(&t, 100);
    durable.durable = Some("sub".to_string());
    let (c, out) = consume(&b, conn, durable.clone()).await;
    b.send(persistent(&t, "online")).await.unwrap();
    let got = take(&out);
    assert_eq!(bodies(&got), strings(&["online"]));
    b.ack(c, &[got[0].key]).await.unwrap();
    b.close_consumer(c);

    b.send(persistent(&t, "away-1")).await.unwrap();
    b.send(persistent(&t, "away-2")).await.unwrap();
    let (_c2, out2) = consume(&b, conn, durable).await;
    assert_eq!(bodies(&take(&out2)), strings(&["away-1", "away-2"]));
}

/// An active durable subscriber receives non-persistent messages too (JMS: durability is
/// about being kept while away, not about which messages are delivered).
#[tokio::test]
async fn active_durable_subscriber_receives_non_persistent_messages() {
    let b = broker();
    let t = topic("mixed");
    let conn = b.connect(Some("client-np".to_string())).unwrap();
    let mut durable = spec(&t, 100);
    durable.durable = Some("sub".to_string());
    let (c, out) = consume(&b, conn, durable).await;
    b.send(msg(&t, "np")).await.unwrap();
    b.send(persistent(&t, "p")).await.unwrap();
    let got = take(&out);
    assert_eq!(bodies(&got), strings(&["np", "p"]));
    let keys: Vec<u64> = got.iter().map(|d| d.key).collect();
    b.ack(c, &keys).await.unwrap();
    assert_eq!(b.memory_used(), 0, "acked messages free their memory");
}

/// `a.*` matches one more segment, `a.>` any number.
#[tokio::test]
async fn wildcard_topic_subscriptions_match_activemq_rules() {
    let b = broker();
    let conn = b.connect(None).unwrap();
    let (_s, star) = consume(&b, conn, spec(&topic("a.*"), 100)).await;
    let (_g, greater) = consume(&b, conn, spec(&topic("a.>"), 100)).await;
    b.send(msg(&topic("a.b"), "ab")).await.unwrap();
    b.send(msg(&topic("a.b.c"), "abc")).await.unwrap();
    b.send(msg(&topic("x.b"), "xb")).await.unwrap();
    assert_eq!(bodies(&take(&star)), strings(&["ab"]));
    assert_eq!(bodies(&take(&greater)), strings(&["ab", "abc"]));
}

/// A wildcard queue consumer drains every matching queue, also ones created later.
#[tokio::test]
async fn wildcard_queue_consumer_reads_matching_queues() {
    let b = broker();
    b.send(msg(&queue("jobs.one"), "one")).await.unwrap();
    b.send(msg(&queue("other"), "other")).await.unwrap();
    let conn = b.connect(None).unwrap();
    let (_c, out) = consume(&b, conn, spec(&queue("jobs.>"), 100)).await;
    assert_eq!(bodies(&take(&out)), strings(&["one"]));
    b.send(msg(&queue("jobs.two.x"), "two")).await.unwrap();
    assert_eq!(bodies(&take(&out)), strings(&["two"]));
    assert_eq!(pending(&b, &queue("other")), 1);
}

// ----- redelivery, DLQ, expiry ------------------------------------------------------------

/// Closing a consumer puts what it held back, marked redelivered, for the next consumer.
#[tokio::test]
async fn close_consumer_requeues_held_messages_as_redelivered() {
    let b = broker();
    let q = queue("requeue");
    let conn = b.connect(None).unwrap();
    send_all(&b, &q, &["1", "2"]).await;
    let (c1, out1) = consume(&b, conn, spec(&q, 100)).await;
    let first = take(&out1);
    assert!(first.iter().all(|d| !d.redelivered));
    b.close_consumer(c1);
    let (_c2, out2) = consume(&b, conn, spec(&q, 100)).await;
    let again = take(&out2);
    assert_eq!(bodies(&again), strings(&["1", "2"]));
    assert!(again.iter().all(|d| d.redelivered && d.redeliveries == 1));
}

/// After `max_redeliveries` returns, the next one sends the message to `ActiveMQ.DLQ` with
/// the failure cause; persistent and non-persistent alike.
#[tokio::test]
async fn message_goes_to_dlq_after_max_redeliveries() {
    let max = 2;
    let b = memory_broker(max, 64 * 1024 * 1024);
    let q = queue("flaky");
    let conn = b.connect(None).unwrap();
    b.send(persistent(&q, "p")).await.unwrap();
    b.send(msg(&q, "np")).await.unwrap();
    for round in 0..=max {
        let (c, out) = consume(&b, conn, spec(&q, 100)).await;
        let got = take(&out);
        assert_eq!(bodies(&got), strings(&["p", "np"]), "round {round}");
        assert!(got.iter().all(|d| d.redeliveries == round));
        b.close_consumer(c);
    }
    let (_c, out) = consume(&b, conn, spec(&q, 100)).await;
    assert!(take(&out).is_empty(), "nothing left on the queue");
    let (_d, dlq) = consume(&b, conn, spec(&Destination::dlq(), 100)).await;
    let dead = take_at_least(&dlq, 2).await;
    let mut dead_bodies = bodies(&dead);
    dead_bodies.sort();
    assert_eq!(dead_bodies, strings(&["np", "p"]));
    for d in &dead {
        assert!(
            matches!(
                d.message.property("dlqDeliveryFailureCause"),
                Some(PropertyValue::String(s)) if !s.is_empty()
            ),
            "DLQ copy carries the cause"
        );
        assert_eq!(d.message.destination, Destination::dlq());
    }
    wait_until("the queue is empty", || pending(&b, &q) == 0).await;
}

/// A poison ack moves the message to the DLQ at once, with the given cause.
#[tokio::test]
async fn poison_sends_message_to_dlq_at_once() {
    let b = broker();
    let q = queue("poison");
    let conn = b.connect(None).unwrap();
    b.send(persistent(&q, "bad")).await.unwrap();
    let (c, out) = consume(&b, conn, spec(&q, 100)).await;
    let got = take(&out);
    b.poison(c, &[got[0].key], "NACKed by client");
    let (_d, dlq) = consume(&b, conn, spec(&Destination::dlq(), 100)).await;
    let dead = take_at_least(&dlq, 1).await;
    assert_eq!(bodies(&dead), strings(&["bad"]));
    assert_eq!(
        dead[0].message.property("dlqDeliveryFailureCause"),
        Some(&PropertyValue::String("NACKed by client".to_string()))
    );
    b.close_consumer(c);
    let (_c2, out2) = consume(&b, conn, spec(&q, 100)).await;
    assert!(
        take(&out2).is_empty(),
        "poisoned message is not redelivered"
    );
}

/// Expired messages are never delivered; persistent ones end up in the DLQ.
#[tokio::test]
async fn expired_messages_are_not_delivered_and_persistent_ones_reach_dlq() {
    let b = broker();
    let q = queue("expiring");
    let past = now_millis() - 1000;
    let mut np = msg(&q, "np-expired");
    np.expiration = past;
    let mut p = persistent(&q, "p-expired");
    p.expiration = past;
    let mut soon = persistent(&q, "p-soon");
    soon.expiration = now_millis() + 200;
    b.send(np).await.unwrap();
    b.send(p).await.unwrap();
    b.send(soon).await.unwrap();
    b.send(msg(&q, "fresh")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let conn = b.connect(None).unwrap();
    let (_c, out) = consume(&b, conn, spec(&q, 100)).await;
    assert_eq!(bodies(&take(&out)), strings(&["fresh"]));
    let (_d, dlq) = consume(&b, conn, spec(&Destination::dlq(), 100)).await;
    let dead = take_at_least(&dlq, 2).await;
    let mut dead_bodies = bodies(&dead);
    dead_bodies.sort();
    assert_eq!(dead_bodies, strings(&["p-expired", "p-soon"]));
    assert!(dead.iter().all(|d| d.message.expiration == 0));
}

// ----- transactions ----------------------------------------------------------------------

/// Commit makes transacted sends visible at once and transacted acks final.
#[tokio::test]
async fn commit_makes_sends_visible_and_acks_effective() {
    let b = broker();
    let q = queue("tx");
    let out_q = queue("tx-out");
    let conn = b.connect(None).unwrap();
    b.send(persistent(&q, "in-1")).await.unwrap();
    let (c, out) = consume(&b, conn, spec(&q, 1)).await;
    let got = take(&out);
    assert_eq!(bodies(&got), strings(&["in-1"]));
    b.tx_ack(c, &[got[0].key]);
    assert_eq!(pending(&b, &out_q), 0, "nothing visible before commit");
    b.commit(
        vec![persistent(&out_q, "out-1"), msg(&out_q, "out-2")],
        vec![(c, vec![got[0].key])],
    )
    .await
    .unwrap();
    assert_eq!(browse_bodies(&b, &out_q), strings(&["out-1", "out-2"]));
    b.close_consumer(c);
    let (_c2, out2) = consume(&b, conn, spec(&q, 10)).await;
    assert!(take(&out2).is_empty(), "a committed ack is final");
    let info = b.queues().into_iter().find(|i| i.destination == q).unwrap();
    assert_eq!((info.pending, info.inflight), (0, 0));
}

/// Abort (requeue) puts transacted acks back, redelivered; their credit was already
/// returned at tx_ack, so it is not returned twice.
#[tokio::test]
async fn abort_requeues_tx_acked_messages_as_redelivered() {
    let b = broker();
    let q = queue("tx-abort");
    let conn = b.connect(None).unwrap();
    b.send(persistent(&q, "1")).await.unwrap();
    b.send(persistent(&q, "2")).await.unwrap();
    let (c, out) = consume(&b, conn, spec(&q, 1)).await;
    let first = take(&out);
    assert_eq!(bodies(&first), strings(&["1"]));
    b.tx_ack(c, &[first[0].key]);
    let second = take(&out);
    assert_eq!(bodies(&second), strings(&["2"]), "tx_ack returns credit");
    b.requeue(c, &[first[0].key]);
    assert!(
        take(&out).is_empty(),
        "prefetch 1 is still used by message 2"
    );
    b.ack(c, &[second[0].key]).await.unwrap();
    let again = take(&out);
    assert_eq!(bodies(&again), strings(&["1"]));
    assert!(again[0].redelivered);
}

// ----- connections -----------------------------------------------------------------------

/// A temporary queue and its messages are gone when its connection closes.
#[tokio::test]
async fn temporary_queue_dies_with_its_connection() {
    let b = broker();
    let conn = b.connect(None).unwrap();
    let tq = Destination::TempQueue("ID:conn-1:1".into());
    b.register_temporary(conn, &tq);
    b.send(persistent(&tq, "reply")).await.unwrap();
    assert_eq!(pending(&b, &tq), 1);
    assert!(b.memory_used() > 0);
    b.disconnect(conn);
    assert!(b.queues().iter().all(|i| i.destination != tq));
    assert_eq!(b.memory_used(), 0);
}

/// A client id is unique among live connections and free again after disconnect.
#[tokio::test]
async fn client_id_is_unique_among_live_connections() {
    let b = broker();
    let first = b.connect(Some("app".to_string())).unwrap();
    assert!(matches!(
        b.connect(Some("app".to_string())),
        Err(BrokerError::ClientIdInUse(id)) if id == "app"
    ));
    b.connect(Some("other".to_string())).unwrap();
    b.connect(None).unwrap();
    b.connect(None).unwrap();
    b.disconnect(first);
    b.connect(Some("app".to_string())).unwrap();
}

// ----- flow control ----------------------------------------------------------------------

/// Over the memory limit a non-persistent send waits until a consumer's ack frees memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_persistent_send_waits_for_memory_until_acks_free_it() {
    let b = memory_broker(6, 4096);
    let q = queue("flow");
    let big = "x".repeat(8192);
    b.send(msg(&q, &big)).await.unwrap();
    assert!(b.memory_used() >= 4096);
    let blocked = b.clone();
    let q2 = q.clone();
    let mut second = tokio::spawn(async move { blocked.send(msg(&q2, "small")).await });
    assert!(
        tokio::time::timeout(BLOCKED_FOR, &mut second)
            .await
            .is_err(),
        "a send over the memory limit must wait"
    );
    let conn = b.connect(None).unwrap();
    let (c, out) = consume(&b, conn, spec(&q, 1)).await;
    let got = take(&out);
    assert_eq!(got.len(), 1);
    assert!(
        tokio::time::timeout(BLOCKED_FOR, &mut second)
            .await
            .is_err(),
        "delivered but unacked messages still hold memory"
    );
    b.ack(c, &[got[0].key]).await.unwrap();
    tokio::time::timeout(SETTLE, second)
        .await
        .expect("the send completes once memory is freed")
        .unwrap()
        .unwrap();
    assert_eq!(bodies(&take_at_least(&out, 1).await), strings(&["small"]));
}

// ----- recovery over the journal ---------------------------------------------------------

async fn send_ack_and_reopen(snapshot_bytes: u64) {
    let dir = tempfile::tempdir().unwrap();
    let q = queue("durable-q");
    let names: Vec<String> = (1..=60).map(|i| format!("m{i:02}")).collect();
    {
        let b = journal_broker(dir.path(), snapshot_bytes);
        for n in &names {
            b.send(persistent(&q, n)).await.unwrap();
        }
        let conn = b.connect(None).unwrap();
        let (c, out) = consume(&b, conn, spec(&q, 1000)).await;
        let got = take(&out);
        assert_eq!(got.len(), names.len());
        // Ack every third message, receipted (awaited), and leave the rest unacked.
        let acked: Vec<u64> = got.iter().step_by(3).map(|d| d.key).collect();
        b.ack(c, &acked).await.unwrap();
        if snapshot_bytes < 1 << 20 {
            wait_until("a snapshot is written", || b.store_stats().snapshots >= 1).await;
        }
        b.shutdown();
    }
    let expected: Vec<String> = names
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 != 0)
        .map(|(_, n)| n.clone())
        .collect();
    let b = journal_broker(dir.path(), snapshot_bytes);
    assert_eq!(
        browse_bodies(&b, &q),
        expected,
        "exactly the unacked, in order"
    );
    let conn = b.connect(None).unwrap();
    let (_c, out) = consume(&b, conn, spec(&q, 1000)).await;
    assert_eq!(bodies(&take(&out)), expected);
    b.shutdown();
}

/// Persistent messages survive a restart; acked ones do not come back; order is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_recovery_restores_exactly_the_unacked_messages_in_order() {
    send_ack_and_reopen(1 << 30).await;
}

/// The same after the journal compacted into a snapshot while messages were in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_recovery_after_snapshot_keeps_order() {
    send_ack_and_reopen(2048).await;
}

/// A durable subscription and its waiting messages survive a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_recovery_keeps_durable_subscriptions() {
    let dir = tempfile::tempdir().unwrap();
    let t = topic("events");
    let mut durable = spec(&t, 100);
    durable.durable = Some("keeper".to_string());
    {
        let b = journal_broker(dir.path(), 1 << 30);
        let conn = b.connect(Some("cid".to_string())).unwrap();
        let (c, _out) = consume(&b, conn, durable.clone()).await;
        b.close_consumer(c);
        b.send(persistent(&t, "e1")).await.unwrap();
        b.send(persistent(&t, "e2")).await.unwrap();
        b.shutdown();
    }
    let b = journal_broker(dir.path(), 1 << 30);
    let conn = b.connect(Some("cid".to_string())).unwrap();
    let (_c, out) = consume(&b, conn, durable).await;
    assert_eq!(bodies(&take(&out)), strings(&["e1", "e2"]));
    b.shutdown();
}

// ----- paging ------------------------------------------------------------------------------

fn paging_broker(dir: &Path, memory_limit: usize, snapshot_bytes: u64) -> Broker {
    let core = Core::new(6, memory_limit);
    let mut journal = journal::JournalConfig::new(dir);
    journal.segment_size = 64 * 1024;
    let config = JournalStoreConfig {
        snapshot_bytes,
        ..JournalStoreConfig::new(journal)
    };
    let store: Arc<dyn Store> =
        Arc::new(JournalStore::open(config, core.clone()).expect("open journal store"));
    Broker::new(
        BrokerConfig {
            name: "paging".to_string(),
            memory_limit,
            max_redeliveries: 6,
        },
        core,
        store,
    )
}

fn big_body(i: usize) -> String {
    format!("{i:05}-{}", "p".repeat(10_000))
}

/// A persistent message with a short id and a 10 KB body.
fn big(dest: &Destination, i: usize) -> Message {
    let mut m = persistent(dest, "");
    m.id = format!("big-{i}");
    m.body = Bytes::from(big_body(i));
    m
}

/// A persistent backlog larger than the memory limit stays within the limit in memory
/// and every body comes back intact, in order — also after a snapshot (which must keep
/// the segments holding paged bodies) and a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backlog_larger_than_memory_limit_is_paged_and_read_back() {
    const LIMIT: usize = 256 * 1024;
    const COUNT: usize = 200; // ≈ 2 MB of bodies: 8× the limit
    let dir = tempfile::tempdir().unwrap();
    let q = queue("paged");
    {
        let b = paging_broker(dir.path(), LIMIT, 200 * 1024);
        for i in 0..COUNT {
            b.send(big(&q, i)).await.unwrap();
        }
        assert!(
            b.memory_used() < LIMIT + COUNT * 1024,
            "memory {} should stay near the limit {LIMIT}",
            b.memory_used()
        );
        // Consume and ack the first half: bodies are read back from the journal.
        let conn = b.connect(None).unwrap();
        let (c, out) = consume(&b, conn, spec(&q, 10)).await;
        let mut got = Vec::new();
        while got.len() < COUNT / 2 {
            let batch = take_at_least(&out, 1).await;
            let keys: Vec<u64> = batch.iter().map(|d| d.key).collect();
            got.extend(bodies(&batch));
            b.ack(c, &keys).await.unwrap();
        }
        got.truncate(COUNT / 2);
        let want: Vec<String> = (0..COUNT / 2).map(big_body).collect();
        assert_eq!(got, want, "first half intact and in order");
        b.close_consumer(c);
        // Enough acks and sends have gone by for snapshots to purge old segments.
        for i in 0..50 {
            b.send(big(&queue("filler"), i)).await.unwrap();
        }
        wait_until("a snapshot is written", || b.store_stats().snapshots >= 1).await;
        b.shutdown();
    }
    let b = paging_broker(dir.path(), LIMIT, 200 * 1024);
    let conn = b.connect(None).unwrap();
    let (c, out) = consume(&b, conn, spec(&q, 10)).await;
    let mut got = Vec::new();
    while got.len() < COUNT - COUNT / 2 {
        let batch = take_at_least(&out, 1).await;
        let keys: Vec<u64> = batch.iter().map(|d| d.key).collect();
        got.extend(bodies(&batch));
        b.ack(c, &keys).await.unwrap();
    }
    let want: Vec<String> = (COUNT / 2..COUNT).map(big_body).collect();
    assert_eq!(got, want, "second half intact and in order after restart");
    b.shutdown();
}
