//! Linked guest components, on whichever engine they run
//! ([`EngineKind`](super::EngineKind)), and how the host calls them.
//!
//! A plain engine's guest is called as an ordinary async call on its store
//! (its waits suspend the call's fiber); a concurrent engine's inside the
//! store's `run_concurrent` event loop, which runs the guest's tasks.

use super::EngineKind;
use super::bindings::{self, BlockingHandler, BlockingHandlerPre};
use super::inspect::Lifting;
use super::state::HostState;
use crate::net::{StreamReader, StreamWriter};
use wasmtime::component::Resource;
use wasmtime::{Engine, Store};

/// A linked handler component.
#[derive(Clone)]
pub struct Handler {
    /// Ready to instantiate.
    pub pre: HandlerPre,
    /// How it lifts `handle`: whether one instance can serve several
    /// connections at once.
    pub lifting: Lifting,
}

/// A handler ready to instantiate, by engine.
#[derive(Clone)]
pub enum HandlerPre {
    /// A `blocking-handler` component (plain `handle`) on the plain engine.
    Plain(BlockingHandlerPre<HostState>),
    /// Any other handler, on the concurrent engine.
    Concurrent(bindings::HandlerPre<HostState>),
}

/// An instantiated handler.
pub enum HandlerInstance {
    /// On the plain engine.
    Plain(BlockingHandler),
    /// On the concurrent engine.
    Concurrent(bindings::Handler),
}

impl Handler {
    /// The engine it runs on, by kind.
    pub fn kind(&self) -> EngineKind {
        match &self.pre {
            HandlerPre::Plain(_) => EngineKind::Plain,
            HandlerPre::Concurrent(_) => EngineKind::Concurrent,
        }
    }

    /// The engine its stores must be made for.
    pub fn engine(&self) -> &Engine {
        match &self.pre {
            HandlerPre::Plain(pre) => pre.engine(),
            HandlerPre::Concurrent(pre) => pre.engine(),
        }
    }

    /// A new instance in `store`.
    pub async fn instantiate(
        &self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<HandlerInstance> {
        Ok(match &self.pre {
            HandlerPre::Plain(pre) => HandlerInstance::Plain(pre.instantiate_async(store).await?),
            HandlerPre::Concurrent(pre) => {
                HandlerInstance::Concurrent(pre.instantiate_async(store).await?)
            }
        })
    }
}

impl HandlerInstance {
    /// Calls `handle(reader, writer)` and waits for it to return. (The
    /// pooled model calls a concurrent instance's `handle` several times at
    /// once, inside one `run_concurrent`, instead.)
    pub async fn handle(
        &self,
        store: &mut Store<HostState>,
        reader: Resource<StreamReader>,
        writer: Resource<StreamWriter>,
    ) -> wasmtime::Result<()> {
        match self {
            HandlerInstance::Plain(handler) => handler.call_handle(store, reader, writer).await,
            HandlerInstance::Concurrent(handler) => {
                store
                    .run_concurrent(async move |accessor| {
                        handler.call_handle(accessor, reader, writer).await
                    })
                    .await?
            }
        }
    }
}

/// A linked command component (on the concurrent engine: `run` is an
/// `async func` in both command worlds).
#[derive(Clone)]
pub struct Command {
    /// Ready to instantiate.
    pub pre: bindings::CommandPre<HostState>,
}

impl Command {
    /// The engine its stores must be made for.
    pub fn engine(&self) -> &Engine {
        self.pre.engine()
    }

    /// Instantiates it in `store` and calls `run(args)`; the outer error is
    /// a trap or a host failure, the inner one the error the guest returned.
    pub async fn run(
        &self,
        store: &mut Store<HostState>,
        args: Vec<String>,
    ) -> wasmtime::Result<Result<(), String>> {
        let command = self.pre.instantiate_async(&mut *store).await?;
        store
            .run_concurrent(async move |accessor| command.call_run(accessor, args).await)
            .await?
    }
}
