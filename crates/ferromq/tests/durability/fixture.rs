//! What every durability test shares: connecting (with retries while a broker restarts),
//! sending numbered persistent messages, collecting deliveries, reading the journal dir.

use std::path::{Path, PathBuf};
use std::time::Duration;

use stomp::{ConnectOptions, Frame, StompClient};
use tokio::time::Instant;

/// How long a client keeps trying to connect to a broker that is (re)starting.
pub const CONNECT_BUDGET: Duration = Duration::from_secs(30);
/// Pause between connection attempts while the broker is down.
pub const RECONNECT_PAUSE: Duration = Duration::from_millis(50);
/// How long a client waits for a RECEIPT before it gives the connection up.
pub const RECEIPT_TIMEOUT: Duration = Duration::from_secs(10);
/// With no MESSAGE for this long, a queue is taken to be drained.
pub const QUIET: Duration = Duration::from_secs(2);
/// Header carrying the test's own unique id of a message (the broker's `message-id` is
/// made per send, so it cannot tell a redelivery from a resend).
pub const SEQ: &str = "seq";

/// Connects, retrying every [`RECONNECT_PAUSE`] for up to [`CONNECT_BUDGET`].
///
/// # Panics
/// When the broker cannot be reached within the budget.
pub async fn connect(addr: &str, client_id: Option<&str>) -> StompClient {
    let deadline = Instant::now() + CONNECT_BUDGET;
    loop {
        match try_connect(addr, client_id).await {
            Some(client) => return client,
            None if Instant::now() >= deadline => {
                panic!("cannot connect to {addr} within {CONNECT_BUDGET:?}")
            }
            None => tokio::time::sleep(RECONNECT_PAUSE).await,
        }
    }
}

/// One connection attempt, with [`RECEIPT_TIMEOUT`] set.
pub async fn try_connect(addr: &str, client_id: Option<&str>) -> Option<StompClient> {
    let opts = ConnectOptions {
        client_id: client_id.map(str::to_string),
        ..ConnectOptions::default()
    };
    let mut client = StompClient::connect(addr, opts).await.ok()?;
    client.set_receipt_timeout(RECEIPT_TIMEOUT);
    Some(client)
}

/// Sends `count` persistent messages `<prefix>-0 .. <prefix>-<count-1>` (in the [`SEQ`]
/// header), each waiting for its receipt; returns their seqs.
///
/// # Panics
/// When a send is not receipted.
pub async fn send_numbered(
    client: &mut StompClient,
    destination: &str,
    prefix: &str,
    count: usize,
) -> Vec<String> {
    let mut seqs = Vec::with_capacity(count);
    for n in 0..count {
        let seq = format!("{prefix}-{n}");
        client
            .send(
                destination,
                format!("body of {seq}"),
                &[("persistent", "true"), (SEQ, seq.as_str())],
                true,
            )
            .await
            .unwrap_or_else(|e| panic!("send of {seq} to {destination} not receipted: {e}"));
        seqs.push(seq);
    }
    seqs
}

/// The [`SEQ`] header of a MESSAGE.
///
/// # Panics
/// When the header is missing: every message in these tests carries one.
pub fn seq_of(frame: &Frame) -> String {
    frame
        .header(SEQ)
        .unwrap_or_else(|| panic!("MESSAGE without a {SEQ} header: {frame:?}"))
        .to_string()
}

/// Receives until `expected` messages arrived or none came for [`QUIET`], at most
/// `budget`; acknowledges each with a receipted ACK when `ack` is set.
///
/// # Panics
/// On a connection error or an ACK that is not receipted.
pub async fn collect(
    client: &mut StompClient,
    expected: usize,
    ack: bool,
    budget: Duration,
) -> Vec<Frame> {
    let deadline = Instant::now() + budget;
    let mut frames = Vec::new();
    while frames.len() < expected && Instant::now() < deadline {
        let wait = QUIET.min(deadline.saturating_duration_since(Instant::now()));
        let Some(frame) = client
            .recv(wait)
            .await
            .unwrap_or_else(|e| panic!("receiving failed: {e}"))
        else {
            break;
        };
        if ack {
            client
                .ack(&frame, None, true)
                .await
                .unwrap_or_else(|e| panic!("ACK of {} not receipted: {e}", seq_of(&frame)));
        }
        frames.push(frame);
    }
    frames
}

/// Asserts that nothing arrives within [`QUIET`].
pub async fn assert_nothing_arrives(client: &mut StompClient, what: &str) {
    let extra = client
        .recv(QUIET)
        .await
        .unwrap_or_else(|e| panic!("receiving failed: {e}"));
    if let Some(frame) = extra {
        panic!("{what}: unexpected message {}: {frame:?}", seq_of(&frame));
    }
}

/// Polls `check` every 20 ms (without blocking the runtime) until it holds or `budget`
/// passes; returns the last result.
pub async fn wait_for(budget: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + budget;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The journal's directory inside a broker's data dir.
pub fn journal_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("journal")
}

/// Segment files (`*.log`) of the journal, oldest first (names are zero-padded indexes).
pub fn segment_files(data_dir: &Path) -> Vec<PathBuf> {
    let dir = journal_dir(data_dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    files.sort();
    files
}

/// Total size of every file in the journal dir (segments and snapshot).
pub fn journal_bytes(data_dir: &Path) -> u64 {
    let dir = journal_dir(data_dir);
    std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .filter(std::fs::Metadata::is_file)
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Lines of a broker log that are warnings.
pub fn warnings(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains("WARN")).collect()
}
