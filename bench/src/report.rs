//! Turns the collected JSON result lines into the Markdown tables of
//! `BENCHMARKS.md`: medians over repetitions, ratios against native Tokio
//! and uvloop, latencies, connection rate and idle-connection memory.
//!
//! The server and column ids are the ones `bench/run.sh` tags its runs
//! with (`--tag server=... --tag column=...`).

use serde_json::Value;
use std::fmt::Write as _;
use std::io::{self, BufRead};
use std::path::Path;

/// A server compared: its tag in the results and its name in the tables.
#[derive(Debug, Clone, Copy)]
pub struct Server {
    /// The `server` tag.
    pub id: &'static str,
    /// The row title.
    pub title: &'static str,
    /// The plot legend's label.
    pub short: &'static str,
}

/// Every server, in table order.
pub const SERVERS: [Server; 6] = [
    Server {
        id: "wasio-raw",
        title: "wasio, `echo_raw` handler (blocking style, instance per connection)",
        short: "wasio echo_raw",
    },
    Server {
        id: "wasio-lines",
        title: "wasio, `echo_lines` handler (blocking style, instance per connection)",
        short: "wasio echo_lines",
    },
    Server {
        id: "wasio-raw-async",
        title: "wasio, `echo_raw_async` handler (async style, instance per connection)",
        short: "wasio echo_raw_async",
    },
    Server {
        id: "tokio",
        title: "native Tokio echo",
        short: "native Tokio",
    },
    Server {
        id: "uvloop",
        title: "uvloop streams echo",
        short: "uvloop",
    },
    Server {
        id: "asyncio",
        title: "CPython asyncio streams echo",
        short: "CPython asyncio",
    },
];

/// What a column reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Round trips per second.
    Ops,
    /// MB (10^6 bytes) echoed per second.
    MbPerSec,
    /// Resident memory of the server process (lower is better).
    RssKib,
}

/// A column of the main table: a `column` tag, its title and metric.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The `column` tag.
    pub id: &'static str,
    /// The header.
    pub title: &'static str,
    /// What it shows.
    pub metric: Metric,
}

/// The table, in its order.
pub const COLUMNS: [Column; 7] = [
    Column {
        id: "pp1",
        title: "pingpong 64 B, 1 conn",
        metric: Metric::Ops,
    },
    Column {
        id: "pp50",
        title: "pingpong 64 B, 50 conns",
        metric: Metric::Ops,
    },
    Column {
        id: "lines50",
        title: "lines 64 B, 50 conns",
        metric: Metric::Ops,
    },
    Column {
        id: "bulk1",
        title: "bulk, 1 conn",
        metric: Metric::MbPerSec,
    },
    Column {
        id: "bulk10",
        title: "bulk, 10 conns",
        metric: Metric::MbPerSec,
    },
    Column {
        id: "pp1000",
        title: "pingpong 64 B, 1000 conns",
        metric: Metric::Ops,
    },
    Column {
        id: "rss1000",
        title: "RSS at 1000 conns",
        metric: Metric::RssKib,
    },
];

/// The pingpong columns of the throughput-against-connections sweep (the
/// plot), with their connection counts.
pub const SWEEP: [(&str, u64); 5] = [
    ("pp1", 1),
    ("pp10", 10),
    ("pp50", 50),
    ("pp100", 100),
    ("pp1000", 1000),
];

/// Reads JSON lines, skipping blank ones; a line that is not JSON is an
/// error (the script writes only result lines into the file).
pub fn read_records(path: &Path) -> io::Result<Vec<Value>> {
    let file = std::fs::File::open(path)?;
    let mut out = Vec::new();
    for (i, line) in io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let value = serde_json::from_str(&line).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}:{}: {e}", path.display(), i + 1),
            )
        })?;
        out.push(value);
    }
    Ok(out)
}

/// The median (mean of the middle two for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

fn tag<'a>(r: &'a Value, key: &str) -> Option<&'a str> {
    r.get(key).and_then(Value::as_str)
}

fn num(r: &Value, key: &str) -> Option<f64> {
    r.get(key).and_then(Value::as_f64)
}

/// The records of one server in one column.
pub fn runs<'a>(records: &'a [Value], server: &str, column: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| tag(r, "server") == Some(server) && tag(r, "column") == Some(column))
        .collect()
}

/// The values of field `key` over the runs of a server in a column.
pub fn values(records: &[Value], server: &str, column: &str, key: &str) -> Vec<f64> {
    runs(records, server, column)
        .into_iter()
        .filter_map(|r| num(r, key))
        .collect()
}

