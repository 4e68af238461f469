//! Echoes line by line with `readline` until EOF: the handler that load
//! tests and benchmarks use. Blocking style (see `wasio_guest::blocking`),
//! and `no_std` (see wasio-guest's `std` feature).

#![no_std]

extern crate alloc;

use wasio_guest::StreamError;
use wasio_guest::blocking::{StreamReader, StreamWriter};

fn echo_lines(reader: StreamReader, writer: StreamWriter) -> Result<(), StreamError> {
    for line in reader.lines() {
        writer.write(&line?)?;
        writer.drain()?;
    }
    writer.close();
    Ok(())
}

wasio_guest::export_blocking_handler!(echo_lines);
