//! `open_connection` and `open_unix_connection`, behind the sandbox.

use super::policy::Policy;
use super::socket::Socket;
use super::{StreamReader, StreamWriter, WriterConfig, stream_pair};
use crate::streams::{StreamError, StreamResult};
use std::path::Path;
use tokio::net::{TcpStream, UnixStream};

/// Connects to `host:port` if `policy` grants it; TCP_NODELAY is set, as in
/// asyncio.
pub async fn open_connection(
    policy: &Policy,
    host: &str,
    port: u16,
    limit: usize,
    config: &WriterConfig,
) -> StreamResult<(StreamReader, StreamWriter)> {
    if !policy.may_connect(host, port) {
        tracing::warn!(
            host,
            port,
            "sandbox: connect denied (grant it with --allow-connect)"
        );
        return Err(StreamError::NotPermitted(format!(
            "connect to {host}:{port}"
        )));
    }
    let stream = TcpStream::connect((host, port)).await?;
    let _ = stream.set_nodelay(true);
    stream_pair(Socket::Tcp(stream), limit, config)
}

/// Connects to the Unix socket `path` if `policy` grants it.
pub async fn open_unix_connection(
    policy: &Policy,
    path: &Path,
    limit: usize,
    config: &WriterConfig,
) -> StreamResult<(StreamReader, StreamWriter)> {
    if !policy.may_connect_unix(path) {
        tracing::warn!(path = %path.display(), "sandbox: connect denied (grant it with --allow-connect unix:PATH)");
        return Err(StreamError::NotPermitted(format!(
            "connect to unix:{}",
            path.display()
        )));
    }
    let stream = UnixStream::connect(path).await?;
    stream_pair(Socket::Unix(stream), limit, config)
}
