//! `wasio-bench`: the load generator, the native peer echo server, and the
//! table and plot tools that `bench/run.sh` uses. See the crate docs.

use clap::{Parser, Subcommand};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use wasio_bench::connect_rate::{ConnectRateConfig, run_connect_rate};
use wasio_bench::stats::LoadReport;
use wasio_bench::{LoadConfig, Mode, echo_server, hold, report, run_load};

#[derive(Parser)]
#[command(version, about = "Benchmark tools for wasio (loopback only)")]
struct Cli {
    /// Tokio worker threads (default: the CPUs this process may run on,
    /// so under `taskset -c 1` it is one). One runs Tokio's current-thread
    /// scheduler, as `wasio --threads 1` does, so that both sides of a
    /// comparison schedule alike (and the one-worker multi-thread
    /// scheduler's queueing does not inflate latency at 1000 connections).
    #[arg(long, global = true, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    #[command(subcommand)]
    command: Command,
}

/// Where to send load, and tags for the result line.
#[derive(clap::Args)]
struct Target {
    /// The echo server (a loopback address).
    #[arg(long, value_parser = loopback)]
    addr: SocketAddr,
    /// `KEY=VALUE` string fields added to the JSON result line
    /// (e.g. `server=wasio-raw`); repeatable.
    #[arg(long = "tag", value_parser = key_value)]
    tags: Vec<(String, String)>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs one echo load and prints one JSON result line.
    Load {
        #[command(flatten)]
        target: Target,
        /// pingpong, lines or bulk.
        #[arg(long, value_enum, default_value = "pingpong")]
        mode: Mode,
        /// Concurrent connections.
        #[arg(long, default_value_t = 1)]
        connections: usize,
        /// Message size (pingpong, lines: including the newline) or write
        /// chunk size (bulk), in bytes.
        #[arg(long, default_value_t = 64)]
        size: usize,
        /// Seconds measured.
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
        /// Seconds of uncounted load first.
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
        /// Connects in flight at once while opening the connections.
        #[arg(long, default_value_t = 64)]
        connect_concurrency: usize,
    },
    /// Counts new connections per second, each with one short exchange.
    ConnectRate {
        #[command(flatten)]
        target: Target,
        /// Connectors at once.
        #[arg(long, default_value_t = 4)]
        connections: usize,
        /// Bytes per exchange (a line: size - 1 bytes and a newline).
        #[arg(long, default_value_t = 64)]
        size: usize,
        /// Seconds measured.
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
        /// Seconds of uncounted load first.
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
    },
    /// Opens idle connections (one exchange each), prints one JSON line
    /// when they are open, holds them, then exits.
    Hold {
        #[command(flatten)]
        target: Target,
        /// Connections to open.
        #[arg(long, default_value_t = 1000)]
        connections: usize,
        /// Bytes exchanged on each (a line).
        #[arg(long, default_value_t = 64)]
        size: usize,
        /// Connections being set up at once.
        #[arg(long, default_value_t = 64)]
        connect_concurrency: usize,
        /// Seconds to hold them (at most 600).
        #[arg(long, default_value_t = 60.0)]
        hold: f64,
    },
    /// Serves a native Tokio echo server (the reference).
    EchoServer {
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Echo line by line instead of raw chunks.
        #[arg(long)]
        lines: bool,
        /// Exit after this many seconds, so a forgotten server goes away.
        #[arg(long, default_value_t = 3600)]
        max_secs: u64,
    },
    /// Prints the Markdown result tables from collected JSON lines.
    Table {
        /// The JSON lines file.
        #[arg(long)]
        input: PathBuf,
        /// Print only the list of missed targets.
        #[arg(long)]
        shortfalls: bool,
    },
    /// Draws throughput against connection count as a PNG.
    #[cfg(feature = "plot")]
    Plot {
        /// The JSON lines file.
        #[arg(long)]
        input: PathBuf,
        /// The PNG to write.
        #[arg(long)]
        output: PathBuf,
        /// A TrueType font for the labels.
        #[arg(
            long,
            default_value = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
        )]
        font: PathBuf,
    },
}

/// Only loopback targets: this tool generates load, and load goes to this
/// machine only.
fn loopback(s: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = s.parse().map_err(|e| format!("{s}: {e}"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("{addr} is not a loopback address"));
    }
    Ok(addr)
}

fn key_value(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("{s}: expected KEY=VALUE"))?;
    Ok((k.to_string(), v.to_string()))
}

fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(Duration::ZERO)
}

/// Prints the result line and flushes it (the script may be waiting for it
/// while this process goes on holding connections).
fn print_line(report: &LoadReport, tags: &[(String, String)]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{}", report.to_json(tags))?;
    out.flush()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let threads = cli.threads.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        usize::from,
    );
    let mut builder = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(threads);
        builder
    };
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("wasio-bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wasio-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        Command::Load {
            target,
            mode,
            connections,
            size,
            duration,
            warmup,
            connect_concurrency,
        } => {
            let cfg = LoadConfig {
                addr: target.addr,
                mode,
                connections,
                size,
                duration: secs(duration),
                warmup: secs(warmup),
                connect_concurrency,
            };
            let report = run_load(&cfg).await?;
            print_line(&report, &target.tags)?;
        }
        Command::ConnectRate {
            target,
            connections,
            size,
            duration,
            warmup,
        } => {
            let cfg = ConnectRateConfig {
                addr: target.addr,
                concurrency: connections,
                size,
                duration: secs(duration),
                warmup: secs(warmup),
            };
            let report = run_connect_rate(&cfg).await?;
            print_line(&report, &target.tags)?;
        }
        Command::Hold {
            target,
            connections,
            size,
            connect_concurrency,
            hold,
        } => {
            let (held, report) =
                hold::open_idle(target.addr, connections, connect_concurrency, size).await?;
            print_line(&report, &target.tags)?;
            tokio::time::sleep(secs(hold.min(600.0))).await;
            drop(held);
        }
        Command::EchoServer {
            listen,
            lines,
            max_secs,
        } => {
            let listener = echo_server::bind(listen)?;
            let mut out = io::stdout().lock();
            writeln!(out, "Serving on {}", listener.local_addr()?)?;
            out.flush()?;
            drop(out);
            let limit = tokio::time::sleep(Duration::from_secs(max_secs));
            tokio::select! {
                r = echo_server::serve(listener, lines) => r?,
                () = limit => {}
            }
        }
        Command::Table { input, shortfalls } => {
            let records = report::read_records(&input)?;
            if shortfalls {
                print!("{}", report::shortfalls(&records));
            } else {
                print!("{}", report::markdown(&records));
            }
        }
        #[cfg(feature = "plot")]
        Command::Plot {
            input,
            output,
            font,
        } => {
            let records = report::read_records(&input)?;
            wasio_bench::plot::plot(&records, &output, &font)?;
        }
    }
    Ok(())
}
