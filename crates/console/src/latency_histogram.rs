//! A latency histogram as `/metrics` shows it, and where the console reads one from. The
//! binary hands the console a [`HistogramSource`] at start-up (the journal's fsync
//! latency), so the console needs no store crate.

use std::sync::Arc;

/// One reading: cumulative buckets as Prometheus wants them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LatencyHistogram {
    /// `(upper bound in seconds, observations at most that long)`, increasing; `+Inf`
    /// is [`count`](Self::count).
    pub buckets: Vec<(f64, u64)>,
    pub count: u64,
    pub sum_seconds: f64,
}

/// Reads the current histogram (cheap: atomics, no lock).
pub type HistogramSource = Arc<dyn Fn() -> LatencyHistogram + Send + Sync>;
