//! CPython stream bugs where wasio must behave correctly, each named by
//! its issue.

use crate::check::{Fail, Outcome};
use crate::connection::{fill_until_paused, holding_server, serve, take_held};
use crate::{check, check_bytes, check_err};
use futures::channel::oneshot;
use std::cell::RefCell;
use std::rc::Rc;
use wasio_guest::{
    ConnectOptions, LimitOverrunError, StreamError, StreamReader, StreamWriter, open_connection,
    open_connection_with,
};

/// Where a server callback reports one value to the case.
type Slot<T> = Rc<RefCell<Option<oneshot::Sender<T>>>>;

/// A slot and the receiving end the case awaits.
fn report<T: 'static>() -> (Slot<T>, oneshot::Receiver<T>) {
    let (tx, rx) = oneshot::channel();
    (Rc::new(RefCell::new(Some(tx))), rx)
}

fn send<T>(slot: &Slot<T>, value: T) {
    if let Some(tx) = slot.borrow_mut().take() {
        let _ = tx.send(value);
    }
}

async fn received<T>(rx: oneshot::Receiver<T>) -> Result<T, Fail> {
    rx.await
        .map_err(|_| Fail("the server callback never reported".into()))
}

fn is_connection_error(e: &StreamError) -> bool {
    matches!(
        e,
        StreamError::ConnectionReset(_) | StreamError::ConnectionAborted(_)
    )
}

/// gh-74116: drains waiting while paused, then the peer disconnects: every
/// drain fails with the connection error instead of hanging.
pub async fn gh_74116_concurrent_drains_then_disconnect() -> Outcome {
    let (server, port, mut held) = holding_server().await?;
    let (_reader, writer) = open_connection("127.0.0.1", port).await?;
    let peer = take_held(&mut held).await?;
    fill_until_paused(&writer)?;
    let drains = futures::future::join_all((0..10).map(|_| writer.drain()));
    // The peer goes away with unread data: the connection is reset.
    let (results, ()) = futures::join!(drains, async { drop(peer) });
    for r in results {
        check_err!(r, e if is_connection_error(&e));
    }
    server.close();
    Ok(())
}

/// gh-75279: a write/drain loop against a peer that vanishes mid-stream
/// fails within a bounded number of steps.
pub async fn gh_75279_write_drain_loop_to_vanished_peer() -> Outcome {
    let (server, port) = serve(|reader: StreamReader, _w: StreamWriter| async move {
        reader.readline().await?;
        Ok(())
    })
    .await?;
    let (_reader, writer) = open_connection("127.0.0.1", port).await?;
    writer.write(b"hello\n")?;
    let chunk = vec![b'z'; 16 * 1024];
    for _ in 0..100_000 {
        let step = match writer.write(&chunk) {
            Ok(()) => writer.drain().await,
            Err(e) => Err(e),
        };
        if let Err(e) = step {
            check!(is_connection_error(&e), "{e:?}");
            server.close();
            return Ok(());
        }
    }
    Err(Fail("the loop never noticed the peer was gone".into()))
}

