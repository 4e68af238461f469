//! `echo-raw` written with the async guest API (`read(65536)`, `write`,
//! `drain` until EOF): the same echo, for measuring what the async style
//! costs against the blocking one. `no_std`, as echo-raw is, so that the
//! style is the only difference.

#![no_std]

extern crate alloc;

use wasio_guest::{StreamError, StreamReader, StreamWriter};

/// The most bytes asked for per read: the host's own chunk size.
const CHUNK: i64 = 64 * 1024;

async fn echo_raw(reader: StreamReader, writer: StreamWriter) -> Result<(), StreamError> {
    loop {
        let data = reader.read(CHUNK).await?;
        // `read` returns empty only at EOF.
        if data.is_empty() {
            break;
        }
        writer.write(&data)?;
        // Flow control: waits only while the peer is not reading.
        writer.drain().await?;
    }
    writer.close();
    Ok(())
}

wasio_guest::export_handler!(echo_raw);
