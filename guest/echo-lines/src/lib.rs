//! Echoes line by line with `readline` until EOF: the handler that load
//! tests and benchmarks use.

use wasio_guest::{StreamError, StreamReader, StreamWriter};

async fn echo_lines(reader: StreamReader, writer: StreamWriter) -> Result<(), StreamError> {
    while let Some(line) = reader.next_line().await {
        writer.write(&line?)?;
        writer.drain().await?;
    }
    writer.close();
    Ok(())
}

wasio_guest::export_handler!(echo_lines);
