//! Bad bytes on the OpenWire port: that connection closes, the broker carries on.

use crate::broker::Broker;
use crate::seed::assert_seed_programs_deliver;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// How long the broker may take to close a connection that sent bad input.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(15);

/// A WireFormatInfo frame (size prefix, type 1, 8-byte magic, version 12, no properties)
/// with the given magic.
fn wire_format_info(magic: &[u8; 8]) -> Vec<u8> {
    let mut body = vec![1u8];
    body.extend_from_slice(magic);
    body.extend_from_slice(&12u32.to_be_bytes());
    body.push(0); // marshalledProperties: null
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    frame
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    /// Half-close after writing: a truncated frame can only be detected at EOF.
    half_close: bool,
}

fn cases() -> Vec<Case> {
    let mut truncated = wire_format_info(b"ActiveMQ");
    truncated[3] = 100; // announces 100 bytes, carries 14
    let mut garbage = b"GET / HTTP/1.1\r\nHost: ferromq\r\n\r\n".to_vec();
    garbage.extend((0..2048u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    vec![
        Case {
            name: "garbage",
            bytes: garbage,
            half_close: false,
        },
        Case {
            name: "wrong magic",
            bytes: wire_format_info(b"NotAMQ!!"),
            half_close: false,
        },
        Case {
            name: "frame announcing 2 GiB",
            bytes: {
                let mut b = 0x7fff_ffffu32.to_be_bytes().to_vec();
                b.extend_from_slice(&[1, b'A', b'c', b't', b'i', b'v', b'e', b'M', b'Q']);
                b
            },
            half_close: false,
        },
        Case {
            name: "unknown type code",
            bytes: vec![0, 0, 0, 5, 0xfe, 0, 0, 0, 0],
            half_close: false,
        },
        Case {
            name: "truncated frame",
            bytes: truncated,
            half_close: true,
        },
    ]
}

/// Reads (and discards: the broker may send its own WireFormatInfo first) until the broker
/// closes the connection; false when it is still open after `CLOSE_TIMEOUT`.
fn closed_by_peer(stream: &mut TcpStream) -> bool {
    let deadline = Instant::now() + CLOSE_TIMEOUT;
    let mut buf = [0u8; 4096];
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return true, // reset
        }
    }
    false
}

/// Garbage, a wrong magic, a frame announcing 2 GiB, an unknown type code and a
/// truncated frame each get their own connection closed by the broker; the broker stays up,
/// keeps accepting, and afterwards still serves the seed's programs.
#[test]
fn garbage_on_openwire_port_closes_only_that_connection() {
    eprintln!("--- starting a broker");
    let mut broker = Broker::start();
    let addr = broker.socket_addr();
    // A well-behaved idle connection opened first must survive everything below.
    let mut bystander =
        TcpStream::connect(addr).unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
    bystander
        .write_all(&wire_format_info(b"ActiveMQ"))
        .unwrap_or_else(|e| panic!("cannot write: {e}"));

    for case in cases() {
        eprintln!("--- sending {} ({} bytes)", case.name, case.bytes.len());
        let mut stream = TcpStream::connect(addr)
            .unwrap_or_else(|e| panic!("{}: cannot connect to {addr}: {e}", case.name));
        // The broker may close while we are still writing: that is fine.
        let _ = stream.write_all(&case.bytes);
        if case.half_close {
            let _ = stream.shutdown(Shutdown::Write);
        }
        assert!(
            closed_by_peer(&mut stream),
            "{}: the broker kept the connection open for {CLOSE_TIMEOUT:?}",
            case.name
        );
        assert!(
            broker.is_running(),
            "{}: the broker process died",
            case.name
        );
        broker.require_listener();
    }

    eprintln!("--- the connection opened before the bad ones is still open");
    let _ = bystander.set_read_timeout(Some(Duration::from_millis(300)));
    let mut buf = [0u8; 4096];
    loop {
        match bystander.read(&mut buf) {
            Ok(0) => panic!("the well-behaved connection was closed"),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) => panic!("the well-behaved connection failed: {e}"),
        }
    }

    eprintln!("--- the seed programs still work");
    assert_seed_programs_deliver(&broker);
}

/// A client cannot grow its connection's state without bound: with
/// `listeners.max_per_connection = 3`, a 4th consumer, producer or session is refused with
/// a `ResourceAllocationException` that names the limit, the connection and what it holds
/// keep working, and closing a consumer makes room for another (our Rust client, which
/// speaks the same OpenWire as the Java one).
#[test]
fn objects_past_the_per_connection_limit_are_refused_and_the_connection_carries_on() {
    use client::{AckMode, Connection, ConsumerOptions, Destination, Message};
    const LIMIT: usize = 3;
    let broker = testkit::TestBroker::start_with(
        Some(&format!("[listeners]\nmax_per_connection = {LIMIT}\n")),
        &[],
    );
    let url = format!("tcp://{}", broker.openwire_addr());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let conn = Connection::connect(&url).await.expect("connect");
        let session = conn.create_session(AckMode::Auto).await.expect("session");
        let queue = Destination::queue("limited");
        eprintln!("--- {LIMIT} consumers pass, one more is refused");
        let mut consumers = Vec::new();
        for _ in 0..LIMIT {
            consumers.push(
                session
                    .create_consumer(&queue, ConsumerOptions::default())
                    .await
                    .expect("consumer within the limit"),
            );
        }
        let refused = session
            .create_consumer(&queue, ConsumerOptions::default())
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            refused.contains("too many consumers") && refused.contains("max_per_connection"),
            "4th consumer: {refused:?}"
        );

        eprintln!("--- the same for producers and sessions");
        let mut producers = Vec::new();
        for _ in 0..LIMIT {
            producers.push(session.create_producer().await.expect("producer"));
        }
        let refused = session.create_producer().await.err().map(|e| e.to_string());
        assert!(
            refused
                .as_deref()
                .is_some_and(|e| e.contains("too many producers")),
            "4th producer: {refused:?}"
        );
        let mut sessions = Vec::new();
        for _ in 1..LIMIT {
            sessions.push(conn.create_session(AckMode::Auto).await.expect("session"));
        }
        let refused = conn
            .create_session(AckMode::Auto)
            .await
            .err()
            .map(|e| e.to_string());
        assert!(
            refused
                .as_deref()
                .is_some_and(|e| e.contains("too many sessions")),
            "4th session: {refused:?}"
        );

        eprintln!("--- what the connection holds still works; a closed consumer makes room");
        producers[0]
            .send(&queue, Message::text("still here"))
            .await
            .expect("send on a held producer");
        let mut got = None;
        for c in consumers.iter_mut() {
            if let Some(text) = c.recv_text(Duration::from_millis(500)).await.expect("recv") {
                got = Some(text);
                break;
            }
        }
        assert_eq!(got.as_deref(), Some("still here"));
        drop(consumers.pop());
        let mut again = None;
        for _ in 0..50 {
            // The consumer's RemoveInfo needs no answer: retry until the broker saw it.
            match session
                .create_consumer(&queue, ConsumerOptions::default())
                .await
            {
                Ok(c) => {
                    again = Some(c);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        assert!(again.is_some(), "a closed consumer's place is free again");
        conn.close().await.expect("close");
    });
    assert!(
        TcpStream::connect(broker.openwire_addr()).is_ok(),
        "the broker still serves"
    );
}
