//! Echoes raw bytes with `read(65536)` until EOF: the handler that the
//! byte-stream benchmarks (pingpong-raw, bulk) use, since they send no
//! line structure.

use wasio_guest::{StreamError, StreamReader, StreamWriter};

/// The most bytes asked for per read: the host's own chunk size, so one
/// read takes whatever one socket read brought in.
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
