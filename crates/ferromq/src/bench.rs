//! `ferromq bench`: the load generator, over STOMP (`--stomp`, the default) or OpenWire with
//! the Rust client (`--url tcp://…` or `failover:(…)`).
//!
//! Producers and consumers each get their own connection ([`StompClient`] is not split
//! into halves). Every message carries a `bench-ts` header (OpenWire: a `bench_ts` long
//! property, as `bench/jms/JmsLoad.java` does; send time, nanoseconds since the Unix
//! epoch); consumers compute `now - bench-ts` for the end-to-end latency, so the
//! client and the broker clocks must be the same clock (run the bench on the broker host).
//!
//! Timing rules, so that numbers mean the same thing against any broker:
//! - "sent" runs from the moment all connections and subscriptions are set up until the
//!   last producer has its last message acknowledged. Without `--receipts` the last message
//!   of each producer still asks for a receipt (OpenWire: is a synchronous send; the others
//!   are asynchronous within a producer window of [`PRODUCER_WINDOW`] bytes), so the rate
//!   counts messages the broker has actually processed, not bytes sitting in socket buffers.
//! - "received" runs from the same start (with `--consume-only`: from just before the
//!   SUBSCRIBE) until the last message arrives at any consumer.

use anyhow::{bail, Context};
use bytes::Bytes;
use client::{Connection, ConsumerOptions, Destination, Message, ProducerOptions, SendMode};
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use stomp::{Command, ConnectOptions, Frame, StompClient};
use tokio::time::Instant;

/// Header carrying the send timestamp (ns since the Unix epoch).
const TS_HEADER: &str = "bench-ts";
/// The same as an OpenWire long property (a JMS identifier, as in `JmsLoad.java`).
const TS_PROPERTY: &str = "bench_ts";
/// OpenWire producer window for asynchronous sends (ActiveMQ `jms.producerWindowSize`).
pub const PRODUCER_WINDOW: u32 = 1024 * 1024;
/// Messages per producer when neither `--count` nor `--duration` is given.
const DEFAULT_COUNT: u64 = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AckMode {
    /// The broker considers a message consumed once dispatched.
    Auto,
    /// One ACK frame (no receipt) per message.
    ClientIndividual,
    /// OpenWire only: acknowledgements in batches of half the prefetch (DUPS_OK).
    DupsOk,
}

impl AckMode {
    fn header(self) -> &'static str {
        match self {
            AckMode::Auto => "auto",
            AckMode::ClientIndividual => "client-individual",
            AckMode::DupsOk => "dups-ok",
        }
    }

    /// The Rust client's session mode (OpenWire AUTO acknowledges each message).
    fn session_mode(self) -> client::AckMode {
        match self {
            AckMode::Auto => client::AckMode::Auto,
            AckMode::ClientIndividual => client::AckMode::Individual,
            AckMode::DupsOk => client::AckMode::DupsOk,
        }
    }
}

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Broker STOMP address HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:61613")]
    stomp: String,
    /// Use OpenWire (the Rust client) instead of STOMP: `tcp://HOST:PORT` or
    /// `failover:(tcp://…,…)?options`.
    #[arg(long, conflicts_with = "stomp")]
    url: Option<String>,
    /// Queue name (default: a fresh random one).
    #[arg(long)]
    queue: Option<String>,
    /// Producer connections.
    #[arg(long, default_value_t = 1)]
    producers: usize,
    /// Consumer connections (with --consume-only: at least 1).
    #[arg(long, default_value_t = 0)]
    consumers: usize,
    /// Messages per producer (default 10000). With --consume-only: total messages to
    /// drain (default: until --idle-timeout passes without a message).
    #[arg(long, conflicts_with = "duration")]
    count: Option<u64>,
    /// Send for this many seconds instead of a fixed count.
    #[arg(long)]
    duration: Option<f64>,
    /// Body size in bytes.
    #[arg(long, default_value_t = 1024)]
    size: usize,
    /// Persistent messages (the default).
    #[arg(long, overrides_with = "non_persistent")]
    persistent: bool,
    /// Non-persistent messages.
    #[arg(long, overrides_with = "persistent")]
    non_persistent: bool,
    /// Wait for a RECEIPT after every SEND (a synchronous send).
    #[arg(long, overrides_with = "no_receipts")]
    receipts: bool,
    /// Do not wait for receipts (the default); only each producer's last message asks
    /// for one, to know when the broker has processed everything.
    #[arg(long, overrides_with = "receipts")]
    no_receipts: bool,
    /// Fixed total send rate in messages per second, spread over the producers
    /// (default: flat out).
    #[arg(long)]
    rate: Option<f64>,
    /// Consumer acknowledgement mode.
    #[arg(long, value_enum, default_value = "auto")]
    ack: AckMode,
    /// activemq.prefetchSize for the subscriptions.
    #[arg(long, default_value_t = 1000)]
    prefetch: u32,
    /// Do not produce: drain an existing backlog from --queue and measure the consume rate.
    #[arg(long, requires = "queue")]
    consume_only: bool,
    /// Consumers stop after this many seconds without a message once nothing more is
    /// expected (or, with --consume-only and no --count, as the end-of-backlog signal).
    #[arg(long, default_value_t = 5.0)]
    idle_timeout: f64,
    /// One JSON object instead of a line of text.
    #[arg(long)]
    json: bool,
}

