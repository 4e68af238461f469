//! The `wasio:streams` host functions. Each one looks its resource up,
//! calls the [`crate::net`] type that does the work, and translates the
//! result; waiting happens outside the store so that other guest tasks
//! keep running.

use super::bindings::streams::{
    self as wit, ConnectOptions, Host, HostServer, HostServerWithStore, HostStreamReader,
    HostStreamReaderWithStore, HostStreamWriter, HostStreamWriterWithStore, HostWithStore,
    ServerOptions,
};
use super::state::{HostState, Streams};
use crate::net::listener::DEFAULT_BACKLOG;
use crate::net::{self, NetConfig, Server, StreamReader, StreamWriter, WriterHandle};
use crate::streams::{DEFAULT_LIMIT, StreamError, StreamResult};
use bytes::Bytes;
use std::path::Path;
use std::sync::Arc;
use wasmtime::component::{Accessor, Resource, ResourceTable};
use wasmtime_wasi::p2::{DynPollable, Pollable};

type WitResult<T> = wasmtime::Result<Result<T, wit::Error>>;

fn limit_of(limit: Option<u32>) -> usize {
    limit.map_or(DEFAULT_LIMIT, |l| l as usize)
}

fn translate<T, U: From<T>>(result: StreamResult<T>) -> WitResult<U> {
    Ok(translate_now(result))
}

/// What a `try-` read returns: none when the read would wait.
type TryResult = wasmtime::Result<Option<Result<Vec<u8>, wit::Error>>>;

fn translate_now<T, U: From<T>>(result: StreamResult<T>) -> Result<U, wit::Error> {
    result.map(U::from).map_err(wit::Error::from)
}

/// Clones a shareable handle out of the table, so the store is free while
/// the operation waits.
fn with_table<T: Send, R>(
    accessor: &Accessor<T, Streams>,
    f: impl FnOnce(&mut HostState) -> R,
) -> R {
    accessor.with(|mut access| f(access.get()))
}

/// Takes what an operation needs (a shareable handle) from a resource.
fn lookup<T: Send, R: 'static, H>(
    accessor: &Accessor<T, Streams>,
    res: &Resource<R>,
    f: impl FnOnce(&R) -> H,
) -> wasmtime::Result<H> {
    with_table(accessor, |s| -> wasmtime::Result<H> {
        Ok(f(s.table.get(res)?))
    })
}

fn reader_of<T: Send>(
    accessor: &Accessor<T, Streams>,
    res: &Resource<StreamReader>,
) -> wasmtime::Result<StreamReader> {
    lookup(accessor, res, StreamReader::clone)
}

fn push_pair<T: Send>(
    accessor: &Accessor<T, Streams>,
    pair: StreamResult<(StreamReader, StreamWriter)>,
) -> WitResult<(Resource<StreamReader>, Resource<StreamWriter>)> {
    let (reader, writer) = match pair {
        Ok(pair) => pair,
        Err(err) => return Ok(Err(err.into())),
    };
    with_table(accessor, |s| {
        let reader = s.table.push(reader)?;
        let writer = s.table.push(writer)?;
        Ok(Ok((reader, writer)))
    })
}

fn net_config<T: Send>(accessor: &Accessor<T, Streams>) -> Arc<NetConfig> {
    with_table(accessor, |s| s.net.clone())
}

impl<T: Send> HostStreamReaderWithStore<T> for Streams {
    async fn read(
        accessor: &Accessor<T, Self>,
        this: Resource<StreamReader>,
        n: i64,
    ) -> WitResult<Vec<u8>> {
        let reader = reader_of(accessor, &this)?;
        translate(reader.read(n).await)
    }

    async fn readline(
        accessor: &Accessor<T, Self>,
        this: Resource<StreamReader>,
    ) -> WitResult<Vec<u8>> {
        let reader = reader_of(accessor, &this)?;
        translate(reader.readline().await)
    }

    async fn readexactly(
        accessor: &Accessor<T, Self>,
        this: Resource<StreamReader>,
        n: u64,
    ) -> WitResult<Vec<u8>> {
        let reader = reader_of(accessor, &this)?;
        translate(reader.readexactly(n).await)
    }

