//! A connected TCP or Unix socket, used through `&self` so that a reader
//! and a writer can share it (Tokio's `try_read`/`try_write` and readiness
//! futures all take `&self`).

use bytes::BytesMut;
use std::fmt;
use std::io::{self, IoSlice};
use std::net::{Shutdown, SocketAddr};
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
    fn from_unix(addr: io::Result<tokio::net::unix::SocketAddr>) -> Option<Self> {
        let addr = addr.ok()?;
        let path = addr
            .as_pathname()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        Some(Address::Unix(path))
    }
}

/// A connected stream socket.
#[derive(Debug)]
pub enum Socket {
    /// TCP.
    Tcp(TcpStream),
    /// Unix domain stream socket.
    Unix(UnixStream),
}

impl Socket {
    /// Waits until the socket may be readable.
    pub async fn readable(&self) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.readable().await,
            Socket::Unix(s) => s.readable().await,
        }
    }

    /// Waits until the socket may be writable.
    pub async fn writable(&self) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.writable().await,
            Socket::Unix(s) => s.writable().await,
        }
    }

    /// Reads what is available into `buf`'s spare capacity, without
    /// blocking (`WouldBlock` when nothing is). `Ok(0)` is EOF.
    pub fn try_read_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.try_read_buf(buf),
            Socket::Unix(s) => s.try_read_buf(buf),
        }
    }

    /// Writes from `bufs` in order without blocking.
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.try_write_vectored(bufs),
            Socket::Unix(s) => s.try_write_vectored(bufs),
        }
    }

    /// Shuts down one or both directions.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let sock = match self {
            Socket::Tcp(s) => socket2::SockRef::from(s),
            Socket::Unix(s) => socket2::SockRef::from(s),
        };
        match sock.shutdown(how) {
            // Already disconnected: nothing left to shut down.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }

    /// The remote endpoint (`peername`).
    pub fn peer_addr(&self) -> Option<Address> {
        match self {
            Socket::Tcp(s) => s.peer_addr().ok().map(Address::Inet),
            Socket::Unix(s) => Address::from_unix(s.peer_addr()),
        }
    }

    /// The local endpoint (`sockname`).
    pub fn local_addr(&self) -> Option<Address> {
        match self {
            Socket::Tcp(s) => s.local_addr().ok().map(Address::Inet),
            Socket::Unix(s) => Address::from_unix(s.local_addr()),
        }
    }
}
