//! Send ten text messages to a queue and receive them.
//!
//! `cargo run --release -p client --example send_receive -- 'failover:(tcp://127.0.0.1:61616)'`

use client::{AckMode, ClientError, Connection, ConsumerOptions, Destination, Message};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), ClientError> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tcp://127.0.0.1:61616".into());
    let conn = Connection::connect(&url).await?;
    println!("connected to {}", conn.uri());
    let session = conn.create_session(AckMode::Auto).await?;
    let queue = Destination::queue("examples.send-receive");
    let producer = session.create_producer().await?;
    for i in 0..10 {
        let mut m = Message::text(format!("message {i}"));
        m.set_property("index", i)?;
        let id = producer.send(&queue, m).await?;
        println!("sent {id}");
    }
    let mut consumer = session
        .create_consumer(&queue, ConsumerOptions::default())
        .await?;
    while let Some(m) = consumer.recv(Duration::from_secs(1)).await? {
        println!(
            "received {:?} (index {:?})",
            m.text_body()?,
            m.property("index")?
        );
    }
    drop(consumer);
    drop(producer);
    conn.close().await
}
