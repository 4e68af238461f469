//! [`StreamWriter`]: asyncio's `StreamWriter` over a socket.
//!
//! `write` first tries the socket directly (as asyncio's transport does)
//! and queues only what the kernel did not take; a Tokio task per writer
//! (the pump) flushes the queue, performs `write_eof` and `close`, and
//! wakes `drain` and `wait_closed`. All decisions (water marks, cap,
//! lifecycle) are [`WriteFlow`]'s; this file only moves bytes.

use super::lock;
use super::socket::{Address, Socket};
use crate::streams::write_flow::{Action, DEFAULT_CAP};
use crate::streams::{StreamError, StreamResult, WriteFlow};
use bytes::Bytes;
use std::fmt;
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::Poll;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How many queued chunks one vectored write sends at most.
const MAX_IOVECS: usize = 64;

/// Host-side settings of every writer.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// Hard cap on unsent bytes per writer.
    pub buffer_cap: usize,
    /// How long `close` keeps flushing before it drops what is left.
    pub close_grace: Duration,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            buffer_cap: DEFAULT_CAP,
            close_grace: Duration::from_secs(5),
        }
    }
}

/// The owning handle of a stream writer: dropping it closes the stream
/// (flushing within the grace period), so a guest that forgets `close`
/// does not leak the connection.
#[derive(Debug)]
pub struct StreamWriter {
    handle: WriterHandle,
}

/// A shared handle to a writer, for operations that wait. Does not close
/// the stream when dropped.
#[derive(Debug, Clone)]
pub struct WriterHandle {
    inner: Arc<Inner>,
}

/// A reference to a writer that does not keep it alive (a server's list of
/// its clients).
#[derive(Debug, Clone)]
pub struct WeakWriter(Weak<Inner>);

impl WeakWriter {
    /// The writer, if it still exists.
    pub fn upgrade(&self) -> Option<WriterHandle> {
        self.0.upgrade().map(|inner| WriterHandle { inner })
    }
}

struct Inner {
    flow: Mutex<WriteFlow>,
    socket: Arc<Socket>,
    /// The pump has something to do.
    work: Notify,
    /// The flow changed in a way drainers or closers wait for.
    changed: Notify,
    close_grace: Duration,
    /// `try_drain` calls since the last `drain`: past
    /// [`SYNC_DRAINS_PER_YIELD`] they are refused, so that a write loop
    /// still goes through `drain` (and yields) now and then.
    sync_drains: AtomicU32,
    /// Values kept exactly as long as the writer (see
    /// [`WriterHandle::attach`]).
    attached: Mutex<Vec<Box<dyn Send>>>,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner")
            .field("flow", &self.flow)
            .field("peer", &self.socket.peer_addr())
            .finish_non_exhaustive()
    }
}

/// How many times in a row `try_drain` may answer at once before the
/// async `drain` (which spends Tokio's cooperative budget) must be called.
const SYNC_DRAINS_PER_YIELD: u32 = 32;

impl StreamWriter {
    /// A writer for `socket`; spawns its pump on the current Tokio runtime.
    pub fn new(socket: Arc<Socket>, config: &WriterConfig) -> Self {
        // Learn the peer now, while it is connected, so that `peername`
        // still answers after it went away, as in asyncio (free for an
        // accepted socket: `accept` told it). `sockname` stays answerable
        // while the socket is open, so it is asked on first use.
        let _ = socket.peer_addr();
        let inner = Arc::new(Inner {
            flow: Mutex::new(WriteFlow::new(config.buffer_cap)),
            socket,
            work: Notify::new(),
            changed: Notify::new(),
            close_grace: config.close_grace,
            sync_drains: AtomicU32::new(0),
            attached: Mutex::new(Vec::new()),
        });
        tokio::spawn(pump(inner.clone()));
        Self {
            handle: WriterHandle { inner },
        }
    }

    /// A handle that shares this writer.
    pub fn handle(&self) -> WriterHandle {
        self.handle.clone()
    }
}

