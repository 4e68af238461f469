//! Listening sockets, and [`Server`]: asyncio's `Server` for guests.

use super::lock;
use super::socket::{Address, Socket};
use super::writer::{WeakWriter, WriterHandle};
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpSocket, UnixListener, UnixSocket};
use tokio::sync::Notify;

/// asyncio's default listen backlog (guests' `start-server`).
pub const DEFAULT_BACKLOG: u32 = 100;

/// `wasio serve`'s default listen backlog (Tokio's): a cold server, whose
/// first instances take longer, must not drop a burst of connects.
pub const SERVE_BACKLOG: u32 = 1024;

/// A listening TCP or Unix socket.
#[derive(Debug)]
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// Unix; the socket file is removed when the listener is dropped.
    Unix(UnixListener, PathBuf),
}

impl Listener {
    /// Listens on `addr` with `SO_REUSEADDR`, as asyncio does.
    pub fn bind_tcp(addr: SocketAddr, backlog: u32) -> io::Result<Self> {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        Ok(Listener::Tcp(socket.listen(backlog)?))
    }

    /// Listens on the first address `host` resolves to.
    pub async fn bind_tcp_host(host: &str, port: u16, backlog: u32) -> io::Result<Self> {
        let mut last = None;
        for addr in tokio::net::lookup_host((host, port)).await? {
            match Self::bind_tcp(addr, backlog) {
                Ok(listener) => return Ok(listener),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{host} resolves to no address"),
            )
        }))
    }

    /// Listens on a Unix socket path. A stale socket file left there is
    /// removed first (as asyncio does); any other file is an error.
    pub fn bind_unix(path: &Path, backlog: u32) -> io::Result<Self> {
        use std::os::unix::fs::FileTypeExt;
        if let Ok(meta) = std::fs::symlink_metadata(path)
            && meta.file_type().is_socket()
        {
            std::fs::remove_file(path)?;
        }
        let socket = UnixSocket::new_stream()?;
        socket.bind(path)?;
        Ok(Listener::Unix(socket.listen(backlog)?, path.to_path_buf()))
    }

    /// Waits for a connection. TCP connections get `TCP_NODELAY`, as in
    /// asyncio.
    pub async fn accept(&self) -> io::Result<Socket> {
        match self {
            Listener::Tcp(l) => {
                let (stream, peer) = l.accept().await?;
                let _ = stream.set_nodelay(true);
                Ok(Socket::accepted(stream, Some(Address::Inet(peer))))
            }
            Listener::Unix(l, _) => {
                let (stream, peer) = l.accept().await?;
                Ok(Socket::accepted(stream, Some(Address::from_unix(&peer))))
            }
        }
    }

    /// The address listened on.
    pub fn local_addr(&self) -> Option<Address> {
        match self {
            Listener::Tcp(l) => l.local_addr().ok().map(Address::Inet),
            Listener::Unix(_, path) => Some(Address::Unix(path.to_string_lossy().into_owned())),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A server a guest started: accepts connections until closed. Dropping it
/// closes it.
#[derive(Debug)]
pub struct Server {
    handle: ServerHandle,
}

/// A shared handle to a [`Server`] for `accept`, which waits.
#[derive(Debug, Clone)]
pub struct ServerHandle {
    inner: Arc<ServerInner>,
}

#[derive(Debug)]
struct ServerInner {
    /// `None` once closed: dropping the last reference stops listening.
    listener: Mutex<Option<Arc<Listener>>>,
    /// The writers of the connections this server accepted.
    clients: Mutex<Vec<WeakWriter>>,
    closed: Notify,
    address: Option<Address>,
    /// The reader limit of accepted connections.
    limit: usize,
}

impl Server {
    /// Serves `listener`, giving accepted readers `limit`.
    pub fn new(listener: Listener, limit: usize) -> Self {
        Self {
            handle: ServerHandle {
                inner: Arc::new(ServerInner {
                    address: listener.local_addr(),
                    listener: Mutex::new(Some(Arc::new(listener))),
                    clients: Mutex::new(Vec::new()),
                    closed: Notify::new(),
                    limit,
                }),
            },
        }
    }

    /// A handle that shares this server.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }
}

impl std::ops::Deref for Server {
    type Target = ServerHandle;
    fn deref(&self) -> &ServerHandle {
        &self.handle
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.handle.close();
    }
}

impl ServerHandle {
    /// Waits for the next connection; `None` once the server is closed.
    pub async fn accept(&self) -> Option<io::Result<Socket>> {
        let closed = self.inner.closed.notified();
        tokio::pin!(closed);
        closed.as_mut().enable();
        let listener = lock(&self.inner.listener).clone()?;
        tokio::select! {
            accepted = listener.accept() => Some(accepted),
            _ = closed => None,
        }
    }

    /// The reader limit of accepted connections.
    pub fn limit(&self) -> usize {
        self.inner.limit
    }

    /// The addresses listened on (asyncio's `server.sockets`).
    pub fn sockets(&self) -> Vec<Address> {
        if self.is_serving() {
            self.inner.address.iter().cloned().collect()
        } else {
            Vec::new()
        }
    }

    /// Stops listening; pending `accept`s return `None`.
    pub fn close(&self) {
        if lock(&self.inner.listener).take().is_some() {
            self.inner.closed.notify_waiters();
        }
    }

    /// True until closed.
    pub fn is_serving(&self) -> bool {
        lock(&self.inner.listener).is_some()
    }

    /// Remembers a connection this server accepted, for `close_clients`,
    /// `abort_clients` and `wait_closed`.
    pub fn track(&self, writer: &WriterHandle) {
        let mut clients = lock(&self.inner.clients);
        clients.retain(|w| w.upgrade().is_some_and(|w| !w.is_closed()));
        clients.push(writer.downgrade());
    }

    fn clients(&self) -> Vec<WriterHandle> {
        lock(&self.inner.clients)
            .iter()
            .filter_map(WeakWriter::upgrade)
            .collect()
    }

    /// `close_clients()`: closes every accepted connection (flushing).
    pub fn close_clients(&self) {
        self.clients().iter().for_each(WriterHandle::close);
    }

    /// `abort_clients()`: aborts every accepted connection.
    pub fn abort_clients(&self) {
        self.clients().iter().for_each(WriterHandle::abort);
    }

    /// `wait_closed()`: once closed, waits until every accepted connection
    /// is closed too (asyncio 3.12+). Before `close` it waits for `close`.
    pub async fn wait_closed(&self) {
        if self.is_serving() {
            let closed = self.inner.closed.notified();
            tokio::pin!(closed);
            closed.as_mut().enable();
            if self.is_serving() {
                closed.await;
            }
        }
        for client in self.clients() {
            let _ = client.wait_closed().await;
        }
    }
}
