use super::raw;
use crate::Result;
use crate::bindings::wasi::io::poll::Pollable;
use alloc::vec::Vec;
use core::cell::{Cell, OnceCell};

/// What a `try-` read returns: `None` when it would wait.
type Attempt = Option<core::result::Result<Vec<u8>, crate::raw::Error>>;

/// `asyncio.StreamReader` with blocking reads: each waits on the
/// handler's own stack. The semantics are the async
/// [`crate::StreamReader`]'s, read for read.
///
/// A read calls the reader's non-blocking `try-` form, and when that would
/// wait, blocks on the reader's pollable (`stream-reader.subscribe`, made
/// at the first wait) and tries again.
#[derive(Debug)]
pub struct StreamReader(raw::StreamReader, Waiting);

/// How a [`StreamReader`] waits.
#[derive(Debug, Default)]
struct Waiting {
    pollable: OnceCell<Pollable>,
    /// Whether the next read blocks before its first try: when the last
    /// one found the buffer empty, as a request-response peer leaves it.
    /// That saves a try that would find nothing; when data came after
    /// all, the block returns at once and costs one call.
    block_first: Cell<bool>,
}

impl StreamReader {
    reader_calls!();

    /// Wraps a raw binding handle.
    pub fn from_raw(r: raw::StreamReader) -> Self {
        Self(r, Waiting::default())
    }

    /// `read(n)`: `n < 0` reads to EOF; `n == 0` returns empty at once;
    /// otherwise up to `n` bytes as soon as any are available, empty at EOF.
    pub fn read(&self, n: i64) -> Result<Vec<u8>> {
        let (data, _) = self.wait_for(n > 0, |r| r.try_read(n))?;
        // `read(n)` takes all that is buffered, up to `n`: a shorter result
        // leaves the buffer empty.
        let asked = usize::try_from(n).unwrap_or(usize::MAX);
        self.1.block_first.set(n != 0 && data.len() < asked);
        Ok(data)
    }

    /// `readline()`: one line with its `\n`; the partial line at EOF;
    /// empty at EOF. A line over the limit is discarded and fails with
    /// [`StreamError::LimitOverrun`](crate::StreamError::LimitOverrun).
    pub fn readline(&self) -> Result<Vec<u8>> {
        self.wait_remembering(true, raw::StreamReader::try_readline)
    }

    /// `readexactly(n)`: exactly `n` bytes, or
    /// [`StreamError::IncompleteRead`](crate::StreamError::IncompleteRead) at EOF.
    pub fn readexactly(&self, n: u64) -> Result<Vec<u8>> {
        self.wait_remembering(n > 0, |r| r.try_readexactly(n))
    }

    /// `readuntil(separator)`: data up to and including `separator`.
    pub fn readuntil(&self, separator: &[u8]) -> Result<Vec<u8>> {
        // Tried first: a bad separator fails without any data.
        self.wait_remembering(false, |r| r.try_readuntil(separator))
    }

    /// `readuntil((sep1, sep2, ...))`: the shortest data ending in any of
    /// the separators.
    pub fn readuntil_any(&self, separators: &[&[u8]]) -> Result<Vec<u8>> {
        let owned: Vec<Vec<u8>> = separators.iter().map(|s| s.to_vec()).collect();
        self.wait_remembering(false, |r| r.try_readuntil_any(&owned))
    }

    /// [`wait_for`](Self::wait_for), where what is left in the buffer is
    /// unknown: the next read blocks first if this one had to.
    fn wait_remembering(
        &self,
        needs_data: bool,
        attempt: impl FnMut(&raw::StreamReader) -> Attempt,
    ) -> Result<Vec<u8>> {
        let (data, blocked) = self.wait_for(needs_data, attempt)?;
        self.1.block_first.set(blocked);
        Ok(data)
    }

    /// Tries `attempt` until it completes, blocking on the reader's
    /// pollable between tries: the host wakes it only when the stream has
    /// moved since the last try (or the read timeout passed), so this does
    /// not spin. It blocks before the first try too when `block_first`
    /// says so and the read cannot complete on an empty buffer without EOF
    /// or an error (`needs_data`): the pollable is ready at once when
    /// anything is buffered, EOF came or the stream failed, so then the
    /// block cannot wait for data the read does not need. Also returns
    /// whether it blocked.
    fn wait_for(
        &self,
        needs_data: bool,
        mut attempt: impl FnMut(&raw::StreamReader) -> Attempt,
    ) -> Result<(Vec<u8>, bool)> {
        let mut block = needs_data && self.1.block_first.get();
        loop {
            if block {
                self.1.pollable.get_or_init(|| self.0.subscribe()).block();
            }
            if let Some(result) = attempt(&self.0) {
                return Ok((result?, block));
            }
            block = true;
        }
    }

    /// `for line in reader`: the lines up to EOF.
    pub fn lines(&self) -> Lines<'_> {
        Lines(self)
    }
}

/// The lines of a [`StreamReader`] up to EOF (asyncio's `async for line
/// in reader`); an error ends them after it is returned.
#[derive(Debug)]
pub struct Lines<'a>(&'a StreamReader);

impl Iterator for Lines<'_> {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.0.readline() {
            Ok(line) if line.is_empty() => None,
            other => Some(other),
        }
    }
}
