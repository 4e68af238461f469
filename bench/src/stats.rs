//! What every load measures: a latency histogram, errors, and the one JSON
//! result line.

use hdrhistogram::Histogram;
use serde_json::{Map, Value, json};
use std::time::Duration;

/// Round-trip latencies in nanoseconds (3 significant digits, up to 60 s).
#[derive(Debug, Clone)]
pub struct Latencies(Histogram<u64>);

impl Default for Latencies {
    fn default() -> Self {
        Self(Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds"))
    }
}

impl Latencies {
    /// Records one round trip (clamped into the histogram's range, since a
    /// value outside it must not lose the sample).
    pub fn record(&mut self, d: Duration) {
        let ns = (d.as_nanos() as u64).clamp(1, self.0.high());
        self.0.saturating_record(ns);
    }

    /// Adds another connection's samples.
    pub fn merge(&mut self, other: &Latencies) {
        self.0.add(&other.0).expect("same bounds");
    }

    /// How many samples.
    pub fn len(&self) -> u64 {
        self.0.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `q` quantile (0..=1) in microseconds.
    pub fn quantile_us(&self, q: f64) -> f64 {
        self.0.value_at_quantile(q) as f64 / 1000.0
    }

    /// The largest sample in microseconds.
    pub fn max_us(&self) -> f64 {
        self.0.max() as f64 / 1000.0
    }
}

/// Failures seen by a run: a count and the first message (enough to tell
/// what went wrong without flooding the output).
#[derive(Debug, Clone, Default)]
pub struct Errors {
    /// How many operations or connections failed.
    pub count: u64,
    /// The first failure's description.
    pub first: Option<String>,
}

impl Errors {
    /// Counts one failure.
    pub fn add(&mut self, what: impl Into<String>) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some(what.into());
        }
    }

    /// Adds another set of failures.
    pub fn merge(&mut self, other: Errors) {
        self.count += other.count;
        if self.first.is_none() {
            self.first = other.first;
        }
    }
}

/// The result of one run of any load: printed as one JSON line.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// `pingpong`, `lines`, `bulk`, `connect-rate` or `hold`.
    pub mode: String,
    /// Connections asked for (concurrent connectors for `connect-rate`).
    pub connections: usize,
    /// Connections that were established.
    pub connected: usize,
    /// Message size (pingpong, lines, connect-rate) or write chunk (bulk).
    pub size: usize,
    /// The measured window in seconds (after warm-up).
    pub duration_s: f64,
    /// Round trips (pingpong, lines), echoed chunks (bulk) or completed
    /// connections (connect-rate) within the window.
    pub ops: u64,
    /// Bytes echoed back within the window (one direction).
    pub bytes: u64,
    /// Per-operation latencies within the window (round trip; for
    /// connect-rate, connect to the server's close).
    pub latencies: Latencies,
    /// Failures: connections that could not connect, I/O errors, echoes
    /// that did not match, time-outs.
    pub errors: Errors,
    /// Every byte compared against what was sent, warm-up included.
    pub verified_bytes: u64,
}

impl LoadReport {
    /// Operations per second in the window.
    pub fn ops_per_sec(&self) -> f64 {
        per_sec(self.ops as f64, self.duration_s)
    }

    /// Megabytes (10^6 bytes) echoed per second in the window.
    pub fn mb_per_sec(&self) -> f64 {
        per_sec(self.bytes as f64 / 1e6, self.duration_s)
    }

    /// The JSON result line, with `tags` (e.g. `server=wasio`) added as
    /// string fields so the script can group runs.
    pub fn to_json(&self, tags: &[(String, String)]) -> Value {
        let lat = |q: f64| {
            if self.latencies.is_empty() {
                Value::Null
            } else {
                json!(round(self.latencies.quantile_us(q)))
            }
        };
        let mut out = Map::new();
        for (k, v) in tags {
            out.insert(k.clone(), json!(v));
        }
        let fields = json!({
            "mode": self.mode,
            "connections": self.connections,
            "connected": self.connected,
            "size": self.size,
            "duration": round(self.duration_s),
            "ops": self.ops,
            "ops_per_sec": round(self.ops_per_sec()),
            "mb_per_sec": round(self.mb_per_sec()),
            "p50_us": lat(0.5),
            "p99_us": lat(0.99),
            "p999_us": lat(0.999),
            "max_us": if self.latencies.is_empty() { Value::Null } else { json!(round(self.latencies.max_us())) },
            "errors": self.errors.count,
            "first_error": self.errors.first,
            "verified_bytes": self.verified_bytes,
        });
        if let Value::Object(fields) = fields {
            out.extend(fields);
        }
        Value::Object(out)
    }
}

fn per_sec(amount: f64, secs: f64) -> f64 {
    if secs > 0.0 { amount / secs } else { 0.0 }
}

/// Two decimals are plenty for results and keep the lines readable.
fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
