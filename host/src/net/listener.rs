//! Listening sockets, and [`Server`]: asyncio's `Server` for guests.

use super::lock;
use super::socket::{Address, Socket};
use super::writer::{WeakWriter, WriterHandle};
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
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
        Self::bind_tcp_with(addr, backlog, false)
    }

    /// [`Listener::bind_tcp`], with `IPV6_V6ONLY` set on an IPv6 socket
    /// when `v6_only`.
    fn bind_tcp_with(addr: SocketAddr, backlog: u32, v6_only: bool) -> io::Result<Self> {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        if v6_only && addr.is_ipv6() {
            socket2::SockRef::from(&socket).set_only_v6(true)?;
        }
        socket.bind(addr)?;
        Ok(Listener::Tcp(socket.listen(backlog)?))
    }

    /// Listens on every address `host` resolves to, as asyncio's
    /// `start_server` does (`localhost` may be both 127.0.0.1 and ::1).
    pub async fn bind_tcp_host(host: &str, port: u16, backlog: u32) -> io::Result<Vec<Self>> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
        if addrs.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{host} resolves to no address"),
            ));
        }
        Self::bind_tcp_all(&addrs, backlog)
    }

    /// Listens on each of `addrs` (duplicates once). An address whose
    /// family the machine lacks (`EADDRNOTAVAIL`, e.g. ::1 with IPv6 off)
    /// is skipped, as asyncio skips it; any other failure fails the whole,
    /// naming the address. When the addresses mix IPv4 and IPv6, the IPv6
    /// sockets are `IPV6_V6ONLY` (as asyncio's are) so that they do not
    /// also claim the IPv4 port.
    pub fn bind_tcp_all(addrs: &[SocketAddr], backlog: u32) -> io::Result<Vec<Self>> {
        let mixed = addrs.iter().any(SocketAddr::is_ipv4) && addrs.iter().any(SocketAddr::is_ipv6);
        let mut listeners = Vec::new();
        let mut unavailable = None;
        for (i, &addr) in addrs.iter().enumerate() {
            if addrs[..i].contains(&addr) {
                continue;
            }
            match Self::bind_tcp_with(addr, backlog, mixed) {
                Ok(listener) => listeners.push(listener),
                Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable => {
                    tracing::debug!(%addr, "not listening on an address this machine lacks: {e}");
                    unavailable = Some(e);
                }
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("error while attempting to bind on address {addr}: {e}"),
                    ));
                }
            }
        }
        match unavailable {
            Some(e) if listeners.is_empty() => Err(e),
            _ => Ok(listeners),
        }
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
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// [`Listener::accept`] as a poll, for waiting on several listeners.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<Socket>> {
        match self {
            Listener::Tcp(l) => l.poll_accept(cx).map_ok(|(stream, peer)| {
                let _ = stream.set_nodelay(true);
                Socket::accepted(stream, Some(Address::Inet(peer)))
            }),
            Listener::Unix(l, _) => l
                .poll_accept(cx)
                .map_ok(|(stream, peer)| Socket::accepted(stream, Some(Address::from_unix(&peer)))),
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
    listeners: Mutex<Option<Arc<[Listener]>>>,
    /// Which listener `accept` looks at first, so that a busy one does not
    /// starve the others.
    next: AtomicUsize,
    /// The writers of the connections this server accepted.
    clients: Mutex<Vec<WeakWriter>>,
    closed: Notify,
    addresses: Vec<Address>,
    /// The reader limit of accepted connections.
    limit: usize,
}

impl Server {
    /// Serves `listeners` (at least one: asyncio's server of several
    /// sockets), giving accepted readers `limit`.
    pub fn new(listeners: Vec<Listener>, limit: usize) -> Self {
        Self {
            handle: ServerHandle {
                inner: Arc::new(ServerInner {
                    addresses: listeners.iter().filter_map(Listener::local_addr).collect(),
                    listeners: Mutex::new(Some(listeners.into())),
                    next: AtomicUsize::new(0),
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
        let listeners = lock(&self.inner.listeners).clone()?;
        let first = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let accept = std::future::poll_fn(|cx| {
            let n = listeners.len();
            (0..n)
                .map(|i| &listeners[(first + i) % n])
                .find_map(|l| match l.poll_accept(cx) {
                    Poll::Ready(accepted) => Some(Poll::Ready(accepted)),
                    Poll::Pending => None,
                })
                .unwrap_or(Poll::Pending)
        });
        tokio::select! {
            accepted = accept => Some(accepted),
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
            self.inner.addresses.clone()
        } else {
            Vec::new()
        }
    }

    /// Stops listening; pending `accept`s return `None`.
    pub fn close(&self) {
        if lock(&self.inner.listeners).take().is_some() {
            self.inner.closed.notify_waiters();
        }
    }

    /// True until closed.
    pub fn is_serving(&self) -> bool {
        lock(&self.inner.listeners).is_some()
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpStream;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn a_server_on_several_addresses_accepts_on_each() {
        let listeners = Listener::bind_tcp_all(&[addr("127.0.0.1:0"), addr("[::1]:0")], 16)
            .expect("loopback binds");
        if listeners.len() == 1 {
            // ::1 is EADDRNOTAVAIL where IPv6 is off: skipped, as asyncio does.
            eprintln!("no IPv6 loopback here: only 127.0.0.1 is checked");
        }
        let n = listeners.len();
        let server = Server::new(listeners, 1024);
        let sockets = server.sockets();
        assert_eq!(sockets.len(), n, "{sockets:?}");
        for socket in sockets {
            let Address::Inet(at) = socket else {
                panic!("a TCP address: {socket:?}")
            };
            let _client = TcpStream::connect(at).await.unwrap();
            let accepted = server.accept().await.expect("serving").unwrap();
            assert_eq!(accepted.local_addr(), Some(Address::Inet(at)));
        }
    }

    #[tokio::test]
    async fn an_address_given_twice_is_listened_on_once() {
        let free = Listener::bind_tcp(addr("127.0.0.1:0"), 16).unwrap();
        let Some(Address::Inet(at)) = free.local_addr() else {
            panic!("a TCP address")
        };
        drop(free);
        let listeners = Listener::bind_tcp_all(&[at, at], 16).unwrap();
        assert_eq!(listeners.len(), 1);
    }

    #[tokio::test]
    async fn a_busy_address_fails_the_whole_and_is_named() {
        let busy = Listener::bind_tcp(addr("127.0.0.1:0"), 16).unwrap();
        let Some(Address::Inet(at)) = busy.local_addr() else {
            panic!("a TCP address")
        };
        let err = Listener::bind_tcp_all(&[addr("127.0.0.1:0"), at], 16).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        assert!(err.to_string().contains(&at.to_string()), "{err}");
    }
}