    async fn readuntil(
        accessor: &Accessor<T, Self>,
        this: Resource<StreamReader>,
        separator: Vec<u8>,
    ) -> WitResult<Vec<u8>> {
        let reader = reader_of(accessor, &this)?;
        translate(reader.readuntil(&[separator]).await)
    }

    async fn readuntil_any(
        accessor: &Accessor<T, Self>,
        this: Resource<StreamReader>,
        separators: Vec<Vec<u8>>,
    ) -> WitResult<Vec<u8>> {
        let reader = reader_of(accessor, &this)?;
        translate(reader.readuntil(&separators).await)
    }
}

impl HostStreamReader for HostState {
    fn new(&mut self, limit: Option<u32>) -> WitResult<Resource<StreamReader>> {
        match StreamReader::in_memory(limit_of(limit), &self.net.reader) {
            Ok(reader) => Ok(Ok(self.table.push(reader)?)),
            Err(err) => Ok(Err(err.into())),
        }
    }

    fn try_read(&mut self, this: Resource<StreamReader>, n: i64) -> TryResult {
        Ok(self.table.get(&this)?.try_read(n).map(translate_now))
    }

    fn try_readline(&mut self, this: Resource<StreamReader>) -> TryResult {
        Ok(self.table.get(&this)?.try_readline().map(translate_now))
    }

    fn try_readexactly(&mut self, this: Resource<StreamReader>, n: u64) -> TryResult {
        Ok(self.table.get(&this)?.try_readexactly(n).map(translate_now))
    }

    fn try_readuntil(&mut self, this: Resource<StreamReader>, separator: Vec<u8>) -> TryResult {
        let reader = self.table.get(&this)?;
        Ok(reader.try_readuntil(&[separator]).map(translate_now))
    }

    fn try_readuntil_any(
        &mut self,
        this: Resource<StreamReader>,
        separators: Vec<Vec<u8>>,
    ) -> TryResult {
        let reader = self.table.get(&this)?;
        Ok(reader.try_readuntil(&separators).map(translate_now))
    }

    fn subscribe(
        &mut self,
        this: Resource<StreamReader>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        let reader = self.table.get(&this)?.clone();
        pollable_of(&mut self.table, Readiness(reader))
    }

    fn feed_data(&mut self, this: Resource<StreamReader>, data: Vec<u8>) -> WitResult<()> {
        translate(self.table.get(&this)?.feed_data(&data))
    }

    fn feed_eof(&mut self, this: Resource<StreamReader>) -> wasmtime::Result<()> {
        self.table.get(&this)?.feed_eof();
        Ok(())
    }

    fn set_exception(
        &mut self,
        this: Resource<StreamReader>,
        err: wit::Error,
    ) -> wasmtime::Result<()> {
        self.table.get(&this)?.set_exception(err.into());
        Ok(())
    }

    fn exception(&mut self, this: Resource<StreamReader>) -> wasmtime::Result<Option<wit::Error>> {
        Ok(self.table.get(&this)?.exception().map(Into::into))
    }

    fn limit(&mut self, this: Resource<StreamReader>) -> wasmtime::Result<u32> {
        let limit = self.table.get(&this)?.limit();
        Ok(u32::try_from(limit).unwrap_or(u32::MAX))
    }

    fn at_eof(&mut self, this: Resource<StreamReader>) -> wasmtime::Result<bool> {
        Ok(self.table.get(&this)?.at_eof())
    }

