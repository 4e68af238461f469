//! The reader's buffer and asyncio's rules for taking data out of it.
//!
//! [`ReadBuffer`] is `asyncio.StreamReader` without the event loop: bytes
//! come in through [`ReadBuffer::feed_data`] / [`ReadBuffer::feed_eof`] /
//! [`ReadBuffer::set_exception`], and each read operation is a `poll_*`
//! method that either completes (`Poll::Ready`) or says it needs more data
//! (`Poll::Pending`). The caller owns the waiting: it calls
//! [`ReadBuffer::check_exception`] once when an operation starts, feeds data
//! as it arrives and polls again. No I/O and no async here, so every rule is
//! unit-tested directly.
//!
//! Exceptions are raised when an operation starts and whenever it would have
//! to wait, exactly where asyncio raises them (at the start of the coroutine
//! and from `_wait_for_data`): data already buffered when an exception is
//! set after the operation started still completes it.

use super::error::{StreamError, StreamResult};
use bytes::{Buf, Bytes, BytesMut};
use std::task::Poll;

/// asyncio's default stream limit (`_DEFAULT_LIMIT`), in bytes.
pub const DEFAULT_LIMIT: usize = 64 * 1024;

/// Reads of at most this many bytes are copied out of the buffer; larger
/// ones take its memory (see `take`).
const COPY_OUT_MAX: usize = 4096;

/// asyncio's message when no separator was found within the limit.
const NOT_FOUND: &str = "Separator is not found, and chunk exceed the limit";
/// asyncio's message when the separator was found beyond the limit.
const FOUND_BEYOND: &str = "Separator is found, but chunk is longer than limit";

/// A stream reader's buffer, EOF flag, exception and limit.
///
/// Invariant: once `eof` is set no data is added.
#[derive(Debug)]
pub struct ReadBuffer {
    buf: BytesMut,
    limit: usize,
    /// Hard cap on buffered bytes (host memory), whatever the operation.
    cap: usize,
    eof: bool,
    exception: Option<StreamError>,
    /// Total bytes taken out so far; a separator scan remembers it to know
    /// whether its saved offset still points into the same bytes.
    consumed: u64,
}

/// How far a stream has come: what a reader has received in all, and
/// whether its end or an error arrived. It changes whenever the buffer
/// gains something, so comparing two tells whether an operation that could
/// not complete at the first may complete now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    received: u64,
    eof: bool,
    failed: bool,
}

/// Where an unfinished `readuntil` stopped searching, so that the next poll
/// searches only new bytes (asyncio's `offset` local).
///
/// Start each operation with `ScanState::default()`.
#[derive(Debug, Default, Clone, Copy)]
pub struct ScanState {
    offset: usize,
    consumed_at: u64,
}

impl ReadBuffer {
    /// A reader with the given limit, as `StreamReader(limit=...)`.
    ///
    /// A limit of 0 is `InvalidArgument`, as asyncio's `ValueError`.
    pub fn new(limit: usize) -> StreamResult<Self> {
        if limit == 0 {
            return Err(StreamError::InvalidArgument("Limit cannot be <= 0".into()));
        }
        Ok(Self {
            buf: BytesMut::new(),
            limit,
            cap: usize::MAX,
            eof: false,
            exception: None,
            consumed: 0,
        })
    }

    /// Sets the hard cap on buffered bytes: beyond it, feeding fails with
    /// `ReadBufferFull`. It bounds what `read(-1)` and `readexactly(n)` may
    /// hold in host memory. At least twice the limit plus one byte, so that
    /// limit errors are still reported as asyncio reports them.
    pub fn with_cap(mut self, cap: usize) -> Self {
        self.cap = cap.max(2 * self.limit + 1);
        self
    }

    /// The hard cap on buffered bytes.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// How many more bytes may be buffered.
    pub fn room(&self) -> usize {
        self.cap.saturating_sub(self.buf.len())
    }

    /// The stream limit in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Number of buffered bytes.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when no byte is buffered.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// True once `feed_eof` was called.
    pub fn is_eof(&self) -> bool {
        self.eof
    }

    /// asyncio's `at_eof()`: EOF received and nothing left in the buffer.
    pub fn at_eof(&self) -> bool {
        self.eof && self.buf.is_empty()
    }

    /// How far the stream has come (see [`Progress`]).
    pub fn progress(&self) -> Progress {
        Progress {
            received: self.consumed + self.buf.len() as u64,
            eof: self.eof,
            failed: self.exception.is_some(),
        }
    }

