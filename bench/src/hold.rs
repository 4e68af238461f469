//! Many idle connections held open at once, to measure a server's memory
//! per connection: each connection makes one exchange first, so the server
//! has certainly accepted it (for `wasio`, instantiated its handler).

use crate::load::{GRACE, MAX_CONNECTIONS, connect, run_bounded};
use crate::pattern::Pattern;
use crate::stats::{Errors, Latencies, LoadReport};
use std::io;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

/// Opens `n` connections (at most `concurrency` being set up at once),
/// each exchanging one `size`-byte line. Returns the connections that
/// completed their exchange, and a report whose `connected` is how many
/// are held and whose `duration` is the time taken to open them.
pub async fn open_idle(
    addr: SocketAddr,
    n: usize,
    concurrency: usize,
    size: usize,
) -> io::Result<(Vec<TcpStream>, LoadReport)> {
    if n == 0 || n > MAX_CONNECTIONS || !(2..=64 * 1024).contains(&size) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("connections must be 1..={MAX_CONNECTIONS} and size 2..=65536"),
        ));
    }
    let began = Instant::now();
    let mut held = Vec::with_capacity(n);
    let mut latencies = Latencies::default();
    let mut errors = Errors::default();
    run_bounded(
        n,
        concurrency,
        |id| async move {
            let t0 = Instant::now();
            let r = timeout(GRACE, open_one(addr, id, size)).await;
            (id, t0.elapsed(), r)
        },
        |outcome| match outcome {
            Ok((_, took, Ok(Ok(stream)))) => {
                latencies.record(took);
                held.push(stream);
            }
            Ok((id, _, Ok(Err(e)))) => errors.add(format!("connection {id}: {e}")),
            Ok((id, _, Err(_))) => errors.add(format!("connection {id}: timed out")),
            Err(e) => errors.add(format!("connection task: {e}")),
        },
    )
    .await;
    let report = LoadReport {
        mode: "hold".to_string(),
        connections: n,
        connected: held.len(),
        size,
        duration_s: began.elapsed().as_secs_f64(),
        ops: held.len() as u64,
        bytes: held.len() as u64 * size as u64,
        latencies,
        errors,
        verified_bytes: held.len() as u64 * size as u64,
    };
    Ok((held, report))
}

async fn open_one(addr: SocketAddr, id: usize, size: usize) -> io::Result<TcpStream> {
    let mut stream = connect(addr).await?;
    let mut message = Pattern::shared().slice(Pattern::base(id), size).to_vec();
    message[size - 1] = b'\n';
    stream.write_all(&message).await?;
    let mut echo = vec![0u8; size];
    stream.read_exact(&mut echo).await?;
    if echo != message {
        return Err(io::Error::other("echo differs from the message"));
    }
    Ok(stream)
}
