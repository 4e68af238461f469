//! Echoes raw bytes with `read(65536)` until EOF: the handler that the
//! byte-stream benchmarks (pingpong-raw, bulk) use, since they send no
//! line structure. Blocking style (see `wasio_guest::blocking`), and
//! `no_std` (see wasio-guest's `std` feature): the per-connection cost is
//! what the benchmarks measure.

#![no_std]

extern crate alloc;

use wasio_guest::StreamError;
use wasio_guest::blocking::{StreamReader, StreamWriter};

/// The most bytes asked for per read: the host's own chunk size, so one
/// read takes whatever one socket read brought in.
const CHUNK: i64 = 64 * 1024;

fn echo_raw(reader: StreamReader, writer: StreamWriter) -> Result<(), StreamError> {
    loop {
        let data = reader.read(CHUNK)?;
        // `read` returns empty only at EOF.
        if data.is_empty() {
            break;
        }
        writer.write(&data)?;
        // Flow control: blocks only while the peer is not reading.
        writer.drain()?;
    }
    writer.close();
    Ok(())
}

wasio_guest::export_blocking_handler!(echo_raw);
