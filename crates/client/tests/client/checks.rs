//! Feature checks that run against any broker URL: ferromq (`main.rs`) and a real ActiveMQ
//! 5.17 (`activemq.rs`). Each uses destinations named after `Target::prefix`, so several
//! checks can share one broker.

use client::{
    AckMode, ClientError, ConnectOptions, Connection, ConsumerOptions, Destination, Message,
    PrimitiveMap, PrimitiveValue, ProducerOptions, SendMode,
};
use std::time::Duration;

/// How long a message that should arrive may take.
pub const WAIT: Duration = Duration::from_secs(10);
/// How long we listen to conclude that nothing more arrives.
pub const QUIET: Duration = Duration::from_millis(400);

/// The broker under test.
pub struct Target {
    pub url: String,
    /// Unique per run: queue/topic names start with it.
    pub prefix: String,
    /// ferromq delivers by priority by default; ActiveMQ only with `prioritizedMessages`.
    pub prioritized: bool,
}

impl Target {
    pub fn queue(&self, name: &str) -> Destination {
        Destination::queue(format!("{}.{name}", self.prefix))
    }

    pub fn topic(&self, name: &str) -> Destination {
        Destination::topic(format!("{}.{name}", self.prefix))
    }

    pub async fn connect(&self) -> Connection {
        Connection::connect(&self.url).await.expect("connect")
    }
}

async fn send_texts(conn: &Connection, dest: &Destination, texts: &[&str]) {
    let session = conn.create_session(AckMode::Auto).await.expect("session");
    let producer = session.create_producer().await.expect("producer");
    for t in texts {
        producer.send(dest, Message::text(t)).await.expect("send");
    }
}

/// A session of `mode` with one consumer on `dest`.
async fn open(
    conn: &Connection,
    mode: AckMode,
    dest: &Destination,
    options: ConsumerOptions,
) -> (client::Session, client::Consumer) {
    let session = conn.create_session(mode).await.expect("session");
    let consumer = session
        .create_consumer(dest, options)
        .await
        .expect("consumer");
    (session, consumer)
}

