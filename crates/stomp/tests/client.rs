//! The client against a tiny scripted in-test STOMP server.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use stomp::{
    ClientError, Command, ConnectOptions, Frame, Item, Limits, StompClient, StompCodec, Version,
};
use tokio::net::TcpListener;
use tokio_util::codec::Framed;

/// Serves one connection: CONNECTED (with the given version), receipts for everything
/// that asks, a MESSAGE for each SEND (echoing the body), ERROR for "/queue/bad".
/// Returns every frame received (ACK/NACK included) once the client disconnects.
async fn serve_one(listener: TcpListener, version: &'static str) -> Vec<Frame> {
    let (stream, _) = listener.accept().await.unwrap();
    let mut framed = Framed::new(stream, StompCodec::new(Limits::default()));
    let mut seen = Vec::new();
    let mut counter = 0;
    while let Some(item) = framed.next().await {
        let Item::Frame(frame) = item.unwrap() else {
            continue;
        };
        seen.push(frame.clone());
        match frame.command {
            Command::Connect | Command::Stomp => {
                let reply = Frame::new(Command::Connected)
                    .with_header("version", version)
                    .with_header("heart-beat", "0,0")
                    .with_header("server", "test");
                framed.send(Item::Frame(reply)).await.unwrap();
                framed
                    .codec_mut()
                    .set_version(Version::parse(version).unwrap());
            }
            Command::Send => {
                if frame.header("destination") == Some("/queue/bad") {
                    let err = Frame::new(Command::Error)
                        .with_header("message", "bad destination")
                        .with_body("details here");
                    framed.send(Item::Frame(err)).await.unwrap();
                    continue;
                }
                counter += 1;
                let mut msg = Frame::new(Command::Message)
                    .with_header("subscription", "sub-1")
                    .with_header("message-id", format!("m:{counter}"))
                    .with_header("ack", format!("a{counter}"))
                    .with_header("destination", frame.header("destination").unwrap())
                    .with_body(frame.body.clone());
                msg.set_content_length();
                // The MESSAGE goes out before the RECEIPT: the client must buffer it.
                framed.send(Item::Frame(msg)).await.unwrap();
            }
            _ => {}
        }
        if let Some(r) = frame.header("receipt") {
            let receipt = Frame::new(Command::Receipt).with_header("receipt-id", r);
            framed.send(Item::Frame(receipt)).await.unwrap();
        }
        if frame.command == Command::Disconnect {
            break;
        }
    }
    seen
}

async fn start(version: &'static str) -> (String, tokio::task::JoinHandle<Vec<Frame>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    (addr, tokio::spawn(serve_one(listener, version)))
}

#[tokio::test]
async fn round_trip_v12() {
    let (addr, server) = start("1.2").await;
    let opts = ConnectOptions {
        login: Some("user".into()),
        passcode: Some("pw".into()),
        client_id: Some("cid".into()),
        ..ConnectOptions::default()
    };
    let mut client = StompClient::connect(&addr, opts).await.unwrap();
    assert_eq!(client.version(), Version::V1_2);
    assert!(client
        .connected_headers()
        .iter()
        .any(|(n, v)| n == "server" && v == "test"));

    client
        .subscribe("sub-1", "/queue/a", "client-individual", &[])
        .await
        .unwrap();
    client
        .send("/queue/a", "hello\0world", &[("x:y", "a\nb")], true)
        .await
        .unwrap();
    let msg = client.recv(Duration::from_secs(5)).await.unwrap().unwrap();
    assert_eq!(&msg.body[..], b"hello\0world");
    client.ack(&msg, Some("tx1"), true).await.unwrap();
    client.nack(&msg, None, false).await.unwrap();
    client.begin("tx1").await.unwrap();
    client.commit("tx1").await.unwrap();
    client.abort("tx2").await.unwrap();
    assert!(client
        .recv(Duration::from_millis(50))
        .await
        .unwrap()
        .is_none());
    client.unsubscribe("sub-1").await.unwrap();
    client.disconnect().await.unwrap();

    let seen = server.await.unwrap();
    let connect = &seen[0];
    assert_eq!(connect.command, Command::Connect);
    assert_eq!(connect.header("accept-version"), Some("1.0,1.1,1.2"));
    assert_eq!(connect.header("host"), Some("localhost"));
    assert_eq!(connect.header("client-id"), Some("cid"));
    assert_eq!(connect.header("login"), Some("user"));
    let send = seen.iter().find(|f| f.command == Command::Send).unwrap();
    assert_eq!(send.header("x:y"), Some("a\nb"), "escaped under 1.2");
    assert_eq!(send.header("content-length"), Some("11"));
    let ack = seen.iter().find(|f| f.command == Command::Ack).unwrap();
    assert_eq!(ack.header("id"), Some("a1"));
    assert_eq!(ack.header("transaction"), Some("tx1"));
    assert!(ack.header("receipt").is_some());
    let nack = seen.iter().find(|f| f.command == Command::Nack).unwrap();
    assert_eq!(nack.header("id"), Some("a1"));
    assert!(nack.header("receipt").is_none());
    assert_eq!(seen.last().unwrap().command, Command::Disconnect);
}

