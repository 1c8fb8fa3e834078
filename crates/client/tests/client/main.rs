//! The client against real broker processes: ferromq (`testkit::TestBroker`) for every
//! feature and for failover through a cutting proxy; ActiveMQ 5.17 (`activemq.rs`) for the
//! same feature checks (`checks.rs`) when Debian's `activemq` is installed; the `ferromq`
//! CLI commands that use the client (`cli.rs`); failover across master kills in a
//! replicated cluster (`cluster.rs`); the failover `timeout` and `priorityBackup` options
//! and blocked producer windows (`failover_options.rs`).

mod activemq;
mod checks;
mod cli;
mod cluster;
mod failover_options;
mod load;

use checks::Target;
use client::{
    AckMode, ClientError, Connection, ConnectionEvent, ConsumerOptions, Destination, Message,
};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;
use testkit::{TcpProxy, TestBroker};
use tokio::sync::broadcast;

const WAIT: Duration = Duration::from_secs(10);

fn ferromq_target(broker: &TestBroker) -> Target {
    Target {
        url: format!("tcp://{}", broker.openwire_addr()),
        prefix: "ferromq".into(),
        prioritized: true,
    }
}

/// A ferromq test that runs one feature check of `checks.rs` against its own broker.
macro_rules! ferromq_check {
    ($($test:ident => $check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let broker = TestBroker::start();
                checks::$check(&ferromq_target(&broker)).await;
            }
        )*
    };
}

ferromq_check! {
    ack_modes_acknowledge_as_jms_says => ack_modes,
    transacted_sessions_commit_and_roll_back => transactions,
    producer_options_reach_the_consumer => producer_options,
    topics_selectors_durables_and_pulls => consumers,
    browser_sees_without_consuming => browsing,
    request_reply_through_a_temporary_queue => request_reply,
    text_bytes_map_and_typed_properties_round_trip => message_types,
}

/// A transaction open while the connection fails over cannot commit: the caller gets
/// `TransactionRolledBack`, nothing of it is stored, and the next transaction works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_across_a_failover_fails_with_a_typed_error() {
    let broker = TestBroker::start();
    let proxy = TcpProxy::start(&broker.openwire_addr());
    let url = format!("failover:(tcp://{})?initialReconnectDelay=10", proxy.addr());
    let conn = Connection::connect(&url).await.expect("connect");
    let mut events = conn.events();
    let session = conn
        .create_session(AckMode::Transacted)
        .await
        .expect("session");
    let producer = session.create_producer().await.expect("producer");
    let q = Destination::queue("client-tx-failover");

    eprintln!("--- send in a transaction, then the connection is cut");
    producer
        .send(&q, Message::text("doomed"))
        .await
        .expect("send");
    assert_eq!(proxy.cut(), 1);
    expect_event(
        &mut events,
        |e| matches!(e, ConnectionEvent::Resumed(_)),
        "Resumed",
    )
    .await;
    let err = session.commit().await.expect_err("commit must fail");
    assert!(
        matches!(err, ClientError::TransactionRolledBack(_)),
        "{err}"
    );

    eprintln!("--- the next transaction commits");
    producer
        .send(&q, Message::text("kept"))
        .await
        .expect("send");
    session.commit().await.expect("commit");
    let check = conn.create_session(AckMode::Auto).await.expect("session");
    let mut c = check
        .create_consumer(&q, ConsumerOptions::default())
        .await
        .expect("consumer");
    assert_eq!(
        c.recv_text(WAIT).await.expect("recv").as_deref(),
        Some("kept")
    );
    assert_eq!(
        c.recv_text(Duration::from_millis(400)).await.expect("recv"),
        None,
        "the rolled-back send was not stored"
    );
    drop(c);
    drop(producer);
    conn.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_and_receives_ten_text_messages_in_order() {
    let broker = TestBroker::start();
    let url = format!("tcp://{}", broker.openwire_addr());
    let conn = Connection::connect(&url).await.expect("connect");
    assert!(conn.connection_id().starts_with("ID:"));
    let session = conn.create_session(AckMode::Auto).await.expect("session");
    let producer = session.create_producer().await.expect("producer");
    for i in 0..10 {
        producer
            .send_text("client-it", &format!("message {i}"), i % 2 == 0)
            .await
            .expect("send");
    }
    let mut consumer = session
        .create_consumer(
            &Destination::queue("client-it"),
            ConsumerOptions::default().prefetch(4),
        )
        .await
        .expect("consumer");
    for i in 0..10 {
        let text = consumer.recv_text(WAIT).await.expect("recv");
        assert_eq!(text.as_deref(), Some(format!("message {i}").as_str()));
    }
    assert_eq!(
        consumer
            .recv_text(Duration::from_millis(300))
            .await
            .expect("recv"),
        None,
        "nothing more may arrive"
    );
    drop(consumer);

    // Everything was acknowledged: a second consumer gets nothing.
    let mut again = session
        .create_consumer(
            &Destination::queue("client-it"),
            ConsumerOptions::default().prefetch(4),
        )
        .await
        .expect("consumer");
    assert_eq!(
        again
            .recv_text(Duration::from_millis(500))
            .await
            .expect("recv"),
        None
    );
    drop(again);
    drop(producer);
    conn.close().await.expect("close");
}

