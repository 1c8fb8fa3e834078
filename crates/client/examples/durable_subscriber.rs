//! A durable topic subscription: messages published while the subscriber is offline are
//! kept for it (same client id and subscription name), until it unsubscribes.
//!
//! `cargo run --release -p client --example durable_subscriber -- tcp://127.0.0.1:61616`

use client::{
    AckMode, ClientError, ConnectOptions, Connection, ConsumerOptions, Destination, Message,
};
use std::time::Duration;

async fn subscriber(
    url: &str,
) -> Result<(Connection, client::Session, client::Consumer), ClientError> {
    let options = ConnectOptions {
        client_id: Some("examples-durable-client".into()),
    };
    let conn = Connection::connect_with(url, options).await?;
    let session = conn.create_session(AckMode::Auto).await?;
    let sub = session
        .create_durable_subscriber(
            &Destination::topic("examples.news"),
            "news-sub",
            ConsumerOptions::default(),
        )
        .await?;
    Ok((conn, session, sub))
}

#[tokio::main]
async fn main() -> Result<(), ClientError> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tcp://127.0.0.1:61616".into());
    // Subscribe once, then go offline.
    let (conn, session, sub) = subscriber(&url).await?;
    drop(sub);
    drop(session);
    conn.close().await?;

    let publisher = Connection::connect(&url).await?;
    let psession = publisher.create_session(AckMode::Auto).await?;
    let producer = psession.create_producer().await?;
    for i in 0..3 {
        producer
            .send(
                &Destination::topic("examples.news"),
                Message::text(format!("news {i}")),
            )
            .await?;
    }
    println!("published 3 while the subscriber was offline");

    let (conn, session, mut sub) = subscriber(&url).await?;
    while let Some(m) = sub.recv(Duration::from_secs(1)).await? {
        println!("received {:?}", m.text_body()?);
    }
    drop(sub);
    session.unsubscribe("news-sub").await?;
    conn.close().await?;
    drop(producer);
    publisher.close().await
}