impl std::ops::Deref for StreamWriter {
    type Target = WriterHandle;
    fn deref(&self) -> &WriterHandle {
        &self.handle
    }
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        self.handle.close();
    }
}

impl WriterHandle {
    /// `write(data)`: never blocks. See [`WriteFlow::check_write`] for
    /// when it fails.
    pub fn write(&self, data: Bytes) -> StreamResult<()> {
        self.write_chunks(vec![data])
    }

    /// `writelines(chunks)`: all or nothing, in order.
    pub fn writelines(&self, chunks: Vec<Bytes>) -> StreamResult<()> {
        self.write_chunks(chunks)
    }

    /// `write(data)` from borrowed bytes (a guest's linear memory): sends
    /// what the socket takes at once straight from `data`, and copies only
    /// the rest into the queue. Fails as [`write`](Self::write) does.
    pub fn write_slice(&self, data: &[u8]) -> StreamResult<()> {
        let mut flow = lock(&self.inner.flow);
        flow.check_write(data.len())?;
        let mut sent = 0;
        if flow.can_send_directly() {
            match send_slice_now(&self.inner.socket, data) {
                Ok(n) => sent = n,
                Err(err) => return Err(self.lost(flow, err)),
            }
        }
        if sent < data.len() {
            flow.push(Bytes::copy_from_slice(&data[sent..]))?;
            self.inner.work.notify_one();
        }
        Ok(())
    }

    /// [`write_slice`](Self::write_slice), then
    /// [`try_drain`](Self::try_drain)'s check: `Ok(true)` when `drain`
    /// would now return `Ok` at once. The `write` + `drain` idiom in one
    /// host call instead of two (a host call costs about as much as the
    /// echo's own work).
    pub fn write_and_check_drain(&self, data: &[u8]) -> StreamResult<bool> {
        self.write_slice(data)?;
        Ok(matches!(self.try_drain(), Some(Ok(()))))
    }

    /// Records that the connection failed while writing, wakes whoever
    /// waits on the writer, and returns the error for the caller.
    fn lost(&self, mut flow: MutexGuard<'_, WriteFlow>, err: StreamError) -> StreamError {
        flow.fail(err.clone());
        drop(flow);
        self.inner.changed.notify_waiters();
        self.inner.work.notify_one();
        err
    }

    fn write_chunks(&self, mut chunks: Vec<Bytes>) -> StreamResult<()> {
        let total: usize = chunks.iter().map(Bytes::len).sum();
        let mut flow = lock(&self.inner.flow);
        flow.check_write(total)?;
        if flow.can_send_directly()
            && let Err(err) = send_now(&self.inner.socket, &mut chunks)
        {
            return Err(self.lost(flow, err));
        }
        let mut queued = false;
        for chunk in chunks.into_iter().filter(|c| !c.is_empty()) {
            flow.push(chunk)?;
            queued = true;
        }
        if queued {
            self.inner.work.notify_one();
        }
        Ok(())
    }

    /// `drain()`: waits while the buffer is above the high-water mark,
    /// until it falls to the low-water mark. Fails once the connection is
    /// lost or closed.
    pub async fn drain(&self) -> StreamResult<()> {
        self.inner.sync_drains.store(0, Ordering::Relaxed);
        // A guest looping on write + drain never waits while the kernel
        // takes its bytes; spend Tokio's cooperative budget so that such a
        // loop still lets other tasks (this writer's pump, other
        // connections) run, as asyncio's drain yields to the event loop.
        tokio::task::consume_budget().await;
        self.wait_for(|flow| flow.poll_drain()).await
    }

    /// Resolves when [`try_drain`](Self::try_drain) would answer: `drain`
    /// without its result (which `try_drain` then gives), for a guest that
    /// waits on a pollable and then asks `try_drain`. Cancel safe.
    pub async fn drain_readiness(&self) {
        let _ = self.drain().await;
    }