fn metric_key(m: Metric) -> &'static str {
    match m {
        Metric::Ops => "ops_per_sec",
        Metric::MbPerSec => "mb_per_sec",
        Metric::RssKib => "rss_kib",
    }
}

/// The median of a column's metric for a server.
pub fn cell(records: &[Value], server: &str, col: &Column) -> Option<f64> {
    median(&values(records, server, col.id, metric_key(col.metric)))
}

/// Formats a value of a metric the way the table does.
pub fn format_value(m: Metric, v: f64) -> String {
    match m {
        Metric::Ops if v >= 1000.0 => format!("{:.1}k", v / 1000.0),
        Metric::Ops => format!("{v:.0}"),
        Metric::MbPerSec => format!("{v:.0} MB/s"),
        Metric::RssKib => format!("{:.1} MiB", v / 1024.0),
    }
}

fn errors_in(records: &[Value], server: &str, column: &str) -> u64 {
    values(records, server, column, "errors")
        .iter()
        .map(|&e| e as u64)
        .sum()
}

/// All the Markdown result sections.
pub fn markdown(records: &[Value]) -> String {
    let mut out = String::new();
    main_table(&mut out, records);
    ratio_table(&mut out, records);
    latency_table(&mut out, records);
    cpu_table(&mut out, records);
    sweep_table(&mut out, records);
    spread_table(&mut out, records);
    connect_rate_table(&mut out, records);
    instantiate_table(&mut out, records);
    idle_table(&mut out, records);
    error_list(&mut out, records);
    out
}

/// The targets that this run's medians miss, one line each (the
/// facts; the reasons are the analysis's job).
pub fn shortfalls(records: &[Value]) -> String {
    let mut out = String::new();
    for (wasio, name) in [("wasio-raw", "echo_raw"), ("wasio-lines", "echo_lines")] {
        for c in COLUMNS.iter().filter(|c| c.metric != Metric::RssKib) {
            let Some(w) = cell(records, wasio, c) else {
                continue;
            };
            let mut misses = Vec::new();
            for (peer, target) in [("Tokio", 0.8), ("uvloop", 1.5)] {
                let id = peer.to_lowercase();
                if let Some(p) = cell(records, &id, c).filter(|&p| p > 0.0)
                    && w / p < target
                {
                    misses.push(format!("{:.2}× {peer} (target {target}×)", w / p));
                }
            }
            if !misses.is_empty() {
                let _ = writeln!(
                    out,
                    "- {}: wasio `{name}` at {} is {}.",
                    c.title,
                    format_value(c.metric, w),
                    misses.join(" and ")
                );
            }
        }
    }
    for (wasio, name) in [("wasio-raw", "echo_raw"), ("wasio-lines", "echo_lines")] {
        if let Some(rate) = median(&values(records, wasio, "connect", "ops_per_sec"))
            && rate < 20_000.0
        {
            let _ = writeln!(
                out,
                "- New connections: wasio `{name}` accepts {rate:.0}/s (target ≥ 20,000/s)."
            );
        }
    }
    for c in INSTANTIATED {
        if let Some(p50) = instantiation(records, c, "p50_us").filter(|&p| p > 5.0) {
            let _ = writeln!(
                out,
                "- Instantiation: `{c}` takes {p50:.1} µs at p50 (target ≤ 5 µs)."
            );
        }
    }
    for (wasio, name) in [("wasio-raw", "echo_raw"), ("wasio-lines", "echo_lines")] {
        let holds = runs(records, wasio, "idle");
        let held = holds
            .iter()
            .filter(|r| tag(r, "mode") == Some("hold"))
            .find_map(|r| Some((num(r, "connections")?, num(r, "connected")?)));
        let rss = median(&values(records, wasio, "idle", "rss_kib"));
        if let Some((asked, held)) = held {
            if held < asked {
                let _ = writeln!(
                    out,
                    "- Idle connections: wasio `{name}` held {held:.0} of the {asked:.0} asked for."
                );
            }
            if let Some(kib) = rss.filter(|&k| k > 1024.0 * 1024.0) {
                let _ = writeln!(
                    out,
                    "- Idle connections: wasio `{name}` used {} for {held:.0} (target ≤ 1 GiB for 10,000).",
                    format_value(Metric::RssKib, kib)
                );
            }
        }
    }
    if out.is_empty() {
        out.push_str("- None: every measured target is met in this run.\n");
    }
    out
}

/// A row per server: its title, then the cells `cells` gives for it; and
/// the blank line that ends the table.
fn server_rows(out: &mut String, cells: impl Fn(&Server) -> Vec<String>) {
    for s in &SERVERS {
        let _ = writeln!(out, "| {} | {} |", s.title, cells(s).join(" | "));
    }
    let _ = writeln!(out);
}

