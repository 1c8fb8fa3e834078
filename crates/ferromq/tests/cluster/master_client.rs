//! STOMP clients that follow the master: connect to whichever node accepts, reconnect on
//! any error, resend what was not receipted. Every outcome goes into a [`Ledger`].

use crate::ledger::Ledger;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use stomp::{ConnectOptions, StompClient};
use tokio::time::{timeout, Instant};

/// One connection attempt (TCP + CONNECTED) to one node.
const CONNECT_ATTEMPT: Duration = Duration::from_secs(2);
/// How long a receipt may take before the send counts as failed.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause between rounds over all nodes while none serves.
const RETRY_PAUSE: Duration = Duration::from_millis(20);

/// Connects to the first node (in order) that answers CONNECTED; keeps trying every node
/// until `within` passes. Returns the client and the node's index.
pub async fn connect_master(
    addrs: &[String],
    within: Duration,
) -> Result<(StompClient, usize), String> {
    let deadline = Instant::now() + within;
    loop {
        for (i, addr) in addrs.iter().enumerate() {
            let attempt = timeout(
                CONNECT_ATTEMPT,
                StompClient::connect(addr, ConnectOptions::default()),
            )
            .await;
            if let Ok(Ok(mut client)) = attempt {
                client.set_receipt_timeout(RECEIPT_TIMEOUT);
                return Ok((client, i));
            }
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no node of {addrs:?} accepted a STOMP client within {within:?}"
            ));
        }
        tokio::time::sleep(RETRY_PAUSE).await;
    }
}

const PERSISTENT: &[(&str, &str)] = &[("persistent", "true")];

/// Sends persistent `{prefix}-{n}` for n = 0, 1, … with a receipt each, until `stop`; a send
/// without receipt is resent (same body) on a new connection to the master. Returns how
/// many bodies were acknowledged.
pub async fn produce(
    addrs: Vec<String>,
    queue: String,
    prefix: String,
    stop: Arc<AtomicBool>,
    ledger: Arc<Ledger>,
) -> u64 {
    let mut client: Option<(StompClient, usize)> = None;
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let (mut c, node) = match client.take() {
            Some(c) => c,
            None => match connect_master(&addrs, Duration::from_secs(1)).await {
                Ok(c) => {
                    ledger.connected();
                    c
                }
                Err(_) => continue,
            },
        };
        let body = format!("{prefix}-{n}");
        match c.send(&queue, body.clone(), PERSISTENT, true).await {
            Ok(()) => {
                ledger.acked_by(body, node);
                n += 1;
                client = Some((c, node));
            }
            Err(_) => ledger.failed_send(),
        }
    }
    n
}

/// Sends each body with a receipt, reconnecting to the master and resending until it is
/// receipted; panics when that takes longer than `within` for one body.
pub async fn send_all(addrs: &[String], queue: &str, bodies: &[String], ledger: &Ledger) {
    let mut client: Option<StompClient> = None;
    for body in bodies {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            assert!(
                Instant::now() < deadline,
                "{body} was not acknowledged within 30 s"
            );
            let mut c = match client.take() {
                Some(c) => c,
                None => match connect_master(addrs, Duration::from_secs(1)).await {
                    Ok((c, _)) => {
                        ledger.connected();
                        c
                    }
                    Err(_) => continue,
                },
            };
            match c.send(queue, body.clone(), PERSISTENT, true).await {
                Ok(()) => {
                    ledger.acked(body.clone());
                    client = Some(c);
                    break;
                }
                Err(_) => ledger.failed_send(),
            }
        }
    }
    if let Some(c) = client {
        let _ = c.disconnect().await;
    }
}

/// What [`bulk_send`] went through.
#[derive(Debug, Default, Clone, Copy)]
pub struct BulkOutcome {
    /// Connections lost mid-stream (the batch since the last receipt was resent).
    pub reconnects: u64,
}

