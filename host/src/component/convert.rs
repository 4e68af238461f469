//! Translation between [`crate::streams`] / [`crate::net`] types and the
//! WIT bindings' types.

use super::bindings::streams as wit;
use crate::net::Address;
use crate::streams::StreamError;
use bytes::Bytes;

impl From<StreamError> for wit::Error {
    fn from(err: StreamError) -> Self {
        match err {
            StreamError::IncompleteRead { partial, expected } => {
                wit::Error::IncompleteRead(wit::IncompleteRead {
                    partial: partial.into(),
                    expected,
                })
            }
            StreamError::LimitOverrun { message, consumed } => {
                wit::Error::LimitOverrun(wit::LimitOverrun { message, consumed })
            }
            StreamError::ConnectionRefused(m) => wit::Error::ConnectionRefused(m),
            StreamError::ConnectionReset(m) => wit::Error::ConnectionReset(m),
            StreamError::ConnectionAborted(m) => wit::Error::ConnectionAborted(m),
            StreamError::NotPermitted(m) => wit::Error::NotPermitted(m),
            StreamError::Closed => wit::Error::Closed,
            StreamError::ReadBufferFull(cap) => wit::Error::ReadBufferFull(cap),
            StreamError::WriteBufferFull(cap) => wit::Error::WriteBufferFull(cap),
            StreamError::InvalidArgument(m) => wit::Error::InvalidArgument(m),
            StreamError::InvalidState(m) => wit::Error::InvalidState(m),
            StreamError::TimedOut(m) => wit::Error::TimedOut(m),
            StreamError::Io(m) => wit::Error::Io(m),
        }
    }
}

impl From<wit::Error> for StreamError {
    fn from(err: wit::Error) -> Self {
        match err {
            wit::Error::IncompleteRead(e) => StreamError::IncompleteRead {
                partial: Bytes::from(e.partial),
                expected: e.expected,
            },
            wit::Error::LimitOverrun(e) => StreamError::LimitOverrun {
                message: e.message,
                consumed: e.consumed,
            },
            wit::Error::ConnectionRefused(m) => StreamError::ConnectionRefused(m),
            wit::Error::ConnectionReset(m) => StreamError::ConnectionReset(m),
            wit::Error::ConnectionAborted(m) => StreamError::ConnectionAborted(m),
            wit::Error::NotPermitted(m) => StreamError::NotPermitted(m),
            wit::Error::Closed => StreamError::Closed,
            wit::Error::ReadBufferFull(cap) => StreamError::ReadBufferFull(cap),
            wit::Error::WriteBufferFull(cap) => StreamError::WriteBufferFull(cap),
            wit::Error::InvalidArgument(m) => StreamError::InvalidArgument(m),
            wit::Error::InvalidState(m) => StreamError::InvalidState(m),
            wit::Error::TimedOut(m) => StreamError::TimedOut(m),
            wit::Error::Io(m) => StreamError::Io(m),
        }
    }
}

impl From<Address> for wit::Address {
    fn from(addr: Address) -> Self {
        match addr {
            Address::Inet(sa) => wit::Address::Inet(wit::InetAddress {
                host: sa.ip().to_string(),
                port: sa.port(),
            }),
            Address::Unix(path) => wit::Address::Unix(path),
        }
    }
}
