//! `ferromq produce`, `consume` and `browse`: over STOMP (`--stomp HOST:PORT`, the default
//! for produce/consume) or over OpenWire with the Rust client (`--url tcp://…` or
//! `--url 'failover:(tcp://…,tcp://…)?options'`; browse is OpenWire only). With a
//! `failover:` URL the commands print which broker they connected to and every
//! interruption and resumption.

use anyhow::{bail, Context};
use bytes::Bytes;
use client::{
    AckMode, Connection, ConnectionEvent, ConsumerOptions, Destination, Message, ProducerOptions,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::time::{Duration, Instant};
use stomp::{ConnectOptions, StompClient};

/// OpenWire URL used by `browse` when `--url` is not given.
const DEFAULT_URL: &str = "tcp://127.0.0.1:61616";

/// Above this many messages a progress bar replaces the per-message lines.
const PROGRESS_THRESHOLD: u64 = 1000;

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("dest").required(true).args(["queue", "topic"])))]
pub struct ProduceArgs {
    /// Broker STOMP address HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:61613")]
    stomp: String,
    /// Use OpenWire instead of STOMP: `tcp://HOST:PORT` or `failover:(tcp://…,tcp://…)?options`.
    #[arg(long, conflicts_with = "stomp")]
    url: Option<String>,
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
    /// Use OpenWire instead of STOMP: `tcp://HOST:PORT` or `failover:(tcp://…,tcp://…)?options`.
    #[arg(long, conflicts_with = "stomp")]
    url: Option<String>,
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

#[derive(clap::Args)]
pub struct BrowseArgs {
    /// OpenWire URL: `tcp://HOST:PORT` or `failover:(tcp://…,tcp://…)?options`.
    #[arg(long, default_value = DEFAULT_URL)]
    url: String,
    #[arg(long)]
    queue: String,
    /// JMS selector (`color = 'red'`).
    #[arg(long)]
    selector: Option<String>,
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
    if let Some(url) = args.url.clone() {
        return produce_openwire(args, &url).await;
    }
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
    sent_summary(bar, started, args.count, &destination, args.json);
    client.disconnect().await.ok();
    Ok(())
}

pub async fn consume(args: ConsumeArgs) -> anyhow::Result<()> {
    if let Some(url) = args.url.clone() {
        return consume_openwire(args, &url).await;
    }
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
    received_summary(received, args.count, &destination, args.json, args.timeout)
}

/// The last line of `produce`.
fn sent_summary(
    bar: Option<ProgressBar>,
    started: Instant,
    count: u64,
    destination: &str,
    json: bool,
) {
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = count as f64 / secs.max(1e-9);
    if json {
        println!(
            "{}",
            json!({"event": "done", "sent": count, "seconds": secs, "rate": rate})
        );
    } else {
        println!("sent {count} messages to {destination} in {secs:.2}s ({rate:.0} msg/s)");
    }
}

/// The last line of `consume`; an error when fewer than `wanted` arrived.
fn received_summary(
    received: u64,
    wanted: u64,
    destination: &str,
    json: bool,
    timeout: f64,
) -> anyhow::Result<()> {
    if json {
        println!(
            "{}",
            json!({"event": "done", "received": received, "wanted": wanted})
        );
    } else {
        println!("received {received} of {wanted} messages from {destination}");
    }
    if received < wanted {
        bail!("timed out after {timeout}s with {received} of {wanted} messages");
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

/// Connects with the Rust OpenWire client, prints the broker it reached and, in the
/// background, every interruption and resumption of a `failover:` connection.
async fn connect_openwire(url: &str, json: bool) -> anyhow::Result<Connection> {
    let conn = Connection::connect(url)
        .await
        .with_context(|| format!("cannot connect to {url}"))?;
    let broker = conn.uri().to_string();
    if json {
        println!("{}", json!({"event": "connected", "broker": broker}));
    } else {
        println!("connected to {broker}");
    }
    let mut events = conn.events();
    tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            match event {
                ConnectionEvent::Connected(_) => {}
                ConnectionEvent::Interrupted if json => {
                    println!("{}", json!({"event": "interrupted"}));
                }
                ConnectionEvent::Interrupted => println!("connection interrupted, reconnecting"),
                ConnectionEvent::Resumed(b) if json => {
                    println!("{}", json!({"event": "resumed", "broker": b}));
                }
                ConnectionEvent::Resumed(b) => println!("resumed on {b}"),
                ConnectionEvent::MovedToPriority(b) if json => {
                    println!("{}", json!({"event": "moved-to-priority", "broker": b}));
                }
                ConnectionEvent::MovedToPriority(b) => println!("moved to priority broker {b}"),
            }
        }
    });
    Ok(conn)
}