/// Sends `count` persistent `{prefix}-{n}` to the master, pipelined: a receipt is asked
/// every `receipt_every` messages and for the last one (receipts come in frame order, so
/// one covers every send before it on its connection). Records the bodies as acknowledged
/// once the receipt covering them arrived. A lost connection is replaced by one to the
/// master and the unreceipted batch resent (a failover client's behaviour; duplicates are
/// possible); `reconnects_allowed` = 0 makes the first loss an error.
pub async fn bulk_send(
    addrs: &[String],
    queue: &str,
    prefix: &str,
    count: u64,
    receipt_every: u64,
    reconnects_allowed: u64,
    ledger: &Ledger,
) -> Result<BulkOutcome, String> {
    let mut outcome = BulkOutcome::default();
    let mut client: Option<StompClient> = None;
    let mut next = 0u64;
    let mut batch = Vec::new();
    while next < count {
        let mut c = match client.take() {
            Some(c) => c,
            None => {
                let (mut c, _) = connect_master(addrs, Duration::from_secs(30)).await?;
                c.set_receipt_timeout(Duration::from_secs(30));
                ledger.connected();
                c
            }
        };
        let body = format!("{prefix}-{next}");
        let receipt = (next + 1).is_multiple_of(receipt_every) || next + 1 == count;
        match c.send(queue, body.clone(), PERSISTENT, receipt).await {
            Ok(()) => {
                batch.push(body);
                next += 1;
                if receipt {
                    for b in batch.drain(..) {
                        ledger.acked(b);
                    }
                }
                client = Some(c);
            }
            Err(e) => {
                outcome.reconnects += 1;
                ledger.failed_send();
                if outcome.reconnects > reconnects_allowed {
                    return Err(format!(
                        "send {body}: {e} (connection lost {} times)",
                        outcome.reconnects
                    ));
                }
                next -= batch.len() as u64;
                batch.clear();
            }
        }
    }
    if let Some(c) = client {
        let _ = c.disconnect().await;
    }
    Ok(outcome)
}

/// Receives from `queue` on the master until `stop`, following the master; acknowledges
/// each message (client-individual, no receipt: a lost ACK shows as a duplicate).
pub async fn consume(
    addrs: Vec<String>,
    queue: String,
    stop: Arc<AtomicBool>,
    ledger: Arc<Ledger>,
) {
    let mut client: Option<StompClient> = None;
    while !stop.load(Ordering::SeqCst) {
        let mut c = match client.take() {
            Some(c) => c,
            None => match subscribe(&addrs, &queue, "client-individual").await {
                Some(c) => {
                    ledger.connected();
                    c
                }
                None => continue,
            },
        };
        match c.recv(Duration::from_millis(200)).await {
            Ok(None) => client = Some(c),
            Ok(Some(msg)) => {
                ledger.received(String::from_utf8_lossy(&msg.body).into_owned());
                if c.ack(&msg, None, false).await.is_ok() {
                    client = Some(c);
                }
            }
            Err(_) => {}
        }
    }
}

async fn subscribe(addrs: &[String], queue: &str, ack: &str) -> Option<StompClient> {
    let (mut c, _) = connect_master(addrs, Duration::from_secs(1)).await.ok()?;
    c.subscribe("drain", queue, ack, &[("activemq.prefetchSize", "100")])
        .await
        .ok()?;
    Some(c)
}

/// Receives everything left on `queue` from the master (client-individual acks) until no
/// message came for `quiet` while connected; follows the master if it changes or goes
/// away for a while. Returns how many arrived.
pub async fn drain(
    addrs: &[String],
    queue: &str,
    quiet: Duration,
    within: Duration,
    ledger: &Ledger,
) -> u64 {
    let deadline = Instant::now() + within;
    let mut got = 0u64;
    let mut last = Instant::now();
    let mut client: Option<StompClient> = None;
    while Instant::now() < deadline && last.elapsed() < quiet {
        let mut c = match client.take() {
            Some(c) => c,
            None => match subscribe(addrs, queue, "client-individual").await {
                Some(c) => {
                    ledger.connected();
                    // Quiet counts from here: a master that was away may hold much more.
                    last = Instant::now();
                    c
                }
                None => {
                    // No master serving: that is not quiet on the queue.
                    last = Instant::now();
                    continue;
                }
            },
        };
        match c.recv(Duration::from_millis(200)).await {
            Ok(None) => client = Some(c),
            Ok(Some(msg)) => {
                got += 1;
                last = Instant::now();
                ledger.received(String::from_utf8_lossy(&msg.body).into_owned());
                if c.ack(&msg, None, false).await.is_ok() {
                    client = Some(c);
                }
            }
            Err(_) => {}
        }
    }
    if let Some(c) = client {
        let _ = c.disconnect().await;
    }
    got
}
