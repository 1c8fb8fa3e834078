//! The client against a real ferromq broker process (`testkit::TestBroker`).

use client::Connection;
use std::time::Duration;
use testkit::TestBroker;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_and_receives_ten_text_messages_in_order() {
    let broker = TestBroker::start();
    let url = format!("tcp://{}", broker.openwire_addr());
    let conn = Connection::connect(&url).await.expect("connect");
    assert!(conn.connection_id().starts_with("ID:"));
    let session = conn.create_session().await.expect("session");
    let producer = session.create_producer().await.expect("producer");
    for i in 0..10 {
        producer
            .send_text("client-it", &format!("message {i}"), i % 2 == 0)
            .await
            .expect("send");
    }
    let mut consumer = session
        .create_consumer("client-it", 4)
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
        .create_consumer("client-it", 4)
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
async fn failover_uri_is_not_supported_yet() {
    let err = Connection::connect("failover:(tcp://127.0.0.1:1)")
        .await
        .err()
        .expect("must fail");
    assert!(err.to_string().contains("failover"), "{err}");
}