#[tokio::test]
async fn failover_gives_up_after_the_startup_attempt_limit() {
    let port = testkit::reserve_port();
    let url = format!(
        "failover:(tcp://127.0.0.1:{port})?startupMaxReconnectAttempts=2&initialReconnectDelay=1"
    );
    let started = std::time::Instant::now();
    let err = Connection::connect(&url).await.err().expect("must fail");
    assert!(matches!(err, ClientError::Io(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// Waits for `want` on `events`, failing after `WAIT`.
async fn expect_event(
    events: &mut broadcast::Receiver<ConnectionEvent>,
    want: impl Fn(&ConnectionEvent) -> bool,
    what: &str,
) -> ConnectionEvent {
    tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(e) if want(&e) => return e,
                Ok(_) => {}
                Err(e) => panic!("events: {e}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {what} event within {WAIT:?}"))
}

/// Producer and consumer on `failover:(tcp://proxy)`; the proxy cuts every connection twice
/// while 100 persistent messages go through. Every send that returned Ok is received;
/// duplicates only for deliveries whose acknowledgement was lost with a socket (at most a
/// prefetch window per cut); the broker never stores a resent message twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failover_survives_two_cuts_without_losing_persistent_messages() {
    const COUNT: usize = 100;
    const PREFETCH: i32 = 5;
    let broker = TestBroker::start();
    let proxy = TcpProxy::start(&broker.openwire_addr());
    let url = format!("failover:(tcp://{})?randomize=false", proxy.addr());

    let producer_conn = Connection::connect(&url).await.expect("connect producer");
    let consumer_conn = Connection::connect(&url).await.expect("connect consumer");
    let proxied = format!("tcp://{}", proxy.addr());
    assert_eq!(producer_conn.uri().to_string(), proxied);
    let mut producer_events = producer_conn.events();
    let mut consumer_events = consumer_conn.events();

    let (producer, csession, consumer) = load::open_producer_and_consumer(
        &producer_conn,
        &consumer_conn,
        &Destination::queue("client-failover"),
        PREFETCH,
    )
    .await;

    let sent = Arc::new(AtomicUsize::new(0));
    // Paced so that both cuts land in the middle of the run.
    let sending = load::spawn_sender(
        producer,
        Destination::queue("client-failover"),
        COUNT,
        Duration::from_millis(5),
        sent.clone(),
    );
    let receiving = load::spawn_receiver(consumer, COUNT, WAIT);

    for (cut, at) in [(1, 30), (2, 65)] {
        load::wait_for_sends(&sent, at, WAIT).await;
        let n = proxy.cut();
        assert_eq!(n, 2, "cut {cut}: both connections were live");
        for events in [&mut producer_events, &mut consumer_events] {
            expect_event(
                events,
                |e| *e == ConnectionEvent::Interrupted,
                "Interrupted",
            )
            .await;
            let resumed = expect_event(
                events,
                |e| matches!(e, ConnectionEvent::Resumed(_)),
                "Resumed",
            )
            .await;
            assert_eq!(resumed, ConnectionEvent::Resumed(proxied.clone()));
        }
    }

    let (producer, ok) = tokio::time::timeout(WAIT, sending)
        .await
        .expect("sends finish")
        .expect("sender");
    assert_eq!(ok.len(), COUNT);
    let (consumer, seen) = tokio::time::timeout(WAIT * 2, receiving)
        .await
        .expect("receives finish")
        .expect("receiver");
    let (missing, duplicates) = load::loss_and_duplicates(&ok, &seen);
    assert!(missing.is_empty(), "lost: {missing:?}");
    assert!(
        duplicates <= 2 * PREFETCH as usize,
        "{duplicates} duplicates: {seen:?}"
    );
    assert!(proxy.accepted() >= 6, "reconnected through the proxy");
    drop(consumer);
    drop(producer);

    // Nothing left on the queue: resent sends were not stored twice, everything was acked
    // (a duplicate still queued would show up here).
    let mut check = csession
        .create_consumer(
            &Destination::queue("client-failover"),
            ConsumerOptions::default().prefetch(PREFETCH),
        )
        .await
        .expect("consumer");
    let mut leftovers = Vec::new();
    while let Some(t) = check
        .recv_text(Duration::from_millis(500))
        .await
        .expect("recv")
    {
        leftovers.push(t);
    }
    assert!(
        leftovers.iter().all(|t| seen.contains_key(t)),
        "unknown leftovers {leftovers:?}"
    );
    assert!(
        leftovers.len() + duplicates <= 2 * PREFETCH as usize,
        "leftovers {leftovers:?}"
    );
    drop(check);
    producer_conn.close().await.expect("close");
    consumer_conn.close().await.expect("close");
}

/// A one-connection fake broker: the handshake, a Response to every request, then a
/// ConnectionControl announcing `brokers`; then it closes the socket and stops listening.
async fn fake_announcing_broker(listener: tokio::net::TcpListener, brokers: String) {
    use futures_util::{SinkExt, StreamExt};
    use openwire::{Command, ConnectionControl, OpenWireCodec, WireFormat};
    let (socket, _) = listener.accept().await.expect("accept");
    drop(listener);
    let mut framed = tokio_util::codec::Framed::new(socket, OpenWireCodec::default());
    let ours = WireFormat::broker_default();
    framed
        .send(Command::WireFormatInfo(ours.to_info().expect("info")))
        .await
        .expect("send WireFormatInfo");
    while let Some(Ok(command)) = framed.next().await {
        if let Command::WireFormatInfo(theirs) = &command {
            let negotiated = ours.negotiate(theirs).expect("negotiate");
            framed.codec_mut().apply(&negotiated);
            continue;
        }
        if command.response_required() {
            framed
                .send(Command::response(command.command_id()))
                .await
                .expect("respond");
        }
        if matches!(command, Command::ConnectionInfo(_)) {
            let control = ConnectionControl {
                connected_brokers: Some(brokers.clone()),
                ..Default::default()
            };
            framed
                .send(Command::ConnectionControl(Box::new(control)))
                .await
                .expect("announce");
            return;
        }
    }
}

/// `updateURIsSupported` (the default): the brokers a broker announces in a
/// ConnectionControl become reconnect candidates: when the only broker of the URI goes
/// away, the connection continues on the announced one (resumed, or, when the fake broker
/// closed before the first connect completed, connected there directly).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_reconnects_to_a_broker_the_broker_announced() {
    let broker = TestBroker::start();
    let real = format!("tcp://{}", broker.openwire_addr());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let fake = listener.local_addr().expect("addr");
    let fake_task = tokio::spawn(fake_announcing_broker(listener, real.clone()));
    let url = format!("failover:(tcp://{fake})?initialReconnectDelay=10&maxReconnectAttempts=20");
    let conn = Connection::connect(&url).await.expect("connect");
    fake_task.await.expect("fake broker");
    let deadline = tokio::time::Instant::now() + WAIT;
    while conn.uri().to_string() != real {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still on {} after {WAIT:?}",
            conn.uri()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    eprintln!("--- the connection works on the announced broker");
    let session = conn.create_session(AckMode::Auto).await.expect("session");
    let producer = session.create_producer().await.expect("producer");
    let q = Destination::queue("client-announced");
    producer
        .send(&q, Message::text("via announced"))
        .await
        .expect("send");
    let mut c = session
        .create_consumer(&q, ConsumerOptions::default())
        .await
        .expect("consumer");
    assert_eq!(
        c.recv_text(WAIT).await.expect("recv").as_deref(),
        Some("via announced")
    );
    drop(c);
    drop(producer);
    conn.close().await.expect("close");
}
