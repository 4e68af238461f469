use super::raw;
use crate::Result;
use crate::bindings::wasi::io::poll::Pollable;
use alloc::vec::Vec;
use core::cell::OnceCell;

/// `asyncio.StreamReader` with blocking reads: each waits on the
/// handler's own stack. The semantics are the async
/// [`crate::StreamReader`]'s, read for read.
///
/// A read that has to wait blocks on the reader's pollable
/// (`stream-reader.subscribe`, made at the first wait), then tries again.
#[derive(Debug)]
pub struct StreamReader(raw::StreamReader, OnceCell<Pollable>);

impl Drop for StreamReader {
    fn drop(&mut self) {
        // The pollable is a child of the reader: it goes first.
        drop(self.1.take());
    }
}

impl StreamReader {
    reader_calls!();

    /// Wraps a raw binding handle.
    pub fn from_raw(r: raw::StreamReader) -> Self {
        Self(r, OnceCell::new())
    }

    /// `read(n)`: `n < 0` reads to EOF; `n == 0` returns empty at once;
    /// otherwise up to `n` bytes as soon as any are available, empty at EOF.
    pub fn read(&self, n: i64) -> Result<Vec<u8>> {
        self.wait_for(|r| r.try_read(n))
    }

    /// `readline()`: one line with its `\n`; the partial line at EOF;
    /// empty at EOF. A line over the limit is discarded and fails with
    /// [`StreamError::LimitOverrun`](crate::StreamError::LimitOverrun).
    pub fn readline(&self) -> Result<Vec<u8>> {
        self.wait_for(raw::StreamReader::try_readline)
    }

    /// `readexactly(n)`: exactly `n` bytes, or
    /// [`StreamError::IncompleteRead`](crate::StreamError::IncompleteRead) at EOF.
    pub fn readexactly(&self, n: u64) -> Result<Vec<u8>> {
        self.wait_for(|r| r.try_readexactly(n))
    }

    /// `readuntil(separator)`: data up to and including `separator`.
    pub fn readuntil(&self, separator: &[u8]) -> Result<Vec<u8>> {
        self.wait_for(|r| r.try_readuntil(separator))
    }

    /// `readuntil((sep1, sep2, ...))`: the shortest data ending in any of
    /// the separators.
    pub fn readuntil_any(&self, separators: &[&[u8]]) -> Result<Vec<u8>> {
        let owned: Vec<Vec<u8>> = separators.iter().map(|s| s.to_vec()).collect();
        self.wait_for(|r| r.try_readuntil_any(&owned))
    }

    /// Tries `attempt` until it completes, blocking on the reader's
    /// pollable between tries: the host wakes it only when the stream has
    /// moved since the last try (or the read timeout passed), so this does
    /// not spin.
    fn wait_for<T>(
        &self,
        mut attempt: impl FnMut(
            &raw::StreamReader,
        ) -> Option<core::result::Result<T, crate::raw::Error>>,
    ) -> Result<T> {
        loop {
            if let Some(result) = attempt(&self.0) {
                return Ok(result?);
            }
            self.1.get_or_init(|| self.0.subscribe()).block();
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