/// `"{prefix}0"`, `"{prefix}1"` …
fn numbered(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// Receives until `QUIET` passes without a message.
async fn drain(consumer: &mut client::Consumer) -> Vec<String> {
    let mut got = Vec::new();
    while let Some(m) = consumer.recv(QUIET).await.expect("recv") {
        got.push(m.text_body().expect("text").unwrap_or_default());
    }
    got
}

async fn remaining(conn: &Connection, dest: &Destination) -> Vec<String> {
    let session = conn.create_session(AckMode::Auto).await.expect("session");
    let mut c = session
        .create_consumer(dest, ConsumerOptions::default())
        .await
        .expect("consumer");
    drain(&mut c).await
}

/// CLIENT acknowledges everything delivered so far; INDIVIDUAL only the message;
/// DUPS_OK acknowledges in batches (all on close); unacknowledged messages come back
/// when the consumer closes; `recover` redelivers locally, marked redelivered.
pub async fn ack_modes(t: &Target) {
    let conn = t.connect().await;

    eprintln!("--- CLIENT: nothing acknowledged → all three come back");
    let q = t.queue("ack.client");
    send_texts(&conn, &q, &["a", "b", "c"]).await;
    let (session, mut c) = open(&conn, AckMode::Client, &q, ConsumerOptions::default()).await;
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(c.recv(WAIT).await.expect("recv").expect("a message"));
    }
    drop(c);
    assert_eq!(remaining(&conn, &q).await, ["a", "b", "c"]);

    eprintln!("--- CLIENT: acknowledging the second acknowledges the first two");
    send_texts(&conn, &q, &["d", "e", "f"]).await;
    let mut c = session
        .create_consumer(&q, ConsumerOptions::default())
        .await
        .expect("consumer");
    let _d = c.recv(WAIT).await.expect("recv").expect("d");
    let e = c.recv(WAIT).await.expect("recv").expect("e");
    e.acknowledge().expect("ack");
    let _f = c.recv(WAIT).await.expect("recv").expect("f");
    drop(c);
    assert_eq!(remaining(&conn, &q).await, ["f"]);

    eprintln!("--- CLIENT: recover redelivers locally, marked redelivered");
    send_texts(&conn, &q, &["g", "h"]).await;
    let mut c = session
        .create_consumer(&q, ConsumerOptions::default())
        .await
        .expect("consumer");
    let g = c.recv(WAIT).await.expect("recv").expect("g");
    assert!(!g.redelivered());
    let _h = c.recv(WAIT).await.expect("recv").expect("h");
    session.recover().expect("recover");
    let g2 = c.recv(WAIT).await.expect("recv").expect("g again");
    assert_eq!(g2.text_body().expect("text").as_deref(), Some("g"));
    assert!(g2.redelivered());
    let h2 = c.recv(WAIT).await.expect("recv").expect("h again");
    assert_eq!(h2.text_body().expect("text").as_deref(), Some("h"));
    h2.acknowledge().expect("ack");
    drop(c);
    assert!(remaining(&conn, &q).await.is_empty());

    eprintln!("--- INDIVIDUAL: only the acknowledged message is consumed");
    let q = t.queue("ack.individual");
    send_texts(&conn, &q, &["a", "b", "c"]).await;
    let (_session, mut c) = open(&conn, AckMode::Individual, &q, ConsumerOptions::default()).await;
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(c.recv(WAIT).await.expect("recv").expect("a message"));
    }
    got[1].acknowledge().expect("ack b");
    drop(c);
    assert_eq!(remaining(&conn, &q).await, ["a", "c"]);

    eprintln!("--- AUTO: a burst past the prefetch window, acks merged where they queue up");
    // The connection writer sends the acks that queue up behind each other as one range
    // ack: the broker must take it as that many (ActiveMQ refuses a count that does not
    // match its dispatched list; the window must reopen past 1,000, nothing may stay).
    let q = t.queue("ack.auto.burst");
    let session = conn.create_session(AckMode::Auto).await.expect("session");
    let producer = session
        .create_producer_with(ProducerOptions::default().non_persistent())
        .await
        .expect("producer");
    const BURST: usize = 2_500;
    for i in 0..BURST {
        producer
            .send(&q, Message::text(format!("m{i}")))
            .await
            .expect("send");
    }
    let (_session, mut c) = open(&conn, AckMode::Auto, &q, ConsumerOptions::default()).await;
    let got = drain(&mut c).await;
    assert_eq!(got, numbered("m", BURST));
    drop(c);
    assert!(remaining(&conn, &q).await.is_empty());

    eprintln!("--- DUPS_OK: everything received is acknowledged by close");
    let q = t.queue("ack.dupsok");
    let texts = numbered("m", 25);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    send_texts(&conn, &q, &refs).await;
    let (_session, mut c) = open(
        &conn,
        AckMode::DupsOk,
        &q,
        ConsumerOptions::default().prefetch(10),
    )
    .await;
    assert_eq!(drain(&mut c).await, refs);
    drop(c);
    assert!(remaining(&conn, &q).await.is_empty());

    eprintln!("--- CLIENT with prefetch 2: delivered acks reopen the window");
    let q = t.queue("ack.window");
    let texts = numbered("w", 10);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    send_texts(&conn, &q, &refs).await;
    let (session, mut c) = open(
        &conn,
        AckMode::Client,
        &q,
        ConsumerOptions::default().prefetch(2),
    )
    .await;
    let got = drain(&mut c).await;
    assert_eq!(got, refs, "all ten without acknowledging");
    session.acknowledge().expect("ack");
    drop(c);
    assert!(remaining(&conn, &q).await.is_empty());
    conn.close().await.expect("close");
}

