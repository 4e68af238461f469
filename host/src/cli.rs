//! The `wasio` command line.

use crate::net::{Endpoint, NetConfig, Policy, WriterConfig};
use crate::streams::DEFAULT_LIMIT;
use crate::streams::write_flow::DEFAULT_CAP;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// Run asyncio-style network connection handlers as sandboxed WebAssembly
/// components.
///
/// With no command, `wasio` serves the bundled echo handler on
/// 127.0.0.1:8888 (`wasio serve`).
#[derive(Debug, Parser)]
#[command(name = "wasio", version, propagate_version = true)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `wasio`'s commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve a handler component (world wasio:streams/handler): one fresh
    /// instance per accepted connection calls its `handle(reader, writer)`.
    Serve(ServeArgs),
    /// Run a command component (world wasio:streams/command): calls its
    /// `run(args)` once.
    Run(RunArgs),
}

/// `wasio serve` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The handler component (.wasm). Default: the bundled echo server.
    pub component: Option<PathBuf>,

    /// Where to listen: HOST:PORT, [IPv6]:PORT or unix:PATH. Repeat to
    /// listen on several. Default: 127.0.0.1:8888.
    #[arg(long, value_name = "ADDR")]
    pub listen: Vec<Endpoint>,

    /// The reader limit of each connection in bytes (asyncio's `limit`:
    /// the longest line `readline` accepts).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_LIMIT as u32,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,

    /// Sandbox and stream settings shared with `wasio run`.
    #[command(flatten)]
    pub net: NetArgs,
}

/// `wasio run` options.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The command component (.wasm). Default: the bundled echo client,
    /// whose arguments are [MESSAGE [HOST [PORT]]] and which may connect to
    /// its HOST:PORT (default 127.0.0.1:8888) without --allow-connect.
    pub component: Option<PathBuf>,

    /// Arguments passed to the component's `run`.
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<String>,

    /// Sandbox and stream settings.
    #[command(flatten)]
    pub net: NetArgs,
}

/// The sandbox's grants and the writer settings.
#[derive(Debug, Args, Clone)]
pub struct NetArgs {
    /// Let guests connect to HOST:PORT, [IPv6]:PORT, HOST:* or unix:PATH.
    /// Repeatable. Nothing is granted by default: other connects fail with
    /// `not-permitted`, logged with the address.
    #[arg(long = "allow-connect", value_name = "ADDR")]
    pub allow_connect: Vec<Endpoint>,

    /// Let guests listen on HOST:PORT, HOST:* or unix:PATH (their own
    /// `start-server`). Repeatable. Nothing is granted by default.
    #[arg(long = "allow-listen", value_name = "ADDR")]
    pub allow_listen: Vec<Endpoint>,

    /// Hard cap on each writer's unsent bytes; a write past it fails with
    /// `write-buffer-full` instead of growing host memory.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_CAP)]
    pub write_buffer_cap: usize,

    /// How long `close` (or dropping a writer) keeps flushing unsent bytes
    /// before it drops them and closes, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub close_grace: f64,
}

impl Default for ServeArgs {
    fn default() -> Self {
        Self {
            component: None,
            listen: Vec::new(),
            limit: DEFAULT_LIMIT as u32,
            net: NetArgs::default(),
        }
    }
}

impl Default for NetArgs {
    fn default() -> Self {
        Self {
            allow_connect: Vec::new(),
            allow_listen: Vec::new(),
            write_buffer_cap: DEFAULT_CAP,
            close_grace: 5.0,
        }
    }
}

impl NetArgs {
    /// The host settings these flags describe.
    pub fn to_config(&self) -> Result<NetConfig, String> {
        if !(self.close_grace.is_finite() && self.close_grace >= 0.0) {
            return Err(format!(
                "--close-grace {}: must be a number of seconds >= 0",
                self.close_grace
            ));
        }
        if self.write_buffer_cap < crate::streams::write_flow::DEFAULT_HIGH_WATER {
            return Err(format!(
                "--write-buffer-cap {}: must be at least the high-water mark ({} bytes)",
                self.write_buffer_cap,
                crate::streams::write_flow::DEFAULT_HIGH_WATER
            ));
        }
        Ok(NetConfig {
            policy: Policy {
                connect: self.allow_connect.clone(),
                listen: self.allow_listen.clone(),
            },
            writer: WriterConfig {
                buffer_cap: self.write_buffer_cap,
                close_grace: Duration::from_secs_f64(self.close_grace),
            },
        })
    }
}
