//! `wasio run`: run a command component once.

use crate::component::{Command, HostState, Runtime};
use crate::net::NetConfig;
use std::sync::Arc;

/// Runs the component's `run(args)`; the outer error is a trap or a host
/// failure, the inner one the error the guest returned.
pub async fn run_command(
    runtime: &Runtime,
    command: &Command,
    net: Arc<NetConfig>,
    args: Vec<String>,
) -> wasmtime::Result<Result<(), String>> {
    let mut store = runtime.new_store(command.engine(), HostState::new(net, &args));
    command.run(&mut store, args).await
}
