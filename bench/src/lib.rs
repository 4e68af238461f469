//! Benchmark tooling for `wasio`, kept out of the product: a load generator
//! (pingpong, lines and bulk echo loads, connection rate, idle connections),
//! a native Tokio echo server to compare against, and the
//! tables and plot that `bench/run.sh` writes into `BENCHMARKS.md`.
//!
//! Every load verifies what comes back, so a fast but wrong server shows up
//! as errors rather than as a good number. Every loop is bounded by its
//! duration plus a fixed grace period, and every run targets the address it
//! is given (the script gives loopback only).

pub mod connect_rate;
pub mod echo_server;
pub mod hold;
pub mod load;
pub mod pattern;
#[cfg(feature = "plot")]
pub mod plot;
pub mod report;
pub mod stats;

pub use load::{LoadConfig, Mode, run_load};
pub use stats::LoadReport;
