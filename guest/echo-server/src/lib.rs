//! The seed's TCP echo server's `handle_echo`, as a `wasio` handler.

use wasio_guest::pyrepr::repr;
use wasio_guest::{StreamError, StreamReader, StreamWriter};

async fn handle_echo(reader: StreamReader, writer: StreamWriter) -> Result<(), StreamError> {
    let data = reader.read(100).await?;
    let message = String::from_utf8_lossy(&data);
    let addr = writer.get_extra_info("peername");
    let addr = addr.map_or_else(|| "None".to_string(), |a| a.to_string());
    println!("Received {} from {addr}", repr(&message));

    println!("Send: {}", repr(&message));
    writer.write(&data)?;
    writer.drain().await?;

    println!("Close the client socket");
    writer.close();
    Ok(())
}

wasio_guest::export_handler!(handle_echo);
