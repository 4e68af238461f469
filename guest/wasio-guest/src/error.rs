use crate::raw;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// `asyncio.IncompleteReadError`: EOF before the read could complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncompleteReadError {
    /// The bytes read before EOF.
    pub partial: Vec<u8>,
    /// The number of bytes asked for; `None` for `readuntil`.
    pub expected: Option<u64>,
}

/// `asyncio.LimitOverrunError`: no separator within the stream's limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitOverrunError {
    /// asyncio's message.
    pub message: String,
    /// Bytes to consume to reach the separator, or the prefix searched.
    pub consumed: u64,
}

/// Every error of the streams API: what asyncio raises, as a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamError {
    /// `IncompleteReadError`.
    IncompleteRead(IncompleteReadError),
    /// `LimitOverrunError` (from `readline`, asyncio raises `ValueError`
    /// with the same message; the line is discarded as there).
    LimitOverrun(LimitOverrunError),
    /// `ConnectionRefusedError`.
    ConnectionRefused(String),
    /// `ConnectionResetError`, or the connection was lost.
    ConnectionReset(String),
    /// `ConnectionAbortedError`.
    ConnectionAborted(String),
    /// The host's sandbox does not grant this address.
    NotPermitted(String),
    /// Written after `close` or `write_eof`.
    Closed,
    /// The host's cap on buffered, unread bytes is reached.
    ReadBufferFull(u64),
    /// The host's cap on unsent bytes would be exceeded; `drain` first.
    WriteBufferFull(u64),
    /// `ValueError`.
    InvalidArgument(String),
    /// `RuntimeError`.
    InvalidState(String),
    /// A host time limit expired.
    TimedOut(String),
    /// Other `OSError`.
    Io(String),
}

impl From<raw::Error> for StreamError {
    fn from(e: raw::Error) -> Self {
        match e {
            raw::Error::IncompleteRead(i) => StreamError::IncompleteRead(IncompleteReadError {
                partial: i.partial,
                expected: i.expected,
            }),
            raw::Error::LimitOverrun(l) => StreamError::LimitOverrun(LimitOverrunError {
                message: l.message,
                consumed: l.consumed,
            }),
            raw::Error::ConnectionRefused(m) => StreamError::ConnectionRefused(m),
            raw::Error::ConnectionReset(m) => StreamError::ConnectionReset(m),
            raw::Error::ConnectionAborted(m) => StreamError::ConnectionAborted(m),
            raw::Error::NotPermitted(m) => StreamError::NotPermitted(m),
            raw::Error::Closed => StreamError::Closed,
            raw::Error::ReadBufferFull(n) => StreamError::ReadBufferFull(n),
            raw::Error::WriteBufferFull(n) => StreamError::WriteBufferFull(n),
            raw::Error::InvalidArgument(m) => StreamError::InvalidArgument(m),
            raw::Error::InvalidState(m) => StreamError::InvalidState(m),
            raw::Error::TimedOut(m) => StreamError::TimedOut(m),
            raw::Error::Io(m) => StreamError::Io(m),
        }
    }
}

impl From<StreamError> for raw::Error {
    fn from(e: StreamError) -> Self {
        match e {
            StreamError::IncompleteRead(i) => raw::Error::IncompleteRead(raw::IncompleteRead {
                partial: i.partial,
                expected: i.expected,
            }),
            StreamError::LimitOverrun(l) => raw::Error::LimitOverrun(raw::LimitOverrun {
                message: l.message,
                consumed: l.consumed,
            }),
            StreamError::ConnectionRefused(m) => raw::Error::ConnectionRefused(m),
            StreamError::ConnectionReset(m) => raw::Error::ConnectionReset(m),
            StreamError::ConnectionAborted(m) => raw::Error::ConnectionAborted(m),
            StreamError::NotPermitted(m) => raw::Error::NotPermitted(m),
            StreamError::Closed => raw::Error::Closed,
            StreamError::ReadBufferFull(n) => raw::Error::ReadBufferFull(n),
            StreamError::WriteBufferFull(n) => raw::Error::WriteBufferFull(n),
            StreamError::InvalidArgument(m) => raw::Error::InvalidArgument(m),
            StreamError::InvalidState(m) => raw::Error::InvalidState(m),
            StreamError::TimedOut(m) => raw::Error::TimedOut(m),
            StreamError::Io(m) => raw::Error::Io(m),
        }
    }
}

impl StreamError {
    /// The WIT variant's name (`incomplete-read`, `not-permitted`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            StreamError::IncompleteRead(_) => "incomplete-read",
            StreamError::LimitOverrun(_) => "limit-overrun",
            StreamError::ConnectionRefused(_) => "connection-refused",
            StreamError::ConnectionReset(_) => "connection-reset",
            StreamError::ConnectionAborted(_) => "connection-aborted",
            StreamError::NotPermitted(_) => "not-permitted",
            StreamError::Closed => "closed",
            StreamError::ReadBufferFull(_) => "read-buffer-full",
            StreamError::WriteBufferFull(_) => "write-buffer-full",
            StreamError::InvalidArgument(_) => "invalid-argument",
            StreamError::InvalidState(_) => "invalid-state",
            StreamError::TimedOut(_) => "timed-out",
            StreamError::Io(_) => "io",
        }
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::IncompleteRead(e) => match e.expected {
                Some(n) => write!(
                    f,
                    "{} bytes read on a total of {n} expected bytes",
                    e.partial.len()
                ),
                None => write!(
                    f,
                    "{} bytes read on a total of undefined expected bytes",
                    e.partial.len()
                ),
            },
            StreamError::LimitOverrun(e) => f.write_str(&e.message),
            StreamError::Closed => f.write_str("the stream is closed for writing"),
            StreamError::ReadBufferFull(cap) => {
                write!(f, "the read buffer reached its cap of {cap} bytes")
            }
            StreamError::WriteBufferFull(cap) => {
                write!(f, "the write buffer would exceed its cap of {cap} bytes")
            }
            StreamError::ConnectionRefused(m)
            | StreamError::ConnectionReset(m)
            | StreamError::ConnectionAborted(m)
            | StreamError::NotPermitted(m)
            | StreamError::InvalidArgument(m)
            | StreamError::InvalidState(m)
            | StreamError::TimedOut(m)
            | StreamError::Io(m) => write!(f, "{}: {m}", self.kind()),
        }
    }
}

impl core::error::Error for StreamError {}
