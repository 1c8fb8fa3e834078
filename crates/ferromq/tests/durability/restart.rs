//! Acknowledgement state across a SIGKILL: receipted ACKs stick, unacknowledged messages
//! come back.

use std::collections::BTreeSet;
use std::time::Duration;

use testkit::TestBroker;

use crate::fixture::{assert_nothing_arrives, collect, connect, send_numbered, seq_of};

/// Messages sent per test.
const MESSAGES: usize = 10;
/// Time allowed to receive the messages of one phase.
const RECEIVE_BUDGET: Duration = Duration::from_secs(20);

/// A message whose ACK was receipted is never delivered again after `kill -9` and a
/// restart; the ones not acknowledged are (exactly those).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_messages_do_not_come_back_after_restart() {
    const QUEUE: &str = "/queue/durability.acked";
    let mut broker = TestBroker::start();
    let addr = broker.stomp_addr();

    eprintln!("--- send {MESSAGES} receipted persistent messages");
    let mut producer = connect(&addr, None).await;
    let sent = send_numbered(&mut producer, QUEUE, "acked", MESSAGES).await;

    eprintln!("--- receive all, ACK (with receipt) every even one, leave the odd ones pending");
    let mut consumer = connect(&addr, None).await;
    consumer
        .subscribe(
            "s",
            QUEUE,
            "client-individual",
            &[("activemq.prefetchSize", "100")],
        )
        .await
        .expect("subscribe");
    let frames = collect(&mut consumer, MESSAGES, false, RECEIVE_BUDGET).await;
    assert_eq!(frames.len(), MESSAGES, "not every message was delivered");
    let mut acked = BTreeSet::new();
    for frame in frames.iter().step_by(2) {
        consumer
            .ack(frame, None, true)
            .await
            .expect("receipted ACK");
        acked.insert(seq_of(frame));
    }

    eprintln!("--- SIGKILL and restart: receipted ACKs must stick");
    tokio::task::block_in_place(|| broker.restart());
    let mut consumer = connect(&addr, None).await;
    consumer
        .subscribe(
            "s",
            QUEUE,
            "client-individual",
            &[("activemq.prefetchSize", "100")],
        )
        .await
        .expect("subscribe after restart");
    let again: BTreeSet<String> = collect(&mut consumer, MESSAGES, true, RECEIVE_BUDGET)
        .await
        .iter()
        .map(seq_of)
        .collect();
    let back: Vec<&String> = again.intersection(&acked).collect();
    assert!(
        back.is_empty(),
        "messages with a receipted ACK came back: {back:?}"
    );
    let expected: BTreeSet<String> = sent.into_iter().filter(|s| !acked.contains(s)).collect();
    assert_eq!(
        again, expected,
        "the unacknowledged messages must come back, only them"
    );
    assert_nothing_arrives(&mut consumer, "after the drain").await;
}

/// Messages delivered but never acknowledged are delivered again after `kill -9` and a
/// restart (whether they are marked redelivered is not checked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacked_messages_come_back_after_restart() {
    const QUEUE: &str = "/queue/durability.unacked";
    let mut broker = TestBroker::start();
    let addr = broker.stomp_addr();

    eprintln!("--- send {MESSAGES} receipted persistent messages");
    let mut producer = connect(&addr, None).await;
    let sent: BTreeSet<String> = send_numbered(&mut producer, QUEUE, "unacked", MESSAGES)
        .await
        .into_iter()
        .collect();

    eprintln!("--- receive all of them without acknowledging");
    let mut consumer = connect(&addr, None).await;
    consumer
        .subscribe(
            "s",
            QUEUE,
            "client-individual",
            &[("activemq.prefetchSize", "100")],
        )
        .await
        .expect("subscribe");
    let first: BTreeSet<String> = collect(&mut consumer, MESSAGES, false, RECEIVE_BUDGET)
        .await
        .iter()
        .map(seq_of)
        .collect();
    assert_eq!(first, sent, "first delivery");

    eprintln!("--- SIGKILL while they are in flight, restart: all must come back");
    tokio::task::block_in_place(|| broker.restart());
    let mut consumer = connect(&addr, None).await;
    consumer
        .subscribe(
            "s",
            QUEUE,
            "client-individual",
            &[("activemq.prefetchSize", "100")],
        )
        .await
        .expect("subscribe after restart");
    let again: BTreeSet<String> = collect(&mut consumer, MESSAGES, true, RECEIVE_BUDGET)
        .await
        .iter()
        .map(seq_of)
        .collect();
    assert_eq!(again, sent, "unacknowledged messages after the restart");
    assert_nothing_arrives(&mut consumer, "after the drain").await;
}
