//! [`StreamReader`]: asyncio's `StreamReader` over a socket or fed by hand.
//!
//! Data is read from the socket on demand: an operation first tries the
//! buffer, and only when it cannot complete reads one chunk without
//! blocking, then waits for readiness. So the buffer never holds more than
//! what the waiting operation needs plus one chunk, which keeps a flooding
//! peer from growing host memory (asyncio's pause above 2 × limit, made
//! stricter: nothing is read ahead while nobody reads), while
//! `readexactly(n)` for any `n` and `read(-1)` still complete.
//!
//! Cancel safety: every operation may be dropped while it waits. No data is
//! lost: bytes stay in the buffer until an operation completes with them.
//!
//! The read timeout is one timer per reader, moved forward for each
//! operation that waits, rather than a timer per wait: moving a registered
//! Tokio timer later is an atomic update, while registering and cancelling
//! one takes the timer wheel's lock twice (about 4% of an echo server's
//! CPU per message).

use super::lock;
use super::socket::Socket;
use crate::streams::{ReadBuffer, ScanState, StreamError, StreamResult, validate_separators};
use bytes::{BufMut, Bytes};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::task::Poll;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};

/// How much one socket read may add to the buffer.
const READ_CHUNK: usize = 64 * 1024;

/// Host-side settings of every reader.
#[derive(Debug, Clone)]
pub struct ReaderConfig {
    /// Hard cap on a reader's buffered bytes (see [`ReadBuffer::with_cap`]).
    pub max_buffer: usize,
    /// How long one read operation on a socket may wait in all before it
    /// fails with `TimedOut` (against peers that trickle bytes); `None`: no
    /// limit.
    pub read_timeout: Option<Duration>,
}

impl Default for ReaderConfig {
    fn default() -> Self {
        Self {
            max_buffer: 16 * 1024 * 1024,
            read_timeout: None,
        }
    }
}

/// A stream reader. Clones share the same stream.
#[derive(Debug, Clone)]
pub struct StreamReader {
    inner: Arc<Inner>,
}

/// A reference to a reader that does not keep it alive (the idle
/// sweeper's).
#[derive(Debug, Clone)]
pub struct WeakReader(Weak<Inner>);

impl WeakReader {
    /// The reader, if it still exists.
    pub fn upgrade(&self) -> Option<StreamReader> {
        self.0.upgrade().map(|inner| StreamReader { inner })
    }
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    source: Source,
    read_timeout: Option<Duration>,
}

#[derive(Debug)]
struct State {
    buffer: ReadBuffer,
    /// An operation is waiting for data (asyncio's `_waiter`).
    waiting: bool,
    /// The read timeout's timer, set to the waiting operation's deadline;
    /// made on the first wait of a socket reader with a timeout.
    timer: Option<Pin<Box<Sleep>>>,
}

#[derive(Debug)]
enum Source {
    /// Fed by `feed_data` / `feed_eof`; waiters are woken through this.
    Memory(Notify),
    /// Filled from a socket.
    Socket(Arc<Socket>),
}

/// Clears the "an operation waits" flag when the operation ends, however it
/// ends (completion, error or cancellation).
struct Waiting<'a>(&'a Inner);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        lock(&self.0.state).waiting = false;
    }
}

impl StreamReader {
    /// An in-memory reader fed by [`StreamReader::feed_data`].
    pub fn in_memory(limit: usize, config: &ReaderConfig) -> StreamResult<Self> {
        Self::with_source(Source::Memory(Notify::new()), limit, config)
    }

    /// A reader of a connected socket.
    pub fn from_socket(
        socket: Arc<Socket>,
        limit: usize,
        config: &ReaderConfig,
    ) -> StreamResult<Self> {
        Self::with_source(Source::Socket(socket), limit, config)
    }

