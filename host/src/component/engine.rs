//! The wasmtime engine and linker, and loading guest components.

use super::bindings::{self, CommandPre, HandlerPre};
use super::state::{HostState, Streams};
use std::path::Path;
use wasmtime::component::{Component, Linker};
use wasmtime::error::Context as _;
use wasmtime::{Config, Engine};

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

/// The engine and the linker every guest is instantiated with.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
}

impl Runtime {
    /// An engine with the component model's async support, and a linker
    /// with WASI p2 (stdio, clocks, random, environment) and
    /// `wasio:streams`.
    pub fn new() -> wasmtime::Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model_async(true);
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        bindings::streams::add_to_linker::<HostState, Streams>(&mut linker, |s| s)?;
        Ok(Self { engine, linker })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles a component from a file.
    pub fn load_file(&self, path: &Path) -> wasmtime::Result<Component> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read component file {}", path.display()))?;
        self.load_bytes(&bytes, &path.display().to_string())
    }

    /// Compiles a component from its bytes; `name` is for messages.
    pub fn load_bytes(&self, bytes: &[u8], name: &str) -> wasmtime::Result<Component> {
        Component::new(&self.engine, bytes)
            .with_context(|| format!("{name} is not a valid WebAssembly component"))
    }

    /// The world a component implements, by its exports.
    pub fn world_of(&self, component: &Component) -> Option<World> {
        let ty = component.component_type();
        let mut exports = ty.exports(&self.engine).map(|(name, _)| name);
        exports.find_map(|name| match name {
            "handle" => Some(World::Handler),
            "run" => Some(World::Command),
            _ => None,
        })
    }

    fn expect_world(&self, component: &Component, name: &str, want: World) -> wasmtime::Result<()> {
        match self.world_of(component) {
            Some(w) if w == want => Ok(()),
            Some(other) => wasmtime::bail!("{name} implements {other}, but this needs {want}"),
            None => wasmtime::bail!(
                "{name} is not a wasio component: it exports neither `handle` nor `run` ({want} is needed)"
            ),
        }
    }

    /// Links a handler component once, for fast instantiation per connection.
    pub fn handler_pre(
        &self,
        component: &Component,
        name: &str,
    ) -> wasmtime::Result<HandlerPre<HostState>> {
        self.expect_world(component, name, World::Handler)?;
        let pre = self
            .linker
            .instantiate_pre(component)
            .with_context(|| format!("{name} imports something wasio does not provide"))?;
        HandlerPre::new(pre).with_context(|| format!("{name} does not match {}", World::Handler))
    }

    /// Links a command component.
    pub fn command_pre(
        &self,
        component: &Component,
        name: &str,
    ) -> wasmtime::Result<CommandPre<HostState>> {
        self.expect_world(component, name, World::Command)?;
        let pre = self
            .linker
            .instantiate_pre(component)
            .with_context(|| format!("{name} imports something wasio does not provide"))?;
        CommandPre::new(pre).with_context(|| format!("{name} does not match {}", World::Command))
    }
}
