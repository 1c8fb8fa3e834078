//! Request/reply: a responder answers on JMSReplyTo; the requester waits on a temporary
//! queue and matches the correlation id.
//!
//! `cargo run --release -p client --example request_reply -- tcp://127.0.0.1:61616`

use client::{AckMode, ClientError, Connection, ConsumerOptions, Destination, Message};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), ClientError> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tcp://127.0.0.1:61616".into());
    let service = Destination::queue("examples.uppercase");

    // The responder: its own connection, one request at a time.
    let responder_conn = Connection::connect(&url).await?;
    let rsession = responder_conn.create_session(AckMode::Auto).await?;
    let mut requests = rsession
        .create_consumer(&service, ConsumerOptions::default())
        .await?;
    let replier = rsession.create_producer().await?;
    let responder = tokio::spawn(async move {
        while let Some(req) = requests.recv(Duration::from_secs(2)).await? {
            let Some(reply_to) = req.reply_to().cloned() else {
                continue;
            };
            let mut reply = Message::text(req.text_body()?.unwrap_or_default().to_uppercase());
            reply.set_correlation_id(req.correlation_id().unwrap_or_default());
            replier.send(&reply_to, reply).await?;
        }
        Ok::<_, ClientError>(())
    });

    let conn = Connection::connect(&url).await?;
    let session = conn.create_session(AckMode::Auto).await?;
    let reply_queue = session.create_temporary_queue().await?;
    let mut replies = session
        .create_consumer(&reply_queue, ConsumerOptions::default())
        .await?;
    let producer = session.create_producer().await?;
    for (i, word) in ["hello", "world"].iter().enumerate() {
        let mut req = Message::text(*word);
        req.set_reply_to(reply_queue.clone());
        req.set_correlation_id(format!("req-{i}"));
        producer.send(&service, req).await?;
        match replies.recv(Duration::from_secs(5)).await? {
            Some(r) => println!("{word} -> {:?} ({:?})", r.text_body()?, r.correlation_id()),
            None => println!("{word}: no reply"),
        }
    }
    responder
        .await
        .map_err(|e| ClientError::Protocol(e.to_string()))??;
    drop(replies);
    drop(producer);
    conn.close().await?;
    responder_conn.close().await
}
