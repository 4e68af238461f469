//! Tokio sockets under asyncio's stream semantics.
//!
//! - [`socket`]: one connected TCP or Unix socket, shared by its reader
//!   and writer, and its addresses.
//! - [`reader`]: [`StreamReader`], a [`ReadBuffer`](crate::streams::ReadBuffer)
//!   filled from a socket (or fed by hand) with async read operations.
//! - [`writer`]: [`StreamWriter`], a [`WriteFlow`](crate::streams::WriteFlow)
//!   flushed by a Tokio task, with `drain`, `write_eof`, `close`.
//! - [`listener`]: listening sockets and the [`Server`] handle.
//! - [`idle`]: the idle timeout, one sweeper for all connections.
//! - [`connect`]: `open_connection` and `open_unix_connection`.
//! - [`policy`]: the sandbox's allow-list of addresses.

pub mod connect;
pub mod idle;
pub mod listener;
pub mod policy;
pub mod reader;
pub mod socket;
pub mod writer;

pub use connect::{open_connection, open_unix_connection};
pub use idle::{IdleGuard, IdleSweeper};
pub use listener::{Listener, Server};
pub use policy::{Endpoint, Policy};
pub use reader::{ReaderConfig, StreamReader, WeakReader};
pub use socket::{Address, Socket};
pub use writer::{StreamWriter, WriterConfig, WriterHandle};

use std::sync::{Mutex, MutexGuard};

/// What the host decides for every guest's network use: the sandbox and
/// the writer settings.
#[derive(Debug, Clone, Default)]
pub struct NetConfig {
    /// The allow-lists.
    pub policy: Policy,
    /// Reader buffer cap and read timeout.
    pub reader: ReaderConfig,
    /// Writer buffer cap and close grace period.
    pub writer: WriterConfig,
}

/// Locks a mutex whose data stays consistent even if a holder panicked
/// (every critical section here is a few field updates).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A connected socket's reader and writer, as asyncio's
/// `(reader, writer)` pair.
pub fn stream_pair(
    socket: std::sync::Arc<Socket>,
    limit: usize,
    config: &NetConfig,
) -> crate::streams::StreamResult<(StreamReader, StreamWriter)> {
    let reader = StreamReader::from_socket(socket.clone(), limit, &config.reader)?;
    let writer = StreamWriter::new(socket, &config.writer);
    Ok((reader, writer))
}
