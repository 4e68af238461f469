//! `wasio serve`: accept connections and run a handler component on each,
//! one fresh instance per connection (no state shared between clients).

use crate::component::HostState;
use crate::component::bindings::HandlerPre;
use crate::net::{self, Listener, NetConfig, Socket};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::Store;

/// Everything a connection needs, shared by all of them.
pub struct Service {
    /// The linked handler component.
    pub handler: HandlerPre<HostState>,
    /// The sandbox and writer settings.
    pub net: Arc<NetConfig>,
    /// The reader limit of accepted connections.
    pub limit: usize,
}

/// Accepts on every listener until `shutdown` resolves; each connection
/// runs in a task of its own.
pub async fn serve(
    service: Arc<Service>,
    listeners: Vec<Listener>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    for listener in listeners {
        tasks.spawn(accept_loop(service.clone(), listener));
    }
    shutdown.await;
    tracing::info!("shutting down");
    tasks.abort_all();
}

async fn accept_loop(service: Arc<Service>, listener: Listener) {
    loop {
        match listener.accept().await {
            Ok(socket) => {
                tokio::spawn(handle_connection(service.clone(), socket));
            }
            Err(err) => {
                // E.g. out of file descriptors: log, back off, go on.
                tracing::warn!(error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Runs the handler on one connection. A trap ends this connection only:
/// it is logged with the peer's address, and the store (with the
/// connection's reader and writer) is dropped, which closes the socket.
pub async fn handle_connection(service: Arc<Service>, socket: Socket) {
    let peer = socket
        .peer_addr()
        .map_or_else(|| "unknown".to_string(), |a| a.to_string());
    tracing::debug!(%peer, "connection accepted");
    match run_handler(&service, socket).await {
        Ok(()) => tracing::debug!(%peer, "connection handled"),
        Err(err) => tracing::warn!(%peer, "handler failed, connection closed: {err:?}"),
    }
}

async fn run_handler(service: &Service, socket: Socket) -> wasmtime::Result<()> {
    let mut store = Store::new(
        service.handler.engine(),
        HostState::new(service.net.clone(), &[]),
    );
    let (reader, writer) = net::stream_pair(socket, service.limit, &service.net.writer)?;
    let reader = store.data_mut().table().push(reader)?;
    let writer = store.data_mut().table().push(writer)?;
    let handler = service.handler.instantiate_async(&mut store).await?;
    store
        .run_concurrent(async move |accessor| handler.call_handle(accessor, reader, writer).await)
        .await??;
    Ok(())
}
