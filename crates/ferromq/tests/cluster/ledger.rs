//! [`Ledger`]: what producers had acknowledged and what consumers received, counted.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Shared by producer and consumer tasks; message bodies are unique names.
#[derive(Default)]
pub struct Ledger {
    /// Bodies the broker acknowledged (receipt arrived), with when and from which node
    /// (when known).
    acked: Mutex<Vec<(String, Instant, Option<usize>)>>,
    /// Body → times received.
    received: Mutex<BTreeMap<String, u32>>,
    /// Sends that failed (no receipt; the producer resent the same body).
    failed_sends: AtomicU64,
    /// Client (re)connections made.
    connects: AtomicU64,
}

/// The counts at the end of a test.
pub struct Tally {
    pub acked: usize,
    pub received_distinct: usize,
    pub received_total: u64,
    /// Acknowledged but never received.
    pub lost: Vec<String>,
    /// Received more than once, with how often.
    pub duplicates: Vec<(String, u32)>,
    /// Received but never acknowledged (a send whose receipt was lost: allowed).
    pub unacked_received: usize,
    pub failed_sends: u64,
    pub connects: u64,
}

impl Tally {
    pub fn print(&self, what: &str) {
        let dups: Vec<String> = self
            .duplicates
            .iter()
            .take(20)
            .map(|(b, n)| format!("{b} x{n}"))
            .collect();
        eprintln!(
            "--- {what}: acknowledged {}, received {} distinct ({} deliveries), lost {}, \
             duplicates {}{}, received without acknowledgement {}, failed sends {}, \
             client connects {}",
            self.acked,
            self.received_distinct,
            self.received_total,
            self.lost.len(),
            self.duplicates.len(),
            if dups.is_empty() {
                String::new()
            } else {
                format!(" {dups:?}")
            },
            self.unacked_received,
            self.failed_sends,
            self.connects,
        );
    }

    /// Panics with the first lost bodies when anything acknowledged is missing.
    pub fn assert_nothing_lost(&self, what: &str) {
        let first: Vec<&String> = self.lost.iter().take(20).collect();
        assert!(
            self.lost.is_empty(),
            "{what}: {} acknowledged messages were never received (first: {first:?})",
            self.lost.len()
        );
    }
}

impl Ledger {
    pub fn acked(&self, body: String) {
        lock(&self.acked).push((body, Instant::now(), None));
    }

    /// An acknowledgement from node `node` (index).
    pub fn acked_by(&self, body: String, node: usize) {
        lock(&self.acked).push((body, Instant::now(), Some(node)));
    }

    pub fn received(&self, body: String) {
        *lock(&self.received).entry(body).or_default() += 1;
    }

    pub fn failed_send(&self) {
        self.failed_sends.fetch_add(1, Ordering::Relaxed);
    }

    pub fn connected(&self) {
        self.connects.fetch_add(1, Ordering::Relaxed);
    }

    pub fn acked_count(&self) -> usize {
        lock(&self.acked).len()
    }

    /// Time from `since` to the first acknowledgement by node `node` after it.
    pub fn first_ack_after(&self, since: Instant, node: usize) -> Option<Duration> {
        lock(&self.acked)
            .iter()
            .filter(|(_, at, by)| *at > since && *by == Some(node))
            .map(|(_, at, _)| *at)
            .min()
            .map(|at| at - since)
    }

    pub fn tally(&self) -> Tally {
        let acked = lock(&self.acked);
        let received = lock(&self.received);
        let acked_set: BTreeSet<&String> = acked.iter().map(|(b, _, _)| b).collect();
        Tally {
            acked: acked_set.len(),
            received_distinct: received.len(),
            received_total: received.values().map(|&n| u64::from(n)).sum(),
            lost: acked_set
                .iter()
                .filter(|b| !received.contains_key(**b))
                .map(|b| (*b).clone())
                .collect(),
            duplicates: received
                .iter()
                .filter(|(_, &n)| n > 1)
                .map(|(b, &n)| (b.clone(), n))
                .collect(),
            unacked_received: received.keys().filter(|b| !acked_set.contains(b)).count(),
            failed_sends: self.failed_sends.load(Ordering::Relaxed),
            connects: self.connects.load(Ordering::Relaxed),
        }
    }
}