    /// `drain()` when it would not wait: `Some` with its result when the
    /// buffer is at or below the high-water mark (or the stream failed),
    /// `None` when [`drain`](Self::drain) has to be called, which is when
    /// it would wait, and after [`SYNC_DRAINS_PER_YIELD`] answers without a
    /// `drain` in between (so that a loop of writes and drains still yields
    /// to other tasks).
    /// A guest calls this first to save an async call on the fast path.
    pub fn try_drain(&self) -> Option<StreamResult<()>> {
        let n = self.inner.sync_drains.fetch_add(1, Ordering::Relaxed) + 1;
        if n > SYNC_DRAINS_PER_YIELD {
            return None;
        }
        match lock(&self.inner.flow).poll_drain() {
            Poll::Ready(result) => Some(result),
            Poll::Pending => None,
        }
    }

    /// `can_write_eof()`: sockets support half-close.
    pub fn can_write_eof(&self) -> bool {
        true
    }

    /// `write_eof()`: flush, then shut down the write side.
    pub fn write_eof(&self) -> StreamResult<()> {
        lock(&self.inner.flow).request_eof()?;
        self.inner.work.notify_one();
        Ok(())
    }

    /// `close()`: flush within the grace period, then close.
    pub fn close(&self) {
        if lock(&self.inner.flow).request_close() {
            self.inner.work.notify_one();
            self.inner.changed.notify_waiters();
        }
    }

    /// `transport.abort()`: close at once, dropping unsent bytes; the
    /// connection is reset rather than closed gracefully.
    pub fn abort(&self) {
        {
            let mut flow = lock(&self.inner.flow);
            flow.fail(StreamError::ConnectionAborted("aborted".into()));
            flow.request_close();
        }
        self.inner.socket.set_reset_on_close();
        self.inner.work.notify_one();
        self.inner.changed.notify_waiters();
    }

    /// Keeps `value` until the writer is gone: every handle dropped and
    /// the flush task finished, i.e. the connection closed. For what must
    /// live exactly as long as the connection (its slot under the server's
    /// connection limit, its idle watch), however long a guest keeps it.
    pub fn attach(&self, value: impl Send + 'static) {
        lock(&self.inner.attached).push(Box::new(value));
    }

    /// A reference that does not keep this writer alive.
    pub fn downgrade(&self) -> WeakWriter {
        WeakWriter(Arc::downgrade(&self.inner))
    }

    /// `is_closing()`.
    pub fn is_closing(&self) -> bool {
        lock(&self.inner.flow).is_closing()
    }

    /// `wait_closed()`: resolves once the stream is closed. After `close`
    /// that takes at most the grace period.
    pub async fn wait_closed(&self) -> StreamResult<()> {
        self.wait_for(|flow| {
            if flow.state() == crate::streams::WriterState::Closed {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            }
        })
        .await
    }

    /// How long the connection has moved no byte either way, as seen by a
    /// caller that asks at intervals (see [`Socket::quiet_for`]).
    pub fn quiet_for(&self) -> Duration {
        self.inner.socket.quiet_for()
    }

    /// True once the stream is closed.
    pub fn is_closed(&self) -> bool {
        lock(&self.inner.flow).state() == crate::streams::WriterState::Closed
    }

    /// `get_write_buffer_size()`.
    pub fn write_buffer_size(&self) -> usize {
        lock(&self.inner.flow).queued()
    }

    /// `set_write_buffer_limits(high, low)`.
    pub fn set_write_buffer_limits(&self, high: Option<u64>, low: Option<u64>) -> StreamResult<()> {
        if lock(&self.inner.flow).set_limits(high, low)? {
            self.inner.changed.notify_waiters();
        }
        Ok(())
    }

    /// `get_extra_info(name)`: `peername` and `sockname`.
    pub fn extra_info(&self, name: &str) -> Option<Address> {
        match name {
            "peername" => self.inner.socket.peer_addr(),
            "sockname" => self.inner.socket.local_addr(),
            _ => None,
        }
    }

    async fn wait_for(
        &self,
        mut ready: impl FnMut(&WriteFlow) -> Poll<StreamResult<()>>,
    ) -> StreamResult<()> {
        loop {
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            // Register before checking, so no wake-up falls in between.
            changed.as_mut().enable();
            if let Poll::Ready(result) = ready(&lock(&self.inner.flow)) {
                return result;
            }
            changed.await;
        }
    }
}

