//! Helpers shared by the STOMP suite.

use std::time::Duration;
use stomp::{ConnectOptions, StompClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Upper bound for anything that should happen "at once".
pub const PROMPT: Duration = Duration::from_secs(10);

pub async fn client(addr: &str) -> StompClient {
    StompClient::connect(addr, ConnectOptions::default())
        .await
        .expect("connect")
}

/// Writes raw bytes and reads until the server closes (or `PROMPT` passes); returns what
/// came back and whether the server closed the connection.
pub async fn raw_exchange(addr: &str, bytes: &[u8]) -> (String, bool) {
    let mut s = TcpStream::connect(addr).await.expect("tcp connect");
    s.write_all(bytes).await.expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match tokio::time::timeout(PROMPT, s.read(&mut buf)).await {
            Ok(Ok(0)) => break true,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Ok(Err(_)) => break true,
            Err(_) => break false,
        }
    };
    (String::from_utf8_lossy(&out).into_owned(), closed)
}

pub const CONNECT_12: &[u8] = b"CONNECT\naccept-version:1.2\nhost:localhost\n\n\0";

/// A queue round trip on a separate connection: the broker still serves others.
pub async fn broker_still_serves(addr: &str) {
    let queue = format!("/queue/alive-{}", std::process::id());
    let mut c = client(addr).await;
    c.send(&queue, "ping", &[], true).await.expect("send");
    c.subscribe("s", &queue, "auto", &[])
        .await
        .expect("subscribe");
    let m = c.recv(PROMPT).await.expect("recv").expect("a message");
    assert_eq!(&m.body[..], b"ping");
}
