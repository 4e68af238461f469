//! The connection cases: a server started inside this component and a
//! client connecting to it, over real loopback TCP or Unix sockets.

use crate::check::{Fail, Outcome};
use crate::reader::rest;
use crate::{SOCKET_DIR, check, check_bytes, check_err};
use std::future::Future;
use wasio_guest::{
    Address, Server, StreamError, StreamReader, StreamWriter, open_connection,
    open_unix_connection, start_server, start_unix_server,
};

const REQUEST: &[u8] = b"GET / HTTP/1.0\r\n\r\n";
const STATUS: &[u8] = b"HTTP/1.0 200 OK\r\n";

/// The port a server listens on.
pub(crate) fn port_of(server: &Server) -> Result<u16, Fail> {
    match server.sockets().first() {
        Some(Address::Inet { port, .. }) => Ok(*port),
        other => Err(Fail(format!("server has no TCP socket: {other:?}"))),
    }
}

/// A Unix socket path in the directory the host granted.
pub(crate) fn socket_path(name: &str) -> Result<String, Fail> {
    let dir = SOCKET_DIR
        .get()
        .ok_or_else(|| Fail("no socket directory given".into()))?;
    Ok(format!("{dir}/{name}.sock"))
}

/// Serves `cb` on 127.0.0.1 at a free port.
pub(crate) async fn serve<F, Fut>(cb: F) -> Result<(Server, u16), Fail>
where
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future<Output = Result<(), StreamError>> + 'static,
{
    let server = start_server(cb, "127.0.0.1", 0).await?;
    let port = port_of(&server)?;
    Ok((server, port))
}

/// CPython's test HTTP server: answers one GET with a status line and
/// `Test message`.
async fn http(reader: StreamReader, writer: StreamWriter) -> Result<(), StreamError> {
    reader.readuntil(b"\r\n\r\n").await?;
    writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\nTest message")?;
    writer.drain().await?;
    writer.close();
    Ok(())
}

async fn http_round_trip(reader: &StreamReader, writer: &StreamWriter) -> Outcome {
    writer.write(REQUEST)?;
    check_bytes!(reader.readline().await?, STATUS);
    let body = reader.read(-1).await?;
    check!(body.ends_with(b"\r\n\r\nTest message"), "{body:?}");
    Ok(())
}

/// Echoes one line, as CPython's test_start_server handler does.
async fn echo_line(reader: StreamReader, writer: StreamWriter) -> Result<(), StreamError> {
    let line = reader.readline().await?;
    writer.write(&line)?;
    writer.drain().await?;
    writer.close();
    writer.wait_closed().await
}

pub async fn test_open_connection() -> Outcome {
    let (server, port) = serve(http).await?;
    let (reader, writer) = open_connection("127.0.0.1", port).await?;
    http_round_trip(&reader, &writer).await?;
    writer.close();
    server.close();
    Ok(())
}

pub async fn test_open_unix_connection() -> Outcome {
    let path = socket_path("open_unix_connection")?;
    let server = start_unix_server(http, &path).await?;
    let (reader, writer) = open_unix_connection(&path).await?;
    http_round_trip(&reader, &writer).await?;
    writer.close();
    server.close();
    Ok(())
}

/// CPython injects `connection_lost(exc)`, which sets the exception on the
/// connection's reader; the read then raises it.
async fn connection_lost_is_raised(reader: StreamReader, writer: StreamWriter) -> Outcome {
    let lost = StreamError::ConnectionReset("ZeroDivisionError()".into());
    reader.set_exception(lost.clone());
    check_err!(reader.read(-1).await, e if e == lost);
    writer.close();
    Ok(())
}

pub async fn test_open_connection_error() -> Outcome {
    let (server, port) = serve(http).await?;
    let (reader, writer) = open_connection("127.0.0.1", port).await?;
    connection_lost_is_raised(reader, writer).await?;
    server.close();
    Ok(())
}

pub async fn test_open_unix_connection_error() -> Outcome {
    let path = socket_path("open_unix_connection_error")?;
    let server = start_unix_server(http, &path).await?;
    let (reader, writer) = open_unix_connection(&path).await?;
    connection_lost_is_raised(reader, writer).await?;
    server.close();
    Ok(())
}

pub async fn test_start_server() -> Outcome {
    let (server, port) = serve(echo_line).await?;
    let (reader, writer) = open_connection("127.0.0.1", port).await?;
    writer.write(b"hello world!\n")?;
    check_bytes!(reader.readline().await?, b"hello world!\n");
    writer.close();
    server.close();
    check!(!server.is_serving());
    Ok(())
}

