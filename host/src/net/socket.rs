//! A connected TCP or Unix socket, used through `&self` so that a reader
//! and a writer can share it (Tokio's `try_read`/`try_write` and readiness
//! futures all take `&self`). It remembers when it last moved bytes, for
//! the server's idle timeout, and its two addresses (asked of the kernel
//! at most once each: `accept` already tells the peer's).

use bytes::BufMut;
use std::fmt;
use std::io::{self, IoSlice};
use std::net::{Shutdown, SocketAddr};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::Interest;
use tokio::net::{TcpStream, UnixStream};

/// An endpoint: what `get_extra_info("peername" | "sockname")` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// An IP endpoint.
    Inet(SocketAddr),
    /// A Unix socket path; empty for an unnamed socket.
    Unix(String),
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Inet(addr) => write!(f, "{addr}"),
            Address::Unix(path) if path.is_empty() => f.write_str("unix:(unnamed)"),
            Address::Unix(path) => write!(f, "unix:{path}"),
        }
    }
}

impl Address {
    pub(crate) fn from_unix(addr: &tokio::net::unix::SocketAddr) -> Self {
        let path = addr
            .as_pathname()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        Address::Unix(path)
    }
}

/// A connected stream socket, and whether it moved bytes lately (for idle
/// timeouts).
#[derive(Debug)]
pub struct Socket {
    io: Io,
    /// Set by every successful read or write, cleared by
    /// [`quiet_for`](Self::quiet_for). A flag, not a timestamp: reading
    /// the clock twice per message cost 1.5% of an echo's instructions,
    /// and the idle sweeper only needs "anything since I last looked".
    active: AtomicBool,
    /// Milliseconds since [`clock_origin`] at which `quiet_for` last found
    /// the socket active (or it was made): written by `quiet_for` only.
    quiet_since: AtomicU64,
    /// `peername`, once known: from `accept`, or asked on first use.
    peer: OnceLock<Option<Address>>,
    /// `sockname`, asked on first use.
    local: OnceLock<Option<Address>>,
}

#[derive(Debug)]
enum Io {
    Tcp(TcpStream),
    Unix(UnixStream),
}

/// The instant activity times count from.
fn clock_origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    clock_origin().elapsed().as_millis() as u64
}

impl From<TcpStream> for Socket {
    fn from(s: TcpStream) -> Self {
        Self::new(Io::Tcp(s))
    }
}

impl From<UnixStream> for Socket {
    fn from(s: UnixStream) -> Self {
        Self::new(Io::Unix(s))
    }
}

impl Socket {
    fn new(io: Io) -> Self {
        Self {
            io,
            active: AtomicBool::new(false),
            quiet_since: AtomicU64::new(now_ms()),
            peer: OnceLock::new(),
            local: OnceLock::new(),
        }
    }

    /// A socket whose peer address is already known (`accept` returns it),
    /// which saves a `getpeername` per connection.
    pub fn accepted(socket: impl Into<Socket>, peer: Option<Address>) -> Self {
        let socket = socket.into();
        let _ = socket.peer.set(peer);
        socket
    }

    fn touch<T>(&self, result: io::Result<T>) -> io::Result<T> {
        if result.is_ok() {
            self.active.store(true, Ordering::Relaxed);
        }
        result
    }

    /// For a caller that asks at intervals (the idle sweeper): how long the
    /// socket has read and written nothing (EOF counts as a read), at
    /// least. Activity since the last call restarts the count now, so
    /// the figure may fall short of the truth by up to one interval, never
    /// exceed it.
    pub fn quiet_for(&self) -> Duration {
        let now = now_ms();
        if self.active.swap(false, Ordering::Relaxed) {
            self.quiet_since.store(now, Ordering::Relaxed);
            return Duration::ZERO;
        }
        Duration::from_millis(now.saturating_sub(self.quiet_since.load(Ordering::Relaxed)))
    }

    /// Waits until the socket may be readable.
    pub async fn readable(&self) -> io::Result<()> {
        match &self.io {
            Io::Tcp(s) => s.readable().await,
            Io::Unix(s) => s.readable().await,
        }
    }

    /// Waits until the socket may be writable.
    pub async fn writable(&self) -> io::Result<()> {
        match &self.io {
            Io::Tcp(s) => s.writable().await,
            Io::Unix(s) => s.writable().await,
        }
    }

