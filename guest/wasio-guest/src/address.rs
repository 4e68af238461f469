use crate::raw;
use alloc::string::String;
use core::fmt;

/// An endpoint from `get_extra_info("peername" | "sockname")`.
///
/// `Display` prints it as Python does (`('127.0.0.1', 8888)` for IP
/// endpoints, `'/path'` for Unix sockets), so examples print what
/// asyncio's print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// An IP endpoint.
    Inet {
        /// The IP address as text.
        host: String,
        /// The port.
        port: u16,
    },
    /// A Unix socket path; empty when unnamed.
    Unix(String),
}

impl From<raw::Address> for Address {
    fn from(a: raw::Address) -> Self {
        match a {
            raw::Address::Inet(i) => Address::Inet {
                host: i.host,
                port: i.port,
            },
            raw::Address::Unix(p) => Address::Unix(p),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Inet { host, port } => write!(f, "({}, {port})", crate::pyrepr::repr(host)),
            Address::Unix(path) => f.write_str(&crate::pyrepr::repr(path)),
        }
    }
}
