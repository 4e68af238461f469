//! A handler that lets a test drive every reader and writer operation over
//! a real connection. The client sends one command per line; the handler
//! runs it against the same stream and answers with a frame:
//!
//! - `ok <len>\n<len bytes>`
//! - `err incomplete-read <expected|none> <len>\n<len partial bytes>`
//! - `err limit-overrun <consumed>\n`
//! - `err <kind>\n` for every other error
//!
//! Commands: `read N`, `readline`, `readexactly N`, `readuntil HEX`,
//! `readuntil-any HEX,HEX..`, `at-eof`, `extra NAME`, `write-eof`,
//! `flood N` (N bytes of pattern `i % 251`, with drain; answers the largest
//! write buffer seen), `connect HOST PORT`, `eof-probe` (at-eof, read(-1), at-eof),
//! `concurrent-reads`, `count` (connections this instance served), and the
//! misbehaviours `panic`, `spin` (loop forever), `alloc` (allocate without
//! bound); `detach` (return from `handle` at once, leaving a task that
//! keeps the connection and waits for the peer); `quit`. EOF ends it.

mod protocol;

use protocol::{alloc, frame, hex, pattern, spin};
use std::sync::atomic::{AtomicU32, Ordering};
use wasio_guest::{StreamError, StreamReader, StreamWriter, open_connection};

async fn flood(writer: &StreamWriter, total: u64) -> Result<Vec<u8>, StreamError> {
    let mut sent = 0u64;
    let mut max_buffered = 0u64;
    while sent < total {
        let n = (total - sent).min(64 * 1024);
        let chunk = pattern(sent, sent + n);
        writer.write(&chunk)?;
        max_buffered = max_buffered.max(writer.get_write_buffer_size());
        writer.drain().await?;
        sent += n;
    }
    Ok(max_buffered.to_string().into_bytes())
}

/// A second read while one waits fails with `invalid-state`; the first
/// one still completes once data comes.
async fn concurrent_reads() -> Result<Vec<u8>, StreamError> {
    let reader = StreamReader::new(None)?;
    let (first, second) = futures::join!(reader.read(1), async {
        let second = reader.read(1).await;
        reader.feed_data(b"x")?;
        second
    });
    let second = match second {
        Err(e) => e.kind().to_string(),
        Ok(data) => format!("unexpected data {data:?}"),
    };
    Ok(format!("{}:{second}", String::from_utf8_lossy(&first?)).into_bytes())
}

async fn run(
    reader: &StreamReader,
    writer: &StreamWriter,
    cmd: &str,
) -> Result<Vec<u8>, StreamError> {
    let mut words = cmd.split_whitespace();
    let op = words.next().unwrap_or("");
    let arg = words.next().unwrap_or("");
    let num = || arg.parse::<i64>().unwrap_or(0);
    match op {
        "read" => reader.read(num()).await,
        "readline" => reader.readline().await,
        "readexactly" => reader.readexactly(num() as u64).await,
        "readuntil" => reader.readuntil(&hex(arg)).await,
        "readuntil-any" => {
            let seps: Vec<Vec<u8>> = arg.split(',').map(hex).collect();
            let seps: Vec<&[u8]> = seps.iter().map(Vec::as_slice).collect();
            reader.readuntil_any(&seps).await
        }
        "at-eof" => Ok(if reader.at_eof() {
            b"1".to_vec()
        } else {
            b"0".to_vec()
        }),
        "extra" => Ok(writer
            .get_extra_info(arg)
            .map_or_else(|| "None".to_string(), |a| a.to_string())
            .into_bytes()),
        "write-eof" => {
            writer.write(&frame(Ok(Vec::new())))?;
            writer.write_eof()?;
            Ok(Vec::new())
        }
        "flood" => flood(writer, num() as u64).await,
        "connect" => {
            let port = words.next().and_then(|p| p.parse().ok()).unwrap_or(0);
            let (_r, w) = open_connection(arg, port).await?;
            w.close();
            Ok(Vec::new())
        }
        "eof-probe" => {
            let before = reader.at_eof() as u8;
            let data = reader.read(-1).await?;
            let after = reader.at_eof() as u8;
            Ok([format!("{before}{after}:").into_bytes(), data].concat())
        }
        "concurrent-reads" => concurrent_reads().await,
        "panic" => panic!("test-handler: panic requested"),
        "spin" => spin(),
        "alloc" => alloc(),
        "count" => Ok(CONNECTIONS.load(Ordering::Relaxed).to_string().into_bytes()),
        _ => Err(StreamError::InvalidArgument(format!(
            "unknown command {cmd:?}"
        ))),
    }
}

/// Connections this instance has served (shows the instance model).
static CONNECTIONS: AtomicU32 = AtomicU32::new(0);

async fn handle(reader: StreamReader, writer: StreamWriter) -> Result<(), StreamError> {
    CONNECTIONS.fetch_add(1, Ordering::Relaxed);
    loop {
        let line = reader.readline().await?;
        let cmd = String::from_utf8_lossy(&line);
        let cmd = cmd.trim_end();
        if line.is_empty() || cmd == "quit" {
            break;
        }
        if cmd == "detach" {
            // Execution after returning: the connection outlives the call.
            drop(wasio_guest::create_task(async move {
                let _ = reader.read(-1).await;
                writer.close();
            }));
            return Ok(());
        }
        let result = run(&reader, &writer, cmd).await;
        if cmd == "write-eof" && result.is_ok() {
            continue;
        }
        writer.write(&frame(result))?;
        writer.drain().await?;
    }
    writer.close();
    writer.wait_closed().await
}

wasio_guest::export_handler!(handle);
