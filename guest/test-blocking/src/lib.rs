//! A blocking-style handler (`wasio_guest::blocking`) that lets a test
//! drive its calls over a real connection, with `test-handler`'s protocol:
//! one command per line, one answer frame each.
//!
//! Commands: `read N`, `readline`, `readexactly N`, `readuntil HEX`,
//! `at-eof`, `extra NAME`, `flood N` (N bytes of pattern `i % 251`, with a
//! blocking drain; answers the largest write buffer seen), and the
//! misbehaviours `panic`, `spin`, `alloc`; `quit`. EOF ends it.

#[path = "../../test-handler/src/protocol.rs"]
mod protocol;

use protocol::{alloc, frame, hex, pattern, spin};
use wasio_guest::StreamError;
use wasio_guest::blocking::{StreamReader, StreamWriter};

fn flood(writer: &StreamWriter, total: u64) -> Result<Vec<u8>, StreamError> {
    let mut sent = 0u64;
    let mut max_buffered = 0u64;
    while sent < total {
        let n = (total - sent).min(64 * 1024);
        writer.write(&pattern(sent, sent + n))?;
        max_buffered = max_buffered.max(writer.get_write_buffer_size());
        writer.drain()?;
        sent += n;
    }
    Ok(max_buffered.to_string().into_bytes())
}

fn run(reader: &StreamReader, writer: &StreamWriter, cmd: &str) -> Result<Vec<u8>, StreamError> {
    let mut words = cmd.split_whitespace();
    let op = words.next().unwrap_or("");
    let arg = words.next().unwrap_or("");
    let num = || arg.parse::<i64>().unwrap_or(0);
    match op {
        "read" => reader.read(num()),
        "readline" => reader.readline(),
        "readexactly" => reader.readexactly(num() as u64),
        "readuntil" => reader.readuntil(&hex(arg)),
        "at-eof" => Ok(vec![b'0' + reader.at_eof() as u8]),
        "extra" => Ok(writer
            .get_extra_info(arg)
            .map_or_else(|| "None".to_string(), |a| a.to_string())
            .into_bytes()),
        "flood" => flood(writer, num() as u64),
        "panic" => panic!("test-blocking: panic requested"),
        "spin" => spin(),
        "alloc" => alloc(),
        _ => Err(StreamError::InvalidArgument(format!(
            "unknown command {cmd:?}"
        ))),
    }
}

fn handle(reader: StreamReader, writer: StreamWriter) -> Result<(), StreamError> {
    loop {
        let line = reader.readline()?;
        let cmd = String::from_utf8_lossy(&line);
        let cmd = cmd.trim_end();
        if line.is_empty() || cmd == "quit" {
            break;
        }
        let result = run(&reader, &writer, cmd);
        writer.write(&frame(result))?;
        writer.drain()?;
    }
    writer.close();
    writer.wait_closed()
}

wasio_guest::export_blocking_handler!(handle);
