//! `wasio run`: run a command component once.

use crate::component::bindings::CommandPre;
use crate::component::{HostState, Runtime};
use crate::net::NetConfig;
use std::sync::Arc;

/// Runs the component's `run(args)`; the outer error is a trap or a host
/// failure, the inner one the error the guest returned.
pub async fn run_command(
    runtime: &Runtime,
    command: &CommandPre<HostState>,
    net: Arc<NetConfig>,
    args: Vec<String>,
) -> wasmtime::Result<Result<(), String>> {
    let mut store = runtime.new_store(HostState::new(net, &args));
    let instance = command.instantiate_async(&mut store).await?;
    store
        .run_concurrent(async move |accessor| instance.call_run(accessor, args).await)
        .await?
}