fn header(out: &mut String, first: &str, titles: &[&str]) {
    let _ = writeln!(out, "| {first} | {} |", titles.join(" | "));
    let _ = writeln!(out, "|---|{}", "---|".repeat(titles.len()));
}

fn main_table(out: &mut String, records: &[Value]) {
    let reps = records
        .iter()
        .find(|r| tag(r, "mode") == Some("meta"))
        .and_then(|m| tag(m, "reps"))
        .unwrap_or("the");
    let _ = writeln!(
        out,
        "### Medians of {reps} runs (round trips per second; MB/s echoed; RSS)\n"
    );
    let titles: Vec<&str> = COLUMNS.iter().map(|c| c.title).collect();
    header(out, "server", &titles);
    server_rows(out, |s| {
        COLUMNS
            .iter()
            .map(|c| match cell(records, s.id, c) {
                Some(v) => {
                    let errors = errors_in(records, s.id, c.id);
                    let mut text = format_value(c.metric, v);
                    if errors > 0 {
                        let _ = write!(text, " ({errors} errors)");
                    }
                    text
                }
                None => "n/a".to_string(),
            })
            .collect()
    });
}

fn ratio_table(out: &mut String, records: &[Value]) {
    let _ = writeln!(
        out,
        "### Ratios of medians (targets: ≥ 0.8× Tokio and ≥ 1.5× uvloop in every column; \
         for RSS lower is better and the ratio is only shown)\n"
    );
    let titles: Vec<&str> = COLUMNS.iter().map(|c| c.title).collect();
    header(out, "ratio", &titles);
    for wasio in ["wasio-raw", "wasio-lines", "wasio-raw-async"] {
        for (peer, target) in [("tokio", 0.8), ("uvloop", 1.5)] {
            let cells: Vec<String> = COLUMNS
                .iter()
                .map(
                    |c| match (cell(records, wasio, c), cell(records, peer, c)) {
                        (Some(w), Some(p)) if p > 0.0 => {
                            let r = w / p;
                            if c.metric == Metric::RssKib {
                                format!("{r:.2}×")
                            } else if r >= target {
                                format!("**{r:.2}×** ✓")
                            } else {
                                format!("{r:.2}× ✗")
                            }
                        }
                        _ => "n/a".to_string(),
                    },
                )
                .collect();
            let _ = writeln!(out, "| {wasio} / {peer} | {} |", cells.join(" | "));
        }
    }
    let _ = writeln!(out);
}

fn latency_table(out: &mut String, records: &[Value]) {
    let cols = [
        ("pp1", "pingpong, 1 conn"),
        ("pp50", "pingpong, 50 conns"),
        ("lines50", "lines, 50 conns"),
        ("pp1000", "pingpong, 1000 conns"),
    ];
    let _ = writeln!(
        out,
        "### Round-trip latency, µs (medians of the runs' p50 / p99 / p99.9)\n"
    );
    let titles: Vec<&str> = cols.iter().map(|c| c.1).collect();
    header(out, "server", &titles);
    server_rows(out, |s| {
        cols.iter()
            .map(|(id, _)| {
                let q = |k| median(&values(records, s.id, id, k));
                match (q("p50_us"), q("p99_us"), q("p999_us")) {
                    (Some(a), Some(b), Some(c)) => format!("{a:.0} / {b:.0} / {c:.0}"),
                    _ => "n/a".to_string(),
                }
            })
            .collect()
    });
}

/// Per run: the server's CPU time per operation (µs; per MB for bulk), and
/// how busy the server's and the load generator's cores were, from the
/// `cpu` records the script samples inside the measured window.
fn cpu_per_op(records: &[Value], server: &str, column: &str) -> Vec<(f64, f64, f64)> {
    let bulk = column.starts_with("bulk");
    runs(records, server, column)
        .into_iter()
        .filter(|r| tag(r, "mode") == Some("cpu"))
        .filter_map(|cpu| {
            let rep = tag(cpu, "rep")?;
            let load = runs(records, server, column).into_iter().find(|r| {
                tag(r, "rep") == Some(rep) && !matches!(tag(r, "mode"), Some("cpu" | "rss"))
            })?;
            let window = num(cpu, "window_s")?;
            let tck = num(cpu, "clk_tck")?;
            let server_s = num(cpu, "server_ticks")? / tck;
            let load_s = num(cpu, "load_ticks")? / tck;
            let rate = num(load, if bulk { "mb_per_sec" } else { "ops_per_sec" })?;
            (window > 0.0 && rate > 0.0).then(|| {
                (
                    server_s * 1e6 / (rate * window),
                    server_s / window * 100.0,
                    load_s / window * 100.0,
                )
            })
        })
        .collect()
}

