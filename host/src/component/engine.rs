//! The wasmtime engines and linkers, per-store limits, and loading guest
//! components.
//!
//! Two engines, each built on first use: a *plain* one, without the
//! component model's concurrency support, for components that use none of
//! its async features (blocking-style guests: the `blocking-handler` and
//! `blocking-command` worlds), and a *concurrent* one for the rest. wasmtime
//! 48 gives every host call on a concurrent engine a task of its own, even a
//! plain synchronous call: about 800 instructions of bookkeeping per call,
//! 18% of a blocking echo handler's instructions per message, that the
//! plain engine does not spend.
//!
//! Every store gets a memory limit, table and instance limits, and a CPU
//! watchdog: an epoch ticker advances every [`TICK`]; a guest that keeps
//! control for longer than the configured run time without returning to
//! the host (a blocking call, a return) is interrupted with a trap. Until
//! then it yields to the executor at every tick, so a busy guest does not
//! starve other connections.

use super::bindings::{self, BlockingHandlerPre};
use super::guest::{Command, Handler, HandlerPre};
use super::inspect::{Lifting, export_lifting, uses_concurrency};
use super::state::{HostState, Streams};
use super::{plain, zero_copy};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;
use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::error::Context as _;
use wasmtime::{
    Cache, CacheConfig, CallHook, Config, Enabled, Engine, InstanceAllocationStrategy,
    PoolingAllocationConfig, Store, StoreLimitsBuilder, UpdateDeadline,
};

/// How often the epoch advances: the CPU watchdog's resolution.
pub const TICK: Duration = Duration::from_millis(10);

/// Bytes of a freed pool slot's linear memory kept resident for the next
/// instance, when the kernel can tell which pages were dirtied.
const KEEP_RESIDENT: usize = 256 * 1024;
/// The same for each of its tables (a guest's tables are a few KiB).
const TABLE_KEEP_RESIDENT: usize = 16 * 1024;

/// Limits of every guest instance.
#[derive(Debug, Clone)]
pub struct InstanceLimits {
    /// Linear memory per instance, in bytes.
    pub max_memory: usize,
    /// How long a guest may run without giving control back to the host.
    pub max_run_time: Duration,
    /// Instances that may exist at once (the pooling allocator's slots);
    /// `None`: allocate on demand, without the pool.
    pub pool_size: Option<u32>,
}

impl Default for InstanceLimits {
    fn default() -> Self {
        Self {
            max_memory: 64 * 1024 * 1024,
            max_run_time: Duration::from_secs(1),
            pool_size: None,
        }
    }
}

/// Which `wasio:streams` world a component implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum World {
    /// Exports `handle`: a connection handler.
    Handler,
    /// Exports `run`: a program.
    Command,
}

impl std::fmt::Display for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            World::Handler => "wasio:streams/handler (exports `handle`)",
            World::Command => "wasio:streams/command (exports `run`)",
        })
    }
}

/// Which engine a component runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// Without concurrency support: for components that use none of the
    /// component model's async features.
    Plain,
    /// With it: for components that use any (an `async func` in their
    /// type, an async lift or lower, streams, futures, tasks).
    Concurrent,
}

/// A compiled component, with what the engine does not tell about it.
pub struct Loaded {
    /// The compiled component.
    pub component: Component,
    /// The engine it was compiled for.
    pub kind: EngineKind,
    /// How it lifts `handle`, if it exports it.
    handle: Option<Lifting>,
}

/// An engine and the linker of its guests.
struct Linked {
    engine: Engine,
    linker: Linker<HostState>,
}

/// Both engines, each built on first use (an engine with an instance pool
/// reserves the pool's address space).
struct Engines {
    limits: InstanceLimits,
    cache_dir: Option<PathBuf>,
    plain: OnceLock<Linked>,
    concurrent: OnceLock<Linked>,
}

/// The engines and linkers every guest is instantiated with.
#[derive(Clone)]
pub struct Runtime {
    /// The ticker thread runs while any clone of this exists.
    engines: Arc<Engines>,
    /// Epoch ticks so far (an engine's epoch is not readable).
    ticks: Arc<AtomicU64>,
}

impl Runtime {
    /// A runtime with the default limits and no instance pool.
    pub fn new() -> wasmtime::Result<Self> {
        Self::with_limits(InstanceLimits::default())
    }

    /// A runtime with these limits and no compilation cache.
    pub fn with_limits(limits: InstanceLimits) -> wasmtime::Result<Self> {
        Self::with_options(limits, None)
    }

    /// A runtime whose engines have epoch interruption, (with a pool size)
    /// the pooling allocator and (with a directory) wasmtime's compilation
    /// cache, so that a large component (a Python one is about 20 MB) is
    /// compiled once, not at every start; and whose linkers have WASI p2
    /// (stdio, clocks, random, environment) and `wasio:streams`.
    pub fn with_options(
        limits: InstanceLimits,
        cache_dir: Option<&Path>,
    ) -> wasmtime::Result<Self> {
        let engines = Arc::new(Engines {
            limits,
            cache_dir: cache_dir.map(Path::to_path_buf),
            plain: OnceLock::new(),
            concurrent: OnceLock::new(),
        });
        let ticks = Arc::new(AtomicU64::new(0));
        spawn_ticker(Arc::downgrade(&engines), ticks.clone());
        Ok(Self { engines, ticks })
    }

