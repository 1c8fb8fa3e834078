//! Producer flow control over OpenWire, with our Rust client.

use client::{
    AckMode, Connection, ConsumerOptions, Destination, Message, ProducerOptions, SendMode,
};
use std::time::Duration;

/// Well under the client's keep-alive interval (10 s): a held-back reply that only went out
/// with the next frame the client sends would take that long.
const PROMPT: Duration = Duration::from_secs(5);

/// Past `memory_limit` a non-persistent producer's sends are held back (no Response) while
/// its connection stays up; once a consumer frees memory, each held send is let through
/// and answered at once, so every message arrives promptly.
#[test]
fn producer_over_memory_limit_waits_and_finishes_once_a_consumer_drains() {
    const COUNT: usize = 40; // 40 × 64 KiB = 2.5 MiB against a 1 MiB limit
    let broker = testkit::TestBroker::start_with(Some("[broker]\nmemory_limit = \"1 MiB\"\n"), &[]);
    let url = format!("tcp://{}", broker.openwire_addr());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let conn = Connection::connect(&url).await.expect("connect");
        let session = conn.create_session(AckMode::Auto).await.expect("session");
        let producer = session
            .create_producer_with(ProducerOptions {
                persistent: false,
                send_mode: SendMode::Sync,
                ..ProducerOptions::default()
            })
            .await
            .expect("producer");
        let queue = Destination::queue("flow.control");
        let body = bytes::Bytes::from(vec![b'x'; 64 * 1024]);
        let send_all = async {
            for i in 0..COUNT {
                producer
                    .send(&queue, Message::bytes(body.clone()))
                    .await
                    .unwrap_or_else(|e| panic!("send {i}: {e}"));
            }
        };
        tokio::pin!(send_all);
        eprintln!("--- the producer must be held back by the memory limit");
        testkit::assert_held_back(&mut send_all, Duration::from_secs(2)).await;

        eprintln!("--- a consumer drains the queue; every held send is answered promptly");
        let consumer_conn = Connection::connect(&url).await.expect("connect consumer");
        let consumer_session = consumer_conn
            .create_session(AckMode::Auto)
            .await
            .expect("session");
        let mut consumer = consumer_session
            .create_consumer(&queue, ConsumerOptions::default().prefetch(4))
            .await
            .expect("consumer");
        let drain = async {
            for i in 0..COUNT {
                let m = consumer.recv(PROMPT).await.expect("recv");
                assert!(m.is_some(), "message {i} did not arrive within {PROMPT:?}");
            }
        };
        let (_, ()) = tokio::join!(
            async {
                tokio::time::timeout(PROMPT * 4, &mut send_all)
                    .await
                    .expect("the producer finishes once memory is freed")
            },
            drain
        );
    });
}
