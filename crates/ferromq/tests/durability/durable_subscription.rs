//! Durable topic subscriptions across a SIGKILL.

use std::collections::BTreeSet;
use std::time::Duration;

use testkit::TestBroker;

use crate::fixture::{assert_nothing_arrives, collect, connect, send_numbered, seq_of};

const TOPIC: &str = "/topic/durability.events";
const CLIENT_ID: &str = "durability-client";
const SUBSCRIPTION: &str = "durability-sub";
/// Messages published while the subscriber is away.
const MESSAGES: usize = 10;
/// Time allowed to receive them.
const RECEIVE_BUDGET: Duration = Duration::from_secs(20);

/// A durable subscription made before a `kill -9` still exists after the restart, and
/// keeps every persistent message published to its topic while its subscriber was
/// offline; after receipted ACKs and another `kill -9`, none of them comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_subscription_survives_restart() {
    let mut broker = TestBroker::start();
    let addr = broker.stomp_addr();
    let durable = [("activemq.subscriptionName", SUBSCRIPTION)];

    eprintln!("--- subscribe durably as {CLIENT_ID}/{SUBSCRIPTION}, then go offline");
    let subscriber = {
        let mut c = connect(&addr, Some(CLIENT_ID)).await;
        c.subscribe("d", TOPIC, "client-individual", &durable)
            .await
            .expect("durable subscribe");
        c
    };
    subscriber.disconnect().await.expect("disconnect");

    eprintln!("--- publish {MESSAGES} receipted persistent messages while it is offline");
    let mut publisher = connect(&addr, None).await;
    let sent: BTreeSet<String> = send_numbered(&mut publisher, TOPIC, "durable", MESSAGES)
        .await
        .into_iter()
        .collect();

    eprintln!("--- SIGKILL and restart: the subscription and its messages must survive");
    tokio::task::block_in_place(|| broker.restart());
    let mut subscriber = connect(&addr, Some(CLIENT_ID)).await;
    subscriber
        .subscribe("d", TOPIC, "client-individual", &durable)
        .await
        .expect("durable subscribe after restart");
    let got: BTreeSet<String> = collect(&mut subscriber, MESSAGES, true, RECEIVE_BUDGET)
        .await
        .iter()
        .map(seq_of)
        .collect();
    assert_eq!(got, sent, "messages kept for the durable subscription");
    assert_nothing_arrives(&mut subscriber, "after the backlog").await;

    eprintln!("--- SIGKILL and restart again: the receipted ACKs must stick");
    tokio::task::block_in_place(|| broker.restart());
    let mut subscriber = connect(&addr, Some(CLIENT_ID)).await;
    subscriber
        .subscribe("d", TOPIC, "client-individual", &durable)
        .await
        .expect("durable subscribe after second restart");
    assert_nothing_arrives(&mut subscriber, "acknowledged durable messages came back").await;
}
