//! Browse a queue: list its messages without consuming them.
//!
//! `cargo run --release -p client --example browse -- tcp://127.0.0.1:61616 QUEUE`

use client::{AckMode, ClientError, Connection, Destination};
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), ClientError> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "tcp://127.0.0.1:61616".into());
    let queue = args
        .next()
        .unwrap_or_else(|| "examples.send-receive".into());
    let conn = Connection::connect(&url).await?;
    let session = conn.create_session(AckMode::Auto).await?;
    let mut browser = session
        .create_browser(&Destination::queue(&queue), None)
        .await?;
    let mut n = 0;
    while let Some(m) = browser.next(Duration::from_secs(5)).await? {
        n += 1;
        let id = m.message_id().map(ToString::to_string).unwrap_or_default();
        println!(
            "{id} priority {} {:?}",
            m.priority(),
            m.text_body().ok().flatten()
        );
    }
    println!("{n} message(s) on {queue}");
    drop(browser);
    conn.close().await
}
