//! A paced persistent producer and a counting consumer running as tasks, for the failover
//! tests: what every send that returned Ok was, how often each message arrived, and how
//! many sends have returned so far (to time the faults).

use client::{
    AckMode, Connection, Consumer, ConsumerOptions, Destination, Message, Producer, Session,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// A producer in an AUTO session of `producer_conn`, and an AUTO session of
/// `consumer_conn` with a consumer on `queue` taking `prefetch` messages at a time.
pub async fn open_producer_and_consumer(
    producer_conn: &Connection,
    consumer_conn: &Connection,
    queue: &Destination,
    prefetch: i32,
) -> (Producer, Session, Consumer) {
    let psession = producer_conn
        .create_session(AckMode::Auto)
        .await
        .expect("session");
    let producer = psession.create_producer().await.expect("producer");
    let csession = consumer_conn
        .create_session(AckMode::Auto)
        .await
        .expect("session");
    let consumer = csession
        .create_consumer(queue, ConsumerOptions::default().prefetch(prefetch))
        .await
        .expect("consumer");
    (producer, csession, consumer)
}

/// Sends `m0`…`m{count-1}` to `queue`, one every `pace`; `sent` counts returned sends. A
/// failed send fails the test. Returns the producer and the texts sent.
pub fn spawn_sender(
    producer: Producer,
    queue: Destination,
    count: usize,
    pace: Duration,
    sent: Arc<AtomicUsize>,
) -> JoinHandle<(Producer, Vec<String>)> {
    tokio::spawn(async move {
        let mut ok = Vec::new();
        for i in 0..count {
            tokio::time::sleep(pace).await;
            let text = format!("m{i}");
            producer
                .send(&queue, Message::text(&text))
                .await
                .unwrap_or_else(|e| panic!("send {text} failed: {e}"));
            ok.push(text);
            sent.store(i + 1, Ordering::SeqCst);
        }
        (producer, ok)
    })
}

/// Receives until `count` distinct texts arrived or nothing came for `idle`. Returns the
/// consumer and how many times each text arrived.
pub fn spawn_receiver(
    mut consumer: Consumer,
    count: usize,
    idle: Duration,
) -> JoinHandle<(Consumer, HashMap<String, usize>)> {
    tokio::spawn(async move {
        let mut seen: HashMap<String, usize> = HashMap::new();
        while seen.len() < count {
            match consumer.recv_text(idle).await.expect("recv") {
                Some(t) => *seen.entry(t).or_default() += 1,
                None => break,
            }
        }
        (consumer, seen)
    })
}

/// Polls until `sent` reaches `at_least`; fails the test after `timeout`.
pub async fn wait_for_sends(sent: &AtomicUsize, at_least: usize, timeout: Duration) {
    let deadline = tokio::time::Instant::now() + timeout;
    while sent.load(Ordering::SeqCst) < at_least {
        assert!(
            tokio::time::Instant::now() < deadline,
            "sends stalled at {} (waiting for {at_least})",
            sent.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The texts sent but never received, and the number of duplicate deliveries.
pub fn loss_and_duplicates(sent: &[String], seen: &HashMap<String, usize>) -> (Vec<String>, usize) {
    let missing = sent
        .iter()
        .filter(|m| !seen.contains_key(*m))
        .cloned()
        .collect();
    (missing, seen.values().map(|n| n - 1).sum())
}
