//! The echo loads: pingpong and lines (one message at a time per
//! connection, waiting for its whole echo) and bulk (write continuously
//! while reading the echo back on the same connection).

use crate::pattern::{MAX_CHUNK, Pattern};
use crate::stats::{Errors, Latencies, LoadReport};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until, timeout, timeout_at};

/// How long past the end of its window a connection may still take to
/// finish (the last round trip, or the bulk echo's tail) before it counts
/// as hung. This, not a per-operation timer, bounds every loop: a timer per
/// round trip would cost the load generator time it needs for the load.
pub const GRACE: Duration = Duration::from_secs(10);

/// The longest a single connect may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Hard caps on what one run may ask for, whatever the flags say.
pub const MAX_CONNECTIONS: usize = 20_000;
/// See [`MAX_CONNECTIONS`].
pub const MAX_DURATION: Duration = Duration::from_secs(600);

/// Which echo load to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Fixed-size messages, one at a time per connection, each waiting for
    /// its whole echo: round trips per second and latency.
    Pingpong,
    /// As pingpong, but each message is `size - 1` bytes and a newline, for
    /// line-echo servers.
    Lines,
    /// Each connection writes `size`-byte chunks continuously while it
    /// reads the echo back and checks every byte: MB/s echoed.
    Bulk,
}

impl Mode {
    /// The name used in result lines.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Pingpong => "pingpong",
            Mode::Lines => "lines",
            Mode::Bulk => "bulk",
        }
    }
}

/// One load run's parameters.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The echo server.
    pub addr: SocketAddr,
    /// The load.
    pub mode: Mode,
    /// Concurrent connections.
    pub connections: usize,
    /// Message size (pingpong, lines) or write chunk size (bulk).
    pub size: usize,
    /// The measured window.
    pub duration: Duration,
    /// Load before the window that is not counted (so connection set-up,
    /// first-use costs and TCP ramp-up stay out of the numbers).
    pub warmup: Duration,
    /// Connects in flight at once while opening connections. A connect
    /// completes before the server accepts it, so what keeps SYNs from
    /// being dropped (and retried a second later) is the servers' listen
    /// backlog (1024 for every server compared, more than the connections
    /// of any column).
    pub connect_concurrency: usize,
}

impl LoadConfig {
    fn check(&self) -> io::Result<()> {
        let bad = |m: String| Err(io::Error::new(io::ErrorKind::InvalidInput, m));
        if self.connections == 0 || self.connections > MAX_CONNECTIONS {
            return bad(format!("connections must be 1..={MAX_CONNECTIONS}"));
        }
        let min = if self.mode == Mode::Lines { 2 } else { 1 };
        if self.size < min || self.size > MAX_CHUNK {
            return bad(format!("size must be {min}..={MAX_CHUNK}"));
        }
        if self.duration.is_zero() || self.duration + self.warmup > MAX_DURATION {
            return bad(format!(
                "duration must be positive and duration + warmup at most {}s",
                MAX_DURATION.as_secs()
            ));
        }
        Ok(())
    }
}

/// The time window shared by every connection of a run.
#[derive(Debug, Clone, Copy)]
struct Window {
    /// Counting starts here (after warm-up).
    start: Instant,
    /// Counting and sending stop here.
    end: Instant,
}

impl Window {
    fn contains(&self, t: Instant) -> bool {
        t >= self.start && t < self.end
    }
}

/// What one connection measured.
#[derive(Debug, Default)]
struct ConnResult {
    ops: u64,
    bytes: u64,
    verified: u64,
    latencies: Latencies,
    errors: Errors,
}

/// Runs `task(id)` for the ids `0..n` as Tokio tasks, at most
/// `concurrency` at once, and hands each outcome to `done` as it ends.
pub async fn run_bounded<T, Fut>(
    n: usize,
    concurrency: usize,
    task: impl Fn(usize) -> Fut,
    mut done: impl FnMut(Result<T, tokio::task::JoinError>),
) where
    T: Send + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let mut pending = JoinSet::new();
    let mut next = 0;
    while next < n || !pending.is_empty() {
        while next < n && pending.len() < concurrency.max(1) {
            pending.spawn(task(next));
            next += 1;
        }
        match pending.join_next().await {
            Some(outcome) => done(outcome),
            None => break,
        }
    }
}

