//! The sandbox: which addresses guests may connect to and listen on.
//!
//! Nothing is granted by default. A grant names a host and port as the
//! guest will ask for them (`127.0.0.1:8888`, `localhost:80`, `[::1]:*`)
//! or a Unix socket path (`unix:/tmp/x.sock`). Hosts match by name,
//! case-insensitively, or as the same IP address when both are IP
//! literals; `*` as the port matches any port.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// One granted endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A host and a port (`None`: any port).
    Inet {
        /// Name or IP literal.
        host: String,
        /// The port; `None` for any.
        port: Option<u16>,
    },
    /// A Unix socket path.
    Unix(PathBuf),
}

impl FromStr for Endpoint {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(format!("{s:?}: empty Unix socket path"));
            }
            return Ok(Endpoint::Unix(PathBuf::from(path)));
        }
        let (host, port) = s
            .rsplit_once(':')
            .ok_or_else(|| format!("{s:?}: expected HOST:PORT, [IPv6]:PORT or unix:PATH"))?;
        let (host, bracketed) = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(inner) => (inner, true),
            None => (host, false),
        };
        if host.is_empty() {
            return Err(format!("{s:?}: empty host"));
        }
        if host.contains(':') && (!bracketed || host.parse::<IpAddr>().is_err()) {
            return Err(format!(
                "{s:?}: write IPv6 addresses in brackets, as [::1]:PORT"
            ));
        }
        let port = match port {
            "*" => None,
            p => Some(
                p.parse::<u16>()
                    .map_err(|_| format!("{s:?}: {p:?} is not a port (0-65535 or *)"))?,
            ),
        };
        Ok(Endpoint::Inet {
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Unix(p) => write!(f, "unix:{}", p.display()),
            Endpoint::Inet { host, port } => {
                if host.contains(':') {
                    write!(f, "[{host}]")?;
                } else {
                    f.write_str(host)?;
                }
                match port {
                    Some(p) => write!(f, ":{p}"),
                    None => f.write_str(":*"),
                }
            }
        }
    }
}

fn same_host(granted: &str, asked: &str) -> bool {
    if granted.eq_ignore_ascii_case(asked) {
        return true;
    }
    matches!(
        (granted.parse::<IpAddr>(), asked.parse::<IpAddr>()),
        (Ok(a), Ok(b)) if a == b
    )
}

/// The allow-lists of one host.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// What guests may connect to.
    pub connect: Vec<Endpoint>,
    /// What guests may listen on.
    pub listen: Vec<Endpoint>,
}

impl Policy {
    fn allows_inet(list: &[Endpoint], host: &str, port: u16) -> bool {
        list.iter().any(|e| match e {
            Endpoint::Inet { host: h, port: p } => {
                same_host(h, host) && p.is_none_or(|p| p == port)
            }
            Endpoint::Unix(_) => false,
        })
    }

    fn allows_unix(list: &[Endpoint], path: &Path) -> bool {
        list.iter()
            .any(|e| matches!(e, Endpoint::Unix(p) if p == path))
    }

    /// May a guest connect to `host:port`?
    pub fn may_connect(&self, host: &str, port: u16) -> bool {
        Self::allows_inet(&self.connect, host, port)
    }

    /// May a guest listen on `host:port`?
    pub fn may_listen(&self, host: &str, port: u16) -> bool {
        Self::allows_inet(&self.listen, host, port)
    }

    /// May a guest connect to the Unix socket `path`?
    pub fn may_connect_unix(&self, path: &Path) -> bool {
        Self::allows_unix(&self.connect, path)
    }

    /// May a guest listen on the Unix socket `path`?
    pub fn may_listen_unix(&self, path: &Path) -> bool {
        Self::allows_unix(&self.listen, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(connect: &[&str]) -> Policy {
        Policy {
            connect: connect.iter().map(|s| s.parse().unwrap()).collect(),
            listen: vec![],
        }
    }

    #[test]
    fn parses_and_prints_endpoints() {
        for s in [
            "127.0.0.1:8888",
            "[::1]:80",
            "localhost:*",
            "unix:/tmp/a.sock",
        ] {
            assert_eq!(s.parse::<Endpoint>().unwrap().to_string(), s);
        }
        for bad in ["nohost", ":80", "h:99999", "::1:80", "unix:", "h:x"] {
            assert!(bad.parse::<Endpoint>().is_err(), "{bad}");
        }
    }

    #[test]
    fn nothing_is_granted_by_default() {
        let p = Policy::default();
        assert!(!p.may_connect("127.0.0.1", 80));
        assert!(!p.may_listen("127.0.0.1", 80));
        assert!(!p.may_connect_unix(Path::new("/tmp/x")));
    }

    #[test]
    fn grants_match_host_and_port() {
        let p = policy(&[
            "127.0.0.1:8888",
            "[::1]:*",
            "Example.com:443",
            "unix:/tmp/s",
        ]);
        assert!(p.may_connect("127.0.0.1", 8888));
        assert!(!p.may_connect("127.0.0.1", 8889));
        assert!(!p.may_connect("localhost", 8888), "names are not resolved");
        assert!(p.may_connect("0:0::1", 1));
        assert!(p.may_connect("example.COM", 443));
        assert!(p.may_connect_unix(Path::new("/tmp/s")));
        assert!(
            !p.may_listen_unix(Path::new("/tmp/s")),
            "connect grants do not grant listen"
        );
    }
}
