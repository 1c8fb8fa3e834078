//! Failover resends: a persistent message resent on a new socket with the same producer id
//! and sequence (what the Java failover transport replays when a Response was lost) is
//! answered but not stored twice, even when the original was already consumed
//! (ARCHITECTURE decision 3: the per-producer mark outlives the message).

use crate::broker::Broker;
use futures_util::{SinkExt, StreamExt};
use openwire::{
    Command, ConnectionId, ConnectionInfo, MessageId, OpenWireCodec, ProducerId, ProducerInfo,
    SessionId, SessionInfo, WireFormat,
};
use std::time::Duration;
use stomp::{ConnectOptions, StompClient};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

const REPLY: Duration = Duration::from_secs(10);

type Conn = Framed<TcpStream, OpenWireCodec>;

/// Opens a socket, exchanges WireFormatInfo, sends ConnectionInfo/SessionInfo/ProducerInfo.
async fn open(addr: &str, connection: &str, failover_reconnect: bool) -> Conn {
    let socket = TcpStream::connect(addr).await.expect("connect");
    let mut c = Framed::new(socket, OpenWireCodec::default());
    let wfi = WireFormat::broker_default().to_info().expect("wfi");
    c.send(Command::WireFormatInfo(wfi))
        .await
        .expect("send wfi");
    let info = ConnectionInfo {
        command_id: 1,
        response_required: true,
        connection_id: Some(ConnectionId::new(connection)),
        client_id: Some(format!("{connection}-client")),
        failover_reconnect,
        ..Default::default()
    };
    c.send(Command::ConnectionInfo(Box::new(info)))
        .await
        .expect("send");
    expect_response(&mut c, 1).await;
    let session = SessionInfo {
        command_id: 2,
        session_id: Some(SessionId {
            connection_id: connection.into(),
            value: 1,
        }),
        ..Default::default()
    };
    c.send(Command::SessionInfo(session)).await.expect("send");
    let producer = ProducerInfo {
        command_id: 3,
        response_required: true,
        producer_id: Some(producer_id(connection)),
        ..Default::default()
    };
    c.send(Command::ProducerInfo(Box::new(producer)))
        .await
        .expect("send");
    expect_response(&mut c, 3).await;
    c
}

fn producer_id(connection: &str) -> ProducerId {
    ProducerId {
        connection_id: connection.into(),
        value: 1,
        session_id: 1,
    }
}

async fn expect_response(c: &mut Conn, correlation: i32) {
    loop {
        let next = tokio::time::timeout(REPLY, c.next())
            .await
            .expect("no reply in time")
            .expect("connection closed")
            .expect("decode");
        match next {
            Command::Response(r) if r.correlation_id == correlation => return,
            Command::ExceptionResponse(e) if e.correlation_id == correlation => {
                panic!("exception for command {correlation}: {:?}", e.exception)
            }
            _ => {}
        }
    }
}

async fn send_persistent(c: &mut Conn, connection: &str, command_id: i32, seq: i64, text: &str) {
    let mut m = openwire::Message::new(openwire::MessageKind::Text);
    m.command_id = command_id;
    m.response_required = true;
    m.persistent = true;
    m.set_text(Some(text)).expect("text");
    m.destination = Some(openwire::Destination::queue("dedupe"));
    m.producer_id = Some(producer_id(connection));
    m.message_id = Some(MessageId {
        text_view: None,
        producer_id: Some(producer_id(connection)),
        producer_sequence_id: seq,
        broker_sequence_id: 0,
    });
    c.send(Command::Message(Box::new(m))).await.expect("send");
    expect_response(c, command_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resent_persistent_message_is_answered_not_stored_twice() {
    let broker = Broker::start();
    let addr = broker.openwire_addr();
    let conn = "ID:dedupe-test-1";

    eprintln!("--- first socket: send seq 1 and 2");
    let mut first = open(&addr, conn, false).await;
    send_persistent(&mut first, conn, 4, 1, "one").await;
    send_persistent(&mut first, conn, 5, 2, "two").await;

    eprintln!("--- a STOMP consumer takes both (the originals are gone from the queue)");
    let mut stomp = StompClient::connect(&broker.stomp_addr(), ConnectOptions::default())
        .await
        .expect("stomp");
    stomp
        .subscribe("s", "/queue/dedupe", "client-individual", &[])
        .await
        .expect("sub");
    for want in ["one", "two"] {
        let m = stomp.recv(REPLY).await.expect("recv").expect("message");
        assert_eq!(&m.body[..], want.as_bytes());
        stomp.ack(&m, None, true).await.expect("ack");
    }

    eprintln!(
        "--- failover: a new socket with the same ConnectionId replays seq 2, then sends seq 3"
    );
    let mut second = open(&addr, conn, true).await;
    send_persistent(&mut second, conn, 5, 2, "two").await;
    send_persistent(&mut second, conn, 6, 3, "three").await;
    let m = stomp.recv(REPLY).await.expect("recv").expect("seq 3");
    assert_eq!(
        &m.body[..],
        b"three",
        "the replayed seq 2 must not be delivered again"
    );
    stomp.ack(&m, None, true).await.expect("ack");
    assert!(
        stomp
            .recv(Duration::from_millis(500))
            .await
            .expect("recv")
            .is_none(),
        "nothing else may arrive"
    );
    drop(first);
}
