//! The per-store host state: WASI p2 (so guests can print), the resource
//! table and the network settings.

use crate::net::NetConfig;
use std::sync::Arc;
use wasmtime::StoreLimits;
use wasmtime::component::{HasData, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// The data of every guest store.
pub struct HostState {
    /// Built on the guest's first WASI call: a connection handler often
    /// makes none (a `no_std` one prints only on errors), and building it
    /// (random-number generators, stdio handles) is a few percent of a
    /// short connection's cost.
    wasi: Option<WasiCtx>,
    /// The program arguments, until `wasi` is built.
    args: Vec<String>,
    pub(crate) table: ResourceTable,
    pub(crate) net: Arc<NetConfig>,
    /// Memory, table and instance limits of this store.
    pub(crate) limits: StoreLimits,
    /// The epoch tick at which the guest last got control: the CPU
    /// watchdog interrupts it when it keeps it too long.
    pub(crate) slice_start: u64,
    /// Set while the watchdog's own epoch callback runs, so that its
    /// return to the guest does not count as a new run slice.
    pub(crate) in_epoch_callback: bool,
}

impl HostState {
    /// State for one guest instance: stdout and stderr inherited, no files,
    /// no WASI sockets (guests reach the network only through
    /// `wasio:streams`, under `net.policy`), and `args` as its arguments.
    pub fn new(net: Arc<NetConfig>, args: &[String]) -> Self {
        Self {
            wasi: None,
            args: args.to_vec(),
            table: ResourceTable::new(),
            net,
            limits: StoreLimits::default(),
            slice_start: 0,
            in_epoch_callback: false,
        }
    }

    /// The resource table (host resources a guest holds).
    pub fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: self.wasi.get_or_insert_with(|| {
                WasiCtx::builder()
                    .inherit_stdout()
                    .inherit_stderr()
                    .args(&std::mem::take(&mut self.args))
                    .build()
            }),
            table: &mut self.table,
        }
    }
}

/// Marks the `wasio:streams` host implementation for the linker: its
/// functions see the store's [`HostState`].
pub struct Streams;

impl HasData for Streams {
    type Data<'a> = &'a mut HostState;
}
