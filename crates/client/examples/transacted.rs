//! A transacted session: move messages from one queue to another, all or nothing.
//!
//! `cargo run --release -p client --example transacted -- 'failover:(tcp://127.0.0.1:61616)'`

use client::{AckMode, ClientError, Connection, ConsumerOptions, Destination, Message};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), ClientError> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tcp://127.0.0.1:61616".into());
    let inbox = Destination::queue("examples.inbox");
    let outbox = Destination::queue("examples.outbox");
    let conn = Connection::connect(&url).await?;

    let feeder = conn.create_session(AckMode::Auto).await?;
    let p = feeder.create_producer().await?;
    for i in 0..3 {
        p.send(&inbox, Message::text(format!("order {i}"))).await?;
    }

    let session = conn.create_session(AckMode::Transacted).await?;
    let producer = session.create_producer().await?;
    let mut consumer = session
        .create_consumer(&inbox, ConsumerOptions::default())
        .await?;
    while let Some(m) = consumer.recv(Duration::from_secs(1)).await? {
        let text = m.text_body()?.unwrap_or_default();
        producer
            .send(&outbox, Message::text(format!("processed {text}")))
            .await?;
        match session.commit().await {
            Ok(()) => println!("moved {text}"),
            // Failover during the transaction: nothing happened, the message comes again.
            Err(ClientError::TransactionRolledBack(why)) => println!("retrying {text}: {why}"),
            // The commit may or may not have been applied: check downstream for duplicates.
            Err(ClientError::TransactionInDoubt(why)) => println!("in doubt {text}: {why}"),
            Err(e) => return Err(e),
        }
    }
    drop((consumer, producer, p));
    conn.close().await
}
