//! `wasio run`: run a command component once.

use crate::component::HostState;
use crate::component::bindings::CommandPre;
use crate::net::NetConfig;
use std::sync::Arc;
use wasmtime::Store;

/// Runs the component's `run(args)`; the outer error is a trap or a host
/// failure, the inner one the error the guest returned.
pub async fn run_command(
    command: &CommandPre<HostState>,
    net: Arc<NetConfig>,
    args: Vec<String>,
) -> wasmtime::Result<Result<(), String>> {
    let mut store = Store::new(command.engine(), HostState::new(net, &args));
    let instance = command.instantiate_async(&mut store).await?;
    store
        .run_concurrent(async move |accessor| instance.call_run(accessor, args).await)
        .await?
}
