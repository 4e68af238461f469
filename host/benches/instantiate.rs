//! Instantiation time of a handler, as `wasio serve` does it per
//! connection: a new store (WASI context, resource table, limits, CPU
//! watchdog) and `instantiate_async` from the pre-linked component (which
//! runs the guest's start-up code), with the same
//! engine settings as the server's defaults (pooling allocator sized for
//! 10,000 connections). Also timed: dropping the store (returning the pool
//! slot), the other half of a connection's instance cost.
//!
//! One JSON line per component on stdout (`"mode": "instantiate"`),
//! microseconds. Run by `bench/run.sh`, or alone:
//!
//! ```text
//! cargo bench -p wasio --bench instantiate -- [ITERATIONS] [COMPONENT.wasm ...]
//! ```
//!
//! The defaults: 20,000 iterations (after 2,000 uncounted) of the echo_raw
//! and echo_lines guests that the build made.

use hdrhistogram::Histogram;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasio::cli::ServeArgs;
use wasio::component::{HostState, Runtime};
use wasio::net::NetConfig;

const WARMUP: usize = 2_000;

fn main() -> wasmtime::Result<()> {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let iterations: usize = match args.next() {
        Some(n) => n
            .parse()
            .map_err(|_| wasmtime::format_err!("ITERATIONS must be a number, not {n:?}"))?,
        None => 20_000,
    };
    let mut components: Vec<PathBuf> = args.map(PathBuf::from).collect();
    if components.is_empty() {
        let dir = PathBuf::from(wasio::bundled::GUEST_DIR);
        components = vec![dir.join("echo_raw.wasm"), dir.join("echo_lines.wasm")];
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let limits = ServeArgs::default()
            .instance_limits()
            .map_err(wasmtime::Error::msg)?;
        let runtime = Runtime::with_limits(limits)?;
        let net = Arc::new(NetConfig::default());
        for path in &components {
            let component = runtime.load_file(path)?;
            let name = path.display().to_string();
            let handler = runtime.handler_pre(&component, &name)?;
            let mut setup = histogram();
            let mut teardown = histogram();
            for i in 0..WARMUP + iterations {
                let start = Instant::now();
                let mut store =
                    runtime.new_store(handler.engine(), HostState::new(net.clone(), &[]));
                let _instance = handler.instantiate(&mut store).await?;
                let ready = Instant::now();
                drop(store);
                let done = Instant::now();
                if i >= WARMUP {
                    record(&mut setup, ready - start);
                    record(&mut teardown, done - ready);
                }
            }
            let line = serde_json::json!({
                "mode": "instantiate",
                "component": path.file_name().map(|f| f.to_string_lossy().into_owned()),
                "iterations": iterations,
                "p50_us": quantile(&setup, 0.5),
                "p99_us": quantile(&setup, 0.99),
                "mean_us": setup.mean() / 1000.0,
                "teardown_p50_us": quantile(&teardown, 0.5),
                "teardown_p99_us": quantile(&teardown, 0.99),
            });
            println!("{line}");
        }
        wasmtime::Result::Ok(())
    })
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

fn record(h: &mut Histogram<u64>, d: Duration) {
    h.saturating_record(d.as_nanos().max(1) as u64);
}

fn quantile(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}