/// Opens `n` connections to `addr`, at most `concurrency` connects at once.
/// Returns the streams with their connection ids, and the failures.
pub async fn connect_all(
    addr: SocketAddr,
    n: usize,
    concurrency: usize,
) -> (Vec<(usize, TcpStream)>, Errors) {
    let mut streams = Vec::with_capacity(n);
    let mut errors = Errors::default();
    run_bounded(
        n,
        concurrency,
        |id| async move { (id, connect(addr).await) },
        |outcome| match outcome {
            Ok((id, Ok(stream))) => streams.push((id, stream)),
            Ok((id, Err(e))) => errors.add(format!("connection {id}: connect: {e}")),
            Err(e) => errors.add(format!("connect task: {e}")),
        },
    )
    .await;
    streams.sort_by_key(|(id, _)| *id);
    (streams, errors)
}

/// One connect with a time-out, and Nagle off: every server compared sets
/// TCP_NODELAY too, and small messages must not wait for ACKs.
pub async fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    finish_connect(TcpStream::connect(addr)).await
}

/// A connect attempt with [`connect`]'s time-out and Nagle off.
pub async fn finish_connect(
    connecting: impl Future<Output = io::Result<TcpStream>>,
) -> io::Result<TcpStream> {
    let stream = timeout(CONNECT_TIMEOUT, connecting)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Prints `measuring` on stderr at `start` and `window ends` at `end`: the
/// measured window's edges, for whoever counts the server's work in exactly
/// that window (bench/callgrind.sh). The task is abandoned when the load
/// ends early.
pub fn announce_window(start: Instant, end: Instant) {
    tokio::spawn(async move {
        sleep_until(start).await;
        eprintln!("measuring");
        sleep_until(end).await;
        eprintln!("window ends");
    });
}

/// Runs one load and returns its report. Connections are all opened
/// first, then all start together; warm-up, then the measured window; then
/// each connection finishes its last operation (bulk: reads the echo's
/// tail) within [`GRACE`].
pub async fn run_load(cfg: &LoadConfig) -> io::Result<LoadReport> {
    cfg.check()?;
    let pattern = Pattern::shared();
    let connecting = Instant::now();
    let (streams, mut errors) =
        connect_all(cfg.addr, cfg.connections, cfg.connect_concurrency).await;
    let connected = streams.len();
    // Progress for whoever watches (bench/run.sh starts its CPU sampling
    // from this line, whatever the connects took).
    eprintln!(
        "connected {connected} of {} in {} ms; warm-up starts",
        cfg.connections,
        connecting.elapsed().as_millis()
    );

    let start = Instant::now() + cfg.warmup;
    let window = Window {
        start,
        end: start + cfg.duration,
    };
    let hard_end = window.end + GRACE;
    announce_window(window.start, window.end);
    let mut tasks = JoinSet::new();
    for (id, stream) in streams {
        let pattern = pattern.clone();
        let (mode, size) = (cfg.mode, cfg.size);
        tasks.spawn(async move {
            let work = async {
                match mode {
                    Mode::Pingpong | Mode::Lines => {
                        pingpong(stream, id, size, mode == Mode::Lines, &pattern, window).await
                    }
                    Mode::Bulk => bulk(stream, id, size, pattern.clone(), window).await,
                }
            };
            match timeout_at(hard_end, work).await {
                Ok(result) => result,
                Err(_) => {
                    let mut r = ConnResult::default();
                    r.errors.add(format!(
                        "connection {id}: no echo within {}s after the run's end",
                        GRACE.as_secs()
                    ));
                    r
                }
            }
        });
    }

    let mut total = ConnResult::default();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(r) => {
                total.ops += r.ops;
                total.bytes += r.bytes;
                total.verified += r.verified;
                total.latencies.merge(&r.latencies);
                total.errors.merge(r.errors);
            }
            Err(e) => total.errors.add(format!("connection task: {e}")),
        }
    }
    errors.merge(total.errors);
    Ok(LoadReport {
        mode: cfg.mode.name().to_string(),
        connections: cfg.connections,
        connected,
        size: cfg.size,
        duration_s: cfg.duration.as_secs_f64(),
        ops: total.ops,
        bytes: total.bytes,
        latencies: total.latencies,
        errors,
        verified_bytes: total.verified,
    })
}

