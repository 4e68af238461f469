//! The writer's buffer of unsent bytes and asyncio's write flow control.
//!
//! asyncio's transport pauses its protocol when more than the high-water
//! mark is buffered and resumes it once the buffer is at or below the
//! low-water mark; `drain()` waits while paused. [`WriteFlow`] keeps that
//! state machine and the writer's lifecycle (open → EOF requested → EOF
//! sent; any → closing → closed) without doing any I/O: the I/O layer
//! pushes what it could not send at once, takes chunks to send, reports
//! progress with [`WriteFlow::advance`] and follows [`WriteFlow::next_action`].
//!
//! Where asyncio silently drops writes (after close, after the connection
//! is lost) and lets the buffer grow without bound, this type refuses:
//! [`WriteFlow::check_write`] fails with `Closed`, the connection's error,
//! or `WriteBufferFull` past the hard cap.

use super::error::{StreamError, StreamResult};
use bytes::{Buf, Bytes};
use std::collections::VecDeque;
use std::io::IoSlice;
use std::task::Poll;

/// asyncio's default high-water mark (64 KiB).
pub const DEFAULT_HIGH_WATER: usize = 64 * 1024;
/// The default hard cap on unsent bytes: 16 × the default high-water mark.
pub const DEFAULT_CAP: usize = 16 * DEFAULT_HIGH_WATER;

/// Where a writer is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WriterState {
    /// Accepting writes.
    Open,
    /// `write_eof` was called: flush, then shut down the write side.
    EofRequested,
    /// The write side is shut down.
    EofSent,
    /// `close` was called: flush (within a grace period), then close.
    Closing,
    /// Closed; nothing more happens.
    Closed,
}

/// What the I/O layer should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Nothing to do until the writer is used again.
    Idle,
    /// Send queued bytes.
    Flush,
    /// Everything is sent: shut down the write side, then call
    /// [`WriteFlow::mark_eof_sent`].
    ShutdownWrite,
    /// Everything is sent (or the connection failed): close, then call
    /// [`WriteFlow::mark_closed`].
    Close,
    /// Closed: stop.
    Done,
}

/// Unsent bytes, water marks, cap and lifecycle of one stream writer.
///
/// Invariants: `queued` is the total length of `queue`; `low <= high`;
/// once `error` is set the queue is empty and stays empty.
#[derive(Debug)]
pub struct WriteFlow {
    queue: VecDeque<Bytes>,
    queued: usize,
    high: usize,
    low: usize,
    cap: usize,
    paused: bool,
    state: WriterState,
    error: Option<StreamError>,
}

impl WriteFlow {
    /// A writer with asyncio's default water marks (64 KiB high, 16 KiB low)
    /// and the given hard cap on unsent bytes.
    pub fn new(cap: usize) -> Self {
        Self {
            queue: VecDeque::new(),
            queued: 0,
            high: DEFAULT_HIGH_WATER,
            low: DEFAULT_HIGH_WATER / 4,
            cap: cap.max(1),
            paused: false,
            state: WriterState::Open,
            error: None,
        }
    }

    /// The lifecycle state.
    pub fn state(&self) -> WriterState {
        self.state
    }

    /// The connection's error, once it is lost.
    pub fn error(&self) -> Option<&StreamError> {
        self.error.as_ref()
    }

    /// Unsent bytes (`get_write_buffer_size()`).
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// `(high, low)` water marks.
    pub fn water_marks(&self) -> (usize, usize) {
        (self.high, self.low)
    }

    /// True once `close` was called or the connection was lost
    /// (`is_closing()`).
    pub fn is_closing(&self) -> bool {
        self.state >= WriterState::Closing || self.error.is_some()
    }

    /// Whether a write of `len` bytes would be accepted, given that
    /// `len` bytes are added to the queue.
    pub fn check_write(&self, len: usize) -> StreamResult<()> {
        if self.state >= WriterState::Closing {
            return Err(StreamError::Closed);
        }
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        if self.state != WriterState::Open {
            return Err(StreamError::Closed);
        }
        if self.queued.saturating_add(len) > self.cap {
            return Err(StreamError::WriteBufferFull(self.cap as u64));
        }
        Ok(())
    }

    /// True when a write may go straight to the socket: open, healthy and
    /// nothing queued ahead of it.
    pub fn can_send_directly(&self) -> bool {
        self.queued == 0 && self.state == WriterState::Open && self.error.is_none()
    }

    /// Queues bytes that could not be sent at once. Checks as
    /// [`WriteFlow::check_write`]; pauses above the high-water mark.
    pub fn push(&mut self, data: Bytes) -> StreamResult<()> {
        self.check_write(data.len())?;
        if !data.is_empty() {
            self.queued += data.len();
            self.queue.push_back(data);
        }
        if self.queued > self.high {
            self.paused = true;
        }
        Ok(())
    }

