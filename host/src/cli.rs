//! The `wasio` command line.

use crate::component::engine::InstanceLimits;
use crate::net::listener::SERVE_BACKLOG;
use crate::net::{Endpoint, NetConfig, Policy, ReaderConfig, WriterConfig};
use crate::serve::{InstanceModel, ServeLimits};
use crate::streams::DEFAULT_LIMIT;
use crate::streams::write_flow::DEFAULT_CAP;
use clap::{Args, Parser, Subcommand, ValueEnum};
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

    /// Threads that run connections and their handlers. Default: the CPUs
    /// this process may run on (so `taskset -c 0 wasio ...` gets one). With
    /// one, wasio runs everything on Tokio's current-thread scheduler,
    /// which serves its connections in strict turn; with more, on its
    /// work-stealing multi-thread scheduler.
    #[arg(long, global = true, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
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

    /// Where to listen: HOST:PORT, [IPv6]:PORT or unix:PATH. A host name
    /// is listened on at every address it resolves to. Repeat to listen on
    /// several. Default: 127.0.0.1:8888.
    #[arg(long, value_name = "ADDR")]
    pub listen: Vec<Endpoint>,

    /// The listen backlog: connections the kernel queues before they are
    /// accepted. A burst beyond it has SYNs dropped and retried a second
    /// later (asyncio's default is 100; capped by net.core.somaxconn).
    #[arg(long, value_name = "N", default_value_t = SERVE_BACKLOG,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub backlog: u32,

    /// The reader limit of each connection in bytes (asyncio's `limit`:
    /// the longest line `readline` accepts).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_LIMIT as u32,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: u32,

    /// How connections get instances: `per-connection` (a fresh instance
    /// each, nothing shared between clients) or `pooled` (instances shared
    /// by up to --pool-concurrency connections at once and reused for up to
    /// --pool-reuse connections).
    #[arg(long, value_enum, default_value_t = Model::PerConnection)]
    pub instance_model: Model,

    /// Pooled model: connections one instance serves at the same time. A
    /// blocking-style handler (one that lifts `handle` synchronously) gets
    /// 1 whatever this says: the component model does not enter it again
    /// while a call is in progress.
    #[arg(long, value_name = "M", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub pool_concurrency: u32,

    /// Pooled model: connections one instance serves before it is replaced.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub pool_reuse: u32,

    /// Open connections at most; beyond it new connections are closed at
    /// once (and logged), not queued.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Close a connection that moves no byte in either direction for this
    /// many seconds (0: never). Checked every eighth of it (at most every
    /// second), so the close may come up to that much later.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub idle_timeout: f64,

    /// On SIGINT/SIGTERM: stop accepting, give running handlers this many
    /// seconds to finish, then abort the rest and exit.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub shutdown_grace: f64,

    /// Instance limits shared with `wasio run`.
    #[command(flatten)]
    pub instance: InstanceArgs,

    /// Sandbox and stream settings shared with `wasio run`.
    #[command(flatten)]
    pub net: NetArgs,
}

/// `--instance-model` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Model {
    /// A fresh instance per connection.
    PerConnection,
    /// Shared, reused instances.
    Pooled,
}

impl ServeArgs {
    /// The server limits these flags describe.
    pub fn serve_limits(&self) -> Result<ServeLimits, String> {
        Ok(ServeLimits {
            max_connections: self.max_connections as usize,
            idle_timeout: optional_secs(self.idle_timeout, "--idle-timeout")?,
            shutdown_grace: secs(self.shutdown_grace, "--shutdown-grace")?,
        })
    }

    /// The instance model these flags describe.
    pub fn model(&self) -> InstanceModel {
        match self.instance_model {
            Model::PerConnection => InstanceModel::PerConnection,
            Model::Pooled => InstanceModel::Pooled {
                concurrency: self.pool_concurrency as usize,
                reuse: self.pool_reuse as usize,
            },
        }
    }

    /// Instance limits, with the pooling allocator sized for the server.
    pub fn instance_limits(&self) -> Result<InstanceLimits, String> {
        let mut limits = self.instance.to_limits()?;
        if !self.instance.no_pooling_allocator {
            // Per connection, every open connection may hold an instance.
            let slots = match self.model() {
                InstanceModel::PerConnection => self.max_connections,
                InstanceModel::Pooled { concurrency, .. } => {
                    (self.max_connections as usize).div_ceil(concurrency) as u32 * 2
                }
            };
            limits.pool_size = Some(slots.saturating_add(16));
        }
        Ok(limits)
    }
}

