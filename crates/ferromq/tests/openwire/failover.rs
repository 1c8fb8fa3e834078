//! Failover replay: Java `failover:` clients whose connections are cut under them.

use crate::broker::Broker;
use crate::java::JavaProcess;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use testkit::TcpProxy;

/// Messages the producer sends.
const MESSAGES: u32 = 200;
/// Pause between sends, so the cuts land mid-stream.
const PACE_MS: u32 = 10;
/// The producer's send count at which every connection through the proxy is cut.
const CUT_AT: [u32; 2] = [50, 120];
/// How long the producer may take to reach a cut point, or to finish.
const PRODUCER_TIMEOUT: Duration = Duration::from_secs(90);
/// The consumer gives up after this long (in the JVM); the test kills it a bit later.
const CONSUMER_DEADLINE: Duration = Duration::from_secs(90);
const CONSUMER_TIMEOUT: Duration = Duration::from_secs(120);

/// Every message whose `send()` returned in a `failover:` producer is received at least
/// once by a `failover:` consumer, although a proxy cuts both clients' connections twice
/// mid-stream and they reconnect and replay their state. Duplicates are counted and
/// reported (each one with its JMSRedelivered flag).
#[test]
fn failover_clients_lose_nothing_when_connections_are_cut() {
    eprintln!("--- starting a broker and a proxy in front of its OpenWire port");
    let broker = Broker::start();
    let proxy = TcpProxy::start(&broker.openwire_addr());
    let url = format!(
        "failover:(tcp://{})?randomize=false&initialReconnectDelay=50&maxReconnectDelay=500",
        proxy.addr()
    );
    let queue = format!("failover-replay-{}", std::process::id());
    let count = MESSAGES.to_string();

    eprintln!("--- consumer and producer ({MESSAGES} persistent messages) through {url}");
    let mut consumer = JavaProcess::spawn(
        "FailoverClient",
        &[
            "consume",
            &url,
            &queue,
            &count,
            &CONSUMER_DEADLINE.as_millis().to_string(),
        ],
    );
    assert!(
        consumer.wait_for_line("READY", PRODUCER_TIMEOUT),
        "the consumer did not subscribe\n{}",
        consumer.finish(Duration::ZERO).report()
    );
    let mut producer = JavaProcess::spawn(
        "FailoverClient",
        &["produce", &url, &queue, &count, &PACE_MS.to_string()],
    );
    for at in CUT_AT {
        let reached = producer.wait_for_line(&format!("SENT {at}"), PRODUCER_TIMEOUT);
        assert!(
            reached,
            "the producer never reported SENT {at}\n{}",
            producer.finish(Duration::ZERO).report()
        );
        let cut = proxy.cut();
        eprintln!("--- producer at {at}: cut {cut} connections");
        assert!(
            cut >= 2,
            "expected the producer's and the consumer's connections"
        );
    }
    let produced = producer.finish(PRODUCER_TIMEOUT);
    let consumed = consumer.finish(CONSUMER_TIMEOUT);

    let sent: BTreeSet<String> = produced
        .lines
        .iter()
        .filter_map(|l| l.strip_prefix("SENT "))
        .map(|n| format!("msg-{n}"))
        .collect();
    let mut received: BTreeMap<String, Vec<bool>> = BTreeMap::new();
    for line in &consumed.lines {
        if let Some(rest) = line.strip_prefix("RECV ") {
            let (text, flag) = rest.split_once(" redelivered=").unwrap_or((rest, "?"));
            received
                .entry(text.to_string())
                .or_default()
                .push(flag == "true");
        }
    }
    let lost: Vec<&String> = sent.iter().filter(|s| !received.contains_key(*s)).collect();
    let duplicates: Vec<String> = received
        .iter()
        .filter(|(_, flags)| flags.len() > 1)
        .map(|(t, flags)| format!("{t} x{} redelivered={flags:?}", flags.len()))
        .collect();
    let unknown: Vec<&String> = received.keys().filter(|r| !sent.contains(*r)).collect();
    eprintln!(
        "--- sent {} (send() returned), received {} distinct, {} lost, {} duplicated{}",
        sent.len(),
        received.len(),
        lost.len(),
        duplicates.len(),
        if duplicates.is_empty() {
            String::new()
        } else {
            format!(": {duplicates:?}")
        }
    );
    eprintln!("--- proxy accepted {} connections", proxy.accepted());

    assert!(
        produced.success() && sent.len() == MESSAGES as usize,
        "the producer must send all {MESSAGES} through the cuts\n{}",
        produced.report()
    );
    assert!(
        lost.is_empty(),
        "{} sent messages never arrived: {lost:?}\n{}",
        lost.len(),
        consumed.report()
    );
    assert!(
        unknown.is_empty(),
        "received messages nobody sent: {unknown:?}"
    );
    assert!(
        consumed.success(),
        "the consumer failed\n{}",
        consumed.report()
    );
    assert!(
        proxy.accepted() >= 6,
        "both clients should have reconnected twice; the proxy accepted only {}",
        proxy.accepted()
    );
}
