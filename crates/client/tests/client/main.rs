//! The client against a real ferromq broker process (`testkit::TestBroker`).

use client::{ClientError, Connection, ConnectionEvent};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use testkit::{TcpProxy, TestBroker};
use tokio::sync::broadcast;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_and_receives_ten_text_messages_in_order() {
    let broker = TestBroker::start();
    let url = format!("tcp://{}", broker.openwire_addr());
    let conn = Connection::connect(&url).await.expect("connect");
    assert!(conn.connection_id().starts_with("ID:"));
    let session = conn.create_session().await.expect("session");
    let producer = session.create_producer().await.expect("producer");
    for i in 0..10 {
        producer
            .send_text("client-it", &format!("message {i}"), i % 2 == 0)
            .await
            .expect("send");
    }
    let mut consumer = session
        .create_consumer("client-it", 4)
        .await
        .expect("consumer");
    for i in 0..10 {
        let text = consumer.recv_text(WAIT).await.expect("recv");
        assert_eq!(text.as_deref(), Some(format!("message {i}").as_str()));
    }
    assert_eq!(
        consumer
            .recv_text(Duration::from_millis(300))
            .await
            .expect("recv"),
        None,
        "nothing more may arrive"
    );
    drop(consumer);

    // Everything was acknowledged: a second consumer gets nothing.
    let mut again = session
        .create_consumer("client-it", 4)
        .await
        .expect("consumer");
    assert_eq!(
        again
            .recv_text(Duration::from_millis(500))
            .await
            .expect("recv"),
        None
    );
    drop(again);
    drop(producer);
    conn.close().await.expect("close");
}

#[tokio::test]
async fn failover_gives_up_after_the_startup_attempt_limit() {
    let port = testkit::reserve_port();
    let url = format!(
        "failover:(tcp://127.0.0.1:{port})?startupMaxReconnectAttempts=2&initialReconnectDelay=1"
    );
    let started = std::time::Instant::now();
    let err = Connection::connect(&url).await.err().expect("must fail");
    assert!(matches!(err, ClientError::Io(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// Waits for `want` on `events`, failing after `WAIT`.
async fn expect_event(
    events: &mut broadcast::Receiver<ConnectionEvent>,
    want: impl Fn(&ConnectionEvent) -> bool,
    what: &str,
) -> ConnectionEvent {
    tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(e) if want(&e) => return e,
                Ok(_) => {}
                Err(e) => panic!("events: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} event within {WAIT:?}"))
}

/// Producer and consumer on `failover:(tcp://proxy)`; the proxy cuts every connection twice
/// while 100 persistent messages go through. Every send that returned Ok is received;
/// duplicates only for deliveries whose acknowledgement was lost with a socket (at most a
/// prefetch window per cut); the broker never stores a resent message twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failover_survives_two_cuts_without_losing_persistent_messages() {
    const COUNT: usize = 100;
    const PREFETCH: i32 = 5;
    let broker = TestBroker::start();
    let proxy = TcpProxy::start(&broker.openwire_addr());
    let url = format!("failover:(tcp://{})?randomize=false", proxy.addr());

    let producer_conn = Connection::connect(&url).await.expect("connect producer");
    let consumer_conn = Connection::connect(&url).await.expect("connect consumer");
    let proxied = format!("tcp://{}", proxy.addr());
    assert_eq!(producer_conn.uri().to_string(), proxied);
    let mut producer_events = producer_conn.events();
    let mut consumer_events = consumer_conn.events();

    let psession = producer_conn.create_session().await.expect("session");
    let producer = psession.create_producer().await.expect("producer");
    let csession = consumer_conn.create_session().await.expect("session");
    let mut consumer = csession
        .create_consumer("client-failover", PREFETCH)
        .await
        .expect("consumer");

    let sent = Arc::new(AtomicUsize::new(0));
    let sending = {
        let sent = sent.clone();
        tokio::spawn(async move {
            let mut ok = Vec::new();
            for i in 0..COUNT {
                // Pace the sends so that both cuts land in the middle of the run.
                tokio::time::sleep(Duration::from_millis(5)).await;
                match producer
                    .send_text("client-failover", &format!("m{i}"), true)
                    .await
                {
                    Ok(_) => ok.push(format!("m{i}")),
                    Err(e) => panic!("send m{i} failed: {e}"),
                }
                sent.store(i + 1, Ordering::SeqCst);
            }
            (producer, ok)
        })
    };
    let receiving = tokio::spawn(async move {
        let mut seen: HashMap<String, usize> = HashMap::new();
        while seen.len() < COUNT {
            match consumer.recv_text(WAIT).await.expect("recv") {
                Some(t) => *seen.entry(t).or_default() += 1,
                None => break,
            }
        }
        (consumer, seen)
    });

    for (cut, at) in [(1, 30), (2, 65)] {
        let deadline = std::time::Instant::now() + WAIT;
        while sent.load(Ordering::SeqCst) < at {
            assert!(std::time::Instant::now() < deadline, "sends stalled");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let n = proxy.cut();
        assert_eq!(n, 2, "cut {cut}: both connections were live");
        for events in [&mut producer_events, &mut consumer_events] {
            expect_event(
                events,
                |e| *e == ConnectionEvent::Interrupted,
                "Interrupted",
            )
            .await;
            let resumed = expect_event(
                events,
                |e| matches!(e, ConnectionEvent::Resumed(_)),
                "Resumed",
            )
            .await;
            assert_eq!(resumed, ConnectionEvent::Resumed(proxied.clone()));
        }
    }

    let (producer, ok) = tokio::time::timeout(WAIT, sending)
        .await
        .expect("sends finish")
        .expect("sender");
    assert_eq!(ok.len(), COUNT);
    let (consumer, seen) = tokio::time::timeout(WAIT * 2, receiving)
        .await
        .expect("receives finish")
        .expect("receiver");
    let missing: Vec<_> = ok.iter().filter(|m| !seen.contains_key(*m)).collect();
    assert!(missing.is_empty(), "lost: {missing:?}");
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    assert!(
        duplicates <= 2 * PREFETCH as usize,
        "{duplicates} duplicates: {seen:?}"
    );
    assert!(proxy.accepted() >= 6, "reconnected through the proxy");
    drop(consumer);
    drop(producer);

    // Nothing left on the queue: resent sends were not stored twice, everything was acked
    // (a duplicate still queued would show up here).
    let mut check = csession
        .create_consumer("client-failover", PREFETCH)
        .await
        .expect("consumer");
    let mut leftovers = Vec::new();
    while let Some(t) = check
        .recv_text(Duration::from_millis(500))
        .await
        .expect("recv")
    {
        leftovers.push(t);
    }
    assert!(
        leftovers.iter().all(|t| seen.contains_key(t)),
        "unknown leftovers {leftovers:?}"
    );
    assert!(
        leftovers.len() + duplicates <= 2 * PREFETCH as usize,
        "leftovers {leftovers:?}"
    );
    drop(check);
    producer_conn.close().await.expect("close");
    consumer_conn.close().await.expect("close");
}