/// Sends as much of `chunks` as the socket takes now, leaving the rest in
/// `chunks`. `WouldBlock` is not an error.
fn send_now(socket: &Socket, chunks: &mut Vec<Bytes>) -> StreamResult<()> {
    while chunks.iter().any(|c| !c.is_empty()) {
        let slices: Vec<IoSlice<'_>> = chunks
            .iter()
            .filter(|c| !c.is_empty())
            .take(MAX_IOVECS)
            .map(|c| IoSlice::new(c))
            .collect();
        match socket.try_write_vectored(&slices) {
            Ok(mut n) => {
                for chunk in chunks.iter_mut() {
                    let k = n.min(chunk.len());
                    let _ = chunk.split_to(k);
                    n -= k;
                }
                chunks.retain(|c| !c.is_empty());
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Sends as much of `data` as the socket takes now; returns how much.
fn send_slice_now(socket: &Socket, data: &[u8]) -> StreamResult<usize> {
    let mut sent = 0;
    while sent < data.len() {
        match socket.try_write(&data[sent..]) {
            Ok(0) => break,
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(sent)
}

/// The writer's task: flushes, half-closes and closes as the flow says.
async fn pump(inner: Arc<Inner>) {
    let mut close_deadline: Option<Instant> = None;
    loop {
        let work = inner.work.notified();
        tokio::pin!(work);
        work.as_mut().enable();
        let (action, closing) = {
            let flow = lock(&inner.flow);
            (
                flow.next_action(),
                flow.state() >= crate::streams::WriterState::Closing,
            )
        };
        if closing && close_deadline.is_none() {
            close_deadline = Some(Instant::now() + inner.close_grace);
        }
        match action {
            Action::Idle => work.await,
            Action::Flush => {
                let writable = inner.socket.writable();
                let ready = match close_deadline {
                    Some(deadline) => tokio::select! {
                        r = writable => Some(r),
                        _ = tokio::time::sleep_until(deadline) => None,
                    },
                    None => tokio::select! {
                        r = writable => Some(r),
                        // Woken by close(): loop to start the grace period.
                        _ = work => continue,
                    },
                };
                match ready {
                    None => {
                        let dropped = lock(&inner.flow).fail(StreamError::TimedOut(
                            "close grace period expired with unsent data".into(),
                        ));
                        tracing::warn!(
                            peer = ?inner.socket.peer_addr(),
                            dropped,
                            "close: grace period expired, unsent bytes dropped"
                        );
                        inner.changed.notify_waiters();
                    }
                    Some(Err(err)) => {
                        lock(&inner.flow).fail(err.into());
                        inner.changed.notify_waiters();
                    }
                    Some(Ok(())) => flush_queued(&inner),
                }
            }
            Action::ShutdownWrite => {
                let result = inner.socket.shutdown(Shutdown::Write);
                let mut flow = lock(&inner.flow);
                match result {
                    Ok(()) => flow.mark_eof_sent(),
                    Err(err) => {
                        flow.fail(err.into());
                    }
                }
                drop(flow);
                inner.changed.notify_waiters();
            }
            Action::Close => {
                let _ = inner.socket.shutdown(Shutdown::Both);
                lock(&inner.flow).mark_closed();
                inner.changed.notify_waiters();
                return;
            }
            Action::Done => return,
        }
    }
}

/// Writes queued chunks until the socket would block or the queue is empty.
fn flush_queued(inner: &Inner) {
    let mut flow = lock(&inner.flow);
    let mut resumed = false;
    loop {
        if flow.queued() == 0 {
            break;
        }
        let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
        let n = flow.io_slices(&mut slices);
        match inner.socket.try_write_vectored(&slices[..n]) {
            Ok(written) => resumed |= flow.advance(written),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                flow.fail(e.into());
                resumed = true;
                break;
            }
        }
    }
    drop(flow);
    if resumed {
        inner.changed.notify_waiters();
    }
}
