//! The failover options that change what a caller sees, against real ferromq processes:
//! `timeout` (a send fails instead of waiting for the reconnect), `priorityBackup` (a
//! connection moves to the priority broker once it is up), and an async send waiting for
//! producer window space for as long as the broker holds its ProducerAck back.

use crate::{expect_event, load, WAIT};
use client::{
    AckMode, ClientError, Connection, ConnectionEvent, Consumer, ConsumerOptions, Destination,
    Message, ProducerOptions, SendMode,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use testkit::TestBroker;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The failover `timeout` of the timeout test.
const FAILOVER_TIMEOUT: Duration = Duration::from_millis(500);
/// How long we listen to conclude that nothing more arrives.
const QUIET: Duration = Duration::from_millis(500);
/// How long a producer must stay held back to count as blocked (not a timing assertion:
/// the send may take any time longer).
const BLOCKED: Duration = Duration::from_secs(2);

/// Receives until `QUIET` passes without a message; how often each text arrived.
async fn drain(consumer: &mut Consumer, seen: &mut HashMap<String, usize>) {
    while let Some(t) = consumer.recv_text(QUIET).await.expect("recv") {
        *seen.entry(t).or_default() += 1;
    }
}

/// Everything left on `queue` at `broker` (a plain `tcp://` connection).
async fn left_on(broker: &TestBroker, queue: &Destination) -> HashMap<String, usize> {
    let conn = Connection::connect(&format!("tcp://{}", broker.openwire_addr()))
        .await
        .expect("connect");
    let session = conn.create_session(AckMode::Auto).await.expect("session");
    let mut c = session
        .create_consumer(queue, ConsumerOptions::default())
        .await
        .expect("consumer");
    let mut left = HashMap::new();
    drain(&mut c, &mut left).await;
    drop(c);
    conn.close().await.expect("close");
    left
}

/// `timeout=500`: while the only broker is down, a send — sync or async — and a request
/// (a new session) fail with `FailoverTimeout` instead of waiting for the reconnect; once
/// the broker is back the
/// same connection resumes and sends work again. Every send that returned Ok arrives
/// exactly once; none that failed arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_timeout_fails_sends_while_reconnecting_and_the_connection_recovers() {
    let mut broker = TestBroker::start();
    let url = format!(
        "failover:(tcp://{})?timeout={}&initialReconnectDelay=10&maxReconnectDelay=100",
        broker.openwire_addr(),
        FAILOVER_TIMEOUT.as_millis()
    );
    let conn = Connection::connect(&url).await.expect("connect");
    let mut events = conn.events();
    let session = conn.create_session(AckMode::Auto).await.expect("session");
    let sync = session.create_producer().await.expect("producer");
    let asynchronous = session
        .create_producer_with(
            ProducerOptions::default()
                .send_mode(SendMode::Async)
                .window_size(64 * 1024),
        )
        .await
        .expect("producer");
    let q = Destination::queue("client-failover-timeout");
    let mut ok = Vec::new();

    eprintln!("--- sends while the broker is up");
    for i in 0..5 {
        let text = format!("before-{i}");
        sync.send(&q, Message::text(&text)).await.expect("send");
        ok.push(text);
    }

    eprintln!("--- broker stopped: each send fails after the failover timeout");
    assert!(broker.stop(), "broker stops cleanly");
    expect_event(
        &mut events,
        |e| *e == ConnectionEvent::Interrupted,
        "Interrupted",
    )
    .await;
    for (kind, producer) in [("sync", &sync), ("async", &asynchronous)] {
        let text = format!("failed-{kind}");
        let result = tokio::time::timeout(WAIT, producer.send(&q, Message::text(&text)))
            .await
            .unwrap_or_else(|_| panic!("{kind} send still waiting after {WAIT:?}"));
        match result {
            Err(ClientError::FailoverTimeout(t)) => assert_eq!(t, FAILOVER_TIMEOUT),
            other => panic!("{kind} send: expected FailoverTimeout, got {other:?}"),
        }
    }
    let result = tokio::time::timeout(WAIT, conn.create_session(AckMode::Auto))
        .await
        .unwrap_or_else(|_| panic!("create_session still waiting after {WAIT:?}"));
    assert!(
        matches!(result, Err(ClientError::FailoverTimeout(_))),
        "create_session: expected FailoverTimeout, got {:?}",
        result.err()
    );

    eprintln!("--- broker restarted: the connection resumes and sends work");
    broker.restart();
    expect_event(
        &mut events,
        |e| matches!(e, ConnectionEvent::Resumed(_)),
        "Resumed",
    )
    .await;
    for i in 0..5 {
        let text = format!("after-{i}");
        sync.send(&q, Message::text(&text)).await.expect("send");
        ok.push(text);
    }
    asynchronous
        .send(&q, Message::text("after-async"))
        .await
        .expect("async send");
    ok.push("after-async".into());

    eprintln!("--- every send that returned Ok arrives once, no failed one");
    let mut c = session
        .create_consumer(&q, ConsumerOptions::default())
        .await
        .expect("consumer");
    let mut seen = HashMap::new();
    drain(&mut c, &mut seen).await;
    let (missing, duplicates) = load::loss_and_duplicates(&ok, &seen);
    eprintln!(
        "--- sent and acknowledged {}, received {}, lost {}, duplicates {duplicates}",
        ok.len(),
        seen.len(),
        missing.len()
    );
    assert!(missing.is_empty(), "lost: {missing:?}");
    assert_eq!(duplicates, 0, "{seen:?}");
    assert!(
        seen.keys().all(|t| !t.starts_with("failed-")),
        "a failed send was stored: {seen:?}"
    );
    drop(c);
    drop((sync, asynchronous));
    conn.close().await.expect("close");
}