fn cpu_table(out: &mut String, records: &[Value]) {
    let cols = [
        ("pp1", "pingpong, 1 conn"),
        ("pp50", "pingpong, 50 conns"),
        ("lines50", "lines, 50 conns"),
        ("pp1000", "pingpong, 1000 conns"),
        ("bulk10", "bulk, 10 conns (per MB)"),
        ("connect", "new connections (per connection)"),
    ];
    let _ = writeln!(
        out,
        "### Server CPU time per operation, µs (server core busy / load-generator core busy)\n\n\
         Sampled from /proc inside the measured window; medians. A side near 100% is the \
         bottleneck; when neither is, the time goes to waiting.\n"
    );
    let titles: Vec<&str> = cols.iter().map(|c| c.1).collect();
    header(out, "server", &titles);
    server_rows(out, |s| {
        cols.iter()
            .map(|(id, _)| {
                let v = cpu_per_op(records, s.id, id);
                let m =
                    |f: fn(&(f64, f64, f64)) -> f64| median(&v.iter().map(f).collect::<Vec<_>>());
                match (m(|x| x.0), m(|x| x.1), m(|x| x.2)) {
                    (Some(us), Some(sc), Some(lc)) => {
                        format!("{us:.1} ({sc:.0}% / {lc:.0}%)")
                    }
                    _ => "n/a".to_string(),
                }
            })
            .collect()
    });
}

fn sweep_table(out: &mut String, records: &[Value]) {
    let _ = writeln!(
        out,
        "### Pingpong 64 B against connection count (the plot's data; medians, round trips/s)\n"
    );
    let titles: Vec<String> = SWEEP.iter().map(|(_, n)| format!("{n} conns")).collect();
    let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
    header(out, "server", &titles);
    server_rows(out, |s| {
        SWEEP
            .iter()
            .map(
                |(id, _)| match median(&values(records, s.id, id, "ops_per_sec")) {
                    Some(v) => format_value(Metric::Ops, v),
                    None => "n/a".to_string(),
                },
            )
            .collect()
    });
}

fn spread_table(out: &mut String, records: &[Value]) {
    let _ = writeln!(
        out,
        "### Run-to-run spread: (max − min) / median over the repetitions\n"
    );
    let titles: Vec<&str> = COLUMNS.iter().map(|c| c.title).collect();
    header(out, "server", &titles);
    server_rows(out, |s| {
        COLUMNS
            .iter()
            .map(|c| {
                let v = values(records, s.id, c.id, metric_key(c.metric));
                match median(&v) {
                    Some(m) if m > 0.0 && v.len() > 1 => {
                        let max = v.iter().copied().fold(f64::MIN, f64::max);
                        let min = v.iter().copied().fold(f64::MAX, f64::min);
                        format!("{:.0}%", (max - min) / m * 100.0)
                    }
                    _ => "n/a".to_string(),
                }
            })
            .collect()
    });
}

fn connect_rate_table(out: &mut String, records: &[Value]) {
    let _ = writeln!(
        out,
        "### New connections per second (one 64-byte line each; latency from connect to the server's close)\n"
    );
    header(
        out,
        "server",
        &["connections/s", "p50 µs", "p99 µs", "errors"],
    );
    for s in SERVERS {
        let v = |k| median(&values(records, s.id, "connect", k));
        if let Some(rate) = v("ops_per_sec") {
            let _ = writeln!(
                out,
                "| {} | {:.0} | {:.0} | {:.0} | {} |",
                s.title,
                rate,
                v("p50_us").unwrap_or(f64::NAN),
                v("p99_us").unwrap_or(f64::NAN),
                errors_in(records, s.id, "connect"),
            );
        }
    }
    let _ = writeln!(out);
}

/// The median over repetitions of `key` in the instantiation records of
/// one component.
fn instantiation(records: &[Value], component: &str, key: &str) -> Option<f64> {
    let v: Vec<f64> = records
        .iter()
        .filter(|r| tag(r, "mode") == Some("instantiate") && tag(r, "component") == Some(component))
        .filter_map(|r| num(r, key))
        .collect();
    median(&v)
}

const INSTANTIATED: [&str; 3] = ["echo_raw.wasm", "echo_lines.wasm", "echo_raw_async.wasm"];

