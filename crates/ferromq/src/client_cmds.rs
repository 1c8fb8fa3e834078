//! `ferromq produce` and `ferromq consume` over STOMP.

use anyhow::{bail, Context};
use bytes::Bytes;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::time::{Duration, Instant};
use stomp::{ConnectOptions, StompClient};

/// Above this many messages a progress bar replaces the per-message lines.
const PROGRESS_THRESHOLD: u64 = 1000;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("dest").required(true).args(["queue", "topic"])))]
pub struct ProduceArgs {
    /// Broker STOMP address HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:61613")]
    stomp: String,
    #[arg(long)]
    queue: Option<String>,
    #[arg(long)]
    topic: Option<String>,
    /// Number of messages.
    #[arg(long, default_value_t = 1)]
    count: u64,
    /// Body size in bytes (a generated body).
    #[arg(long, conflicts_with = "text")]
    size: Option<usize>,
    /// Body text (the same for every message).
    #[arg(long)]
    text: Option<String>,
    /// Send non-persistent messages (default: persistent, as in JMS).
    #[arg(long)]
    non_persistent: bool,
    /// One JSON object per line instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct ConsumeArgs {
    /// Broker STOMP address HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:61613")]
    stomp: String,
    #[arg(long)]
    queue: String,
    /// Number of messages to receive.
    #[arg(long, default_value_t = 1)]
    count: u64,
    /// Give up after this many seconds without a message.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// One JSON object per line instead of text.
    #[arg(long)]
    json: bool,
}

fn progress(count: u64, json: bool) -> Option<ProgressBar> {
    if count <= PROGRESS_THRESHOLD || json {
        return None;
    }
    let bar = ProgressBar::new(count);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} eta {eta}") {
        bar.set_style(style);
    }
    Some(bar)
}

pub async fn produce(args: ProduceArgs) -> anyhow::Result<()> {
    let destination = match (&args.queue, &args.topic) {
        (Some(q), _) => format!("/queue/{q}"),
        (None, Some(t)) => format!("/topic/{t}"),
        (None, None) => bail!("give --queue or --topic"),
    };
    let mut client = StompClient::connect(&args.stomp, ConnectOptions::default())
        .await
        .with_context(|| format!("cannot connect to {}", args.stomp))?;
    if args.json {
        println!(
            "{}",
            json!({"event": "connected", "broker": format!("stomp://{}", args.stomp)})
        );
    } else {
        println!("connected to stomp://{}", args.stomp);
    }
    let generated = args.size.map(|n| Bytes::from(vec![b'x'; n]));
    let persistent = if args.non_persistent { "false" } else { "true" };
    let bar = progress(args.count, args.json);
    let started = Instant::now();
    for i in 1..=args.count {
        let body = match (&args.text, &generated) {
            (Some(t), _) => Bytes::from(t.clone()),
            (None, Some(b)) => b.clone(),
            (None, None) => Bytes::from(format!("message {i}")),
        };
        let len = body.len();
        // A receipt per message: "sent" means the broker has stored it.
        client
            .send(&destination, body, &[("persistent", persistent)], true)
            .await
            .with_context(|| format!("sending message {i}"))?;
        match &bar {
            Some(b) => b.inc(1),
            None if args.json => println!(
                "{}",
                json!({"event": "sent", "seq": i, "destination": destination, "bytes": len, "persistent": !args.non_persistent})
            ),
            None => println!("sent message {i} ({len} bytes) to {destination}"),
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = args.count as f64 / secs.max(1e-9);
    if args.json {
        println!(
            "{}",
            json!({"event": "done", "sent": args.count, "seconds": secs, "rate": rate})
        );
    } else {
        println!(
            "sent {} messages to {destination} in {secs:.2}s ({rate:.0} msg/s)",
            args.count
        );
    }
    client.disconnect().await.ok();
    Ok(())
}

pub async fn consume(args: ConsumeArgs) -> anyhow::Result<()> {
    let destination = format!("/queue/{}", args.queue);
    let mut client = StompClient::connect(&args.stomp, ConnectOptions::default())
        .await
        .with_context(|| format!("cannot connect to {}", args.stomp))?;
    if args.json {
        println!(
            "{}",
            json!({"event": "connected", "broker": format!("stomp://{}", args.stomp)})
        );
    } else {
        println!("connected to stomp://{}", args.stomp);
    }
    client
        .subscribe("ferromq-consume", &destination, "client-individual", &[])
        .await
        .context("subscribing")?;
    let bar = progress(args.count, args.json);
    let idle = Duration::from_secs_f64(args.timeout.max(0.0));
    let mut received = 0u64;
    while received < args.count {
        let Some(frame) = client.recv(idle).await.context("receiving")? else {
            break;
        };
        received += 1;
        // Receipted ack: once we print it, the broker will not deliver it again.
        client
            .ack(&frame, None, true)
            .await
            .context("acknowledging")?;
        let id = frame.header("message-id").unwrap_or("").to_string();
        match &bar {
            Some(b) => b.inc(1),
            None if args.json => println!(
                "{}",
                json!({"event": "received", "seq": received, "message_id": id, "destination": destination,
                       "redelivered": frame.header("redelivered") == Some("true"),
                       "body": String::from_utf8_lossy(&frame.body)})
            ),
            None => println!("received {id}: {}", preview(&frame.body)),
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    client.disconnect().await.ok();
    if args.json {
        println!(
            "{}",
            json!({"event": "done", "received": received, "wanted": args.count})
        );
    } else {
        println!(
            "received {received} of {} messages from {destination}",
            args.count
        );
    }
    if received < args.count {
        bail!(
            "timed out after {}s with {received} of {} messages",
            args.timeout,
            args.count
        );
    }
    Ok(())
}

fn preview(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut s: String = text.chars().take(80).collect();
    if text.chars().count() > 80 {
        s.push('…');
    }
    s
}