    /// Reads what is available into `buf`'s spare capacity, without
    /// blocking (`WouldBlock` when nothing is). `Ok(0)` is EOF.
    ///
    /// A read that fills less than the space it was given has drained the
    /// socket (epoll is edge-triggered: new data brings a new event), so it
    /// also clears the socket's cached readiness, as Tokio's own
    /// `poll_read` does. The next wait then goes straight to the event loop
    /// instead of first paying for a read that fails with `WouldBlock`:
    /// one system call less per message in a request-response exchange.
    pub fn try_read_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
        let asked = buf.chunk_mut().len().min(buf.remaining_mut());
        let mut drained = None;
        // `try_io` notes the readiness it saw before running the read and
        // clears exactly that when the closure says `WouldBlock`; readiness
        // from data that arrived after the read is kept.
        let mut read = || {
            let n = match &self.io {
                Io::Tcp(s) => s.try_read_buf(buf),
                Io::Unix(s) => s.try_read_buf(buf),
            }?;
            if n > 0 && n < asked {
                drained = Some(n);
                return Err(io::ErrorKind::WouldBlock.into());
            }
            Ok(n)
        };
        let result = match &self.io {
            Io::Tcp(s) => s.try_io(Interest::READABLE, &mut read),
            Io::Unix(s) => s.try_io(Interest::READABLE, &mut read),
        };
        self.touch(match (result, drained) {
            (Err(e), Some(n)) if e.kind() == io::ErrorKind::WouldBlock => Ok(n),
            (result, _) => result,
        })
    }

    /// Writes from `buf` without blocking. One buffer goes through this
    /// rather than [`try_write_vectored`](Self::try_write_vectored):
    /// `send(2)` costs the kernel less than a one-entry `writev(2)`.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.touch(match &self.io {
            Io::Tcp(s) => s.try_write(buf),
            Io::Unix(s) => s.try_write(buf),
        })
    }

    /// Writes from `bufs` in order without blocking (one buffer: as
    /// [`try_write`](Self::try_write)).
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if let [buf] = bufs {
            return self.try_write(buf);
        }
        self.touch(match &self.io {
            Io::Tcp(s) => s.try_write_vectored(bufs),
            Io::Unix(s) => s.try_write_vectored(bufs),
        })
    }

    fn sock_ref(&self) -> socket2::SockRef<'_> {
        match &self.io {
            Io::Tcp(s) => socket2::SockRef::from(s),
            Io::Unix(s) => socket2::SockRef::from(s),
        }
    }

    /// Shuts down one or both directions.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self.sock_ref().shutdown(how) {
            // Already disconnected: nothing left to shut down.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }

    /// Makes the final close reset the connection (SO_LINGER 0) instead of
    /// a graceful FIN, for `abort`.
    pub fn set_reset_on_close(&self) {
        let _ = self.sock_ref().set_linger(Some(Duration::ZERO));
    }

    /// The remote endpoint (`peername`). Asked of the kernel once, so it
    /// stays known after the peer went away (as asyncio's transport keeps
    /// it from its creation).
    pub fn peer_addr(&self) -> Option<Address> {
        self.peer
            .get_or_init(|| match &self.io {
                Io::Tcp(s) => s.peer_addr().ok().map(Address::Inet),
                Io::Unix(s) => s.peer_addr().ok().map(|a| Address::from_unix(&a)),
            })
            .clone()
    }

    /// The local endpoint (`sockname`), asked of the kernel once.
    pub fn local_addr(&self) -> Option<Address> {
        self.local
            .get_or_init(|| match &self.io {
                Io::Tcp(s) => s.local_addr().ok().map(Address::Inet),
                Io::Unix(s) => s.local_addr().ok().map(|a| Address::from_unix(&a)),
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::{Listener, StreamWriter, WriterConfig};
    use std::sync::Arc;

    #[tokio::test]
    async fn the_addresses_stay_known_after_the_peer_went_away() {
        let listener = Listener::bind_tcp("127.0.0.1:0".parse().unwrap(), 16).unwrap();
        let listening = listener.local_addr().unwrap();
        let Address::Inet(addr) = listening.clone() else {
            panic!("a TCP listener has an IP address")
        };
        let client = TcpStream::connect(addr).await.unwrap();
        let client_addr = client.local_addr().unwrap();
        let socket = Arc::new(listener.accept().await.unwrap());
        let writer = StreamWriter::new(socket.clone(), &WriterConfig::default());
        // The peer closes and this side shuts down.
        drop(client);
        socket.shutdown(Shutdown::Both).unwrap();
        assert_eq!(
            writer.extra_info("peername"),
            Some(Address::Inet(client_addr))
        );
        assert_eq!(writer.extra_info("sockname"), Some(listening));
        assert_eq!(writer.extra_info("socket"), None);
    }

    #[tokio::test]
    async fn a_socket_that_moved_bytes_since_the_last_look_is_not_quiet() {
        let listener = Listener::bind_tcp("127.0.0.1:0".parse().unwrap(), 16).unwrap();
        let Address::Inet(addr) = listener.local_addr().unwrap() else {
            panic!("a TCP listener has an IP address")
        };
        let _client = TcpStream::connect(addr).await.unwrap();
        let socket = listener.accept().await.unwrap();
        // Backdate the last look, as if the sweeper had seen it quiet at
        // the clock's origin: a socket that does nothing counts from there.
        socket.quiet_since.store(0, Ordering::Relaxed);
        let before = now_ms();
        assert!(socket.quiet_for() >= Duration::from_millis(before));
        assert!(!socket.active.load(Ordering::Relaxed));
        // One write since, and the next look finds it active and restarts
        // the count.
        assert_eq!(socket.try_write(b"x").unwrap(), 1);
        assert_eq!(socket.quiet_for(), Duration::ZERO);
        assert!(socket.quiet_since.load(Ordering::Relaxed) >= before);
    }
}
