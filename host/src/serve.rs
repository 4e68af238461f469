//! `wasio serve`: accept connections and run a handler component on each.
//!
//! Two instance models:
//! - per connection (the default): a fresh instance for every connection,
//!   so no state is shared between clients;
//! - pooled: one instance serves up to M connections at once and is reused
//!   for up to N connections in all (as `wasmtime serve` reuses instances),
//!   amortising instantiation. Instances run as Tokio tasks spread over all
//!   worker threads.
//!
//! Either way a trap ends only the connections of the instance that
//! trapped: it is logged with their peers' addresses, the instance is
//! discarded, and new connections get a new one. Connection limits (a
//! maximum of open connections, an idle timeout) and graceful shutdown
//! live here too.

use crate::component::bindings;
use crate::component::{Handler, HandlerInstance, HostState, Runtime};
use crate::net::{
    self, IdleGuard, IdleSweeper, Listener, NetConfig, Socket, StreamReader, StreamWriter,
};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;

/// How instances are assigned to connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceModel {
    /// A fresh instance per connection.
    PerConnection,
    /// Instances shared by up to `concurrency` connections at once and
    /// reused for up to `reuse` connections.
    Pooled {
        /// Connections one instance serves at the same time (M).
        concurrency: usize,
        /// Connections one instance serves in its life (N).
        reuse: usize,
    },
}

/// Limits of the server as a whole.
#[derive(Debug, Clone)]
pub struct ServeLimits {
    /// Open connections at most; more are closed at once.
    pub max_connections: usize,
    /// A connection that moves no byte for this long is closed (checked
    /// every eighth of it, at most every second, so up to that much later).
    pub idle_timeout: Option<Duration>,
    /// On shutdown, how long running handlers may take to finish.
    pub shutdown_grace: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            idle_timeout: Some(Duration::from_secs(60)),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Everything a connection needs, shared by all of them.
pub struct Service {
    /// The engine, linker and instance limits.
    pub runtime: Runtime,
    /// The linked handler component.
    pub handler: Handler,
    /// The sandbox and stream settings.
    pub net: Arc<NetConfig>,
    /// The reader limit of accepted connections.
    pub limit: usize,
    /// Server-wide limits.
    pub limits: ServeLimits,
    /// How instances are assigned.
    pub model: InstanceModel,
}

impl Service {
    /// A service with default server limits, an instance per connection.
    pub fn new(runtime: Runtime, handler: Handler, net: NetConfig, limit: usize) -> Self {
        Self {
            runtime,
            handler,
            net: Arc::new(net),
            limit,
            limits: ServeLimits::default(),
            model: InstanceModel::PerConnection,
        }
    }