/// Forwards every text `consumer` receives until the returned receiver is dropped.
fn spawn_forwarder(
    mut consumer: Consumer,
) -> (JoinHandle<Consumer>, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        loop {
            match consumer.recv_text(Duration::from_millis(100)).await {
                Ok(Some(t)) => {
                    if tx.send(t).is_err() {
                        break;
                    }
                }
                Ok(None) if tx.is_closed() => break,
                Ok(None) => {}
                Err(e) => panic!("recv: {e}"),
            }
        }
        consumer
    });
    (task, rx)
}

/// `priorityBackup`: connections that had to start on the backup broker B (the priority
/// broker A, first in the list, was down) move to A on their own once it accepts
/// connections, with a `MovedToPriority` event and their state replayed there. A producer
/// and a consumer keep going across the move: every send that returned Ok is received —
/// by the consumer, or found left on B when it went there after the consumer had moved
/// (A and B share no store) — and none twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn priority_backup_moves_to_the_priority_broker_once_it_is_up() {
    const COUNT: usize = 200;
    const MOVE_AT: usize = 60;
    const PREFETCH: i32 = 5;
    let mut a = TestBroker::start();
    assert!(a.stop(), "A stops cleanly");
    let b = TestBroker::start();
    let a_url = format!("tcp://{}", a.openwire_addr());
    let b_url = format!("tcp://{}", b.openwire_addr());
    let url = format!(
        "failover:({a_url},{b_url})?randomize=false&priorityBackup=true\
         &initialReconnectDelay=10&maxReconnectDelay=100"
    );
    let q = Destination::queue("client-priority-backup");

    eprintln!("--- A is down: both connections start on B");
    let producer_conn = Connection::connect(&url).await.expect("connect producer");
    let consumer_conn = Connection::connect(&url).await.expect("connect consumer");
    assert_eq!(producer_conn.uri().to_string(), b_url);
    assert_eq!(consumer_conn.uri().to_string(), b_url);
    let mut producer_events = producer_conn.events();
    let mut consumer_events = consumer_conn.events();
    let (producer, _csession, consumer) =
        load::open_producer_and_consumer(&producer_conn, &consumer_conn, &q, PREFETCH).await;
    let sent = Arc::new(AtomicUsize::new(0));
    let sending = load::spawn_sender(
        producer,
        q.clone(),
        COUNT,
        Duration::from_millis(5),
        sent.clone(),
    );
    let (receiving, mut received) = spawn_forwarder(consumer);

    eprintln!("--- A starts while messages flow: both connections move to it");
    load::wait_for_sends(&sent, MOVE_AT, WAIT).await;
    a.restart();
    for events in [&mut producer_events, &mut consumer_events] {
        let moved = expect_event(
            events,
            |e| !matches!(e, ConnectionEvent::Connected(_)),
            "MovedToPriority",
        )
        .await;
        assert_eq!(moved, ConnectionEvent::MovedToPriority(a_url.clone()));
    }
    assert_eq!(producer_conn.uri().to_string(), a_url);
    assert_eq!(consumer_conn.uri().to_string(), a_url);
    eprintln!(
        "--- both moved to A after {} of {COUNT} sends",
        sent.load(Ordering::SeqCst)
    );

    eprintln!("--- the sends finish on A; collect what B kept and what the consumer got");
    let (producer, ok) = tokio::time::timeout(WAIT, sending)
        .await
        .expect("sends finish")
        .expect("sender");
    assert_eq!(ok.len(), COUNT);
    let left_on_b = left_on(&b, &q).await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while !ok
        .iter()
        .all(|t| seen.contains_key(t) || left_on_b.contains_key(t))
    {
        match tokio::time::timeout_at(deadline, received.recv()).await {
            Ok(Some(t)) => *seen.entry(t).or_default() += 1,
            Ok(None) => panic!("the consumer stopped"),
            Err(_) => break,
        }
    }
    // Late duplicates, if any.
    while let Ok(Some(t)) = tokio::time::timeout(QUIET, received.recv()).await {
        *seen.entry(t).or_default() += 1;
    }
    drop(received);
    let consumer = receiving.await.expect("receiver");

    let mut all = seen.clone();
    for (t, n) in &left_on_b {
        *all.entry(t.clone()).or_default() += n;
    }
    let (missing, duplicates) = load::loss_and_duplicates(&ok, &all);
    eprintln!(
        "--- sent and acknowledged {}, received {} (distinct), left on B {}, lost {}, \
         duplicates {duplicates}",
        ok.len(),
        seen.len(),
        left_on_b.len(),
        missing.len()
    );
    assert!(missing.is_empty(), "lost: {missing:?}");
    assert_eq!(duplicates, 0, "received {seen:?}, left on B {left_on_b:?}");
    assert!(
        all.keys().all(|t| ok.contains(t)),
        "unknown messages: {all:?}"
    );
    drop(consumer);
    drop(producer);
    producer_conn.close().await.expect("close");
    consumer_conn.close().await.expect("close");
}