    fn with_source(source: Source, limit: usize, config: &ReaderConfig) -> StreamResult<Self> {
        let buffer = ReadBuffer::new(limit)?.with_cap(config.max_buffer);
        Ok(Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    buffer,
                    waiting: false,
                    timer: None,
                }),
                source,
                read_timeout: config.read_timeout,
            }),
        })
    }

    /// A reference that does not keep this reader alive.
    pub fn downgrade(&self) -> WeakReader {
        WeakReader(Arc::downgrade(&self.inner))
    }

    /// The stream limit.
    pub fn limit(&self) -> usize {
        lock(&self.inner.state).buffer.limit()
    }

    /// Appends bytes and wakes a waiting operation.
    pub fn feed_data(&self, data: &[u8]) -> StreamResult<()> {
        lock(&self.inner.state).buffer.feed_data(data)?;
        self.wake();
        Ok(())
    }

    /// Marks EOF and wakes a waiting operation.
    pub fn feed_eof(&self) {
        lock(&self.inner.state).buffer.feed_eof();
        self.wake();
    }

    /// Sets the exception later reads fail with, and wakes a waiting one.
    pub fn set_exception(&self, err: StreamError) {
        lock(&self.inner.state).buffer.set_exception(err);
        self.wake();
    }

    /// The exception set on this reader, if any.
    pub fn exception(&self) -> Option<StreamError> {
        let mut state = lock(&self.inner.state);
        self.poll_socket_if_idle(&mut state);
        state.buffer.exception().cloned()
    }

    /// True when EOF was received and the buffer is empty.
    pub fn at_eof(&self) -> bool {
        let mut state = lock(&self.inner.state);
        self.poll_socket_if_idle(&mut state);
        state.buffer.at_eof()
    }

    /// With nothing buffered, looks once at the socket so that an EOF or an
    /// error that already arrived is seen without a read (asyncio's event
    /// loop would have delivered it).
    fn poll_socket_if_idle(&self, state: &mut State) {
        if state.buffer.is_empty()
            && !state.buffer.is_eof()
            && state.buffer.exception().is_none()
            && let Source::Socket(socket) = &self.inner.source
        {
            fill(socket, &mut state.buffer);
        }
    }

    fn wake(&self) {
        if let Source::Memory(notify) = &self.inner.source {
            notify.notify_one();
        }
    }

    /// `read(n)`: see [`ReadBuffer::poll_read`].
    pub async fn read(&self, n: i64) -> StreamResult<Bytes> {
        self.run("read", |b| b.poll_read(n)).await
    }

    /// `readline()`: see [`ReadBuffer::poll_readline`].
    pub async fn readline(&self) -> StreamResult<Bytes> {
        let mut scan = ScanState::default();
        self.run("readline", |b| b.poll_readline(&mut scan)).await
    }

    /// `readexactly(n)`: see [`ReadBuffer::poll_readexactly`].
    pub async fn readexactly(&self, n: u64) -> StreamResult<Bytes> {
        self.run("readexactly", |b| b.poll_readexactly(n)).await
    }

    /// `readuntil(separators)`: see [`ReadBuffer::poll_readuntil`].
    pub async fn readuntil<S: AsRef<[u8]>>(&self, separators: &[S]) -> StreamResult<Bytes> {
        validate_separators(separators)?;
        let seps: Vec<&[u8]> = separators.iter().map(AsRef::as_ref).collect();
        let mut scan = ScanState::default();
        self.run("readuntil", |b| b.poll_readuntil(&seps, &mut scan))
            .await
    }

    /// Runs one read operation to completion: poll it against the buffer;
    /// when it needs data, read from the socket or wait to be fed.
    async fn run<T>(
        &self,
        name: &str,
        mut op: impl FnMut(&mut ReadBuffer) -> Poll<StreamResult<T>>,
    ) -> StreamResult<T> {
        lock(&self.inner.state).buffer.check_exception()?;
        let mut waiting = None;
        loop {
            {
                let mut state = lock(&self.inner.state);
                if let Poll::Ready(result) = op(&mut state.buffer) {
                    return result;
                }
                if waiting.is_none() {
                    if state.waiting {
                        return Err(StreamError::InvalidState(format!(
                            "{name}() called while another coroutine is already waiting for incoming data"
                        )));
                    }
                    state.waiting = true;
                    waiting = Some(Waiting(&self.inner));
                    // The state's timer runs to this operation's deadline,
                    // set when it first has to wait: reads served from the
                    // buffer never look at the clock.
                    if let (Some(timeout), Source::Socket(_)) =
                        (self.inner.read_timeout, &self.inner.source)
                    {
                        let deadline = Instant::now() + timeout;
                        match &mut state.timer {
                            Some(timer) => timer.as_mut().reset(deadline),
                            None => {
                                state.timer = Some(Box::pin(tokio::time::sleep_until(deadline)))
                            }
                        }
                    }
                }
                if let Source::Socket(socket) = &self.inner.source
                    && fill(socket, &mut state.buffer)
                {
                    continue;
                }
            }
            match &self.inner.source {
                Source::Memory(notify) => notify.notified().await,
                Source::Socket(socket) => {
                    let ready = if self.inner.read_timeout.is_some() {
                        self.readable_or_timed_out(socket).await.ok_or_else(|| {
                            StreamError::TimedOut(format!(
                                "{name}() waited longer than the read timeout"
                            ))
                        })?
                    } else {
                        socket.readable().await
                    };
                    if let Err(err) = ready {
                        lock(&self.inner.state).buffer.set_exception(err.into());
                    }
                }
            }
        }
    }

    /// Waits until `socket` may be readable, or (`None`) until the state's
    /// timer passes its deadline.
    async fn readable_or_timed_out(&self, socket: &Socket) -> Option<io::Result<()>> {
        let mut readable = std::pin::pin!(socket.readable());
        std::future::poll_fn(|cx| {
            if let Poll::Ready(ready) = readable.as_mut().poll(cx) {
                return Poll::Ready(Some(ready));
            }
            let mut state = lock(&self.inner.state);
            let expired = state
                .timer
                .as_mut()
                .is_some_and(|timer| timer.as_mut().poll(cx).is_ready());
            if expired {
                Poll::Ready(None)
            } else {
                Poll::Pending
            }
        })
        .await
    }
}