/// Limits of every guest instance.
#[derive(Debug, Args, Clone)]
pub struct InstanceArgs {
    /// Linear memory per instance, in bytes: a guest that grows past it
    /// fails to allocate (and typically traps).
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_memory: usize,

    /// How many seconds a guest may run without returning control to the
    /// host (a blocking call or a return) before it is interrupted with a
    /// trap; a guest stuck in a loop ends there, with its connections.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    pub max_run_time: f64,

    /// Allocate instances on demand instead of from the pooling allocator's
    /// pre-reserved slots.
    #[arg(long)]
    pub no_pooling_allocator: bool,

    /// Where compiled components are cached, so a component is compiled once
    /// (default: $XDG_CACHE_HOME/wasio or ~/.cache/wasio).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Compile components at every start instead of caching them.
    #[arg(long)]
    pub no_cache: bool,
}

impl Default for InstanceArgs {
    fn default() -> Self {
        Self {
            max_memory: 64 * 1024 * 1024,
            max_run_time: 1.0,
            no_pooling_allocator: false,
            cache_dir: None,
            no_cache: false,
        }
    }
}

impl InstanceArgs {
    /// The compilation cache directory, unless caching is off.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        if self.no_cache {
            return None;
        }
        self.cache_dir.clone().or_else(|| {
            let base = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
            Some(base.join("wasio"))
        })
    }

    /// The limits these flags describe (no pool: `wasio run` has one
    /// instance).
    pub fn to_limits(&self) -> Result<InstanceLimits, String> {
        if self.max_memory < 64 * 1024 {
            return Err(format!(
                "--max-memory {}: must be at least one 64 KiB page",
                self.max_memory
            ));
        }
        let max_run_time = secs(self.max_run_time, "--max-run-time")?;
        if max_run_time < crate::component::engine::TICK {
            return Err(format!(
                "--max-run-time {}: must be at least 0.01 s",
                self.max_run_time
            ));
        }
        Ok(InstanceLimits {
            max_memory: self.max_memory,
            max_run_time,
            pool_size: None,
        })
    }
}

fn secs(value: f64, flag: &str) -> Result<Duration, String> {
    if value.is_finite() && value >= 0.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(format!("{flag} {value}: must be a number of seconds >= 0"))
    }
}

/// Seconds, where 0 means "no limit".
fn optional_secs(value: f64, flag: &str) -> Result<Option<Duration>, String> {
    Ok(Some(secs(value, flag)?).filter(|d| !d.is_zero()))
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

    /// Instance limits.
    #[command(flatten)]
    pub instance: InstanceArgs,

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

    /// Hard cap on each reader's buffered, unread bytes: an operation that
    /// needs more (`read(-1)`, a large `readexactly`) fails with
    /// `read-buffer-full`. With the write cap this bounds host memory per
    /// connection.
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_read_buffer: usize,

    /// Seconds one read operation may wait in all before it fails with
    /// `timed-out` (against clients that trickle bytes; 0: no limit).
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub read_timeout: f64,
}

impl Default for ServeArgs {
    fn default() -> Self {
        Self {
            component: None,
            listen: Vec::new(),
            backlog: SERVE_BACKLOG,
            limit: DEFAULT_LIMIT as u32,
            instance_model: Model::PerConnection,
            pool_concurrency: 100,
            pool_reuse: 10_000,
            max_connections: 10_000,
            idle_timeout: 60.0,
            shutdown_grace: 10.0,
            instance: InstanceArgs::default(),
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
            max_read_buffer: 16 * 1024 * 1024,
            read_timeout: 30.0,
        }
    }
}

impl NetArgs {
    /// The host settings these flags describe.
    pub fn to_config(&self) -> Result<NetConfig, String> {
        let close_grace = secs(self.close_grace, "--close-grace")?;
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
            reader: ReaderConfig {
                max_buffer: self.max_read_buffer,
                read_timeout: optional_secs(self.read_timeout, "--read-timeout")?,
            },
            writer: WriterConfig {
                buffer_cap: self.write_buffer_cap,
                close_grace,
            },
        })
    }
}
