//! Malformed input closes that one connection with an ERROR frame; nothing else changes.

use crate::support::{broker_still_serves, raw_exchange, CONNECT_12};
use testkit::TestBroker;

async fn expect_error_and_close(broker: &TestBroker, bytes: &[u8], needle: &str) {
    let (reply, closed) = raw_exchange(&broker.stomp_addr(), bytes).await;
    assert!(
        reply.contains("ERROR\n"),
        "no ERROR frame for {needle:?}; got {reply:?}"
    );
    assert!(
        reply.contains(needle),
        "ERROR does not mention {needle:?}: {reply:?}"
    );
    assert!(closed, "connection stayed open after ERROR ({needle})");
}

/// Each kind of bad input gets an ERROR frame and a closed connection, and the broker
/// keeps serving other clients afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_close_only_their_connection() {
    let broker = TestBroker::start_with(Some("[broker]\nmax_frame_size = \"4 KiB\"\n"), &[]);
    let addr = broker.stomp_addr();
    eprintln!("--- garbage before CONNECT");
    expect_error_and_close(&broker, b"\x00\x01\x02garbage\n\n\0", "").await;
    eprintln!("--- unknown command");
    let mut bytes = CONNECT_12.to_vec();
    bytes.extend_from_slice(b"FROB\n\n\0");
    expect_error_and_close(&broker, &bytes, "FROB").await;
    eprintln!("--- oversized body announced by content-length");
    let mut bytes = CONNECT_12.to_vec();
    bytes.extend_from_slice(b"SEND\ndestination:/queue/big\ncontent-length:999999999\n\n");
    expect_error_and_close(&broker, &bytes, "").await;
    eprintln!("--- oversized body without content-length");
    let mut bytes = CONNECT_12.to_vec();
    bytes.extend_from_slice(b"SEND\ndestination:/queue/big\n\n");
    bytes.extend(std::iter::repeat_n(b'x', 8192));
    expect_error_and_close(&broker, &bytes, "").await;
    eprintln!("--- invalid UTF-8 in a header");
    let mut bytes = CONNECT_12.to_vec();
    bytes.extend_from_slice(b"SEND\ndestination:/queue/\xff\xfe\n\nx\0");
    expect_error_and_close(&broker, &bytes, "").await;
    eprintln!("--- invalid escape in 1.2");
    let mut bytes = CONNECT_12.to_vec();
    bytes.extend_from_slice(b"SEND\ndestination:/queue/a\\q\n\nx\0");
    expect_error_and_close(&broker, &bytes, "").await;
    eprintln!("--- SEND without destination");
    let mut bytes = CONNECT_12.to_vec();
    bytes.extend_from_slice(b"SEND\n\nhello\0");
    expect_error_and_close(&broker, &bytes, "Destination").await;
    eprintln!("--- destination without a known prefix");
    let mut bytes = CONNECT_12.to_vec();
    bytes.extend_from_slice(b"SEND\ndestination:nowhere\n\nhello\0");
    expect_error_and_close(&broker, &bytes, "nowhere").await;
    eprintln!("--- selector syntax error names the position");
    let mut bytes = CONNECT_12.to_vec();
    bytes.extend_from_slice(b"SUBSCRIBE\nid:1\ndestination:/queue/s\nselector:a = = 1\n\n\0");
    expect_error_and_close(&broker, &bytes, "position").await;
    eprintln!("--- frame before CONNECT");
    expect_error_and_close(&broker, b"SEND\ndestination:/queue/a\n\nx\0", "CONNECT").await;
    eprintln!("--- unsupported protocol version");
    expect_error_and_close(
        &broker,
        b"CONNECT\naccept-version:2.0\n\n\0",
        "Supported protocol versions",
    )
    .await;
    eprintln!("--- the broker still serves everyone else");
    broker_still_serves(&addr).await;
}

/// Messages stored before a bad client arrived are still delivered afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_client_loses_nobody_elses_messages() {
    let broker = TestBroker::start();
    let addr = broker.stomp_addr();
    let mut producer = crate::support::client(&addr).await;
    for i in 0..10 {
        producer
            .send(
                "/queue/keep",
                format!("m{i}"),
                &[("persistent", "true")],
                true,
            )
            .await
            .expect("send");
    }
    let (_, closed) = raw_exchange(&addr, b"\xde\xad\xbe\xef\0\0\0").await;
    assert!(closed);
    let mut consumer = crate::support::client(&addr).await;
    consumer
        .subscribe("s", "/queue/keep", "client-individual", &[])
        .await
        .expect("subscribe");
    for i in 0..10 {
        let m = consumer
            .recv(crate::support::PROMPT)
            .await
            .expect("recv")
            .expect("message");
        assert_eq!(m.body, format!("m{i}").as_bytes());
        consumer.ack(&m, None, true).await.expect("ack");
    }
}

/// With `listeners.max_per_connection = 3`, a 4th subscription (or open transaction) on
/// one connection is an ERROR that names the limit and closes that connection; other
/// connections carry on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_past_the_per_connection_limit_close_only_that_connection() {
    let broker = TestBroker::start_with(Some("[listeners]\nmax_per_connection = 3\n"), &[]);
    eprintln!("--- four subscriptions on one connection");
    let mut bytes = CONNECT_12.to_vec();
    for i in 0..4 {
        bytes.extend_from_slice(
            format!("SUBSCRIBE\ndestination:/queue/q{i}\nid:{i}\n\n\0").as_bytes(),
        );
    }
    expect_error_and_close(&broker, &bytes, "too many subscriptions").await;
    eprintln!("--- four open transactions on one connection");
    let mut bytes = CONNECT_12.to_vec();
    for i in 0..4 {
        bytes.extend_from_slice(format!("BEGIN\ntransaction:t{i}\n\n\0").as_bytes());
    }
    expect_error_and_close(&broker, &bytes, "too many open transactions").await;
    broker_still_serves(&broker.stomp_addr()).await;
}
