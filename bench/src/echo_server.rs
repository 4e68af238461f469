//! The native reference: a Tokio echo server, raw or by
//! lines, doing what the `wasio` echo handlers do (echo until EOF, then
//! close) with nothing in between.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// The listen backlog: `wasio serve`'s default, which the Python peers use
/// too, so every server compared queues the same number of pending
/// connections (with asyncio's 100, opening 1000 connections overflowed
/// the queue and took seconds of SYN retries).
pub const BACKLOG: u32 = 1024;

/// Binds a TCP listener at `addr` with [`BACKLOG`].
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Accepts connections forever, one task each: `lines` echoes line by line
/// (as `readline` + `write` + `drain` would), otherwise raw chunks.
pub async fn serve(listener: TcpListener, lines: bool) -> io::Result<()> {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors or a connection reset before accept:
                // keep serving the others, without spinning.
                eprintln!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let result = if lines {
                echo_lines(stream).await
            } else {
                echo_raw(stream).await
            };
            // A peer that resets is the peer's business.
            let _ = result;
        });
    }
}

async fn echo_raw(mut stream: TcpStream) -> io::Result<()> {
    // Reads go into spare capacity, which is never zeroed: a zeroed 64 KiB
    // buffer per connection would be resident from the start (64 MiB for
    // 1000 connections) where wasio's untouched reserve is not.
    let mut buf = Vec::with_capacity(64 * 1024);
    loop {
        buf.clear();
        if stream.read_buf(&mut buf).await? == 0 {
            return stream.shutdown().await;
        }
        stream.write_all(&buf).await?;
    }
}

async fn echo_lines(stream: TcpStream) -> io::Result<()> {
    let mut stream = BufReader::with_capacity(64 * 1024, stream);
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        if stream.read_until(b'\n', &mut line).await? == 0 {
            return stream.get_mut().shutdown().await;
        }
        stream.get_mut().write_all(&line).await?;
    }
}
