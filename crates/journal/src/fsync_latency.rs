//! How long the journal's fsyncs take: a histogram with fixed buckets, recorded with
//! atomics only (the fsync paths never take a lock for it) and read as a snapshot, e.g.
//! for Prometheus `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Upper bounds of the buckets (inclusive, as Prometheus' `le`), in microseconds; one
/// more bucket, `+Inf`, holds everything slower.
pub const FSYNC_BUCKETS_MICROS: [u64; 13] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000,
];

/// The histogram. Share one between the journal ([`JournalConfig::fsync_latency`]) and
/// whoever reads it; every clone of the config records into the same one.
///
/// [`JournalConfig::fsync_latency`]: crate::JournalConfig::fsync_latency
#[derive(Debug, Default)]
pub struct FsyncLatency {
    /// Per bucket, not cumulative; the last one is `+Inf`.
    buckets: [AtomicU64; FSYNC_BUCKETS_MICROS.len() + 1],
    sum_nanos: AtomicU64,
}

/// A reading of [`FsyncLatency`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsyncLatencySnapshot {
    /// `(upper bound, fsyncs that took at most that long)` for every finite bucket, in
    /// increasing order: cumulative, as Prometheus wants them.
    pub buckets: Vec<(Duration, u64)>,
    /// Every fsync recorded (the `+Inf` bucket).
    pub count: u64,
    /// Their total duration.
    pub sum: Duration,
}

impl FsyncLatency {
    pub fn new() -> FsyncLatency {
        FsyncLatency::default()
    }

    /// Counts one fsync that took `took`.
    pub fn record(&self, took: Duration) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let bucket = FSYNC_BUCKETS_MICROS
            .iter()
            .position(|&bound| nanos <= bound * 1_000)
            .unwrap_or(FSYNC_BUCKETS_MICROS.len());
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
    }

    /// Runs `sync` (one fsync) and records how long it took, whether it failed or not.
    pub(crate) fn time<T>(&self, sync: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let result = sync();
        self.record(started.elapsed());
        result
    }

    /// The counts so far. The count is the sum of the buckets read, so the snapshot is
    /// consistent (cumulative buckets ending at the count) even while fsyncs are recorded.
    pub fn snapshot(&self) -> FsyncLatencySnapshot {
        let mut total = 0;
        let mut buckets = Vec::with_capacity(FSYNC_BUCKETS_MICROS.len());
        for (i, counter) in self.buckets.iter().enumerate() {
            total += counter.load(Ordering::Relaxed);
            if let Some(&bound) = FSYNC_BUCKETS_MICROS.get(i) {
                buckets.push((Duration::from_micros(bound), total));
            }
        }
        FsyncLatencySnapshot {
            buckets,
            count: total,
            sum: Duration::from_nanos(self.sum_nanos.load(Ordering::Relaxed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A duration on a bound counts in that bucket (`le` is inclusive); the buckets are
    /// cumulative; what is slower than the last bound counts only in `+Inf`.
    #[test]
    fn buckets_are_inclusive_and_cumulative() {
        let h = FsyncLatency::new();
        h.record(Duration::from_micros(50));
        h.record(Duration::from_micros(51));
        h.record(Duration::from_millis(3));
        h.record(Duration::from_secs(2));
        let s = h.snapshot();
        assert_eq!(s.count, 4);
        assert_eq!(s.sum, Duration::from_micros(2_003_101));
        let at = |micros: u64| {
            s.buckets
                .iter()
                .find(|(b, _)| *b == Duration::from_micros(micros))
                .map(|(_, n)| *n)
        };
        assert_eq!(at(50), Some(1));
        assert_eq!(at(100), Some(2));
        assert_eq!(at(2_500), Some(2));
        assert_eq!(at(5_000), Some(3));
        assert_eq!(at(1_000_000), Some(3));
        assert_eq!(s.buckets.len(), FSYNC_BUCKETS_MICROS.len());
        assert!(s.buckets.windows(2).all(|w| w[0].1 <= w[1].1));
    }
}