/// Sends and acknowledgements of a transacted session take effect on commit only; a
/// rollback discards sends and redelivers received messages (marked redelivered).
pub async fn transactions(t: &Target) {
    let conn = t.connect().await;
    let q = t.queue("tx");
    let observer = conn.create_session(AckMode::Auto).await.expect("session");
    let mut watch = observer
        .create_consumer(&q, ConsumerOptions::default())
        .await
        .expect("consumer");
    let session = conn
        .create_session(AckMode::Transacted)
        .await
        .expect("session");
    let producer = session.create_producer().await.expect("producer");

    eprintln!("--- sends are invisible until commit");
    producer.send(&q, Message::text("t1")).await.expect("send");
    producer.send(&q, Message::text("t2")).await.expect("send");
    assert!(watch.recv(QUIET).await.expect("recv").is_none());
    session.commit().await.expect("commit");
    assert_eq!(drain(&mut watch).await, ["t1", "t2"]);

    eprintln!("--- a rolled-back send never arrives");
    producer
        .send(&q, Message::text("lost"))
        .await
        .expect("send");
    session.rollback().await.expect("rollback");
    assert!(watch.recv(QUIET).await.expect("recv").is_none());
    drop(watch);

    eprintln!("--- a rolled-back receive comes again; commit consumes it");
    send_texts(&conn, &q, &["r1"]).await;
    let mut c = session
        .create_consumer(&q, ConsumerOptions::default())
        .await
        .expect("consumer");
    let m = c.recv(WAIT).await.expect("recv").expect("r1");
    assert!(!m.redelivered());
    session.rollback().await.expect("rollback");
    let again = c.recv(WAIT).await.expect("recv").expect("r1 again");
    assert_eq!(again.text_body().expect("text").as_deref(), Some("r1"));
    assert!(again.redelivered());
    assert_eq!(again.redelivery_count(), 1);
    producer
        .send(&q, Message::text("reply-in-tx"))
        .await
        .expect("send");
    session.commit().await.expect("commit");
    drop(c);
    assert_eq!(remaining(&conn, &q).await, ["reply-in-tx"]);

    eprintln!("--- commit/rollback on a non-transacted session is an error");
    assert!(matches!(
        observer.commit().await,
        Err(ClientError::IllegalState(_))
    ));
    drop(producer);
    conn.close().await.expect("close");
}

/// Delivery mode, priority, TTL, sync and async (windowed) sends.
pub async fn producer_options(t: &Target) {
    let conn = t.connect().await;
    let session = conn.create_session(AckMode::Auto).await.expect("session");

    eprintln!("--- headers: persistent flag, priority, expiration");
    let q = t.queue("prod.headers");
    let np = session
        .create_producer_with(
            ProducerOptions::default()
                .non_persistent()
                .priority(7)
                .time_to_live(Duration::from_secs(600)),
        )
        .await
        .expect("producer");
    let sent_id = np.send(&q, Message::text("np")).await.expect("send");
    let mut c = session
        .create_consumer(&q, ConsumerOptions::default())
        .await
        .expect("consumer");
    let m = c.recv(WAIT).await.expect("recv").expect("np");
    assert!(!m.persistent());
    assert_eq!(m.priority(), 7);
    assert!(m.expiration() > m.timestamp(), "expiration set");
    assert_eq!(
        m.message_id().map(ToString::to_string),
        Some(sent_id.to_string())
    );
    drop(c);

    eprintln!("--- an expired message is not delivered");
    let q = t.queue("prod.ttl");
    let short = session
        .create_producer_with(ProducerOptions::default().time_to_live(Duration::from_millis(50)))
        .await
        .expect("producer");
    short.send(&q, Message::text("old")).await.expect("send");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let plain = session.create_producer().await.expect("producer");
    plain.send(&q, Message::text("fresh")).await.expect("send");
    assert_eq!(remaining(&conn, &q).await, ["fresh"]);

    if t.prioritized {
        eprintln!("--- higher priority first");
        let q = t.queue("prod.priority");
        for (p, text) in [(1u8, "low"), (9, "high"), (5, "mid")] {
            let prod = session
                .create_producer_with(ProducerOptions::default().priority(p))
                .await
                .expect("producer");
            prod.send(&q, Message::text(text)).await.expect("send");
        }
        assert_eq!(remaining(&conn, &q).await, ["high", "mid", "low"]);
    }

    eprintln!("--- async sends within a 4 KiB producer window (needs ProducerAcks)");
    let q = t.queue("prod.window");
    let windowed = session
        .create_producer_with(
            ProducerOptions::default()
                .send_mode(SendMode::Async)
                .window_size(4096),
        )
        .await
        .expect("producer");
    let body = "x".repeat(1024);
    for i in 0..200 {
        let mut m = Message::text(&body);
        m.set_property("i", i).expect("property");
        windowed.send(&q, m).await.expect("async send");
    }
    let session2 = conn.create_session(AckMode::Auto).await.expect("session");
    let mut c = session2
        .create_consumer(&q, ConsumerOptions::default())
        .await
        .expect("consumer");
    for i in 0..200 {
        let m = c.recv(WAIT).await.expect("recv").expect("windowed message");
        assert_eq!(
            m.property("i").expect("props"),
            Some(PrimitiveValue::Int(i))
        );
    }
    drop(c);

    eprintln!("--- sync non-persistent send is answered");
    let sync = session
        .create_producer_with(
            ProducerOptions::default()
                .non_persistent()
                .send_mode(SendMode::Sync),
        )
        .await
        .expect("producer");
    sync.send(&t.queue("prod.sync"), Message::text("s"))
        .await
        .expect("sync send");
    assert_eq!(remaining(&conn, &t.queue("prod.sync")).await, ["s"]);
    drop((np, short, plain, windowed, sync));
    conn.close().await.expect("close");
}

