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
use crate::streams::{
    Progress, ReadBuffer, ScanState, StreamError, StreamResult, validate_separators,
};
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
    /// Set when a `try_` operation could not complete: how far the stream
    /// had come then. [`StreamReader::readiness`] waits for it to move.
    retry: Option<Progress>,
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
                    retry: None,
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

    /// `read(n)` if it can complete now: `None` when it would wait (see
    /// [`readiness`](Self::readiness)).
    pub fn try_read(&self, n: i64) -> Option<StreamResult<Bytes>> {
        self.try_run("read", |b| b.poll_read(n))
    }

    /// `readline()` if it can complete now (see [`try_read`](Self::try_read)).
    /// Each call searches the buffer from its start: at most the limit.
    pub fn try_readline(&self) -> Option<StreamResult<Bytes>> {
        self.try_run("readline", |b| b.poll_readline(&mut ScanState::default()))
    }

    /// `readexactly(n)` if it can complete now (see [`try_read`](Self::try_read)).
    pub fn try_readexactly(&self, n: u64) -> Option<StreamResult<Bytes>> {
        self.try_run("readexactly", |b| b.poll_readexactly(n))
    }

    /// `readuntil(separators)` if it can complete now (see
    /// [`try_read`](Self::try_read)). Each call searches the buffer from its
    /// start: at most the limit.
    pub fn try_readuntil<S: AsRef<[u8]>>(&self, separators: &[S]) -> Option<StreamResult<Bytes>> {
        if let Err(err) = validate_separators(separators) {
            return Some(Err(err));
        }
        let seps: Vec<&[u8]> = separators.iter().map(AsRef::as_ref).collect();
        self.try_run("readuntil", |b| {
            b.poll_readuntil(&seps, &mut ScanState::default())
        })
    }

    /// Runs one read operation as far as it goes without waiting: against
    /// the buffer, then with one socket read at a time while the socket
    /// has data. `None`: it would wait. The first `None` after a completed
    /// operation starts the read timeout, as a waiting operation does; a
    /// `try_` call past it fails with `TimedOut`.
    fn try_run<T>(
        &self,
        name: &str,
        mut op: impl FnMut(&mut ReadBuffer) -> Poll<StreamResult<T>>,
    ) -> Option<StreamResult<T>> {
        let mut state = lock(&self.inner.state);
        let state = &mut *state;
        let result = loop {
            if let Err(err) = state.buffer.check_exception() {
                break Err(err);
            }
            if let Poll::Ready(result) = op(&mut state.buffer) {
                break result;
            }
            let Source::Socket(socket) = &self.inner.source else {
                break self.would_wait(state, name)?;
            };
            if !fill(socket, &mut state.buffer) {
                break self.would_wait(state, name)?;
            }
        };
        state.retry = None;
        Some(result)
    }

    /// Records that a `try_` operation would wait; `Some(TimedOut)` when
    /// the read timeout started by an earlier one has passed.
    fn would_wait<T>(&self, state: &mut State, name: &str) -> Option<StreamResult<T>> {
        if state.retry.is_none() {
            self.start_read_timeout(state);
        } else if self.inner.read_timeout.is_some()
            && let Some(timer) = &state.timer
            && timer.deadline() <= Instant::now()
        {
            return Some(Err(timed_out(name)));
        }
        state.retry = Some(state.buffer.progress());
        None
    }

    /// Resolves when a read may complete: after a `try_` call returned
    /// `None`, once the stream has moved since (data, EOF, an error);
    /// otherwise once anything is buffered (at once if something is). Or
    /// when the read timeout passes: a wait here counts as the waiting
    /// read's, so a guest may wait before its first try. Cancel safe:
    /// nothing is taken from the buffer.
    pub async fn readiness(&self) {
        loop {
            {
                let mut state = lock(&self.inner.state);
                let state = &mut *state;
                let now = state.buffer.progress();
                let ready = match state.retry {
                    Some(at) => at != now,
                    None => {
                        !state.buffer.is_empty()
                            || state.buffer.is_eof()
                            || state.buffer.exception().is_some()
                    }
                };
                if ready {
                    return;
                }
                if let Source::Socket(socket) = &self.inner.source
                    && fill(socket, &mut state.buffer)
                {
                    return;
                }
                if state.retry.is_none() {
                    // Waiting for anything at all: as a try that found
                    // nothing would.
                    self.start_read_timeout(state);
                    state.retry = Some(now);
                }
            }
            if !self.wait_for_source().await {
                return;
            }
        }
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
                    // Set when it first has to wait: reads served from the
                    // buffer never look at the clock.
                    self.start_read_timeout(&mut state);
                }
                if let Source::Socket(socket) = &self.inner.source
                    && fill(socket, &mut state.buffer)
                {
                    continue;
                }
            }
            if !self.wait_for_source().await {
                return Err(timed_out(name));
            }
        }
    }

    /// The state's timer runs to the deadline of an operation that starts
    /// to wait now (a socket reader with a read timeout only).
    fn start_read_timeout(&self, state: &mut State) {
        if let (Some(timeout), Source::Socket(_)) = (self.inner.read_timeout, &self.inner.source) {
            let deadline = Instant::now() + timeout;
            match &mut state.timer {
                Some(timer) => timer.as_mut().reset(deadline),
                None => state.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
        }
    }

    /// Waits once for the source: fed (in memory) or readable (socket).
    /// `false`: the read timeout passed first. A socket error becomes the
    /// reader's exception.
    async fn wait_for_source(&self) -> bool {
        match &self.inner.source {
            Source::Memory(notify) => notify.notified().await,
            Source::Socket(socket) => {
                let ready = if self.inner.read_timeout.is_some() {
                    match self.readable_or_timed_out(socket).await {
                        Some(ready) => ready,
                        None => return false,
                    }
                } else {
                    socket.readable().await
                };
                if let Err(err) = ready {
                    lock(&self.inner.state).buffer.set_exception(err.into());
                }
            }
        }
        true
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

fn timed_out(name: &str) -> StreamError {
    StreamError::TimedOut(format!("{name}() waited longer than the read timeout"))
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
    async fn connected(read_timeout: impl Into<Option<Duration>>) -> (StreamReader, TcpStream) {
        let listener = Listener::bind_tcp("127.0.0.1:0".parse().unwrap(), 16).unwrap();
        let crate::net::Address::Inet(addr) = listener.local_addr().unwrap() else {
            panic!("a TCP listener has an IP address")
        };
        let peer = TcpStream::connect(addr).await.unwrap();
        let socket = Arc::new(listener.accept().await.unwrap());
        let config = ReaderConfig {
            read_timeout: read_timeout.into(),
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

    /// Polls `future` once: whether it is still pending.
    async fn pending<F: Future>(future: Pin<&mut F>) -> bool {
        let mut future = future;
        std::future::poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx).is_pending())).await
    }

    /// Checks that `reader.readiness()` waits, and resolves once `peer`
    /// sends `data`.
    async fn ready_when_peer_sends(reader: &StreamReader, peer: &mut TcpStream, data: &[u8]) {
        let mut ready = std::pin::pin!(reader.readiness());
        assert!(pending(ready.as_mut()).await);
        peer.write_all(data).await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), ready)
            .await
            .expect("ready once data arrived");
    }

    fn in_memory() -> StreamReader {
        StreamReader::in_memory(1024, &ReaderConfig::default()).unwrap()
    }

    #[tokio::test]
    async fn a_try_that_would_wait_is_ready_to_retry_when_data_arrives() {
        let (reader, mut peer) = connected(None).await;
        assert!(reader.try_read(100).is_none());
        ready_when_peer_sends(&reader, &mut peer, b"abc").await;
        assert_eq!(&reader.try_read(100).unwrap().unwrap()[..], b"abc");
    }

    #[tokio::test]
    async fn without_a_try_to_retry_readiness_waits_for_anything_buffered() {
        let (reader, mut peer) = connected(None).await;
        // Nothing buffered: a guest may wait before its first try.
        ready_when_peer_sends(&reader, &mut peer, b"ab").await;
        assert_eq!(&reader.try_read(1).unwrap().unwrap()[..], b"a");
        // Something buffered: at once.
        assert!(!pending(std::pin::pin!(reader.readiness())).await);
        assert_eq!(&reader.try_read(1).unwrap().unwrap()[..], b"b");
        // EOF: at once, and reads say so.
        drop(peer);
        tokio::time::timeout(Duration::from_secs(10), reader.readiness())
            .await
            .expect("ready at EOF");
        assert_eq!(&reader.try_read(1).unwrap().unwrap()[..], b"");
        assert!(!pending(std::pin::pin!(reader.readiness())).await);
    }

    #[tokio::test]
    async fn readiness_waits_for_more_than_what_the_last_try_saw() {
        let reader = in_memory();
        reader.feed_data(b"ab").unwrap();
        assert!(reader.try_readline().is_none());
        // Buffered bytes that did not complete the line: not ready (a
        // guest that blocks on it does not spin).
        let mut ready = std::pin::pin!(reader.readiness());
        assert!(pending(ready.as_mut()).await);
        reader.feed_data(b"c").unwrap();
        ready.await;
        assert!(reader.try_readline().is_none());
        reader.feed_data(b"\nrest").unwrap();
        reader.readiness().await;
        assert_eq!(&reader.try_readline().unwrap().unwrap()[..], b"abc\n");
        // The rest, then EOF: readexactly(5) fails as readexactly does.
        assert!(reader.try_readexactly(5).is_none());
        reader.feed_eof();
        reader.readiness().await;
        let err = reader.try_readexactly(5).unwrap().unwrap_err();
        assert!(
            matches!(&err, StreamError::IncompleteRead { partial, expected: Some(5) } if &partial[..] == b"rest"),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn try_reads_fail_as_the_waiting_reads_do() {
        let reader = in_memory();
        let err = reader.try_readuntil::<&[u8]>(&[b""]).unwrap().unwrap_err();
        assert!(matches!(err, StreamError::InvalidArgument(_)), "{err:?}");
        assert!(reader.try_readuntil(&[b"\r\n"]).is_none());
        reader.set_exception(StreamError::ConnectionReset("gone".into()));
        reader.readiness().await;
        let err = reader.try_read(1).unwrap().unwrap_err();
        assert!(matches!(err, StreamError::ConnectionReset(_)), "{err:?}");
    }

    #[tokio::test]
    async fn the_read_timeout_counts_from_the_first_try_that_would_wait() {
        let timeout = Duration::from_secs(1);
        let (reader, mut peer) = connected(timeout).await;
        let start = Instant::now();
        assert!(reader.try_read(100).is_none());
        // Ready without data once the timeout passes; the next try says so.
        tokio::time::timeout(timeout + Duration::from_secs(10), reader.readiness())
            .await
            .expect("ready once the read timeout passed");
        let err = reader.try_read(100).unwrap().unwrap_err();
        assert!(matches!(err, StreamError::TimedOut(_)), "{err:?}");
        let waited = start.elapsed();
        assert!(waited >= timeout, "timed out after {waited:?}");
        // A wait before the first try counts too.
        let start = Instant::now();
        tokio::time::timeout(timeout + Duration::from_secs(10), reader.readiness())
            .await
            .expect("ready once the read timeout passed");
        let err = reader.try_read(100).unwrap().unwrap_err();
        assert!(matches!(err, StreamError::TimedOut(_)), "{err:?}");
        assert!(
            start.elapsed() >= timeout,
            "timed out after {:?}",
            start.elapsed()
        );
        // Only those reads failed: the reader goes on.
        peer.write_all(b"y").await.unwrap();
        loop {
            match reader.try_read(100) {
                Some(read) => break assert_eq!(&read.unwrap()[..], b"y"),
                None => reader.readiness().await,
            }
        }
    }
}