/// An async send waiting for producer window space waits for as long as the broker holds
/// its ProducerAck back (producer flow control at `memory_limit`) — it neither fails nor
/// gives up — and completes once a consumer frees the broker's memory. Every message
/// arrives once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_async_send_completes_once_the_window_frees() {
    const COUNT: usize = 40; // 40 × 64 KiB = 2.5 MiB against a 1 MiB limit
    let broker = TestBroker::start_with(Some("[broker]\nmemory_limit = \"1 MiB\"\n"), &[]);
    let url = format!("failover:(tcp://{})", broker.openwire_addr());
    let q = Destination::queue("client-window-blocked");
    let producer_conn = Connection::connect(&url).await.expect("connect");
    let psession = producer_conn
        .create_session(AckMode::Auto)
        .await
        .expect("session");
    let producer = psession
        .create_producer_with(
            ProducerOptions::default()
                .non_persistent()
                .send_mode(SendMode::Async)
                .window_size(256 * 1024),
        )
        .await
        .expect("producer");
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let dest = q.clone();
    let mut sending = tokio::spawn(async move {
        let body = "x".repeat(64 * 1024);
        for i in 0..COUNT {
            let mut m = Message::text(&body);
            m.set_property("i", i as i32).expect("property");
            producer.send(&dest, m).await.expect("async send");
            counter.store(i + 1, Ordering::SeqCst);
        }
        producer
    });

    eprintln!("--- the producer is held back: the broker withholds its ProducerAcks");
    let blocked = tokio::time::timeout(BLOCKED, &mut sending).await.is_err();
    assert!(
        blocked,
        "all sends completed although they exceed memory_limit"
    );
    let before = sent.load(Ordering::SeqCst);
    assert!(before < COUNT, "{before} sends returned");

    eprintln!("--- a consumer frees memory: the blocked send and the rest complete");
    let consumer_conn = Connection::connect(&url).await.expect("connect");
    let csession = consumer_conn
        .create_session(AckMode::Auto)
        .await
        .expect("session");
    let mut c = csession
        .create_consumer(&q, ConsumerOptions::default().prefetch(4))
        .await
        .expect("consumer");
    let mut order = Vec::new();
    while order.len() < COUNT {
        let m = c.recv(WAIT).await.expect("recv").expect("a message");
        match m.property("i").expect("props") {
            Some(client::PrimitiveValue::Int(i)) => order.push(i),
            other => panic!("property i: {other:?}"),
        }
    }
    let producer = tokio::time::timeout(WAIT, sending)
        .await
        .expect("sends finish")
        .expect("sender");
    assert_eq!(sent.load(Ordering::SeqCst), COUNT);
    let extra = c.recv(QUIET).await.expect("recv");
    eprintln!(
        "--- {before} sends returned before the consumer came; sent {COUNT}, received {}, \
         extra {}",
        order.len(),
        usize::from(extra.is_some())
    );
    assert!(extra.is_none(), "a message arrived twice");
    let want: Vec<i32> = (0..COUNT as i32).collect();
    assert_eq!(order, want, "every message once, in order");
    drop(c);
    drop(producer);
    producer_conn.close().await.expect("close");
    consumer_conn.close().await.expect("close");
}

/// Closing a `failover:` connection while its only broker is down returns at once (the
/// RemoveInfo is answered locally, as ActiveMQ's FailoverTransport does) instead of
/// waiting for a reconnect; the broker is not needed for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_while_reconnecting_returns_without_the_broker() {
    /// Generous against the 30 s a request waits for an answer (not a timing assertion:
    /// the close must return, not hang on the missing broker).
    const CLOSE_RETURNS: Duration = Duration::from_secs(10);
    let mut broker = TestBroker::start();
    let url = format!(
        "failover:(tcp://{})?initialReconnectDelay=10&maxReconnectDelay=100",
        broker.openwire_addr()
    );
    let conn = Connection::connect(&url).await.expect("connect");
    let session = conn.create_session(AckMode::Auto).await.expect("session");
    drop(session);
    let mut events = conn.events();
    eprintln!("--- broker stopped; the connection is reconnecting");
    assert!(broker.stop(), "broker stops cleanly");
    expect_event(
        &mut events,
        |e| matches!(e, ConnectionEvent::Interrupted),
        "interrupted",
    )
    .await;
    eprintln!("--- close while reconnecting");
    let closed = tokio::time::timeout(CLOSE_RETURNS, conn.close()).await;
    assert!(
        matches!(closed, Ok(Ok(()))),
        "close returned {closed:?} (Err(Elapsed) = it waited for the broker)"
    );
}