pub async fn test_start_unix_server() -> Outcome {
    let path = socket_path("start_unix_server")?;
    let server = start_unix_server(echo_line, &path).await?;
    let (reader, writer) = open_unix_connection(&path).await?;
    writer.write(b"hello world!\n")?;
    check_bytes!(reader.readline().await?, b"hello world!\n");
    writer.close();
    server.close();
    Ok(())
}

/// The connections a [`holding_server`] accepted, in order.
pub(crate) type Held = futures::channel::mpsc::UnboundedReceiver<(StreamReader, StreamWriter)>;

/// A server that hands each accepted connection, unread, to the case.
pub(crate) async fn holding_server() -> Result<(Server, u16, Held), Fail> {
    let (tx, rx) = futures::channel::mpsc::unbounded();
    let (server, port) = serve(move |r, w| {
        let _ = tx.unbounded_send((r, w));
        async { Ok(()) }
    })
    .await?;
    Ok((server, port, rx))
}

/// The next connection the holding server accepted.
pub(crate) async fn take_held(held: &mut Held) -> Result<(StreamReader, StreamWriter), Fail> {
    use futures::StreamExt;
    held.next()
        .await
        .ok_or_else(|| Fail("the server stopped accepting".into()))
}

/// Writes until the writer is paused (above the high-water mark).
pub(crate) fn fill_until_paused(writer: &StreamWriter) -> Result<usize, Fail> {
    let chunk = vec![b'x'; 64 * 1024];
    let mut written = 0;
    while writer.get_write_buffer_size() <= 64 * 1024 {
        writer.write(&chunk)?;
        written += chunk.len();
        check!(written < 512 * 1024 * 1024, "the socket never filled");
    }
    Ok(written)
}

/// gh-74116's test: ten drains while paused all complete when the peer
/// reads (CPython drives the internal flow-control helper; this pauses for
/// real, against a peer that does not read yet).
pub async fn test_multiple_drain() -> Outcome {
    let (server, port, mut held) = holding_server().await?;
    let (_reader, writer) = open_connection("127.0.0.1", port).await?;
    let (peer_reader, _peer_writer) = take_held(&mut held).await?;
    let written = fill_until_paused(&writer)?;
    let drains = futures::future::join_all((0..10).map(|_| writer.drain()));
    let (results, read) = futures::join!(drains, async {
        let mut total = 0;
        while total < written {
            total += peer_reader.read(1 << 20).await?.len();
        }
        Outcome::Ok(())
    });
    read?;
    for r in results {
        r?;
    }
    server.close();
    Ok(())
}

/// The peer accepts and closes at once: a write/drain loop must fail with
/// a connection error, not hang.
pub async fn test_drain_raises() -> Outcome {
    let (server, port) = serve(|_r, _w| async { Ok(()) }).await?;
    let (_reader, writer) = open_connection("127.0.0.1", port).await?;
    for _ in 0..100_000 {
        let result = writer.write(b"foo\n").and(Ok(()));
        let result = match result {
            Ok(()) => writer.drain().await,
            err => err,
        };
        match result {
            Ok(()) => continue,
            Err(StreamError::ConnectionReset(_) | StreamError::ConnectionAborted(_)) => {
                server.close();
                return Ok(());
            }
            Err(other) => return Err(Fail(format!("unexpected error {other:?}"))),
        }
    }
    Err(Fail("writing to a closed peer never failed".into()))
}

pub async fn test_wait_closed_on_close() -> Outcome {
    let (server, port) = serve(http).await?;
    let (reader, writer) = open_connection("127.0.0.1", port).await?;
    http_round_trip(&reader, &writer).await?;
    check!(!writer.is_closing());
    writer.close();
    check!(writer.is_closing());
    writer.wait_closed().await?;
    server.close();
    Ok(())
}

pub async fn test_wait_closed_on_close_with_unread_data() -> Outcome {
    let (server, port) = serve(http).await?;
    let (reader, writer) = open_connection("127.0.0.1", port).await?;
    writer.write(REQUEST)?;
    check_bytes!(reader.readline().await?, STATUS);
    writer.close();
    writer.wait_closed().await?;
    server.close();
    Ok(())
}

pub async fn test_async_writer_api() -> Outcome {
    let (server, port) = serve(http).await?;
    let (reader, writer) = open_connection("127.0.0.1", port).await?;
    writer.write(REQUEST)?;
    writer.drain().await?;
    check_bytes!(reader.readline().await?, STATUS);
    let body = reader.read(-1).await?;
    check!(body.ends_with(b"\r\n\r\nTest message"));
    writer.close();
    writer.wait_closed().await?;
    server.close();
    Ok(())
}

