//! A torn write at the journal tail, as `kill -9` or a power cut leaves it.
//!
//! Record format (journal crate, `record.rs`): `[len u32 LE][crc32c u32 LE][len bytes]`.
//! The test walks the last segment by the length prefixes only, so it does not depend on
//! the journal's decoder. The active segment may end with zero-filled room (preallocated
//! by the journal so appends do not change the file size); a zero length marks its start.

use std::collections::BTreeSet;
use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use testkit::TestBroker;

use crate::fixture::{collect, connect, segment_files, send_numbered, seq_of, warnings};

const QUEUE: &str = "/queue/durability.torn";
/// Receipted messages written before the damage.
const MESSAGES: usize = 20;
/// Bytes before a record's `len` bytes: the `len` and `crc32c` fields.
const RECORD_PREFIX: usize = 8;
/// Time allowed to receive the messages.
const RECEIVE_BUDGET: Duration = Duration::from_secs(20);
/// What the journal says when it cuts a damaged tail (`segment.rs`).
const TRUNCATION_WARNING: &str = "truncating torn or corrupt tail";

/// The damage done to the last segment while the broker is down.
#[derive(Debug, Clone, Copy)]
enum Damage {
    /// The start of a record that was never finished, after the last whole record.
    GarbageAfterLastRecord,
    /// The last record cut in half.
    LastRecordCut,
}

/// `(offset, length)` of every whole record of a segment, by the length prefixes, up to
/// the zero-filled room (if any).
fn records(data: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(prefix) = data.get(pos..pos + 4) {
        let len = u32::from_le_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
        if len == 0 {
            break;
        }
        let end = pos + RECORD_PREFIX + len;
        if end > data.len() {
            break;
        }
        out.push((pos, end - pos));
        pos = end;
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Damages the last segment; `last_seq` must be in the last record (it is the last message
/// sent, and nothing else was written after it).
fn damage(data_dir: &Path, damage: Damage, last_seq: &str) {
    let segments = segment_files(data_dir);
    let last = segments.last().expect("the journal has a segment");
    let data = std::fs::read(last).expect("read last segment");
    let recs = records(&data);
    let &(offset, len) = recs.last().expect("the last segment has records");
    let end = offset + len;
    assert!(
        data[end..].iter().all(|&b| b == 0),
        "{} does not end with a whole record (and zero-filled room)",
        last.display()
    );
    assert!(
        contains(&data[offset..], last_seq.as_bytes()),
        "the last record of {} is not the message {last_seq}",
        last.display()
    );
    match damage {
        Damage::GarbageAfterLastRecord => {
            // A record header that promises 1000 bytes, and only 50 of them.
            let mut garbage = 1000u32.to_le_bytes().to_vec();
            garbage.extend_from_slice(&0xdead_beefu32.to_le_bytes());
            garbage.extend_from_slice(&[0xab; 50]);
            // Where the next record would have gone: over the room, if there is any.
            let mut f = OpenOptions::new()
                .write(true)
                .open(last)
                .expect("open segment");
            f.seek(SeekFrom::Start(end as u64)).expect("seek");
            f.write_all(&garbage).expect("write garbage");
            eprintln!(
                "--- appended {} garbage bytes to {} after {} records",
                garbage.len(),
                last.display(),
                recs.len()
            );
        }
        Damage::LastRecordCut => {
            let cut = offset + len / 2;
            let f = OpenOptions::new()
                .write(true)
                .open(last)
                .expect("open segment");
            f.set_len(cut as u64).expect("cut segment");
            eprintln!(
                "--- cut {} at {cut}, in the middle of its last record ({offset}..{})",
                last.display(),
                offset + len
            );
        }
    }
}

/// Sends [`MESSAGES`], SIGKILLs the broker, damages the tail, restarts; returns what the
/// queue then holds and the broker's warnings after the restart.
async fn damaged_restart(kind: Damage) -> (Vec<String>, BTreeSet<String>, Vec<String>) {
    let mut broker = TestBroker::start();
    let addr = broker.stomp_addr();

    eprintln!("--- {kind:?}: send {MESSAGES} receipted persistent messages, then SIGKILL");
    let mut producer = connect(&addr, None).await;
    let sent = send_numbered(&mut producer, QUEUE, "torn", MESSAGES).await;
    tokio::task::block_in_place(|| broker.kill());
    let log_before = broker.log().len();

    damage(&broker.data_dir(), kind, &sent[MESSAGES - 1]);

    eprintln!("--- {kind:?}: restart on the damaged journal: it must start and warn");
    tokio::task::block_in_place(|| broker.restart());
    let log = broker.log();
    let new_warnings: Vec<String> = warnings(&log[log_before..])
        .into_iter()
        .map(str::to_string)
        .collect();
    let mut consumer = connect(&addr, None).await;
    consumer
        .subscribe(
            "s",
            QUEUE,
            "client-individual",
            &[("activemq.prefetchSize", "100")],
        )
        .await
        .expect("subscribe after restart");
    let got = collect(&mut consumer, MESSAGES, true, RECEIVE_BUDGET)
        .await
        .iter()
        .map(seq_of)
        .collect();

    eprintln!("--- {kind:?}: the repaired journal takes new records that survive a SIGKILL");
    let mut producer = connect(&addr, None).await;
    send_numbered(&mut producer, QUEUE, "repaired", 1).await;
    tokio::task::block_in_place(|| broker.restart());
    let mut consumer = connect(&addr, None).await;
    consumer
        .subscribe("s", QUEUE, "client-individual", &[])
        .await
        .expect("subscribe after the second restart");
    let after: Vec<String> = collect(&mut consumer, 1, true, RECEIVE_BUDGET)
        .await
        .iter()
        .map(seq_of)
        .collect();
    assert_eq!(
        after,
        ["repaired-0"],
        "{kind:?}: message written after the repair"
    );
    (sent, got, new_warnings)
}

fn assert_truncation_warned(kind: Damage, warnings: &[String]) {
    assert!(
        warnings.iter().any(|w| w.contains(TRUNCATION_WARNING)),
        "{kind:?}: no warning containing {TRUNCATION_WARNING:?}; warnings: {warnings:#?}"
    );
}

/// Garbage after the last whole record is cut off with a warning; every receipted message
/// is still there. A record cut in half is cut off with a warning too, and exactly its
/// message is lost: every other receipted message is still there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_tail_is_truncated_with_a_warning() {
    let kind = Damage::GarbageAfterLastRecord;
    let (sent, got, warnings) = damaged_restart(kind).await;
    assert_truncation_warned(kind, &warnings);
    let expected: BTreeSet<String> = sent.into_iter().collect();
    assert_eq!(got, expected, "{kind:?}: every intact message must survive");

    let kind = Damage::LastRecordCut;
    let (sent, got, warnings) = damaged_restart(kind).await;
    assert_truncation_warned(kind, &warnings);
    let expected: BTreeSet<String> = sent[..MESSAGES - 1].iter().cloned().collect();
    assert_eq!(
        got, expected,
        "{kind:?}: exactly the message of the cut record must be gone"
    );
}
