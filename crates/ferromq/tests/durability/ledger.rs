//! [`Ledger`]: what clients were promised and what they got, for the crash test.

use std::collections::{BTreeMap, BTreeSet};

/// Bookkeeping shared by the producer and consumer tasks, keyed by the test's `seq`
/// header. Every send attempt has its own seq (a retry after a lost receipt is a new
/// seq), so a seq delivered twice was delivered twice by the broker. Held under a
/// `std::sync::Mutex`, never across an `.await`.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Seqs whose SEND was receipted: each must be delivered at least once.
    pub receipted: BTreeSet<String>,
    /// Seqs whose SEND got no receipt (connection lost): they may or may not exist.
    pub unconfirmed: BTreeSet<String>,
    /// Deliveries per seq.
    pub received: BTreeMap<String, u32>,
    /// Seqs whose ACK was receipted: none may be delivered again.
    pub ack_receipted: BTreeSet<String>,
    /// Deliveries of a seq after its ACK had been receipted.
    pub violations: Vec<String>,
}

/// The counts printed at the end of the crash test.
#[derive(Debug)]
pub struct Summary {
    pub sent_receipted: usize,
    pub sent_unconfirmed: usize,
    pub unconfirmed_delivered: usize,
    pub received: u64,
    pub distinct_received: usize,
    pub lost: Vec<String>,
    pub duplicates: u64,
    pub acked_came_back: Vec<String>,
}

impl Ledger {
    pub fn on_receipted(&mut self, seq: String) {
        self.receipted.insert(seq);
    }

    pub fn on_unconfirmed(&mut self, seq: String) {
        self.unconfirmed.insert(seq);
    }

    /// Records a delivery; one of a seq whose ACK was receipted is a violation.
    pub fn on_received(&mut self, seq: &str) {
        *self.received.entry(seq.to_string()).or_default() += 1;
        if self.ack_receipted.contains(seq) {
            self.violations.push(seq.to_string());
        }
    }

    pub fn on_ack_receipted(&mut self, seq: String) {
        self.ack_receipted.insert(seq);
    }

    /// Receipted seqs not delivered yet.
    pub fn missing(&self) -> usize {
        self.receipted
            .iter()
            .filter(|s| !self.received.contains_key(*s))
            .count()
    }

    pub fn summary(&self) -> Summary {
        Summary {
            sent_receipted: self.receipted.len(),
            sent_unconfirmed: self.unconfirmed.len(),
            unconfirmed_delivered: self
                .unconfirmed
                .iter()
                .filter(|s| self.received.contains_key(*s))
                .count(),
            received: self.received.values().map(|&n| u64::from(n)).sum(),
            distinct_received: self.received.len(),
            lost: self
                .receipted
                .iter()
                .filter(|s| !self.received.contains_key(*s))
                .cloned()
                .collect(),
            duplicates: self
                .received
                .values()
                .map(|&n| u64::from(n.saturating_sub(1)))
                .sum(),
            acked_came_back: self.violations.clone(),
        }
    }
}