/// Topics fan out; selectors filter; durable subscriptions keep what was published while
/// offline until unsubscribed; prefetch 0 pulls; recv times out.
pub async fn consumers(t: &Target) {
    let conn = t.connect().await;
    let session = conn.create_session(AckMode::Auto).await.expect("session");
    let producer = session.create_producer().await.expect("producer");

    eprintln!("--- a topic message reaches every subscriber");
    let topic = t.topic("news");
    let mut s1 = session
        .create_consumer(&topic, ConsumerOptions::default())
        .await
        .expect("sub");
    let mut s2 = session
        .create_consumer(&topic, ConsumerOptions::default())
        .await
        .expect("sub");
    producer
        .send(&topic, Message::text("n1"))
        .await
        .expect("send");
    for s in [&mut s1, &mut s2] {
        let m = s.recv(WAIT).await.expect("recv").expect("n1");
        assert_eq!(m.text_body().expect("text").as_deref(), Some("n1"));
    }
    drop((s1, s2));

    eprintln!("--- selector on a property");
    let q = t.queue("selector");
    for (color, n) in [("red", 1), ("blue", 2), ("red", 3)] {
        let mut m = Message::text(format!("{color}{n}"));
        m.set_property("color", color).expect("property");
        m.set_property("n", n).expect("property");
        producer.send(&q, m).await.expect("send");
    }
    let mut red = session
        .create_consumer(
            &q,
            ConsumerOptions::default().selector("color = 'red' AND n > 1"),
        )
        .await
        .expect("consumer");
    assert_eq!(drain(&mut red).await, ["red3"]);
    drop(red);
    assert_eq!(remaining(&conn, &q).await, ["red1", "blue2"]);

    eprintln!("--- recv returns None after its timeout");
    let mut idle = session
        .create_consumer(&t.queue("idle"), ConsumerOptions::default())
        .await
        .expect("consumer");
    let started = std::time::Instant::now();
    assert!(idle
        .recv(Duration::from_millis(200))
        .await
        .expect("recv")
        .is_none());
    assert!(started.elapsed() >= Duration::from_millis(190));
    drop(idle);

    eprintln!("--- prefetch 0: each recv pulls one message");
    let q = t.queue("pull");
    send_texts(&conn, &q, &["p1", "p2"]).await;
    let mut pull = session
        .create_consumer(&q, ConsumerOptions::default().prefetch(0))
        .await
        .expect("consumer");
    assert_eq!(
        pull.recv_text(WAIT).await.expect("recv").as_deref(),
        Some("p1")
    );
    assert_eq!(
        pull.recv_text(WAIT).await.expect("recv").as_deref(),
        Some("p2")
    );
    assert_eq!(pull.recv_text(QUIET).await.expect("recv"), None);
    drop(pull);
    drop(producer);
    conn.close().await.expect("close");

    eprintln!("--- durable subscription keeps messages while offline");
    let client_id = format!("{}-durable", t.prefix);
    let topic = t.topic("durable");
    let pub_conn = t.connect().await;

    let (sub_conn, session, sub) = durable(t, &client_id, &topic).await;
    assert_eq!(sub_conn.client_id(), client_id);
    drop(sub);
    drop(session);
    sub_conn.close().await.expect("close");

    send_texts(&pub_conn, &topic, &["d1", "d2"]).await;
    let (sub_conn, session, mut sub) = durable(t, &client_id, &topic).await;
    assert_eq!(drain(&mut sub).await, ["d1", "d2"]);
    drop(sub);
    session.unsubscribe("sub1").await.expect("unsubscribe");
    sub_conn.close().await.expect("close");

    eprintln!("--- after unsubscribe nothing is kept");
    send_texts(&pub_conn, &topic, &["gone"]).await;
    let (sub_conn, session, mut sub) = durable(t, &client_id, &topic).await;
    assert!(drain(&mut sub).await.is_empty());
    drop(sub);
    session.unsubscribe("sub1").await.expect("unsubscribe");
    assert!(
        matches!(
            session.unsubscribe("sub1").await,
            Err(ClientError::Broker { .. })
        ),
        "unsubscribing twice is refused"
    );
    sub_conn.close().await.expect("close");
    pub_conn.close().await.expect("close");
}

