//! Latency histograms per command kind, error counts, and the report.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Latencies are recorded in microseconds, up to 60 s.
fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}

/// What one worker (or the whole run, after merging) measured.
#[derive(Default)]
pub struct Stats {
    pub per_kind: BTreeMap<&'static str, Histogram<u64>>,
    pub errors: BTreeMap<&'static str, u64>,
    /// The first few unexpected answers, to show what went wrong.
    pub samples: Vec<String>,
}

impl Stats {
    pub fn record(&mut self, kind: &'static str, latency: Duration) {
        let micros = (latency.as_micros() as u64).clamp(1, 60_000_000);
        self.per_kind.entry(kind).or_insert_with(new_histogram).record(micros).expect("in bounds");
    }

    pub fn error(&mut self, kind: &'static str, what: impl FnOnce() -> String) {
        *self.errors.entry(kind).or_default() += 1;
        if self.samples.len() < 5 {
            self.samples.push(format!("{kind}: {}", what()));
        }
    }

    pub fn merge(&mut self, other: Stats) {
        for (kind, h) in other.per_kind {
            self.per_kind.entry(kind).or_insert_with(new_histogram).add(h).expect("same bounds");
        }
        for (kind, n) in other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
        for s in other.samples {
            if self.samples.len() < 5 {
                self.samples.push(s);
            }
        }
    }

    pub fn total(&self) -> Histogram<u64> {
        let mut all = new_histogram();
        for h in self.per_kind.values() {
            all.add(h).expect("same bounds");
        }
        all
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Prints the table; `seconds` is the measured window.
    pub fn print(&self, title: &str, seconds: f64) {
        println!("== {title}");
        println!(
            "{:<12} {:>10} {:>12} {:>9} {:>9} {:>9} {:>9} {:>7}",
            "command", "count", "per s", "p50 ms", "p99 ms", "p999 ms", "max ms", "errors"
        );
        let line = |name: &str, h: &Histogram<u64>, errors: u64| {
            println!(
                "{:<12} {:>10} {:>12.0} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>7}",
                name,
                h.len(),
                h.len() as f64 / seconds,
                h.value_at_quantile(0.5) as f64 / 1000.0,
                h.value_at_quantile(0.99) as f64 / 1000.0,
                h.value_at_quantile(0.999) as f64 / 1000.0,
                h.max() as f64 / 1000.0,
                errors
            )
        };
        for (kind, h) in &self.per_kind {
            line(kind, h, self.errors.get(kind).copied().unwrap_or(0));
        }
        line("ALL", &self.total(), self.error_count());
        for s in &self.samples {
            println!("  unexpected: {s}");
        }
    }
}