    fn drop(&mut self, this: Resource<StreamReader>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl<T: Send> HostStreamWriterWithStore<T> for Streams {
    async fn drain(accessor: &Accessor<T, Self>, this: Resource<StreamWriter>) -> WitResult<()> {
        let writer = lookup(accessor, &this, |w| w.handle())?;
        translate(writer.drain().await)
    }

    async fn wait_closed(
        accessor: &Accessor<T, Self>,
        this: Resource<StreamWriter>,
    ) -> WitResult<()> {
        let writer = lookup(accessor, &this, |w| w.handle())?;
        translate(writer.wait_closed().await)
    }
}

impl HostStreamWriter for HostState {
    fn write(&mut self, this: Resource<StreamWriter>, data: Vec<u8>) -> WitResult<()> {
        translate(self.table.get(&this)?.write(Bytes::from(data)))
    }

    fn writelines(&mut self, this: Resource<StreamWriter>, chunks: Vec<Vec<u8>>) -> WitResult<()> {
        let chunks = chunks.into_iter().map(Bytes::from).collect();
        translate(self.table.get(&this)?.writelines(chunks))
    }

    fn try_drain(
        &mut self,
        this: Resource<StreamWriter>,
    ) -> wasmtime::Result<Option<Result<(), wit::Error>>> {
        let result = self.table.get(&this)?.try_drain();
        Ok(result.map(|r| r.map_err(wit::Error::from)))
    }

    fn write_and_check_drain(
        &mut self,
        this: Resource<StreamWriter>,
        data: Vec<u8>,
    ) -> WitResult<bool> {
        translate(self.table.get(&this)?.write_and_check_drain(&data))
    }

    fn can_write_eof(&mut self, this: Resource<StreamWriter>) -> wasmtime::Result<bool> {
        Ok(self.table.get(&this)?.can_write_eof())
    }

    fn write_eof(&mut self, this: Resource<StreamWriter>) -> WitResult<()> {
        translate(self.table.get(&this)?.write_eof())
    }

    fn close(&mut self, this: Resource<StreamWriter>) -> wasmtime::Result<()> {
        self.table.get(&this)?.close();
        Ok(())
    }

    fn abort(&mut self, this: Resource<StreamWriter>) -> wasmtime::Result<()> {
        self.table.get(&this)?.abort();
        Ok(())
    }

    fn is_closing(&mut self, this: Resource<StreamWriter>) -> wasmtime::Result<bool> {
        Ok(self.table.get(&this)?.is_closing())
    }

    fn get_extra_info(
        &mut self,
        this: Resource<StreamWriter>,
        name: String,
    ) -> wasmtime::Result<Option<wit::Address>> {
        Ok(self.table.get(&this)?.extra_info(&name).map(Into::into))
    }

    fn get_write_buffer_size(&mut self, this: Resource<StreamWriter>) -> wasmtime::Result<u64> {
        Ok(self.table.get(&this)?.write_buffer_size() as u64)
    }

    fn set_write_buffer_limits(
        &mut self,
        this: Resource<StreamWriter>,
        high: Option<u64>,
        low: Option<u64>,
    ) -> WitResult<()> {
        translate(self.table.get(&this)?.set_write_buffer_limits(high, low))
    }

    fn subscribe(
        &mut self,
        this: Resource<StreamWriter>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        let writer = self.table.get(&this)?.handle();
        pollable_of(&mut self.table, DrainReadiness(writer))
    }

    fn subscribe_closed(
        &mut self,
        this: Resource<StreamWriter>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        let writer = self.table.get(&this)?.handle();
        pollable_of(&mut self.table, ClosedReadiness(writer))
    }

    fn drop(&mut self, this: Resource<StreamWriter>) -> wasmtime::Result<()> {
        // Dropping the StreamWriter closes it (see its Drop).
        self.table.delete(this)?;
        Ok(())
    }
}

impl<T: Send> HostServerWithStore<T> for Streams {
    async fn wait_closed(
        accessor: &Accessor<T, Self>,
        this: Resource<Server>,
    ) -> wasmtime::Result<()> {
        let server = lookup(accessor, &this, |s| s.handle())?;
        server.wait_closed().await;
        Ok(())
    }

    async fn accept(
        accessor: &Accessor<T, Self>,
        this: Resource<Server>,
    ) -> WitResult<(Resource<StreamReader>, Resource<StreamWriter>)> {
        let server = lookup(accessor, &this, |w| w.handle())?;
        let net = net_config(accessor);
        let pair = match server.accept().await {
            None => Err(StreamError::Closed),
            Some(Err(err)) => Err(err.into()),
            Some(Ok(socket)) => net::stream_pair(Arc::new(socket), server.limit(), &net),
        };
        if let Ok((_, writer)) = &pair {
            server.track(&writer.handle());
        }
        push_pair(accessor, pair)
    }
}

impl HostServer for HostState {
    fn sockets(&mut self, this: Resource<Server>) -> wasmtime::Result<Vec<wit::Address>> {
        Ok(self
            .table
            .get(&this)?
            .sockets()
            .into_iter()
            .map(Into::into)
            .collect())
    }

    fn close(&mut self, this: Resource<Server>) -> wasmtime::Result<()> {
        self.table.get(&this)?.close();
        Ok(())
    }

    fn is_serving(&mut self, this: Resource<Server>) -> wasmtime::Result<bool> {
        Ok(self.table.get(&this)?.is_serving())
    }

    fn close_clients(&mut self, this: Resource<Server>) -> wasmtime::Result<()> {
        self.table.get(&this)?.close_clients();
        Ok(())
    }

    fn abort_clients(&mut self, this: Resource<Server>) -> wasmtime::Result<()> {
        self.table.get(&this)?.abort_clients();
        Ok(())
    }

    fn drop(&mut self, this: Resource<Server>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl<T: Send> HostWithStore<T> for Streams {
    async fn open_connection(
        accessor: &Accessor<T, Self>,
        host: String,
        port: u16,
        options: ConnectOptions,
    ) -> WitResult<(Resource<StreamReader>, Resource<StreamWriter>)> {
        let net = net_config(accessor);
        let pair = net::open_connection(&net, &host, port, limit_of(options.limit)).await;
        push_pair(accessor, pair)
    }

    async fn open_unix_connection(
        accessor: &Accessor<T, Self>,
        path: String,
        options: ConnectOptions,
    ) -> WitResult<(Resource<StreamReader>, Resource<StreamWriter>)> {
        let net = net_config(accessor);
        let pair = net::open_unix_connection(&net, Path::new(&path), limit_of(options.limit)).await;
        push_pair(accessor, pair)
    }

    async fn start_server(
        accessor: &Accessor<T, Self>,
        host: String,
        port: u16,
        options: ServerOptions,
    ) -> WitResult<Resource<Server>> {
        let net = net_config(accessor);
        let server = async {
            if !net.policy.may_listen(&host, port) {
                tracing::warn!(
                    host,
                    port,
                    "sandbox: listen denied (grant it with --allow-listen)"
                );
                return Err(StreamError::NotPermitted(format!(
                    "listen on {host}:{port}"
                )));
            }
            let backlog = options.backlog.unwrap_or(DEFAULT_BACKLOG);
            let listeners = net::Listener::bind_tcp_host(&host, port, backlog).await?;
            Ok(Server::new(listeners, limit_of(options.limit)))
        }
        .await;
        push_server(accessor, server)
    }

    async fn start_unix_server(
        accessor: &Accessor<T, Self>,
        path: String,
        options: ServerOptions,
    ) -> WitResult<Resource<Server>> {
        let net = net_config(accessor);
        let path = Path::new(&path);
        let server = if net.policy.may_listen_unix(path) {
            let backlog = options.backlog.unwrap_or(DEFAULT_BACKLOG);
            net::Listener::bind_unix(path, backlog)
                .map(|l| Server::new(vec![l], limit_of(options.limit)))
                .map_err(StreamError::from)
        } else {
            tracing::warn!(path = %path.display(), "sandbox: listen denied (grant it with --allow-listen unix:PATH)");
            Err(StreamError::NotPermitted(format!(
                "listen on unix:{}",
                path.display()
            )))
        };
        push_server(accessor, server)
    }
}

fn push_server<T: Send>(
    accessor: &Accessor<T, Streams>,
    server: StreamResult<Server>,
) -> WitResult<Resource<Server>> {
    match server {
        Ok(server) => with_table(accessor, |s| Ok(Ok(s.table.push(server)?))),
        Err(err) => Ok(Err(err.into())),
    }
}

impl Host for HostState {}

/// A pollable of `watched`, a handle that shares a stream. The stream's
/// own entry would not do: the pollable would be its child, and dropping
/// the stream's handle first (as a garbage-collected guest may) a trap.
/// `watched` gets an entry of its own, pushed as owned so that it goes
/// with the pollable.
fn pollable_of<T: Pollable>(
    table: &mut ResourceTable,
    watched: T,
) -> wasmtime::Result<Resource<DynPollable>> {
    let entry = table.push(watched)?;
    wasmtime_wasi::p2::subscribe(table, entry)
}

/// `wasi:io/poll`'s view of a reader (`stream-reader.subscribe`): a clone
/// of it, so that the pollable outlives the guest's reader handle.
struct Readiness(StreamReader);

#[wasmtime_wasi::async_trait]
impl Pollable for Readiness {
    async fn ready(&mut self) {
        self.0.readiness().await
    }
}

/// `wasi:io/poll`'s view of a writer (`stream-writer.subscribe`): a
/// handle that shares it without closing it when dropped.
struct DrainReadiness(WriterHandle);

#[wasmtime_wasi::async_trait]
impl Pollable for DrainReadiness {
    async fn ready(&mut self) {
        self.0.drain_readiness().await
    }
}

/// `wasi:io/poll`'s view of a writer's end
/// (`stream-writer.subscribe-closed`), with the same kind of handle.
struct ClosedReadiness(WriterHandle);

#[wasmtime_wasi::async_trait]
impl Pollable for ClosedReadiness {
    async fn ready(&mut self) {
        // `wait_closed` only ever succeeds.
        let _ = self.0.wait_closed().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime_wasi::p2::bindings::io::poll::HostPollable;

    fn state_with_reader() -> (HostState, Resource<StreamReader>) {
        let net = Arc::new(NetConfig::default());
        let reader = StreamReader::in_memory(DEFAULT_LIMIT, &net.reader).unwrap();
        let mut state = HostState::new(net, &[]);
        let reader = state.table.push(reader).unwrap();
        (state, reader)
    }

    fn borrow<T: 'static>(r: &Resource<T>) -> Resource<T> {
        Resource::new_borrow(r.rep())
    }

    #[tokio::test]
    async fn a_reader_may_be_dropped_before_its_pollable() {
        let (mut state, reader) = state_with_reader();
        let pollable = HostStreamReader::subscribe(&mut state, borrow(&reader)).unwrap();
        let feeder = state.table.get(&reader).unwrap().clone();
        HostStreamReader::drop(&mut state, reader).unwrap();

        // The pollable still watches the stream: ready once data comes.
        let table = &mut state.table;
        assert!(!HostPollable::ready(table, borrow(&pollable)).await.unwrap());
        feeder.feed_data(b"x").unwrap();
        assert!(HostPollable::ready(table, borrow(&pollable)).await.unwrap());

        // And takes the reader's last entry with it.
        HostPollable::drop(table, pollable).unwrap();
        assert!(table.is_empty());
    }

    #[tokio::test]
    async fn a_writer_may_be_dropped_before_its_pollable() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let peer = tokio::net::TcpStream::connect(listener.local_addr().unwrap());
        let (_peer, accepted) = tokio::join!(peer, listener.accept());
        let socket = Arc::new(net::Socket::from(accepted.unwrap().0));
        let net = Arc::new(NetConfig::default());
        let writer = StreamWriter::new(socket, &net.writer);
        let mut state = HostState::new(net, &[]);
        let writer = state.table.push(writer).unwrap();

        let pollable = HostStreamWriter::subscribe(&mut state, borrow(&writer)).unwrap();
        HostStreamWriter::drop(&mut state, writer).unwrap();
        // Nothing was buffered: `try-drain` answers at once.
        let table = &mut state.table;
        assert!(HostPollable::ready(table, borrow(&pollable)).await.unwrap());
        HostPollable::drop(table, pollable).unwrap();
        assert!(table.is_empty());
    }

    #[tokio::test]
    async fn a_pollable_may_be_dropped_before_its_reader() {
        let (mut state, reader) = state_with_reader();
        let pollable = HostStreamReader::subscribe(&mut state, borrow(&reader)).unwrap();
        HostPollable::drop(&mut state.table, pollable).unwrap();
        HostStreamReader::drop(&mut state, reader).unwrap();
        assert!(state.table.is_empty());
    }
}