/// State shared by the consumers.
struct Shared {
    received: AtomicU64,
    /// Stop once `received` reaches this (u64::MAX while unknown).
    target: AtomicU64,
    /// Nothing more will be sent.
    producers_done: AtomicBool,
}

struct ProducerResult {
    sent: u64,
    end: Instant,
}

struct ConsumerResult {
    received: u64,
    last: Option<Instant>,
    /// End-to-end latencies in microseconds.
    latencies: Vec<u64>,
    missing_ts: u64,
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The wall-clock time (nanoseconds since the epoch) of `at`, from one reading of both
/// clocks taken the first time: a consumer reads the clock once per message instead of
/// twice (the bench's own clock reads were ~3 % of the client's CPU).
fn wall_nanos(at: Instant) -> u64 {
    static BASE: std::sync::OnceLock<(Instant, u64)> = std::sync::OnceLock::new();
    let (base, base_nanos) = *BASE.get_or_init(|| (Instant::now(), now_nanos()));
    let since = at.saturating_duration_since(base);
    base_nanos.saturating_add(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
}

/// The `p`-th percentile (0 < p <= 1) of sorted values: the smallest value with at
/// least `p` of the samples at or below it.
fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

async fn connect(addr: &str) -> anyhow::Result<StompClient> {
    StompClient::connect(addr, ConnectOptions::default())
        .await
        .with_context(|| format!("cannot connect to stomp://{addr}"))
}

async fn connect_openwire(url: &str) -> anyhow::Result<Connection> {
    Connection::connect(url)
        .await
        .with_context(|| format!("cannot connect to {url}"))
}

/// A producer's connection.
enum ProducerClient {
    Stomp(StompClient),
    OpenWire {
        /// Asynchronous (non-receipt) sends.
        fast: client::Producer,
        /// Synchronous sends: `--receipts` and each producer's last message.
        sync: client::Producer,
        conn: Connection,
    },
}

impl ProducerClient {
    async fn open(args: &BenchArgs, persistent: bool) -> anyhow::Result<ProducerClient> {
        let Some(url) = &args.url else {
            return Ok(ProducerClient::Stomp(connect(&args.stomp).await?));
        };
        let conn = connect_openwire(url).await?;
        let session = conn.create_session(client::AckMode::Auto).await?;
        let options = ProducerOptions {
            persistent,
            ..ProducerOptions::default()
        };
        let fast = session
            .create_producer_with(
                options
                    .clone()
                    .send_mode(SendMode::Async)
                    .window_size(PRODUCER_WINDOW),
            )
            .await?;
        let sync = session
            .create_producer_with(options.send_mode(SendMode::Sync))
            .await?;
        Ok(ProducerClient::OpenWire { fast, sync, conn })
    }

    async fn close(self) {
        match self {
            ProducerClient::Stomp(c) => {
                c.disconnect().await.ok();
            }
            ProducerClient::OpenWire { fast, sync, conn } => {
                drop((fast, sync));
                conn.close().await.ok();
            }
        }
    }
}

/// A consumer's connection and (once subscribed) subscription.
enum ConsumerClient {
    Stomp(StompClient),
    OpenWire {
        consumer: Option<client::Consumer>,
        session: client::Session,
        conn: Connection,
    },
}

impl ConsumerClient {
    async fn open(args: &BenchArgs) -> anyhow::Result<ConsumerClient> {
        let Some(url) = &args.url else {
            if args.ack == AckMode::DupsOk {
                bail!("--ack dups-ok needs OpenWire (--url)");
            }
            return Ok(ConsumerClient::Stomp(connect(&args.stomp).await?));
        };
        let conn = connect_openwire(url).await?;
        let session = conn.create_session(args.ack.session_mode()).await?;
        Ok(ConsumerClient::OpenWire {
            consumer: None,
            session,
            conn,
        })
    }

    async fn subscribe(&mut self, i: usize, queue: &str, args: &BenchArgs) -> anyhow::Result<()> {
        match self {
            ConsumerClient::Stomp(client) => {
                let prefetch = args.prefetch.to_string();
                client
                    .subscribe(
                        &format!("bench-{i}"),
                        &format!("/queue/{queue}"),
                        args.ack.header(),
                        &[("activemq.prefetchSize", prefetch.as_str())],
                    )
                    .await?;
            }
            ConsumerClient::OpenWire {
                consumer, session, ..
            } => {
                let prefetch = i32::try_from(args.prefetch).unwrap_or(i32::MAX);
                *consumer = Some(
                    session
                        .create_consumer(
                            &Destination::queue(queue),
                            ConsumerOptions::default().prefetch(prefetch),
                        )
                        .await?,
                );
            }
        }
        Ok(())
    }

    /// The next message's send timestamp (`Some(None)` when it has none), acknowledged as
    /// `ack` says; `None` when nothing arrived within `wait`.
    async fn recv(&mut self, wait: Duration, ack: AckMode) -> anyhow::Result<Option<Option<u64>>> {
        match self {
            ConsumerClient::Stomp(client) => {
                let Some(frame) = client.recv(wait).await? else {
                    return Ok(None);
                };
                if ack == AckMode::ClientIndividual {
                    client
                        .ack(&frame, None, false)
                        .await
                        .context("sending ACK")?;
                }
                Ok(Some(
                    frame.header(TS_HEADER).and_then(|s| s.parse::<u64>().ok()),
                ))
            }
            ConsumerClient::OpenWire { consumer, .. } => {
                let Some(consumer) = consumer.as_mut() else {
                    bail!("not subscribed");
                };
                let Some(m) = consumer.recv(wait).await? else {
                    return Ok(None);
                };
                m.acknowledge().context("acknowledging")?;
                Ok(Some(match m.property(TS_PROPERTY)? {
                    Some(client::PrimitiveValue::Long(ts)) => u64::try_from(ts).ok(),
                    _ => None,
                }))
            }
        }
    }

    async fn close(self) {
        match self {
            ConsumerClient::Stomp(c) => {
                c.disconnect().await.ok();
            }
            ConsumerClient::OpenWire {
                consumer,
                session,
                conn,
            } => {
                drop(consumer);
                drop(session);
                conn.close().await.ok();
            }
        }
    }
}

struct ProducerPlan {
    /// STOMP `/queue/NAME`.
    destination: String,
    /// The same queue for OpenWire.
    queue: Destination,
    body: Bytes,
    persistent: &'static str,
    receipts: bool,
    count: Option<u64>,
    deadline: Option<Instant>,
    interval: Option<Duration>,
    start: Instant,
}

async fn produce(
    mut client: ProducerClient,
    plan: Arc<ProducerPlan>,
) -> anyhow::Result<ProducerResult> {
    let mut sent = 0u64;
    loop {
        if plan.count.is_some_and(|c| sent >= c) {
            break;
        }
        if let Some(interval) = plan.interval {
            let due = plan.start + interval.mul_f64(sent as f64);
            tokio::time::sleep_until(due).await;
        }
        let last = match (plan.count, plan.deadline) {
            (Some(c), _) => sent + 1 == c,
            (None, Some(d)) => Instant::now() >= d,
            (None, None) => false,
        };
        let sync = plan.receipts || last;
        match &mut client {
            ProducerClient::Stomp(client) => {
                let mut frame = Frame::new(Command::Send)
                    .with_header("destination", plan.destination.as_str())
                    .with_header("persistent", plan.persistent)
                    .with_header(TS_HEADER, now_nanos().to_string())
                    .with_body(plan.body.clone());
                frame.set_content_length();
                if sync {
                    client.send_frame_with_receipt(frame).await
                } else {
                    client.send_frame(frame).await
                }
                .with_context(|| format!("sending message {}", sent + 1))?;
            }
            ProducerClient::OpenWire {
                fast,
                sync: barrier,
                ..
            } => {
                let mut m = Message::bytes(plan.body.clone());
                m.set_property(TS_PROPERTY, i64::try_from(now_nanos()).unwrap_or(i64::MAX))?;
                let producer = if sync { barrier } else { fast };
                producer
                    .send(&plan.queue, m)
                    .await
                    .with_context(|| format!("sending message {}", sent + 1))?;
            }
        }
        sent += 1;
        if last {
            break;
        }
    }
    let end = Instant::now();
    client.close().await;
    Ok(ProducerResult { sent, end })
}

async fn consume(
    mut client: ConsumerClient,
    ack: AckMode,
    shared: Arc<Shared>,
    idle: Duration,
    drain: bool,
    start: Instant,
) -> anyhow::Result<ConsumerResult> {
    let mut result = ConsumerResult {
        received: 0,
        last: None,
        latencies: Vec::new(),
        missing_ts: 0,
    };
    let mut last_activity = start;
    loop {
        if shared.received.load(Ordering::Acquire) >= shared.target.load(Ordering::Acquire) {
            break;
        }
        match client.recv(Duration::from_millis(100), ack).await? {
            Some(ts) => {
                last_activity = Instant::now();
                if !drain {
                    match ts {
                        Some(ts) => result
                            .latencies
                            .push(wall_nanos(last_activity).saturating_sub(ts) / 1000),
                        None => result.missing_ts += 1,
                    }
                }
                result.received += 1;
                shared.received.fetch_add(1, Ordering::AcqRel);
                result.last = Some(last_activity);
            }
            None => {
                let may_stop = drain || shared.producers_done.load(Ordering::Acquire);
                if may_stop && last_activity.elapsed() >= idle {
                    break;
                }
            }
        }
    }
    client.close().await;
    Ok(result)
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let queue = args.queue.clone().unwrap_or_else(|| {
        format!(
            "bench.{}.{}",
            std::process::id(),
            now_nanos() % 1_000_000_000
        )
    });
    let destination = format!("/queue/{queue}");
    let consumers = if args.consume_only {
        args.consumers.max(1)
    } else {
        args.consumers
    };
    let producers = if args.consume_only { 0 } else { args.producers };
    if producers == 0 && consumers == 0 {
        bail!("nothing to do: give --producers and/or --consumers");
    }
    if let Some(r) = args.rate {
        if !(r > 0.0 && r.is_finite()) {
            bail!("--rate must be a positive number");
        }
    }
    if let Some(d) = args.duration {
        if !(d > 0.0 && d.is_finite()) {
            bail!("--duration must be a positive number of seconds");
        }
    }
    let persistent = !args.non_persistent;
    let receipts = args.receipts;
    let idle = Duration::from_secs_f64(args.idle_timeout.max(0.1));

    let shared = Arc::new(Shared {
        received: AtomicU64::new(0),
        target: AtomicU64::new(u64::MAX),
        producers_done: AtomicBool::new(false),
    });
    if args.consume_only {
        if let Some(c) = args.count {
            shared.target.store(c, Ordering::Release);
        }
    }

    // Connect everything first so that set-up cost stays out of the measurement.
    let mut producer_clients = Vec::with_capacity(producers);
    for _ in 0..producers {
        producer_clients.push(ProducerClient::open(&args, persistent).await?);
    }
    let mut consumer_clients = Vec::with_capacity(consumers);
    for _ in 0..consumers {
        consumer_clients.push(ConsumerClient::open(&args).await?);
    }
    let mut start = Instant::now();
    for (i, client) in consumer_clients.iter_mut().enumerate() {
        client
            .subscribe(i, &queue, &args)
            .await
            .context("subscribing")?;
    }
    if !args.consume_only {
        start = Instant::now();
    }

    let mut consumer_tasks = Vec::new();
    for client in consumer_clients {
        consumer_tasks.push(tokio::spawn(consume(
            client,
            args.ack,
            shared.clone(),
            idle,
            args.consume_only,
            start,
        )));
    }

    let count = match (args.count, args.duration) {
        (Some(c), _) => Some(c),
        (None, Some(_)) => None,
        (None, None) => Some(DEFAULT_COUNT),
    };
    let plan = Arc::new(ProducerPlan {
        destination: destination.clone(),
        queue: Destination::queue(&queue),
        body: Bytes::from(vec![b'x'; args.size]),
        persistent: if persistent { "true" } else { "false" },
        receipts,
        count,
        deadline: args.duration.map(|d| start + Duration::from_secs_f64(d)),
        interval: args
            .rate
            .map(|r| Duration::from_secs_f64(producers.max(1) as f64 / r)),
        start,
    });
    let mut producer_tasks = Vec::new();
    for client in producer_clients {
        producer_tasks.push(tokio::spawn(produce(client, plan.clone())));
    }

    let mut sent = 0u64;
    let mut send_end: Option<Instant> = None;
    let mut first_error: Option<anyhow::Error> = None;
    for task in producer_tasks {
        match task.await {
            Ok(Ok(r)) => {
                sent += r.sent;
                send_end = Some(send_end.map_or(r.end, |e| e.max(r.end)));
            }
            Ok(Err(e)) => {
                first_error.get_or_insert(e.context("producer failed"));
            }
            Err(e) => {
                first_error.get_or_insert(anyhow::anyhow!("producer task failed: {e}"));
            }
        }
    }
    if !args.consume_only {
        // Consumers stop when everything sent has arrived (or after the idle timeout).
        shared.target.store(sent, Ordering::Release);
        shared.producers_done.store(true, Ordering::Release);
    }

    let mut received = 0u64;
    let mut recv_end: Option<Instant> = None;
    let mut latencies = Vec::new();
    let mut missing_ts = 0u64;
    for task in consumer_tasks {
        match task.await {
            Ok(Ok(r)) => {
                received += r.received;
                if let Some(l) = r.last {
                    recv_end = Some(recv_end.map_or(l, |e| e.max(l)));
                }
                latencies.extend(r.latencies);
                missing_ts += r.missing_ts;
            }
            Ok(Err(e)) => {
                first_error.get_or_insert(e.context("consumer failed"));
            }
            Err(e) => {
                first_error.get_or_insert(anyhow::anyhow!("consumer task failed: {e}"));
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }

    let secs = |end: Option<Instant>| end.map(|e| (e - start).as_secs_f64());
    let send_secs = secs(send_end);
    let recv_secs = secs(recv_end);
    let rate = |n: u64, s: Option<f64>| s.filter(|s| *s > 0.0).map(|s| n as f64 / s);
    let send_rate = rate(sent, send_secs);
    let recv_rate = rate(received, recv_secs);
    latencies.sort_unstable();
    let ms = |us: Option<u64>| us.map(|v| v as f64 / 1000.0);
    let p50 = ms(percentile(&latencies, 0.50));
    let p99 = ms(percentile(&latencies, 0.99));
    let max = ms(latencies.last().copied());
    let lost = (consumers > 0 && !args.consume_only && received < sent).then(|| sent - received);

    if args.json {
        println!(
            "{}",
            json!({
                "broker": args.url.clone().unwrap_or_else(|| format!("stomp://{}", args.stomp)),
                "queue": queue,
                "producers": producers,
                "consumers": consumers,
                "size": args.size,
                "persistent": persistent,
                "receipts": receipts,
                "rate_target": args.rate,
                "ack": args.ack.header(),
                "consume_only": args.consume_only,
                "sent": sent,
                "sent_secs": send_secs,
                "sent_per_sec": send_rate,
                "received": received,
                "received_secs": recv_secs,
                "received_per_sec": recv_rate,
                "missing": lost,
                "latency_ms": {
                    "samples": latencies.len(),
                    "p50": p50,
                    "p99": p99,
                    "max": max,
                },
            })
        );
    } else {
        let mut line = format!(
            "{destination}: {producers}p/{consumers}c {} B {}{}",
            args.size,
            if persistent {
                "persistent"
            } else {
                "non-persistent"
            },
            if receipts { " receipts" } else { "" },
        );
        if producers > 0 {
            line.push_str(&format!(
                " | sent {sent} in {:.2}s = {:.0} msg/s",
                send_secs.unwrap_or(0.0),
                send_rate.unwrap_or(0.0)
            ));
        }
        if consumers > 0 {
            line.push_str(&format!(
                " | received {received} in {:.2}s = {:.0} msg/s ({} ack)",
                recv_secs.unwrap_or(0.0),
                recv_rate.unwrap_or(0.0),
                args.ack.header()
            ));
        }
        if let (Some(p50), Some(p99), Some(max)) = (p50, p99, max) {
            line.push_str(&format!(
                " | latency p50 {p50:.2} ms p99 {p99:.2} ms max {max:.2} ms"
            ));
        }
        if let Some(n) = lost {
            line.push_str(&format!(" | MISSING {n}"));
        }
        println!("{line}");
    }
    if missing_ts > 0 {
        eprintln!("warning: {missing_ts} messages had no {TS_HEADER} header");
    }
    if let Some(n) = lost {
        eprintln!("warning: {n} of {sent} sent messages never arrived");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_from_sorted_samples() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.50), Some(50));
        assert_eq!(percentile(&v, 0.99), Some(99));
        assert_eq!(percentile(&v, 1.0), Some(100));
        assert_eq!(percentile(&[7], 0.99), Some(7));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
