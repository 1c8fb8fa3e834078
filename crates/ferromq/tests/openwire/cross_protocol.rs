//! STOMP ⇄ JMS: text, bytes and properties cross protocols as ActiveMQ maps them (a STOMP
//! SEND with content-length is a BytesMessage, without it a TextMessage).

use crate::broker::Broker;
use crate::java;
use std::time::Duration;
use stomp::{ConnectOptions, StompClient};

const RUN: Duration = Duration::from_secs(60);
const RECEIVE: Duration = Duration::from_secs(10);

/// A STOMP producer's text and bytes arrive at a JMS consumer as TextMessage and
/// BytesMessage with their properties; a JMS producer's arrive at a STOMP consumer with
/// the same bodies and properties as headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stomp_and_jms_exchange_text_bytes_and_properties() {
    let broker = Broker::start();
    let url = broker.tcp_url();
    let mut stomp = StompClient::connect(&broker.stomp_addr(), ConnectOptions::default())
        .await
        .expect("stomp connect");

    eprintln!("--- STOMP → JMS");
    // No content-length: a TextMessage, as in ActiveMQ.
    let text = stomp::Frame::new(stomp::Command::Send)
        .with_header("destination", "/queue/x-to-jms")
        .with_header("color", "red")
        .with_header("n", "1")
        .with_body("hello from stomp");
    stomp
        .send_frame_with_receipt(text)
        .await
        .expect("send text");
    let mut bytes = stomp::Frame::new(stomp::Command::Send)
        .with_header("destination", "/queue/x-to-jms")
        .with_header("color", "yellow")
        .with_header("n", "2")
        .with_body(vec![0u8, 9, 255]);
    bytes.set_content_length();
    stomp
        .send_frame_with_receipt(bytes)
        .await
        .expect("send bytes");
    let out = tokio::task::spawn_blocking(move || {
        java::run("CrossProtocol", &["receive", &url, "x-to-jms", "2"], RUN)
    })
    .await
    .expect("join");
    assert!(out.success(), "{}", out.report());
    assert_eq!(
        out.lines,
        [
            "TEXT hello from stomp color=red n=1",
            "BYTES 0009ff color=yellow n=2"
        ],
        "{}",
        out.report()
    );

    eprintln!("--- JMS → STOMP");
    let url = broker.tcp_url();
    let out = tokio::task::spawn_blocking(move || {
        java::run("CrossProtocol", &["send", &url, "x-to-stomp"], RUN)
    })
    .await
    .expect("join");
    assert!(out.success(), "{}", out.report());
    stomp
        .subscribe("s", "/queue/x-to-stomp", "client-individual", &[])
        .await
        .expect("subscribe");
    let text = stomp
        .recv(RECEIVE)
        .await
        .expect("recv")
        .expect("text message");
    assert_eq!(&text.body[..], b"hello from jms");
    assert_eq!(text.header("color"), Some("blue"));
    assert_eq!(text.header("n"), Some("7"));
    assert_eq!(text.header("persistent"), Some("true"));
    stomp.ack(&text, None, true).await.expect("ack");
    let bin = stomp
        .recv(RECEIVE)
        .await
        .expect("recv")
        .expect("bytes message");
    assert_eq!(&bin.body[..], &[0u8, 1, 2, 255]);
    assert_eq!(bin.header("content-length"), Some("4"));
    assert_eq!(bin.header("color"), Some("green"));
    stomp.ack(&bin, None, true).await.expect("ack");
}