/// `/queue/NAME` or `/topic/NAME` (the STOMP form, used in the output of both protocols)
/// and the OpenWire destination.
fn destination_of(
    queue: Option<&str>,
    topic: Option<&str>,
) -> anyhow::Result<(String, Destination)> {
    match (queue, topic) {
        (Some(q), _) => Ok((format!("/queue/{q}"), Destination::queue(q))),
        (None, Some(t)) => Ok((format!("/topic/{t}"), Destination::topic(t))),
        (None, None) => bail!("give --queue or --topic"),
    }
}

async fn produce_openwire(args: ProduceArgs, url: &str) -> anyhow::Result<()> {
    let (name, destination) = destination_of(args.queue.as_deref(), args.topic.as_deref())?;
    let conn = connect_openwire(url, args.json).await?;
    let session = conn.create_session(AckMode::Auto).await?;
    let mut options = ProducerOptions::default();
    if args.non_persistent {
        options = options.non_persistent();
    }
    // Persistent sends wait for the broker's Response: "sent" means stored.
    let producer = session.create_producer_with(options).await?;
    let generated = args.size.map(|n| "x".repeat(n));
    let bar = progress(args.count, args.json);
    let started = Instant::now();
    for i in 1..=args.count {
        let body = match (&args.text, &generated) {
            (Some(t), _) => t.clone(),
            (None, Some(b)) => b.clone(),
            (None, None) => format!("message {i}"),
        };
        let len = body.len();
        let id = producer
            .send(&destination, Message::text(body))
            .await
            .with_context(|| format!("sending message {i}"))?;
        match &bar {
            Some(b) => b.inc(1),
            None if args.json => println!(
                "{}",
                json!({"event": "sent", "seq": i, "destination": name, "bytes": len,
                       "persistent": !args.non_persistent, "message_id": id.to_string(),
                       "broker": conn.uri().to_string()})
            ),
            None => println!("sent message {i} ({len} bytes) to {name} as {id}"),
        }
    }
    sent_summary(bar, started, args.count, &name, args.json);
    drop(producer);
    conn.close().await.context("closing")?;
    Ok(())
}

async fn consume_openwire(args: ConsumeArgs, url: &str) -> anyhow::Result<()> {
    let name = format!("/queue/{}", args.queue);
    let conn = connect_openwire(url, args.json).await?;
    // CLIENT acks, each message acknowledged once printed.
    let session = conn.create_session(AckMode::Client).await?;
    let mut consumer = session
        .create_consumer(&Destination::queue(&args.queue), ConsumerOptions::default())
        .await
        .context("subscribing")?;
    let bar = progress(args.count, args.json);
    let idle = Duration::from_secs_f64(args.timeout.max(0.0));
    let mut received = 0u64;
    while received < args.count {
        let Some(m) = consumer.recv(idle).await.context("receiving")? else {
            break;
        };
        received += 1;
        let id = m.message_id().map(ToString::to_string).unwrap_or_default();
        let body = body_text(&m);
        match &bar {
            Some(b) => b.inc(1),
            None if args.json => println!(
                "{}",
                json!({"event": "received", "seq": received, "message_id": id, "destination": name,
                       "redelivered": m.redelivered(), "body": body})
            ),
            None => println!("received {id}: {}", preview(body.as_bytes())),
        }
        m.acknowledge().context("acknowledging")?;
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    drop(consumer);
    conn.close().await.context("closing")?;
    received_summary(received, args.count, &name, args.json, args.timeout)
}

/// `ferromq browse`: lists a queue's messages without consuming them (OpenWire).
pub async fn browse(args: BrowseArgs) -> anyhow::Result<()> {
    let name = format!("/queue/{}", args.queue);
    let conn = connect_openwire(&args.url, args.json).await?;
    let session = conn.create_session(AckMode::Auto).await?;
    let mut browser = session
        .create_browser(&Destination::queue(&args.queue), args.selector.as_deref())
        .await
        .context("browsing")?;
    let idle = Duration::from_secs_f64(args.timeout.max(0.0));
    let mut seen = 0u64;
    while let Some(m) = browser.next(idle).await.context("browsing")? {
        seen += 1;
        let id = m.message_id().map(ToString::to_string).unwrap_or_default();
        let body = body_text(&m);
        if args.json {
            println!(
                "{}",
                json!({"event": "message", "seq": seen, "message_id": id, "destination": name,
                       "priority": m.priority(), "persistent": m.persistent(),
                       "redelivered": m.redelivered(), "body": body})
            );
        } else {
            println!(
                "message {id} (priority {}{}): {}",
                m.priority(),
                if m.persistent() { ", persistent" } else { "" },
                preview(body.as_bytes())
            );
        }
    }
    drop(browser);
    conn.close().await.context("closing")?;
    if args.json {
        println!(
            "{}",
            json!({"event": "done", "messages": seen, "destination": name})
        );
    } else {
        println!("{seen} messages on {name}");
    }
    Ok(())
}

/// A text body, or the bytes of a bytes message read as UTF-8 (lossy); empty otherwise.
fn body_text(m: &Message) -> String {
    if let Ok(Some(t)) = m.text_body() {
        return t;
    }
    m.bytes_body()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}