/// asyncio drops the write after close silently and fails the drain with
/// ConnectionResetError; wasio refuses the write itself.
pub async fn test_async_writer_api_exception_after_close() -> Outcome {
    let (server, port) = serve(http).await?;
    let (reader, writer) = open_connection("127.0.0.1", port).await?;
    http_round_trip(&reader, &writer).await?;
    writer.close();
    check_err!(writer.write(b"data"), StreamError::Closed);
    writer.wait_closed().await?;
    check_err!(writer.drain().await, StreamError::ConnectionReset(_));
    server.close();
    Ok(())
}

/// bpo-35065: after close and wait_closed, the reader is at EOF.
pub async fn test_eof_feed_when_closing_writer() -> Outcome {
    let (server, port) = serve(http).await?;
    let (reader, writer) = open_connection("127.0.0.1", port).await?;
    writer.close();
    writer.wait_closed().await?;
    check_bytes!(reader.read(-1).await?, b"");
    check!(reader.at_eof());
    server.close();
    Ok(())
}

/// A callback that fails: its connection is closed (CPython checks the
/// loop's "Unhandled exception in client_connected_cb" report).
pub async fn test_unhandled_exception() -> Outcome {
    let (server, port) = serve(|_r, _w| async { Err(StreamError::Io("test".into())) }).await?;
    let (reader, _writer) = open_connection("127.0.0.1", port).await?;
    check_bytes!(reader.read(-1).await?, b"");
    server.close();
    Ok(())
}

/// get_extra_info: the client's peername is the server's socket, and
/// unknown names give None.
pub async fn test_get_extra_info() -> Outcome {
    let (server, port) = serve(echo_line).await?;
    let (_reader, writer) = open_connection("127.0.0.1", port).await?;
    let expected = Address::Inet {
        host: "127.0.0.1".into(),
        port,
    };
    check!(writer.get_extra_info("peername") == Some(expected.clone()));
    check!(server.sockets() == [expected]);
    check!(
        matches!(writer.get_extra_info("sockname"), Some(Address::Inet { port: p, .. }) if p != port)
    );
    check!(writer.get_extra_info("nonexistent").is_none());
    writer.close();
    server.close();
    Ok(())
}

/// write_eof: the server reads to EOF and can still answer.
pub async fn test_write_eof_half_close() -> Outcome {
    let (server, port) = serve(|reader: StreamReader, writer: StreamWriter| async move {
        let data = reader.read(-1).await?;
        writer.write(&[b"got ".as_slice(), &data].concat())?;
        writer.close();
        Ok(())
    })
    .await?;
    let (reader, writer) = open_connection("127.0.0.1", port).await?;
    check!(writer.can_write_eof());
    writer.write(b"request")?;
    writer.write_eof()?;
    check_err!(writer.write(b"more"), StreamError::Closed);
    check_bytes!(reader.read(-1).await?, b"got request");
    check_bytes!(rest(&reader).await?, b"");
    server.close();
    Ok(())
}

/// asyncio 3.13's `Server.close_clients()` and 3.12's `wait_closed()`:
/// closing the server and its clients ends the connections, and
/// `wait_closed` then completes.
pub async fn test_server_close_clients_and_wait_closed() -> Outcome {
    let (server, port, mut held) = holding_server().await?;
    let (reader, _writer) = open_connection("127.0.0.1", port).await?;
    let _peer = take_held(&mut held).await?;
    server.close();
    server.close_clients();
    check_bytes!(reader.read(-1).await?, b"");
    server.wait_closed().await;
    check!(!server.is_serving());
    Ok(())
}

/// asyncio 3.13's `Server.abort_clients()`: the connections end at once,
/// unsent data dropped.
pub async fn test_server_abort_clients() -> Outcome {
    let (server, port, mut held) = holding_server().await?;
    let (reader, _writer) = open_connection("127.0.0.1", port).await?;
    let (_peer_reader, peer_writer) = take_held(&mut held).await?;
    peer_writer.write(b"never sent? maybe")?;
    server.close();
    server.abort_clients();
    check_err!(peer_writer.write(b"more"), StreamError::Closed);
    // The client sees the end of the connection (EOF or a reset).
    let end = reader.read(-1).await;
    check!(
        matches!(&end, Ok(_) | Err(StreamError::ConnectionReset(_))),
        "{end:?}"
    );
    server.wait_closed().await;
    Ok(())
}