fn instantiate_table(out: &mut String, records: &[Value]) {
    if !INSTANTIATED
        .iter()
        .any(|c| instantiation(records, c, "p50_us").is_some())
    {
        return;
    }
    let _ = writeln!(
        out,
        "### Instantiation per connection (new store + `instantiate_async`, pooling allocator; µs, medians of the repetitions' percentiles)\n"
    );
    header(
        out,
        "handler",
        &["p50", "p99", "mean", "store drop p50", "store drop p99"],
    );
    for c in INSTANTIATED {
        let v = |k| instantiation(records, c, k).map_or("n/a".into(), |x| format!("{x:.1}"));
        if instantiation(records, c, "p50_us").is_some() {
            let _ = writeln!(
                out,
                "| `{c}` | {} | {} | {} | {} | {} |",
                v("p50_us"),
                v("p99_us"),
                v("mean_us"),
                v("teardown_p50_us"),
                v("teardown_p99_us"),
            );
        }
    }
    let _ = writeln!(out);
}

fn idle_table(out: &mut String, records: &[Value]) {
    let _ = writeln!(out, "### Idle connections held open at once\n");
    header(
        out,
        "server",
        &[
            "asked",
            "held",
            "RSS before",
            "RSS holding",
            "per connection",
            "errors (first)",
        ],
    );
    for s in SERVERS {
        let holds = runs(records, s.id, "idle")
            .into_iter()
            .filter(|r| tag(r, "mode") == Some("hold"));
        for hold in holds {
            let asked = num(hold, "connections").unwrap_or(0.0);
            let held = num(hold, "connected").unwrap_or(0.0);
            let before = median(&values(records, s.id, "idle", "rss_before_kib"));
            let during = median(&values(records, s.id, "idle", "rss_kib"));
            let per = match (before, during) {
                (Some(b), Some(d)) if held > 0.0 => format!("{:.1} KiB", (d - b) / held),
                _ => "n/a".to_string(),
            };
            let mib = |v: Option<f64>| v.map_or("n/a".into(), |v| format_value(Metric::RssKib, v));
            let first = tag(hold, "first_error").unwrap_or("");
            let _ = writeln!(
                out,
                "| {} | {asked:.0} | {held:.0} | {} | {} | {per} | {:.0} {} |",
                s.title,
                mib(before),
                mib(during),
                num(hold, "errors").unwrap_or(0.0),
                if first.is_empty() {
                    String::new()
                } else {
                    format!("({first})")
                },
            );
        }
    }
    let _ = writeln!(out);
}

fn error_list(out: &mut String, records: &[Value]) {
    let failed: Vec<&Value> = records
        .iter()
        .filter(|r| num(r, "errors").unwrap_or(0.0) > 0.0 && tag(r, "column") != Some("idle"))
        .collect();
    let _ = writeln!(out, "### Errors\n");
    if failed.is_empty() {
        let _ = writeln!(
            out,
            "No run had an error: every echoed byte was verified.\n"
        );
        return;
    }
    for r in failed {
        let _ = writeln!(
            out,
            "- {} / {} (rep {}): {} errors, first: {}",
            tag(r, "server").unwrap_or("?"),
            tag(r, "column").unwrap_or("?"),
            tag(r, "rep").unwrap_or("?"),
            num(r, "errors").unwrap_or(0.0),
            tag(r, "first_error").unwrap_or("?"),
        );
    }
    let _ = writeln!(out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn medians_and_cells() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[1.0, 2.0]), Some(1.5));
        assert_eq!(median(&[]), None);
        let records = vec![
            json!({"server": "tokio", "column": "pp1", "ops_per_sec": 10.0, "errors": 0}),
            json!({"server": "tokio", "column": "pp1", "ops_per_sec": 30.0, "errors": 0}),
            json!({"server": "tokio", "column": "pp1", "ops_per_sec": 20.0, "errors": 0}),
            json!({"server": "wasio-raw", "column": "pp1", "ops_per_sec": 16.0, "errors": 0}),
        ];
        assert_eq!(cell(&records, "tokio", &COLUMNS[0]), Some(20.0));
        let md = markdown(&records);
        assert!(md.contains("**0.80×** ✓"), "{md}");

        let cpu = vec![
            json!({"server": "tokio", "column": "pp50", "rep": "1", "mode": "pingpong", "ops_per_sec": 100_000.0}),
            json!({"server": "tokio", "column": "pp50", "rep": "1", "mode": "cpu", "window_s": 2.0, "clk_tck": 100, "server_ticks": 100, "load_ticks": 200}),
        ];
        // 1 s of CPU over 200,000 round trips: 5 µs each; 50% and 100% busy.
        assert_eq!(cpu_per_op(&cpu, "tokio", "pp50"), vec![(5.0, 50.0, 100.0)]);
    }
}
