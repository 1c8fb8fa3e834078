//! Message rates for the overview: the broker's in/out counters sampled once a second,
//! the last [`KEEP`] samples kept for the live chart.

use broker::Broker;
use std::collections::VecDeque;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often the counters are sampled.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// Samples kept (five minutes at one a second).
pub const KEEP: usize = 300;
/// The rate shown as a number is the average over this many seconds.
const RATE_WINDOW: usize = 5;

#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    messages_in: u64,
    messages_out: u64,
}

#[derive(Debug, Default)]
pub struct RateHistory {
    samples: Mutex<VecDeque<Sample>>,
}

/// Messages per second, in and out.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    pub messages_in: f64,
    pub messages_out: f64,
}

impl RateHistory {
    pub fn sample(&self, broker: &Broker) {
        let o = broker.overview();
        let mut s = self.lock();
        s.push_back(Sample {
            at: Instant::now(),
            messages_in: o.messages_in,
            messages_out: o.messages_out,
        });
        while s.len() > KEEP {
            s.pop_front();
        }
    }

    /// Average rates over the last few samples (zero before two samples exist).
    pub fn current(&self) -> Rates {
        let s = self.lock();
        let n = s.len();
        if n < 2 {
            return Rates::default();
        }
        let first = s[n.saturating_sub(RATE_WINDOW + 1)];
        let last = s[n - 1];
        rate_between(&first, &last)
    }

    /// Per-second rates over the kept samples, oldest first.
    fn series(&self) -> Vec<Rates> {
        let s = self.lock();
        s.iter()
            .zip(s.iter().skip(1))
            .map(|(a, b)| rate_between(a, b))
            .collect()
    }

    /// The rates as an SVG line chart (in: blue, out: green), scaled to the highest rate.
    pub fn svg(&self) -> String {
        const W: f64 = 600.0;
        const H: f64 = 150.0;
        let series = self.series();
        let top = series
            .iter()
            .map(|r| r.messages_in.max(r.messages_out))
            .fold(1.0f64, f64::max);
        let line = |pick: fn(&Rates) -> f64| {
            let mut points = String::new();
            let step = W / (KEEP as f64 - 1.0);
            let offset = KEEP.saturating_sub(series.len() + 1) as f64 * step;
            for (i, r) in series.iter().enumerate() {
                let x = offset + (i as f64 + 1.0) * step;
                let y = H - pick(r) / top * (H - 10.0);
                let _ = write!(points, "{x:.1},{y:.1} ");
            }
            points
        };
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\">\
             <rect width=\"{W}\" height=\"{H}\" fill=\"#fafafa\" stroke=\"#ccc\"/>\
             <text x=\"4\" y=\"12\" font-size=\"10\" font-family=\"sans-serif\">{top:.0} msg/s; last {KEEP} s; \
             <tspan fill=\"#1565c0\">in</tspan> / <tspan fill=\"#2e7d32\">out</tspan></text>\
             <polyline fill=\"none\" stroke=\"#1565c0\" stroke-width=\"1.5\" points=\"{}\"/>\
             <polyline fill=\"none\" stroke=\"#2e7d32\" stroke-width=\"1.5\" points=\"{}\"/></svg>",
            line(|r| r.messages_in),
            line(|r| r.messages_out)
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Sample>> {
        // Each operation leaves the deque consistent; a poisoned lock is still usable.
        self.samples.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn rate_between(a: &Sample, b: &Sample) -> Rates {
    let secs = b.at.duration_since(a.at).as_secs_f64();
    if secs <= 0.0 {
        return Rates::default();
    }
    Rates {
        messages_in: b.messages_in.saturating_sub(a.messages_in) as f64 / secs,
        messages_out: b.messages_out.saturating_sub(a.messages_out) as f64 / secs,
    }
}
