//! Counters and latency histograms rendered in the Prometheus text format. Kept per `App` rather
//! than in a process-global recorder, so several instances in one test process stay apart.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default, Debug)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default, Debug)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(String, String), u64>>,
    histograms: Mutex<BTreeMap<(String, String), Histogram>>,
}

/// Labels as `key="value"` pairs, values escaped for the exposition format.
pub fn labels(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}=\"{}\"",
                v.replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n")
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl Metrics {
    pub fn inc(&self, name: &str, label_set: String) {
        if let Ok(mut c) = self.counters.lock() {
            *c.entry((name.to_string(), label_set)).or_default() += 1;
        }
    }

    /// A counter's value (0 when never incremented).
    pub fn counter(&self, name: &str, label_set: &str) -> u64 {
        self.counters
            .lock()
            .ok()
            .and_then(|c| c.get(&(name.to_string(), label_set.to_string())).copied())
            .unwrap_or(0)
    }

    pub fn observe(&self, name: &str, label_set: String, secs: f64) {
        if let Ok(mut h) = self.histograms.lock() {
            let e = h.entry((name.to_string(), label_set)).or_default();
            for (i, b) in BUCKETS.iter().enumerate() {
                if secs <= *b {
                    e.counts[i] += 1;
                }
            }
            e.sum += secs;
            e.count += 1;
        }
    }

    pub fn render(&self, out: &mut String) {
        if let Ok(c) = self.counters.lock() {
            let mut last = "";
            for ((name, l), v) in c.iter() {
                if name != last {
                    let _ = writeln!(out, "# TYPE {name} counter");
                    last = name;
                }
                let _ = writeln!(out, "{name}{{{l}}} {v}");
            }
        }
        if let Ok(h) = self.histograms.lock() {
            let mut last = "";
            for ((name, l), v) in h.iter() {
                if name != last {
                    let _ = writeln!(out, "# TYPE {name} histogram");
                    last = name;
                }
                let sep = if l.is_empty() { "" } else { "," };
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(out, "{name}_bucket{{{l}{sep}le=\"{b}\"}} {}", v.counts[i]);
                }
                let _ = writeln!(out, "{name}_bucket{{{l}{sep}le=\"+Inf\"}} {}", v.count);
                let _ = writeln!(out, "{name}_sum{{{l}}} {}", v.sum);
                let _ = writeln!(out, "{name}_count{{{l}}} {}", v.count);
            }
        }
    }
}