    /// The engine and linker of `kind`, built on first use.
    fn linked(&self, kind: EngineKind) -> wasmtime::Result<&Linked> {
        let cell = match kind {
            EngineKind::Plain => &self.engines.plain,
            EngineKind::Concurrent => &self.engines.concurrent,
        };
        if let Some(linked) = cell.get() {
            return Ok(linked);
        }
        // Two threads may both build it; one of the two is kept.
        let built = self.engines.build(kind)?;
        Ok(cell.get_or_init(|| built))
    }

    /// A store on `engine` (a linked component's) for one guest
    /// instance, with the limits and the CPU watchdog installed.
    pub fn new_store(&self, engine: &Engine, mut state: HostState) -> Store<HostState> {
        let limits = &self.engines.limits;
        state.limits = StoreLimitsBuilder::new()
            .memory_size(limits.max_memory)
            .instances(64)
            .tables(64)
            .table_elements(1_000_000)
            .build();
        let mut store = Store::new(engine, state);
        store.limiter(|s| &mut s.limits);

        let max_ticks = (limits.max_run_time.as_millis() / TICK.as_millis()).max(1) as u64;
        let ticks = self.ticks.clone();
        store.call_hook(move |mut ctx, hook| {
            let state = ctx.data_mut();
            if state.in_epoch_callback {
                // Returning from our own watchdog, not from a host call.
                if matches!(hook, CallHook::ReturningFromHost) {
                    state.in_epoch_callback = false;
                }
                return Ok(());
            }
            // Control moves to the guest: a new run slice starts, and the
            // next epoch check falls at the next tick. (Left at a tick that
            // passed while the guest waited, it would run the callback at
            // the first check after every wait: once per message when a
            // connection's messages are more than a tick apart.)
            if matches!(hook, CallHook::CallingWasm | CallHook::ReturningFromHost) {
                state.slice_start = ticks.load(Ordering::Relaxed);
                ctx.set_epoch_deadline(1);
            }
            Ok(())
        });
        let ticks = self.ticks.clone();
        store.epoch_deadline_callback(move |mut ctx| {
            let state = ctx.data_mut();
            let ran = ticks
                .load(Ordering::Relaxed)
                .saturating_sub(state.slice_start);
            if ran > max_ticks {
                Ok(UpdateDeadline::Interrupt)
            } else if ran == 0 {
                // The slice started within this tick (the ticker bumps its
                // count and the engine's epoch one after the other): a
                // fresh slice needs no yield.
                Ok(UpdateDeadline::Continue(1))
            } else {
                state.in_epoch_callback = true;
                Ok(UpdateDeadline::Yield(1))
            }
        });
        store.set_epoch_deadline(1);
        store
    }

    /// Compiles a component from a file.
    pub fn load_file(&self, path: &Path) -> wasmtime::Result<Loaded> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read component file {}", path.display()))?;
        self.load_bytes(&bytes, &path.display().to_string())
    }

    /// Compiles a component from its bytes: for the plain engine if it
    /// uses none of the component model's async features, else for the
    /// concurrent one; `name` is for messages.
    pub fn load_bytes(&self, bytes: &[u8], name: &str) -> wasmtime::Result<Loaded> {
        let handle = export_lifting(bytes, "handle");
        let plain = if uses_concurrency(bytes) {
            None
        } else {
            match Component::new(&self.linked(EngineKind::Plain)?.engine, bytes) {
                Ok(component) => Some(component),
                Err(err) => {
                    // Valid without concurrency, yet not for this engine:
                    // the concurrent one may still take it, and if it does
                    // not, its error is the one to report.
                    tracing::debug!(component = name, "not for the plain engine: {err:#}");
                    None
                }
            }
        };
        let (component, kind) = match plain {
            Some(component) => (component, EngineKind::Plain),
            None => {
                let engine = &self.linked(EngineKind::Concurrent)?.engine;
                let component = Component::new(engine, bytes)
                    .with_context(|| format!("{name} is not a valid WebAssembly component"))?;
                (component, EngineKind::Concurrent)
            }
        };
        tracing::debug!(component = name, ?kind, "compiled");
        Ok(Loaded {
            component,
            kind,
            handle,
        })
    }

    /// Checks that `component` implements `want` and links it.
    fn link(
        &self,
        component: &Loaded,
        name: &str,
        want: World,
    ) -> wasmtime::Result<InstancePre<HostState>> {
        match component.world() {
            Some(w) if w == want => {}
            Some(other) => wasmtime::bail!("{name} implements {other}, but this needs {want}"),
            None => wasmtime::bail!(
                "{name} is not a wasio component: it exports neither `handle` nor `run` ({want} is needed)"
            ),
        }
        self.linked(component.kind)?
            .linker
            .instantiate_pre(&component.component)
            .with_context(|| format!("{name} imports something wasio does not provide"))
    }

    /// Links a handler component once, for fast instantiation per connection.
    pub fn handler_pre(&self, component: &Loaded, name: &str) -> wasmtime::Result<Handler> {
        let pre = self.link(component, name, World::Handler)?;
        let mismatch = || format!("{name} does not match {}", World::Handler);
        let pre = match component.kind {
            EngineKind::Plain => {
                HandlerPre::Plain(BlockingHandlerPre::new(pre).with_context(mismatch)?)
            }
            EngineKind::Concurrent => {
                HandlerPre::Concurrent(bindings::HandlerPre::new(pre).with_context(mismatch)?)
            }
        };
        Ok(Handler {
            pre,
            // A component that lifts `handle` in a way this reader does not
            // follow is taken as sync: the instance model then never relies
            // on concurrent calls.
            lifting: component.handle.unwrap_or(Lifting::Sync),
        })
    }

    /// Links a command component.
    pub fn command_pre(&self, component: &Loaded, name: &str) -> wasmtime::Result<Command> {
        let pre = self.link(component, name, World::Command)?;
        if component.kind == EngineKind::Plain {
            wasmtime::bail!(
                "{name} exports `run` as a plain function: wasio runs commands whose `run` is an `async func` ({})",
                World::Command
            );
        }
        let pre = bindings::CommandPre::new(pre)
            .with_context(|| format!("{name} does not match {}", World::Command))?;
        Ok(Command { pre })
    }
}

