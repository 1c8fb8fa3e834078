//! Protocol behaviour a STOMP client relies on.

use crate::support::{client, raw_exchange, PROMPT};
use std::time::{Duration, Instant};
use stomp::{ConnectOptions, StompClient, Version};
use testkit::TestBroker;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The broker picks the highest version both sides speak; no accept-version means 1.0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_negotiation_picks_the_highest_common_version() {
    let broker = TestBroker::start();
    let addr = broker.stomp_addr();
    for (accept, want) in [
        ("1.0,1.1,1.2", Version::V1_2),
        ("1.0,1.1", Version::V1_1),
        ("1.0", Version::V1_0),
    ] {
        let opts = ConnectOptions {
            accept_version: accept.to_string(),
            ..ConnectOptions::default()
        };
        let c = StompClient::connect(&addr, opts).await.expect("connect");
        assert_eq!(c.version(), want, "accept-version {accept}");
    }
    let (reply, _) = raw_exchange(&addr, b"CONNECT\n\n\0DISCONNECT\nreceipt:r1\n\n\0").await;
    assert!(reply.starts_with("CONNECTED\n"), "{reply:?}");
    assert!(
        !reply.contains("version:"),
        "1.0 CONNECTED must not carry a version: {reply:?}"
    );
    assert!(reply.contains("receipt-id:r1"), "{reply:?}");
}

/// Bodies with content-length carry NUL bytes intact; escaped header values round-trip;
/// the first of repeated headers wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_and_headers_round_trip() {
    let broker = TestBroker::start();
    let mut c = client(&broker.stomp_addr()).await;
    let body: Vec<u8> = vec![0, 1, 0, 255, b'a', 0];
    let mut f = stomp::Frame::new(stomp::Command::Send)
        .with_header("destination", "/queue/rt")
        .with_header("odd", "a:b\nc\\d")
        .with_header("twice", "first")
        .with_header("twice", "second")
        .with_body(body.clone());
    f.set_content_length();
    c.send_frame_with_receipt(f).await.expect("send");
    c.subscribe("s", "/queue/rt", "auto", &[])
        .await
        .expect("subscribe");
    let m = c.recv(PROMPT).await.expect("recv").expect("message");
    assert_eq!(&m.body[..], &body[..]);
    assert_eq!(m.header("odd"), Some("a:b\nc\\d"));
    assert_eq!(m.header("twice"), Some("first"));
    assert_eq!(m.header("destination"), Some("/queue/rt"));
    assert_eq!(m.header("subscription"), Some("s"));
    assert_eq!(m.header("redelivered"), Some("false"));
    assert!(m
        .header("message-id")
        .is_some_and(|id| id.starts_with("ID:")));
}

/// A client that promised heart-beats and then goes silent is dropped after its window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_client_is_dropped_after_its_heart_beat_window() {
    let broker = TestBroker::start();
    let mut s = TcpStream::connect(broker.stomp_addr())
        .await
        .expect("connect");
    s.write_all(b"CONNECT\naccept-version:1.2\nheart-beat:200,0\n\n\0")
        .await
        .expect("write");
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let mut got = Vec::new();
    let closed = loop {
        match tokio::time::timeout(PROMPT, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => break false,
        }
    };
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("CONNECTED\n"), "{text:?}");
    assert!(text.contains("heart-beat:0,200"), "{text:?}");
    assert!(closed, "silent client was not dropped within {PROMPT:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "dropped before its window"
    );
}

/// The broker sends heart-beats at the rate the client asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_sends_heart_beats_when_asked() {
    let broker = TestBroker::start();
    let mut s = TcpStream::connect(broker.stomp_addr())
        .await
        .expect("connect");
    s.write_all(b"CONNECT\naccept-version:1.2\nheart-beat:0,100\n\n\0")
        .await
        .expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + PROMPT;
    // CONNECTED ends with NUL; count newlines after it.
    while Instant::now() < deadline {
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await
        {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        let beats = got
            .iter()
            .position(|b| *b == 0)
            .map(|p| got[p + 1..].iter().filter(|b| **b == b'\n').count())
            .unwrap_or(0);
        if beats >= 3 {
            return;
        }
    }
    panic!(
        "fewer than 3 heart-beats: {:?}",
        String::from_utf8_lossy(&got)
    );
}