/// Connects with `client_id` and opens durable subscription `sub1` on `topic`.
async fn durable(
    t: &Target,
    client_id: &str,
    topic: &Destination,
) -> (Connection, client::Session, client::Consumer) {
    let options = ConnectOptions {
        client_id: Some(client_id.to_string()),
    };
    let conn = Connection::connect_with(&t.url, options)
        .await
        .expect("connect");
    let session = conn.create_session(AckMode::Auto).await.expect("session");
    let sub = session
        .create_durable_subscriber(topic, "sub1", ConsumerOptions::default())
        .await
        .expect("durable subscriber");
    (conn, session, sub)
}

/// A browser sees the queued messages in order without consuming them.
pub async fn browsing(t: &Target) {
    let conn = t.connect().await;
    let q = t.queue("browse");
    send_texts(&conn, &q, &["b1", "b2", "b3"]).await;
    let session = conn.create_session(AckMode::Auto).await.expect("session");
    let mut browser = session.create_browser(&q, None).await.expect("browser");
    let seen: Vec<String> = browser
        .collect(WAIT)
        .await
        .expect("browse")
        .iter()
        .map(|m| m.text_body().expect("text").unwrap_or_default())
        .collect();
    assert_eq!(seen, ["b1", "b2", "b3"]);
    assert!(browser.next(QUIET).await.expect("next").is_none(), "ended");
    drop(browser);
    let mut filtered = session
        .create_browser(&q, Some("JMSPriority = 4"))
        .await
        .expect("browser");
    assert_eq!(filtered.collect(WAIT).await.expect("browse").len(), 3);
    drop(filtered);
    assert_eq!(
        remaining(&conn, &q).await,
        ["b1", "b2", "b3"],
        "still queued"
    );
    conn.close().await.expect("close");
}

/// Request/reply through a temporary queue: the responder answers to JMSReplyTo with the
/// request's correlation id.
pub async fn request_reply(t: &Target) {
    let requests = t.queue("requests");
    let responder_conn = t.connect().await;
    let rsession = responder_conn
        .create_session(AckMode::Auto)
        .await
        .expect("session");
    let mut incoming = rsession
        .create_consumer(&requests, ConsumerOptions::default())
        .await
        .expect("consumer");
    let rproducer = rsession.create_producer().await.expect("producer");
    let responder = tokio::spawn(async move {
        for _ in 0..2 {
            let req = incoming.recv(WAIT).await.expect("recv").expect("request");
            let reply_to = req.reply_to().cloned().expect("reply-to");
            assert!(reply_to.kind.is_temporary());
            let mut reply = Message::text(format!(
                "re: {}",
                req.text_body().expect("text").unwrap_or_default()
            ));
            reply.set_correlation_id(req.correlation_id().unwrap_or_default());
            rproducer.send(&reply_to, reply).await.expect("reply");
        }
        (incoming, rproducer)
    });

    let conn = t.connect().await;
    let session = conn.create_session(AckMode::Auto).await.expect("session");
    let reply_queue = session.create_temporary_queue().await.expect("temp queue");
    let mut replies = session
        .create_consumer(&reply_queue, ConsumerOptions::default())
        .await
        .expect("consumer");
    let producer = session.create_producer().await.expect("producer");
    for i in 0..2 {
        let mut req = Message::text(format!("ping{i}"));
        req.set_reply_to(reply_queue.clone());
        req.set_correlation_id(format!("corr-{i}"));
        producer.send(&requests, req).await.expect("request");
        let reply = replies.recv(WAIT).await.expect("recv").expect("reply");
        assert_eq!(
            reply.text_body().expect("text"),
            Some(format!("re: ping{i}"))
        );
        assert_eq!(reply.correlation_id(), Some(format!("corr-{i}").as_str()));
    }
    let (incoming, rproducer) = responder.await.expect("responder");
    drop((incoming, rproducer));
    drop(replies);
    conn.delete_temporary_destination(&reply_queue)
        .await
        .expect("delete temp queue");
    drop(producer);
    conn.close().await.expect("close");
    responder_conn.close().await.expect("close");
}