    /// The exception set on this reader, if any.
    pub fn exception(&self) -> Option<&StreamError> {
        self.exception.as_ref()
    }

    /// Fails with the reader's exception, if one is set. Call once when an
    /// operation starts.
    pub fn check_exception(&self) -> StreamResult<()> {
        match &self.exception {
            Some(err) => Err(err.clone()),
            None => Ok(()),
        }
    }

    /// Appends bytes. After `feed_eof` this is `InvalidState` (asyncio
    /// asserts), and past the cap `ReadBufferFull`; nothing is added then.
    pub fn feed_data(&mut self, data: &[u8]) -> StreamResult<()> {
        if self.eof {
            return Err(StreamError::InvalidState("feed_data after feed_eof".into()));
        }
        if data.len() > self.room() {
            return Err(StreamError::ReadBufferFull(self.cap as u64));
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    /// The buffer for a source to read into directly (saves a copy); the
    /// source may add at most [`ReadBuffer::room`] bytes. Fails after EOF as
    /// [`ReadBuffer::feed_data`] does, and when there is no room.
    pub fn spare(&mut self, reserve: usize) -> StreamResult<&mut BytesMut> {
        if self.eof {
            return Err(StreamError::InvalidState("feed_data after feed_eof".into()));
        }
        if self.room() == 0 {
            return Err(StreamError::ReadBufferFull(self.cap as u64));
        }
        self.buf.reserve(reserve);
        Ok(&mut self.buf)
    }

    /// Marks the end of the stream.
    pub fn feed_eof(&mut self) {
        self.eof = true;
    }

    /// Sets the exception that later reads fail with. Buffered data stays.
    pub fn set_exception(&mut self, err: StreamError) {
        self.exception = Some(err);
    }

    /// Read-side flow control, asyncio's `pause_reading` threshold: a source
    /// should stop reading ahead while this is true (more than 2 × limit
    /// buffered). An operation that waits for data may always read.
    pub fn is_over_high_water(&self) -> bool {
        self.buf.len() > 2 * self.limit
    }

    /// What an operation does when it cannot complete: fail with the
    /// exception if one is set, else wait.
    fn pending<T>(&self) -> Poll<StreamResult<T>> {
        match &self.exception {
            Some(err) => Poll::Ready(Err(err.clone())),
            None => Poll::Pending,
        }
    }

    fn take(&mut self, n: usize) -> Bytes {
        self.consumed += n as u64;
        if n <= COPY_OUT_MAX {
            // A short message: a copy of its own, and the buffer keeps its
            // allocation for the next fill (handing over a 64 KiB buffer
            // for 64 bytes costs a large malloc and free per message).
            let taken = Bytes::copy_from_slice(&self.buf[..n]);
            self.buf.advance(n);
            return taken;
        }
        if n == self.buf.len() {
            // Hand over the whole allocation rather than a view into it:
            // the caller can then turn it into a `Vec` without a copy (the
            // next fill allocates anew).
            return std::mem::take(&mut self.buf).freeze();
        }
        self.buf.split_to(n).freeze()
    }

    fn take_all(&mut self) -> Bytes {
        self.take(self.buf.len())
    }

    /// `read(n)`. `n < 0`: everything up to EOF; `n == 0`: empty at once;
    /// `n > 0`: up to `n` bytes as soon as any are buffered, empty at EOF.
    pub fn poll_read(&mut self, n: i64) -> Poll<StreamResult<Bytes>> {
        if n == 0 {
            return Poll::Ready(Ok(Bytes::new()));
        }
        if n < 0 {
            // asyncio loops read(limit) until EOF; the result is the same.
            return if self.eof {
                Poll::Ready(Ok(self.take_all()))
            } else {
                self.pending()
            };
        }
        if self.buf.is_empty() && !self.eof {
            return self.pending();
        }
        let n = usize::try_from(n).unwrap_or(usize::MAX).min(self.buf.len());
        Poll::Ready(Ok(self.take(n)))
    }

    /// `readexactly(n)`: `n` bytes, or `IncompleteRead` (buffer emptied,
    /// `expected = n`) at EOF.
    pub fn poll_readexactly(&mut self, n: u64) -> Poll<StreamResult<Bytes>> {
        if n == 0 {
            return Poll::Ready(Ok(Bytes::new()));
        }
        if (self.buf.len() as u64) >= n {
            return Poll::Ready(Ok(self.take(n as usize)));
        }
        if self.eof {
            return Poll::Ready(Err(StreamError::IncompleteRead {
                partial: self.take_all(),
                expected: Some(n),
            }));
        }
        self.pending()
    }

    /// `readuntil(separators)`: the shortest buffered prefix that ends in
    /// one of `separators`, separator included.
    ///
    /// - No separator within the limit: `LimitOverrun`, data stays buffered.
    /// - EOF first: `IncompleteRead` with everything buffered, `expected`
    ///   none; the buffer is emptied.
    ///
    /// `separators` must be valid (see [`validate_separators`]).
    pub fn poll_readuntil(
        &mut self,
        separators: &[&[u8]],
        scan: &mut ScanState,
    ) -> Poll<StreamResult<Bytes>> {
        let min_len = separators.iter().map(|s| s.len()).min().unwrap_or(1);
        let max_len = separators.iter().map(|s| s.len()).max().unwrap_or(1);
        if scan.consumed_at != self.consumed {
            // Bytes were taken from the front since the last scan: the saved
            // offset no longer points into the same data.
            *scan = ScanState {
                offset: 0,
                consumed_at: self.consumed,
            };
        }
        let buflen = self.buf.len();
        if buflen.saturating_sub(scan.offset) >= min_len {
            if let Some((start, end)) = find_first_end(&self.buf, separators, scan.offset) {
                if start > self.limit {
                    return Poll::Ready(Err(StreamError::LimitOverrun {
                        message: FOUND_BEYOND.into(),
                        consumed: start as u64,
                    }));
                }
                return Poll::Ready(Ok(self.take(end)));
            }
            // A separator may still start in the last max_len - 1 bytes.
            scan.offset = (buflen + 1).saturating_sub(max_len);
            if scan.offset > self.limit {
                return Poll::Ready(Err(StreamError::LimitOverrun {
                    message: NOT_FOUND.into(),
                    consumed: scan.offset as u64,
                }));
            }
        }
        if self.eof {
            return Poll::Ready(Err(StreamError::IncompleteRead {
                partial: self.take_all(),
                expected: None,
            }));
        }
        self.pending()
    }

    /// `readline()`: `readuntil(b"\n")` with asyncio's treatment of its
    /// errors. At EOF the partial line is returned (empty when nothing is
    /// left). On a limit overrun the line is discarded: through its `\n` if
    /// that is buffered right at `consumed`, otherwise the whole buffer;
    /// the error is still `LimitOverrun` (asyncio raises `ValueError` with
    /// the same message).
    pub fn poll_readline(&mut self, scan: &mut ScanState) -> Poll<StreamResult<Bytes>> {
        match self.poll_readuntil(&[b"\n"], scan) {
            Poll::Ready(Err(StreamError::IncompleteRead { partial, .. })) => {
                Poll::Ready(Ok(partial))
            }
            Poll::Ready(Err(StreamError::LimitOverrun { message, consumed })) => {
                let at = consumed as usize;
                if self.buf.get(at) == Some(&b'\n') {
                    self.take(at + 1);
                } else {
                    self.take_all();
                }
                Poll::Ready(Err(StreamError::LimitOverrun { message, consumed }))
            }
            other => other,
        }
    }
}

/// Checks `readuntil`'s separators as asyncio does: at least one, none empty.
pub fn validate_separators<S: AsRef<[u8]>>(separators: &[S]) -> StreamResult<()> {
    if separators.is_empty() {
        return Err(StreamError::InvalidArgument(
            "Separator should contain at least one element".into(),
        ));
    }
    if separators.iter().any(|s| s.as_ref().is_empty()) {
        return Err(StreamError::InvalidArgument(
            "Separator should be at least one-byte string".into(),
        ));
    }
    Ok(())
}

/// The match of any separator at or after `from` whose end comes first,
/// the shortest separator on a tie (asyncio sorts them by length):
/// `(start, end)`.
fn find_first_end(haystack: &[u8], separators: &[&[u8]], from: usize) -> Option<(usize, usize)> {
    let tail = haystack.get(from..)?;
    separators
        .iter()
        .filter_map(|sep| {
            let pos = match sep {
                [byte] => memchr::memchr(*byte, tail),
                _ => memchr::memmem::find(tail, sep),
            }?;
            Some((from + pos, from + pos + sep.len()))
        })
        .min_by_key(|&(start, end)| (end, end - start))
}

#[cfg(test)]
mod model;
#[cfg(test)]
mod tests;
