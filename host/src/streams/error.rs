//! The one error type of the streams API, as plain Rust.

use bytes::Bytes;
use std::io;

/// Everything asyncio reports through exceptions on streams.
///
/// This mirrors the WIT `error` variant; the component layer translates one
/// into the other. It is `Clone` because a reader keeps its exception and
/// hands a copy to every later read, as asyncio re-raises the same one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// `asyncio.IncompleteReadError`.
    #[error("{} bytes read on a total of {} expected bytes", partial.len(), match expected { Some(n) => n.to_string(), None => "undefined".into() })]
    IncompleteRead {
        /// The bytes read before EOF; no longer buffered.
        partial: Bytes,
        /// The number of bytes asked for; `None` for `readuntil`.
        expected: Option<u64>,
    },
    /// `asyncio.LimitOverrunError`.
    #[error("{message}")]
    LimitOverrun {
        /// asyncio's message for the case.
        message: String,
        /// How many bytes to consume to reach the separator (or the prefix
        /// searched when it was not found).
        consumed: u64,
    },
    /// `ConnectionRefusedError`.
    #[error("connection refused: {0}")]
    ConnectionRefused(String),
    /// `ConnectionResetError`.
    #[error("connection reset: {0}")]
    ConnectionReset(String),
    /// `ConnectionAbortedError`.
    #[error("connection aborted: {0}")]
    ConnectionAborted(String),
    /// The sandbox does not grant this address.
    #[error("not permitted by the sandbox: {0}")]
    NotPermitted(String),
    /// The writer is closed, or its write side was shut down.
    #[error("the stream is closed for writing")]
    Closed,
    /// The host's cap on buffered, unread bytes (the value) is reached.
    #[error("the read buffer reached its cap of {0} bytes")]
    ReadBufferFull(u64),
    /// The hard cap on unsent bytes (the value) would be exceeded.
    #[error("the write buffer would exceed its cap of {0} bytes")]
    WriteBufferFull(u64),
    /// `ValueError`.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// `RuntimeError`.
    #[error("invalid state: {0}")]
    InvalidState(String),
    /// A host time limit expired.
    #[error("timed out: {0}")]
    TimedOut(String),
    /// Any other `OSError`.
    #[error("I/O error: {0}")]
    Io(String),
}

impl From<io::Error> for StreamError {
    fn from(err: io::Error) -> Self {
        let text = err.to_string();
        match err.kind() {
            io::ErrorKind::ConnectionRefused => Self::ConnectionRefused(text),
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => {
                Self::ConnectionReset(text)
            }
            io::ErrorKind::ConnectionAborted => Self::ConnectionAborted(text),
            io::ErrorKind::PermissionDenied => Self::NotPermitted(text),
            io::ErrorKind::TimedOut => Self::TimedOut(text),
            io::ErrorKind::InvalidInput => Self::InvalidArgument(text),
            _ => Self::Io(text),
        }
    }
}

/// A `Result` whose error is [`StreamError`].
pub type StreamResult<T> = Result<T, StreamError>;