    /// Fills `out` with the queued chunks in order, for a vectored write.
    /// Returns how many slices were filled.
    pub fn io_slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, chunk) in out.iter_mut().zip(&self.queue) {
            *slot = IoSlice::new(chunk);
            n += 1;
        }
        n
    }

    /// Records that `n` queued bytes were sent. Returns true when this
    /// resumed writing (the buffer fell to the low-water mark): wake the
    /// drainers.
    pub fn advance(&mut self, mut n: usize) -> bool {
        debug_assert!(n <= self.queued);
        n = n.min(self.queued);
        self.queued -= n;
        while n > 0 {
            let front = self.queue.front_mut().expect("queued bytes have chunks");
            if front.len() <= n {
                n -= front.len();
                self.queue.pop_front();
            } else {
                front.advance(n);
                n = 0;
            }
        }
        self.maybe_resume()
    }

    fn maybe_resume(&mut self) -> bool {
        if self.paused && self.queued <= self.low {
            self.paused = false;
            return true;
        }
        false
    }

    /// `drain()`: ready at once unless paused; fails once the connection is
    /// lost or closed (asyncio: `ConnectionResetError('Connection lost')`).
    pub fn poll_drain(&self) -> Poll<StreamResult<()>> {
        if let Some(err) = &self.error {
            return Poll::Ready(Err(err.clone()));
        }
        if self.state == WriterState::Closed {
            return Poll::Ready(Err(StreamError::ConnectionReset("Connection lost".into())));
        }
        if self.paused {
            Poll::Pending
        } else {
            Poll::Ready(Ok(()))
        }
    }

    /// `set_write_buffer_limits(high, low)` with asyncio's defaults: high
    /// is 64 KiB, or 4 × low when only low is given; low is high / 4.
    /// `InvalidArgument` unless `high >= low`, or when high exceeds the cap.
    /// Returns true when this resumed writing.
    pub fn set_limits(&mut self, high: Option<u64>, low: Option<u64>) -> StreamResult<bool> {
        let to_usize = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        let high = match (high, low) {
            (Some(h), _) => to_usize(h),
            (None, Some(l)) => to_usize(l).saturating_mul(4),
            (None, None) => DEFAULT_HIGH_WATER,
        };
        let low = low.map(to_usize).unwrap_or(high / 4);
        if high < low {
            return Err(StreamError::InvalidArgument(format!(
                "high ({high}) must be >= low ({low}) must be >= 0"
            )));
        }
        if high > self.cap {
            return Err(StreamError::InvalidArgument(format!(
                "high ({high}) exceeds the write buffer cap ({})",
                self.cap
            )));
        }
        self.high = high;
        self.low = low;
        if self.queued > self.high {
            self.paused = true;
        }
        Ok(self.maybe_resume())
    }

    /// `write_eof()`: refused after close, after an earlier `write_eof`,
    /// and once the connection is lost.
    pub fn request_eof(&mut self) -> StreamResult<()> {
        self.check_write(0)?;
        self.state = WriterState::EofRequested;
        Ok(())
    }

    /// `close()`. Returns false when the writer was already closing.
    pub fn request_close(&mut self) -> bool {
        if self.state >= WriterState::Closing {
            return false;
        }
        self.state = WriterState::Closing;
        true
    }

    /// The connection is lost: drop what is queued (returning how many
    /// bytes were dropped), remember the error for later writes and drains,
    /// and wake the drainers.
    pub fn fail(&mut self, err: StreamError) -> usize {
        let dropped = self.queued;
        self.queue.clear();
        self.queued = 0;
        self.paused = false;
        if self.error.is_none() {
            self.error = Some(err);
        }
        dropped
    }

    /// What the I/O layer should do now.
    pub fn next_action(&self) -> Action {
        if self.state == WriterState::Closed {
            return Action::Done;
        }
        if self.queued > 0 {
            return Action::Flush;
        }
        match self.state {
            WriterState::Closing => Action::Close,
            _ if self.error.is_some() => Action::Close,
            WriterState::EofRequested => Action::ShutdownWrite,
            _ => Action::Idle,
        }
    }

    /// The write side was shut down.
    pub fn mark_eof_sent(&mut self) {
        if self.state == WriterState::EofRequested {
            self.state = WriterState::EofSent;
        }
    }

    /// The connection is closed.
    pub fn mark_closed(&mut self) {
        self.state = WriterState::Closed;
        self.paused = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow() -> WriteFlow {
        WriteFlow::new(DEFAULT_CAP)
    }

    fn bytes(n: usize) -> Bytes {
        Bytes::from(vec![b'x'; n])
    }

    #[test]
    fn drain_is_ready_at_or_below_the_high_water_mark() {
        let mut f = flow();
        f.push(bytes(DEFAULT_HIGH_WATER)).unwrap();
        assert_eq!(f.poll_drain(), Poll::Ready(Ok(())));
        f.push(bytes(1)).unwrap();
        assert!(f.poll_drain().is_pending());
    }

    #[test]
    fn drain_waits_until_the_low_water_mark() {
        let mut f = flow();
        f.push(bytes(100_000)).unwrap();
        assert!(f.poll_drain().is_pending());
        // Below high but above low: still paused (hysteresis).
        assert!(!f.advance(100_000 - 20_000));
        assert!(f.poll_drain().is_pending());
        assert!(f.advance(20_000 - 16 * 1024));
        assert_eq!(f.poll_drain(), Poll::Ready(Ok(())));
        assert_eq!(f.queued(), 16 * 1024);
    }

    #[test]
    fn advance_walks_chunks_and_io_slices_follow() {
        let mut f = flow();
        f.push(Bytes::from_static(b"abc")).unwrap();
        f.push(Bytes::from_static(b"defg")).unwrap();
        f.advance(4);
        let mut slices = [IoSlice::new(&[]); 4];
        let n = f.io_slices(&mut slices);
        assert_eq!(n, 1);
        assert_eq!(&*slices[0], b"efg");
        assert_eq!(f.queued(), 3);
    }

    #[test]
    fn the_cap_refuses_a_write_whole() {
        let mut f = WriteFlow::new(10);
        f.push(bytes(8)).unwrap();
        assert_eq!(f.push(bytes(3)), Err(StreamError::WriteBufferFull(10)));
        assert_eq!(f.queued(), 8);
        f.push(bytes(2)).unwrap();
    }

    #[test]
    fn writes_after_close_or_eof_are_refused_not_dropped() {
        let mut f = flow();
        f.request_eof().unwrap();
        assert_eq!(f.push(bytes(1)), Err(StreamError::Closed));
        assert_eq!(f.request_eof(), Err(StreamError::Closed));
        let mut f = flow();
        assert!(f.request_close());
        assert!(!f.request_close());
        assert_eq!(f.push(bytes(1)), Err(StreamError::Closed));
        assert_eq!(
            f.request_eof(),
            Err(StreamError::Closed),
            "write_eof after close"
        );
    }

    #[test]
    fn a_lost_connection_fails_writes_and_wakes_drains_with_its_error() {
        let mut f = flow();
        f.push(bytes(100_000)).unwrap();
        assert!(f.poll_drain().is_pending());
        let lost = StreamError::ConnectionReset("peer".into());
        assert_eq!(f.fail(lost.clone()), 100_000);
        assert_eq!(f.poll_drain(), Poll::Ready(Err(lost.clone())));
        assert_eq!(f.push(bytes(1)), Err(lost));
        assert!(f.is_closing());
        assert_eq!(f.next_action(), Action::Close);
    }

    #[test]
    fn set_limits_follows_asyncio_defaults_and_checks() {
        let mut f = flow();
        f.set_limits(None, Some(100)).unwrap();
        assert_eq!(f.water_marks(), (400, 100));
        f.set_limits(Some(1000), None).unwrap();
        assert_eq!(f.water_marks(), (1000, 250));
        f.set_limits(None, None).unwrap();
        assert_eq!(
            f.water_marks(),
            (DEFAULT_HIGH_WATER, DEFAULT_HIGH_WATER / 4)
        );
        assert!(matches!(
            f.set_limits(Some(1), Some(2)),
            Err(StreamError::InvalidArgument(_))
        ));
        assert!(matches!(
            f.set_limits(Some(DEFAULT_CAP as u64 + 1), None),
            Err(StreamError::InvalidArgument(_))
        ));
        // Lowering the marks under queued data pauses; raising them resumes.
        f.push(bytes(500)).unwrap();
        f.set_limits(Some(100), Some(10)).unwrap();
        assert!(f.poll_drain().is_pending());
        assert!(f.set_limits(Some(1000), Some(600)).unwrap());
        assert_eq!(f.poll_drain(), Poll::Ready(Ok(())));
    }

    #[test]
    fn lifecycle_actions() {
        let mut f = flow();
        assert_eq!(f.next_action(), Action::Idle);
        f.push(bytes(5)).unwrap();
        f.request_eof().unwrap();
        assert_eq!(f.next_action(), Action::Flush);
        f.advance(5);
        assert_eq!(f.next_action(), Action::ShutdownWrite);
        f.mark_eof_sent();
        assert_eq!(f.state(), WriterState::EofSent);
        assert_eq!(f.next_action(), Action::Idle);
        f.request_close();
        assert_eq!(f.next_action(), Action::Close);
        f.mark_closed();
        assert_eq!(f.next_action(), Action::Done);
        assert_eq!(
            f.poll_drain(),
            Poll::Ready(Err(StreamError::ConnectionReset("Connection lost".into())))
        );
    }
}