impl Loaded {
    /// The world the component implements, by its exports.
    pub fn world(&self) -> Option<World> {
        let ty = self.component.component_type();
        let mut exports = ty.exports(self.component.engine()).map(|(name, _)| name);
        exports.find_map(|name| match name {
            "handle" => Some(World::Handler),
            "run" => Some(World::Command),
            _ => None,
        })
    }
}

impl Engines {
    /// Builds the engine and linker of `kind`.
    fn build(&self, kind: EngineKind) -> wasmtime::Result<Linked> {
        let limits = &self.limits;
        let mut config = Config::new();
        if let Some(dir) = &self.cache_dir {
            let mut cache = CacheConfig::new();
            cache.with_directory(dir);
            match Cache::new(cache) {
                Ok(cache) => {
                    config.cache(Some(cache));
                }
                Err(err) => {
                    tracing::warn!(dir = %dir.display(), "compilation cache disabled: {err}")
                }
            }
        }
        match kind {
            EngineKind::Plain => config.concurrency_support(false),
            EngineKind::Concurrent => config.wasm_component_model_async(true),
        };
        config.epoch_interruption(true);
        if let Some(slots) = limits.pool_size {
            let mut pool = PoolingAllocationConfig::default();
            pool.total_component_instances(slots)
                .total_core_instances(slots.saturating_mul(16))
                .total_memories(slots.saturating_mul(4))
                .total_tables(slots.saturating_mul(8))
                .total_stacks(slots)
                .max_memory_size(limits.max_memory)
                .max_core_instances_per_component(64)
                .max_memories_per_component(16)
                .max_tables_per_component(32);
            // Probes the ioctl itself: a kernel version says nothing of
            // seccomp filters or an unreadable /proc/self/pagemap.
            if PoolingAllocationConfig::is_pagemap_scan_available() {
                // Reset a freed slot by zeroing only the pages the guest
                // dirtied (found with the PAGEMAP_SCAN ioctl) and keep them
                // resident, instead of `madvise` and a page fault on every
                // first touch by the next instance: about 30% more
                // connections per second. Freed slots then stay resident
                // up to KEEP_RESIDENT each (the echo handler: ~32 KiB).
                pool.pagemap_scan(Enabled::Auto)
                    .linear_memory_keep_resident(KEEP_RESIDENT)
                    .table_keep_resident(TABLE_KEEP_RESIDENT);
            }
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
            // Pool slots are reserved up front: size them to the limit.
            config.memory_reservation(limits.max_memory as u64);
        }
        let engine = Engine::new(&config).context("cannot configure the WebAssembly engine")?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        match kind {
            EngineKind::Plain => plain::add_to_linker(&mut linker)?,
            EngineKind::Concurrent => {
                bindings::streams::add_to_linker::<HostState, Streams>(&mut linker, |s| s)?
            }
        }
        zero_copy::add_to_linker(&mut linker)?;
        Ok(Linked { engine, linker })
    }

    /// The engines built so far.
    fn built(&self) -> impl Iterator<Item = &Engine> {
        [self.plain.get(), self.concurrent.get()]
            .into_iter()
            .flatten()
            .map(|linked| &linked.engine)
    }
}

/// Advances the epoch of every built engine every [`TICK`] until the
/// runtime is gone.
fn spawn_ticker(engines: Weak<Engines>, ticks: Arc<AtomicU64>) {
    let spawned = std::thread::Builder::new()
        .name("wasio-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(TICK);
                let Some(engines) = engines.upgrade() else {
                    return;
                };
                ticks.fetch_add(1, Ordering::Relaxed);
                for engine in engines.built() {
                    engine.increment_epoch();
                }
            }
        });
    if let Err(err) = spawned {
        tracing::error!("cannot start the epoch ticker, guests run without a CPU watchdog: {err}");
    }
}