/// Reads one chunk from the socket into the buffer without blocking.
/// Returns true when something changed (data, EOF or an error).
fn fill(socket: &Socket, buffer: &mut ReadBuffer) -> bool {
    let room = buffer.room().min(READ_CHUNK);
    let spare = match buffer.spare(room) {
        Ok(spare) => spare,
        Err(err @ StreamError::ReadBufferFull(_)) => {
            // The operation needs more than the host will hold.
            buffer.set_exception(err);
            return true;
        }
        Err(_) => return false,
    };
    match socket.try_read_buf(&mut spare.limit(room)) {
        Ok(0) => buffer.feed_eof(),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
        Err(e) => buffer.set_exception(e.into()),
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Listener;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpStream;

    /// A reader of an accepted loopback connection with `read_timeout`,
    /// and the connection's other end.
    async fn connected(read_timeout: Duration) -> (StreamReader, TcpStream) {
        let listener = Listener::bind_tcp("127.0.0.1:0".parse().unwrap(), 16).unwrap();
        let crate::net::Address::Inet(addr) = listener.local_addr().unwrap() else {
            panic!("a TCP listener has an IP address")
        };
        let peer = TcpStream::connect(addr).await.unwrap();
        let socket = Arc::new(listener.accept().await.unwrap());
        let config = ReaderConfig {
            read_timeout: Some(read_timeout),
            ..ReaderConfig::default()
        };
        let reader = StreamReader::from_socket(socket, 1024, &config).unwrap();
        (reader, peer)
    }

    #[tokio::test]
    async fn the_read_timeout_counts_from_each_waiting_operation() {
        let timeout = Duration::from_secs(1);
        let (reader, mut peer) = connected(timeout).await;
        // Four reads that each wait 0.4 s: longer than the timeout in all,
        // each well within it, so the one timer moved forward must not
        // fire for any of them.
        for _ in 0..4 {
            let send = async {
                tokio::time::sleep(Duration::from_millis(400)).await;
                peer.write_all(b"x").await.unwrap();
            };
            let (read, ()) = tokio::join!(reader.read(100), send);
            assert_eq!(&read.unwrap()[..], b"x");
        }
        // A read that waits past the timeout fails, not before it.
        let start = Instant::now();
        let err = reader.read(100).await.unwrap_err();
        assert!(matches!(err, StreamError::TimedOut(_)), "{err:?}");
        let waited = start.elapsed();
        assert!(
            waited >= timeout && waited < timeout + Duration::from_secs(10),
            "timed out after {waited:?}"
        );
        // Only that operation failed: the reader goes on.
        peer.write_all(b"y").await.unwrap();
        assert_eq!(&reader.read(100).await.unwrap()[..], b"y");
    }
}