/// gh-116279: a writer that never drains, against a peer that never reads,
/// is refused at the host's cap instead of buffering without bound.
pub async fn gh_116279_never_draining_writer_is_bounded() -> Outcome {
    let (server, port, mut held) = holding_server().await?;
    let (_reader, writer) = open_connection("127.0.0.1", port).await?;
    let _peer = take_held(&mut held).await?;
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..100_000 {
        match writer.write(&chunk) {
            Ok(()) => check!(writer.get_write_buffer_size() <= 1024 * 1024),
            Err(StreamError::WriteBufferFull(cap)) => {
                check!(cap == 1024 * 1024, "cap {cap}");
                check!(writer.get_write_buffer_size() <= cap);
                server.close();
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Fail("the write buffer never filled".into()))
}

/// gh-83939: wait_closed with a peer that never reads returns, bounded by
/// the host's close grace period.
pub async fn gh_83939_wait_closed_with_unresponsive_peer() -> Outcome {
    let (server, port, mut held) = holding_server().await?;
    let (_reader, writer) = open_connection("127.0.0.1", port).await?;
    let _peer = take_held(&mut held).await?;
    fill_until_paused(&writer)?;
    writer.close();
    writer.wait_closed().await?;
    check!(writer.is_closing());
    server.close();
    Ok(())
}

/// gh-104344 / gh-113538: closing a server while a handler runs completes,
/// and the running handler keeps its connection.
pub async fn gh_104344_server_close_while_handlers_run() -> Outcome {
    let (server, port) = serve(|reader: StreamReader, writer: StreamWriter| async move {
        let line = reader.readline().await?;
        writer.write(&line)?;
        writer.close();
        Ok(())
    })
    .await?;
    let (reader, writer) = open_connection("127.0.0.1", port).await?;
    // Make sure the handler runs before closing the server.
    writer.write(b"ping")?;
    writer.drain().await?;
    server.close();
    server.serve_forever().await;
    check!(!server.is_serving());
    writer.write(b"\n")?;
    check_bytes!(reader.readline().await?, b"ping\n");
    Ok(())
}

/// gh-110894 / gh-155941: a handler that fails closes its connection.
pub async fn gh_110894_handler_error_closes_connection() -> Outcome {
    let (server, port) = serve(|reader: StreamReader, _w: StreamWriter| async move {
        reader.readline().await?;
        Err(StreamError::Io("handler failed".into()))
    })
    .await?;
    let (reader, writer) = open_connection("127.0.0.1", port).await?;
    writer.write(b"boom\n")?;
    check_bytes!(reader.read(-1).await?, b"");
    check!(reader.at_eof());
    server.close();
    Ok(())
}

/// gh-79246: after the peer's FIN, read returns the rest, then empty.
pub async fn gh_79246_read_after_fin_is_empty() -> Outcome {
    let (server, port) = serve(|_r: StreamReader, writer: StreamWriter| async move {
        writer.write(b"x")?;
        writer.write_eof()?;
        writer.wait_closed().await
    })
    .await?;
    let (reader, writer) = open_connection("127.0.0.1", port).await?;
    check_bytes!(reader.read(100).await?, b"x");
    check_bytes!(reader.read(100).await?, b"");
    check!(reader.at_eof());
    writer.close();
    server.close();
    Ok(())
}

/// A server that sends `n` pattern bytes, then closes.
async fn pattern_server(n: usize) -> Result<(wasio_guest::Server, u16), Fail> {
    serve(move |_r: StreamReader, writer: StreamWriter| async move {
        let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
        for chunk in data.chunks(16 * 1024) {
            writer.write(chunk)?;
            writer.drain().await?;
        }
        writer.close();
        Ok(())
    })
    .await
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// python/asyncio#99: readexactly of ten times the limit completes.
pub async fn asyncio_99_readexactly_ten_times_the_limit() -> Outcome {
    let (server, port) = pattern_server(10 * 1024).await?;
    let (reader, _w) =
        open_connection_with("127.0.0.1", port, ConnectOptions { limit: Some(1024) }).await?;
    check_bytes!(reader.readexactly(10 * 1024).await?, pattern(10 * 1024));
    server.close();
    Ok(())
}

/// python/asyncio#168: read(-1) of more than the limit completes.
pub async fn asyncio_168_read_to_eof_beyond_the_limit() -> Outcome {
    let (server, port) = pattern_server(10 * 1024 + 7).await?;
    let (reader, _w) =
        open_connection_with("127.0.0.1", port, ConnectOptions { limit: Some(1024) }).await?;
    check_bytes!(reader.read(-1).await?, pattern(10 * 1024 + 7));
    server.close();
    Ok(())
}

/// gh-81322 / gh-117722: lines of limit - 1, limit and limit + 1 bytes
/// with a two-byte separator, sent a byte at a time.
pub async fn gh_81322_lines_around_the_limit_in_pieces() -> Outcome {
    const LIMIT: usize = 16;
    let lines: Vec<Vec<u8>> = [LIMIT - 1, LIMIT, LIMIT + 1]
        .into_iter()
        .map(|n| [vec![b'a'; n], b"\r\n".to_vec()].concat())
        .collect();
    let sent = lines.concat();
    let (server, port) = serve(move |_r: StreamReader, writer: StreamWriter| {
        let sent = sent.clone();
        async move {
            for byte in sent.chunks(1) {
                writer.write(byte)?;
                writer.drain().await?;
            }
            writer.write(b"next\r\n")?;
            writer.close();
            Ok(())
        }
    })
    .await?;
    let limit = Some(LIMIT as u32);
    let (reader, _w) = open_connection_with("127.0.0.1", port, ConnectOptions { limit }).await?;
    check_bytes!(reader.readuntil(b"\r\n").await?, lines[0]);
    check_bytes!(reader.readuntil(b"\r\n").await?, lines[1]);
    // Over the limit: whether or not the separator had arrived yet, 17
    // bytes must be consumed to pass it, and they stay buffered.
    check_err!(
        reader.readuntil(b"\r\n").await,
        StreamError::LimitOverrun(LimitOverrunError { consumed: 17, .. })
    );
    check_bytes!(reader.readexactly(LIMIT as u64 + 3).await?, lines[2]);
    check_bytes!(reader.readuntil(b"\r\n").await?, b"next\r\n");
    server.close();
    Ok(())
}

/// gh-75828: write_eof after close is a clean error.
pub async fn gh_75828_write_eof_after_close() -> Outcome {
    let (server, port) = serve(|_r, _w| async { Ok(()) }).await?;
    let (_reader, writer) = open_connection("127.0.0.1", port).await?;
    writer.close();
    check_err!(writer.write_eof(), StreamError::Closed);
    writer.wait_closed().await?;
    server.close();
    Ok(())
}

/// gh-109321: dropping a writer closes the socket: the peer sees EOF.
pub async fn gh_109321_dropping_a_writer_closes_the_socket() -> Outcome {
    let (slot, rx) = report::<Result<Vec<u8>, StreamError>>();
    let (server, port) = serve(move |reader: StreamReader, _w: StreamWriter| {
        let slot = slot.clone();
        async move {
            send(&slot, reader.read(-1).await);
            Ok(())
        }
    })
    .await?;
    let (_reader, writer) = open_connection("127.0.0.1", port).await?;
    writer.write(b"last words")?;
    drop(writer);
    check_bytes!(received(rx).await??, b"last words");
    server.close();
    Ok(())
}

/// gh-155888: writelines with empty chunks, then close, completes and
/// delivers everything.
pub async fn gh_155888_writelines_with_empty_chunks_then_close() -> Outcome {
    let (slot, rx) = report::<Result<Vec<u8>, StreamError>>();
    let (server, port) = serve(move |reader: StreamReader, _w: StreamWriter| {
        let slot = slot.clone();
        async move {
            send(&slot, reader.read(-1).await);
            Ok(())
        }
    })
    .await?;
    let (_reader, writer) = open_connection("127.0.0.1", port).await?;
    writer.writelines([&b""[..], b"a", b"", b"b", b""])?;
    writer.close();
    writer.wait_closed().await?;
    check_bytes!(received(rx).await??, b"ab");
    server.close();
    Ok(())
}
