//! The seed's `tcp_echo_client` in the blocking style
//! (`wasio_guest::blocking`): the same exchange and output as
//! `echo-client`, with plain calls instead of `.await`.
//!
//! Arguments (all optional): MESSAGE HOST PORT, defaulting to
//! `Hello World!`, `127.0.0.1`, `8888`.

#[path = "../../echo-client/src/args.rs"]
mod args;

use wasio_guest::blocking::open_connection;
use wasio_guest::pyrepr::repr;

fn tcp_echo_client(args: Vec<String>) -> Result<(), String> {
    let (message, host, port) = args::parse(&args)?;

    let (reader, writer) =
        open_connection(host, port).map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;

    println!("Send: {}", repr(message));
    writer
        .write(message.as_bytes())
        .map_err(|e| e.to_string())?;
    let data = reader.read(100).map_err(|e| e.to_string())?;
    println!("Received: {}", repr(&String::from_utf8_lossy(&data)));

    println!("Close the socket");
    writer.close();
    writer.wait_closed().map_err(|e| e.to_string())?;
    Ok(())
}

wasio_guest::export_blocking_command!(tcp_echo_client);