/// Text, bytes and map bodies and typed properties arrive as sent.
pub async fn message_types(t: &Target) {
    let conn = t.connect().await;
    let q = t.queue("types");
    let session = conn.create_session(AckMode::Auto).await.expect("session");
    let producer = session.create_producer().await.expect("producer");

    let mut text = Message::text("héllo\0wörld 😀");
    text.set_property("b", true).expect("p");
    text.set_property("i8", -8i8).expect("p");
    text.set_property("i16", -1600i16).expect("p");
    text.set_property("i32", 32i32).expect("p");
    text.set_property("i64", 1i64 << 40).expect("p");
    text.set_property("f32", 1.5f32).expect("p");
    text.set_property("f64", -2.25f64).expect("p");
    text.set_property("s", "str").expect("p");
    producer.send(&q, text).await.expect("send text");

    let raw: Vec<u8> = (0..=255u8).collect();
    producer
        .send(&q, Message::bytes(raw.clone()))
        .await
        .expect("send bytes");

    let mut map = PrimitiveMap::new();
    map.insert("name", PrimitiveValue::String("widget".into()));
    map.insert("count", PrimitiveValue::Long(42));
    map.insert("ok", PrimitiveValue::Boolean(true));
    map.insert("ratio", PrimitiveValue::Double(0.5));
    producer
        .send(&q, Message::map(&map).expect("map"))
        .await
        .expect("send map");
    producer
        .send(&q, Message::empty())
        .await
        .expect("send empty");

    let mut c = session
        .create_consumer(&q, ConsumerOptions::default())
        .await
        .expect("consumer");
    let m = c.recv(WAIT).await.expect("recv").expect("text");
    assert_eq!(
        m.text_body().expect("text").as_deref(),
        Some("héllo\0wörld 😀")
    );
    for (k, v) in [
        ("b", PrimitiveValue::Boolean(true)),
        ("i8", PrimitiveValue::Byte(-8)),
        ("i16", PrimitiveValue::Short(-1600)),
        ("i32", PrimitiveValue::Int(32)),
        ("i64", PrimitiveValue::Long(1 << 40)),
        ("f32", PrimitiveValue::Float(1.5)),
        ("f64", PrimitiveValue::Double(-2.25)),
        ("s", PrimitiveValue::String("str".into())),
    ] {
        assert_eq!(m.property(k).expect("props"), Some(v), "property {k}");
    }
    let m = c.recv(WAIT).await.expect("recv").expect("bytes");
    assert_eq!(m.bytes_body().expect("bytes").as_ref(), raw.as_slice());
    assert!(m.text_body().is_err(), "a bytes message has no text");
    let m = c.recv(WAIT).await.expect("recv").expect("map");
    let got = m.map_body().expect("map");
    for (k, v) in map.iter() {
        assert_eq!(got.get(k), Some(v), "map entry {k}");
    }
    let m = c.recv(WAIT).await.expect("recv").expect("empty");
    assert_eq!(m.kind(), client::MessageKind::Message);
    drop(c);
    drop(producer);
    conn.close().await.expect("close");
}
