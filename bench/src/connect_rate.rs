//! Connections per second: each connection makes one short exchange (one
//! line, half-close, read the echo to EOF) and is closed, so for `wasio`
//! every one pays for a fresh instance.

use crate::load::{GRACE, MAX_DURATION, announce_window, connect, finish_connect};
use crate::pattern::Pattern;
use crate::stats::{Errors, Latencies, LoadReport};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout_at};

/// A connector stops after this many failures: a refusing server fails
/// instantly, and the count already says enough.
const MAX_ERRORS_PER_CONNECTOR: u64 = 100;

/// Source addresses an IPv4 loopback run cycles through (127.0.0.1 up to
/// 127.0.0.N). From one source address the kernel has about 14,000
/// ephemeral ports for `connect` (the even half of the range), and each
/// new connection on a port whose last one the server is still holding in
/// TIME_WAIT costs extra: on this machine the rate then stalls at ~14,400/s
/// for every server alike, Tokio's included. More source addresses give
/// every port a longer rest.
const LOOPBACK_SOURCES: u8 = 16;

/// Parameters of a connection-rate run.
#[derive(Debug, Clone)]
pub struct ConnectRateConfig {
    /// The echo server.
    pub addr: SocketAddr,
    /// Connectors working at once, each opening one connection at a time.
    pub concurrency: usize,
    /// Bytes exchanged per connection: `size - 1` bytes and a newline, so
    /// raw and line echo servers both answer it.
    pub size: usize,
    /// The measured window.
    pub duration: Duration,
    /// Uncounted time before it.
    pub warmup: Duration,
}

/// Runs connectors for warm-up plus the window; counts the connections
/// whose exchange completed inside the window. Latency is from the start
/// of `connect` to the server's close (for `wasio`, it includes the
/// instantiation).
pub async fn run_connect_rate(cfg: &ConnectRateConfig) -> io::Result<LoadReport> {
    if cfg.concurrency == 0 || cfg.concurrency > 1000 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "concurrency must be 1..=1000",
        ));
    }
    if cfg.size < 2 || cfg.size > 64 * 1024 || cfg.duration.is_zero() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "size must be 2..=65536 and duration positive",
        ));
    }
    if cfg.duration + cfg.warmup > MAX_DURATION {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "duration + warmup too long",
        ));
    }
    let start = Instant::now() + cfg.warmup;
    let end = start + cfg.duration;
    announce_window(start, end);
    let mut tasks = JoinSet::new();
    for id in 0..cfg.concurrency {
        let (addr, size) = (cfg.addr, cfg.size);
        tasks.spawn(async move {
            let work = connector(addr, id, size, start, end);
            match timeout_at(end + GRACE, work).await {
                Ok(result) => result,
                Err(_) => {
                    let mut errors = Errors::default();
                    errors.add(format!("connector {id}: exchange hung past the end"));
                    (0, 0, Latencies::default(), errors)
                }
            }
        });
    }
    let (mut ops, mut verified) = (0, 0);
    let mut latencies = Latencies::default();
    let mut errors = Errors::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((o, v, l, e)) => {
                ops += o;
                verified += v;
                latencies.merge(&l);
                errors.merge(e);
            }
            Err(e) => errors.add(format!("connector task: {e}")),
        }
    }
    Ok(LoadReport {
        mode: "connect-rate".to_string(),
        connections: cfg.concurrency,
        connected: cfg.concurrency,
        size: cfg.size,
        duration_s: cfg.duration.as_secs_f64(),
        ops,
        bytes: ops * cfg.size as u64,
        latencies,
        errors,
        verified_bytes: verified,
    })
}

/// One connector's loop: (ops in window, bytes verified, latencies, errors).
async fn connector(
    addr: SocketAddr,
    id: usize,
    size: usize,
    start: Instant,
    end: Instant,
) -> (u64, u64, Latencies, Errors) {
    let pattern = Pattern::shared();
    let (mut ops, mut verified) = (0, 0);
    let mut latencies = Latencies::default();
    let mut errors = Errors::default();
    let mut offset = Pattern::base(id);
    let mut message = vec![0u8; size];
    let mut echo = Vec::with_capacity(size);
    let mut n = id;
    loop {
        let t0 = Instant::now();
        if t0 >= end || errors.count >= MAX_ERRORS_PER_CONNECTOR {
            break;
        }
        message[..size - 1].copy_from_slice(pattern.slice(offset, size - 1));
        message[size - 1] = b'\n';
        offset += size as u64;
        echo.clear();
        n += 1;
        match exchange(addr, source(addr, n), &message, &mut echo).await {
            Ok(()) if echo == message => {
                let done = Instant::now();
                verified += size as u64;
                if done >= start && done < end {
                    ops += 1;
                    latencies.record(done - t0);
                }
            }
            Ok(()) => errors.add(format!(
                "connector {id}: echo of {} bytes differs from the {size} sent",
                echo.len()
            )),
            Err(e) => errors.add(format!("connector {id}: {e}")),
        }
    }
    (ops, verified, latencies, errors)
}

/// The source address of a connector's `n`th connection to `addr`:
/// [`LOOPBACK_SOURCES`] in turn for the IPv4 loopback, else the system's
/// choice.
fn source(addr: SocketAddr, n: usize) -> Option<Ipv4Addr> {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_loopback() => Some(Ipv4Addr::new(
            127,
            0,
            0,
            1 + (n % LOOPBACK_SOURCES as usize) as u8,
        )),
        _ => None,
    }
}

/// Connect (from `source`, if given), send, half-close, read to EOF. The
/// server closes first, so the TIME_WAIT state stays on the server's side
/// and this side's ephemeral ports are free again at once (no port
/// exhaustion at high rates).
async fn exchange(
    addr: SocketAddr,
    source: Option<Ipv4Addr>,
    message: &[u8],
    echo: &mut Vec<u8>,
) -> io::Result<()> {
    let mut stream = match source {
        Some(ip) => connect_from(ip, addr).await?,
        None => connect(addr).await?,
    };
    stream.write_all(message).await?;
    stream.shutdown().await?;
    stream.read_to_end(echo).await?;
    Ok(())
}

/// [`connect`] from a chosen IPv4 source address (any port), or from the
/// system's choice where that address is not local (127.0.0.0/8 is all
/// local on Linux, not everywhere).
async fn connect_from(source: Ipv4Addr, addr: SocketAddr) -> io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    match socket.bind(SocketAddr::new(source.into(), 0)) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable => return connect(addr).await,
        Err(e) => return Err(e),
    }
    finish_connect(socket.connect(addr)).await
}