    /// The instance model as this handler can run it. The component model
    /// does not enter a synchronously lifted `handle` (a blocking-style
    /// handler) again while a call is in progress, so a pooled instance of
    /// one serves its connections one at a time: more at once would queue
    /// behind the first until it closed.
    pub fn effective_model(&self) -> InstanceModel {
        match self.model {
            InstanceModel::Pooled { reuse, .. }
                if !self.handler.lifting.runs_calls_concurrently() =>
            {
                InstanceModel::Pooled {
                    concurrency: 1,
                    reuse,
                }
            }
            model => model,
        }
    }
}

/// One accepted connection, ready for a handler.
struct Conn {
    peer: String,
    reader: StreamReader,
    writer: StreamWriter,
}

/// What an open connection holds, attached to its writer so that it lasts
/// until the connection is closed, even when a (pooled) guest keeps the
/// connection after its handler returned.
struct Hold {
    _permit: OwnedSemaphorePermit,
    _idle: Option<IdleGuard>,
}

/// Accepts on every listener until `shutdown` resolves, then stops
/// accepting, lets running handlers finish within the grace period and
/// aborts the rest.
pub async fn serve(
    service: Arc<Service>,
    listeners: Vec<Listener>,
    shutdown: impl Future<Output = ()>,
) {
    let (accepted_tx, mut accepted) = mpsc::channel::<Socket>(256);
    let mut acceptors = JoinSet::new();
    for listener in listeners {
        acceptors.spawn(accept_loop(listener, accepted_tx.clone()));
    }
    drop(accepted_tx);

    let slots = Arc::new(Semaphore::new(service.limits.max_connections));
    let idle = service.limits.idle_timeout.map(IdleSweeper::start);
    let pool = Pool::default();
    let model = service.effective_model();
    if model != service.model {
        tracing::info!(
            ?model,
            "the handler lifts `handle` synchronously (blocking style): each pooled instance serves one connection at a time"
        );
    }
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            socket = accepted.recv() => {
                let Some(socket) = socket else { break };
                let peer = socket.peer_addr().map_or_else(|| "unknown".into(), |a| a.to_string());
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    tracing::warn!(%peer, max = service.limits.max_connections, "connection limit reached: closing the new connection");
                    continue;
                };
                let conn = match net::stream_pair(Arc::new(socket), service.limit, &service.net) {
                    Ok((reader, writer)) => {
                        let watch = idle.as_ref().map(|idle| idle.watch(&peer, reader.downgrade(), writer.downgrade()));
                        writer.attach(Hold { _permit: permit, _idle: watch });
                        Conn { peer, reader, writer }
                    }
                    Err(err) => {
                        tracing::warn!(%peer, error = %err, "cannot set up the connection");
                        continue;
                    }
                };
                tracing::debug!(peer = %conn.peer, "connection accepted");
                match model {
                    InstanceModel::PerConnection => {
                        connections.spawn(per_connection(service.clone(), conn));
                    }
                    InstanceModel::Pooled { concurrency, reuse } => {
                        pool.dispatch(&service, conn, concurrency, reuse, &mut connections);
                    }
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }

    acceptors.abort_all();
    pool.close();
    let open = slots_in_use(&slots, service.limits.max_connections);
    tracing::info!(open, grace = ?service.limits.shutdown_grace, "shutting down: no longer accepting");
    let drained = tokio::time::timeout(service.limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        let open = slots_in_use(&slots, service.limits.max_connections);
        tracing::warn!(
            open,
            "shutdown grace period over: aborting the remaining connections"
        );
        connections.abort_all();
    }
}

fn slots_in_use(slots: &Semaphore, max: usize) -> usize {
    max - slots.available_permits()
}

async fn accept_loop(listener: Listener, accepted: mpsc::Sender<Socket>) {
    loop {
        match listener.accept().await {
            Ok(socket) => {
                if accepted.send(socket).await.is_err() {
                    return;
                }
            }
            Err(err) => {
                // E.g. out of file descriptors: log, back off, go on.
                tracing::warn!(error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The per-connection model: a fresh instance, dropped with the connection.
async fn per_connection(service: Arc<Service>, conn: Conn) {
    let peer = conn.peer.clone();
    match run_instance(&service, conn).await {
        Ok(()) => tracing::debug!(%peer, "connection handled"),
        Err(err) => tracing::warn!(%peer, "handler failed, connection closed: {err:?}"),
    }
}

async fn run_instance(service: &Service, conn: Conn) -> wasmtime::Result<()> {
    let mut store = new_store(service);
    let reader = store.data_mut().table().push(conn.reader)?;
    let writer = store.data_mut().table().push(conn.writer)?;
    let handler = service.handler.instantiate(&mut store).await?;
    handler.handle(&mut store, reader, writer).await
}

fn new_store(service: &Service) -> wasmtime::Store<HostState> {
    service.runtime.new_store(
        service.handler.engine(),
        HostState::new(service.net.clone(), &[]),
    )
}

/// The pooled model's instances.
#[derive(Default)]
struct Pool {
    slots: Mutex<Vec<Arc<Slot>>>,
}

/// One pooled instance, as the dispatcher sees it.
struct Slot {
    tx: mpsc::UnboundedSender<Conn>,
    /// Connections it serves now.
    active: Arc<AtomicUsize>,
    /// Connections it was given in all.
    assigned: AtomicUsize,
}

impl Pool {
    /// Gives `conn` to an instance with room, starting one if none has.
    fn dispatch(
        &self,
        service: &Arc<Service>,
        conn: Conn,
        concurrency: usize,
        reuse: usize,
        tasks: &mut JoinSet<()>,
    ) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        // Forget instances that ended (trapped) or served their share.
        slots.retain(|s| !s.tx.is_closed() && s.assigned.load(Ordering::Relaxed) < reuse);
        let slot = match slots
            .iter()
            .find(|s| s.active.load(Ordering::Relaxed) < concurrency)
        {
            Some(slot) => slot.clone(),
            None => {
                let (tx, rx) = mpsc::unbounded_channel();
                let slot = Arc::new(Slot {
                    tx,
                    active: Arc::new(AtomicUsize::new(0)),
                    assigned: AtomicUsize::new(0),
                });
                tasks.spawn(pooled_instance(service.clone(), rx, slot.active.clone()));
                slots.push(slot.clone());
                slot
            }
        };
        slot.active.fetch_add(1, Ordering::Relaxed);
        if slot.assigned.fetch_add(1, Ordering::Relaxed) + 1 >= reuse {
            // Its last connection: let it finish and end.
            slots.retain(|s| !Arc::ptr_eq(s, &slot));
        }
        let _ = slot.tx.send(conn);
    }

    /// Stops handing out instances: each ends once its connections do.
    fn close(&self) {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// Runs one pooled instance until it has no sender and no connection
/// left, or until it traps (which ends all its connections).
async fn pooled_instance(
    service: Arc<Service>,
    conns: mpsc::UnboundedReceiver<Conn>,
    active: Arc<AtomicUsize>,
) {
    let mut store = new_store(&service);
    let handler = match service.handler.instantiate(&mut store).await {
        Ok(handler) => handler,
        Err(err) => {
            tracing::error!("cannot instantiate the handler: {err:?}");
            return;
        }
    };
    let peers = Arc::new(Mutex::new(Vec::<String>::new()));
    let result = match &handler {
        HandlerInstance::Plain(_) => {
            serve_one_at_a_time(&mut store, &handler, conns, &active, &peers).await
        }
        HandlerInstance::Concurrent(handler) => {
            serve_side_by_side(&mut store, handler, conns, &active, &peers).await
        }
    };
    if let Err(err) = result {
        let peers = peers.lock().unwrap_or_else(|p| p.into_inner()).clone();
        tracing::warn!(
            ?peers,
            "pooled instance failed and is discarded; its connections are closed: {err:?}"
        );
    }
}

/// A pooled instance whose calls of `handle` cannot overlap: one
/// connection after the other (the dispatcher gives it one at a time).
async fn serve_one_at_a_time(
    store: &mut wasmtime::Store<HostState>,
    handler: &HandlerInstance,
    mut conns: mpsc::UnboundedReceiver<Conn>,
    active: &AtomicUsize,
    peers: &Mutex<Vec<String>>,
) -> wasmtime::Result<()> {
    while let Some(Conn {
        peer,
        reader,
        writer,
    }) = conns.recv().await
    {
        let reader = store.data_mut().table().push(reader)?;
        let writer = store.data_mut().table().push(writer)?;
        *peers.lock().unwrap_or_else(|p| p.into_inner()) = vec![peer.clone()];
        let result = handler.handle(store, reader, writer).await;
        active.fetch_sub(1, Ordering::Relaxed);
        result.map_err(|err| err.context(format!("handler of {peer} failed")))?;
        peers.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
    Ok(())
}

/// A pooled instance that runs several calls of `handle` at once, inside
/// one `run_concurrent`.
async fn serve_side_by_side(
    store: &mut wasmtime::Store<HostState>,
    handler: &bindings::Handler,
    mut conns: mpsc::UnboundedReceiver<Conn>,
    active: &AtomicUsize,
    peers: &Mutex<Vec<String>>,
) -> wasmtime::Result<()> {
    store
        .run_concurrent(async move |accessor| {
            let mut calls = FuturesUnordered::new();
            let mut open = true;
            loop {
                tokio::select! {
                    conn = conns.recv(), if open => {
                        let Some(conn) = conn else { open = false; continue };
                        let Conn { peer, reader, writer } = conn;
                        let resources = accessor.with(|mut access| -> wasmtime::Result<_> {
                            let table = access.get().table();
                            Ok((table.push(reader)?, table.push(writer)?))
                        });
                        let (reader, writer) = resources?;
                        peers.lock().unwrap_or_else(|p| p.into_inner()).push(peer.clone());
                        calls.push(async move {
                            let result = handler.call_handle(accessor, reader, writer).await;
                            (peer, result)
                        });
                    }
                    Some((peer, result)) = calls.next(), if !calls.is_empty() => {
                        active.fetch_sub(1, Ordering::Relaxed);
                        peers.lock().unwrap_or_else(|p| p.into_inner()).retain(|p| *p != peer);
                        result.map_err(|err| err.context(format!("handler of {peer} failed")))?;
                    }
                    else => break,
                }
            }
            wasmtime::Result::Ok(())
        })
        .await?
}