/// Every frame that carries `receipt` gets a RECEIPT, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_frame_with_receipt_is_answered_in_order() {
    let broker = TestBroker::start();
    let frames = b"CONNECT\naccept-version:1.2\n\n\0\
SUBSCRIBE\nid:s1\ndestination:/queue/r\nack:client\nreceipt:1\n\n\0\
BEGIN\ntransaction:t\nreceipt:2\n\n\0\
SEND\ndestination:/queue/r\ntransaction:t\nreceipt:3\n\nx\0\
COMMIT\ntransaction:t\nreceipt:4\n\n\0\
SEND\ndestination:/queue/other\npersistent:true\nreceipt:5\n\ny\0\
UNSUBSCRIBE\nid:s1\nreceipt:6\n\n\0\
DISCONNECT\nreceipt:7\n\n\0";
    let (reply, closed) = raw_exchange(&broker.stomp_addr(), frames).await;
    assert!(closed, "DISCONNECT did not close");
    let ids: Vec<&str> = reply
        .lines()
        .filter_map(|l| l.strip_prefix("receipt-id:"))
        .collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5", "6", "7"], "{reply:?}");
}

/// A consumer's prefetch bounds what it holds unacknowledged; acks release more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefetch_bounds_unacknowledged_deliveries() {
    let broker = TestBroker::start();
    let addr = broker.stomp_addr();
    let mut p = client(&addr).await;
    for i in 0..5 {
        p.send("/queue/pf", format!("{i}"), &[], true)
            .await
            .expect("send");
    }
    let mut c = client(&addr).await;
    c.subscribe(
        "s",
        "/queue/pf",
        "client-individual",
        &[("activemq.prefetchSize", "2")],
    )
    .await
    .expect("subscribe");
    let a = c.recv(PROMPT).await.expect("recv").expect("1st");
    let _b = c.recv(PROMPT).await.expect("recv").expect("2nd");
    assert!(
        c.recv(Duration::from_millis(300))
            .await
            .expect("recv")
            .is_none(),
        "a third message arrived beyond prefetch 2"
    );
    c.ack(&a, None, true).await.expect("ack");
    let third = c.recv(PROMPT).await.expect("recv").expect("3rd after ack");
    assert_eq!(&third.body[..], b"2");
}

/// Producer flow control: past `memory_limit` a non-persistent producer waits (its SENDs
/// are not receipted) while its connection stays alive (heart-beats go on); once a
/// consumer frees memory, every message arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_over_memory_limit_waits_and_stays_connected() {
    const COUNT: usize = 40; // 40 × 64 KiB = 2.5 MiB against a 1 MiB limit
    let broker = TestBroker::start_with(Some("[broker]\nmemory_limit = \"1 MiB\"\n"), &[]);
    let addr = broker.stomp_addr();
    let opts = ConnectOptions {
        heart_beat: (0, 200),
        ..ConnectOptions::default()
    };
    let mut producer = StompClient::connect(&addr, opts).await.expect("connect");
    let body = vec![b'x'; 64 * 1024];
    let send_all = async {
        for i in 0..COUNT {
            let mut f = stomp::Frame::new(stomp::Command::Send)
                .with_header("destination", "/queue/fc")
                .with_header("seq", i.to_string())
                .with_body(body.clone());
            f.set_content_length();
            producer.send_frame_with_receipt(f).await.expect("send");
        }
        producer
    };
    tokio::pin!(send_all);
    eprintln!("--- the producer must be held back by the memory limit");
    testkit::assert_held_back(&mut send_all, Duration::from_secs(2)).await;
    eprintln!("--- a consumer drains the queue; the producer finishes");
    let mut consumer = client(&addr).await;
    consumer
        .subscribe("s", "/queue/fc", "auto", &[("activemq.prefetchSize", "4")])
        .await
        .expect("subscribe");
    let drain = async {
        let mut seen = Vec::new();
        while seen.len() < COUNT {
            let m = consumer
                .recv(PROMPT)
                .await
                .expect("recv")
                .expect("a message");
            seen.push(m.header("seq").unwrap_or("").to_string());
        }
        seen
    };
    let (producer, seen) = tokio::join!(send_all, drain);
    let want: Vec<String> = (0..COUNT).map(|i| i.to_string()).collect();
    assert_eq!(seen, want, "every message, in order");
    producer
        .disconnect()
        .await
        .expect("producer still connected after waiting");
}