#[tokio::test]
async fn ack_headers_v11_and_v10() {
    for (version, expected) in [
        (
            "1.1",
            vec![("message-id", "m:1"), ("subscription", "sub-1")],
        ),
        ("1.0", vec![("message-id", "m:1")]),
    ] {
        let (addr, server) = start(version).await;
        let mut client = StompClient::connect(&addr, ConnectOptions::default())
            .await
            .unwrap();
        client.send("/queue/a", "x", &[], false).await.unwrap();
        let msg = client.recv(Duration::from_secs(5)).await.unwrap().unwrap();
        client.ack(&msg, None, true).await.unwrap();
        client.disconnect().await.unwrap();
        let seen = server.await.unwrap();
        let ack = seen.iter().find(|f| f.command == Command::Ack).unwrap();
        for (n, v) in expected {
            assert_eq!(ack.header(n), Some(v), "{version}");
        }
        assert!(ack.header("id").is_none());
    }
}

#[tokio::test]
async fn server_error_is_reported() {
    let (addr, _server) = start("1.2").await;
    let mut client = StompClient::connect(&addr, ConnectOptions::default())
        .await
        .unwrap();
    match client.send("/queue/bad", "x", &[], true).await {
        Err(ClientError::Server { message, details }) => {
            assert_eq!(message, "bad destination");
            assert_eq!(details, "details here");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn connect_error_and_closed() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut framed = Framed::new(stream, StompCodec::default());
        let _ = framed.next().await;
        let err = Frame::new(Command::Error).with_header("message", "auth failed");
        framed.send(Item::Frame(err)).await.unwrap();
        // Second connection: closed without an answer.
        let (stream, _) = listener.accept().await.unwrap();
        drop(stream);
    });
    match StompClient::connect(&addr, ConnectOptions::default()).await {
        Err(ClientError::Server { message, .. }) => assert_eq!(message, "auth failed"),
        other => panic!("{other:?}"),
    }
    match StompClient::connect(&addr, ConnectOptions::default()).await {
        Err(ClientError::Closed | ClientError::Io(_)) => {}
        other => panic!("{other:?}"),
    }
    server.await.unwrap();
}

#[tokio::test]
async fn client_sends_heart_beats_while_waiting() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut framed = Framed::new(stream, StompCodec::default());
        let Some(Ok(Item::Frame(connect))) = framed.next().await else {
            panic!("no CONNECT")
        };
        assert_eq!(connect.header("heart-beat"), Some("20,0"));
        let reply = Frame::new(Command::Connected)
            .with_header("version", "1.2")
            .with_header("heart-beat", "0,10");
        framed.send(Item::Frame(reply)).await.unwrap();
        let mut beats = 0;
        while let Ok(Some(Ok(item))) =
            tokio::time::timeout(Duration::from_millis(500), framed.next()).await
        {
            if item == Item::HeartBeat {
                beats += 1;
            }
        }
        beats
    });
    let opts = ConnectOptions {
        heart_beat: (20, 0),
        ..ConnectOptions::default()
    };
    let mut client = StompClient::connect(&addr, opts).await.unwrap();
    assert!(client
        .recv(Duration::from_millis(200))
        .await
        .unwrap()
        .is_none());
    drop(client);
    let beats = server.await.unwrap();
    assert!(beats >= 3, "{beats} heart-beats");
}
