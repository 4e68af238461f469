//! `open_connection` and `open_unix_connection`, behind the sandbox.

use super::socket::Socket;
use super::{NetConfig, StreamReader, StreamWriter, stream_pair};
use crate::streams::{StreamError, StreamResult};
use std::path::Path;
use tokio::net::{TcpStream, UnixStream};

/// Connects to `host:port` if the policy grants it; TCP_NODELAY is set, as in
/// asyncio.
pub async fn open_connection(
    config: &NetConfig,
    host: &str,
    port: u16,
    limit: usize,
) -> StreamResult<(StreamReader, StreamWriter)> {
    if !config.policy.may_connect(host, port) {
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
    stream_pair(std::sync::Arc::new(Socket::from(stream)), limit, config)
}

/// Connects to the Unix socket `path` if the policy grants it.
pub async fn open_unix_connection(
    config: &NetConfig,
    path: &Path,
    limit: usize,
) -> StreamResult<(StreamReader, StreamWriter)> {
    if !config.policy.may_connect_unix(path) {
        tracing::warn!(path = %path.display(), "sandbox: connect denied (grant it with --allow-connect unix:PATH)");
        return Err(StreamError::NotPermitted(format!(
            "connect to unix:{}",
            path.display()
        )));
    }
    let stream = UnixStream::connect(path).await?;
    stream_pair(std::sync::Arc::new(Socket::from(stream)), limit, config)
}