/// One connection of pingpong or lines: send a message, read exactly its
/// length back, compare, repeat until the window ends.
async fn pingpong(
    mut stream: TcpStream,
    id: usize,
    size: usize,
    lines: bool,
    pattern: &Pattern,
    window: Window,
) -> ConnResult {
    let mut r = ConnResult::default();
    let mut message = vec![0u8; size];
    let mut echo = vec![0u8; size];
    let mut offset = Pattern::base(id);
    loop {
        let sent_at = Instant::now();
        if sent_at >= window.end {
            break;
        }
        // Each message is the next slice of the pattern, so a server that
        // echoed an old or another connection's message fails the check.
        if lines {
            message[..size - 1].copy_from_slice(pattern.slice(offset, size - 1));
            message[size - 1] = b'\n';
        } else {
            message.copy_from_slice(pattern.slice(offset, size));
        }
        offset += size as u64;
        if let Err(e) = stream.write_all(&message).await {
            r.errors.add(format!("connection {id}: write: {e}"));
            break;
        }
        if let Err(e) = stream.read_exact(&mut echo).await {
            r.errors.add(format!("connection {id}: read echo: {e}"));
            break;
        }
        let done = Instant::now();
        if echo != message {
            r.errors
                .add(format!("connection {id}: echo differs from the message"));
            break;
        }
        r.verified += size as u64;
        // A round trip counts when it completes inside the window.
        if window.contains(done) {
            r.ops += 1;
            r.bytes += size as u64;
            r.latencies.record(done - sent_at);
        }
    }
    r
}

/// One connection of bulk: a writer task streams the pattern until the
/// window ends, then half-closes; this task reads the echo until EOF,
/// checks every byte against the pattern, and finally checks that all
/// that was written came back.
async fn bulk(
    stream: TcpStream,
    id: usize,
    size: usize,
    pattern: Arc<Pattern>,
    window: Window,
) -> ConnResult {
    let mut r = ConnResult::default();
    let base = Pattern::base(id);
    let (mut rd, mut wr) = stream.into_split();
    let mut writer = AbortOnDrop(tokio::spawn(async move {
        let mut written: u64 = 0;
        while Instant::now() < window.end {
            wr.write_all(pattern.slice(base + written, size)).await?;
            written += size as u64;
        }
        // Half-close: the echo server sees EOF once it has read
        // everything, echoes the rest and closes, ending the read loop.
        wr.shutdown().await?;
        io::Result::Ok(written)
    }));

    let check = Pattern::shared();
    let mut buf = vec![0u8; 64 * 1024];
    let mut read: u64 = 0;
    loop {
        let n = match rd.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                r.errors.add(format!("connection {id}: read echo: {e}"));
                break;
            }
        };
        if buf[..n] != *check.slice(base + read, n) {
            r.errors.add(format!(
                "connection {id}: echo differs from what was sent at byte {read}"
            ));
            break;
        }
        read += n as u64;
        r.verified += n as u64;
        if window.contains(Instant::now()) {
            r.bytes += n as u64;
        }
    }
    // Chunks echoed in the window, for a comparable "ops" figure.
    r.ops = r.bytes / size as u64;
    if r.errors.count > 0 {
        // The writer may be blocked on a server that stopped reading; the
        // failure is already counted, so it is stopped, not awaited.
        return r;
    }
    match (&mut writer.0).await {
        Ok(Ok(written)) if written != read => {
            r.errors.add(format!(
                "connection {id}: wrote {written} bytes but {read} came back"
            ));
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => r.errors.add(format!("connection {id}: write: {e}")),
        Err(e) => r.errors.add(format!("connection {id}: writer task: {e}")),
    }
    r
}

/// Aborts a spawned task when dropped, so a connection abandoned at the
/// hard deadline or after a failure leaves no writer running behind it.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
