use super::raw;
use crate::Result;
use alloc::vec::Vec;

/// `asyncio.StreamReader` with blocking reads: each waits on the
/// handler's own stack. The semantics are the async
/// [`crate::StreamReader`]'s, read for read.
#[derive(Debug)]
pub struct StreamReader(raw::StreamReader);

impl StreamReader {
    reader_calls!();

    /// `read(n)`: `n < 0` reads to EOF; `n == 0` returns empty at once;
    /// otherwise up to `n` bytes as soon as any are available, empty at EOF.
    pub fn read(&self, n: i64) -> Result<Vec<u8>> {
        Ok(self.0.read(n)?)
    }

    /// `readline()`: one line with its `\n`; the partial line at EOF;
    /// empty at EOF. A line over the limit is discarded and fails with
    /// [`StreamError::LimitOverrun`](crate::StreamError::LimitOverrun).
    pub fn readline(&self) -> Result<Vec<u8>> {
        Ok(self.0.readline()?)
    }

    /// `readexactly(n)`: exactly `n` bytes, or
    /// [`StreamError::IncompleteRead`](crate::StreamError::IncompleteRead) at EOF.
    pub fn readexactly(&self, n: u64) -> Result<Vec<u8>> {
        Ok(self.0.readexactly(n)?)
    }

    /// `readuntil(separator)`: data up to and including `separator`.
    pub fn readuntil(&self, separator: &[u8]) -> Result<Vec<u8>> {
        Ok(self.0.readuntil(separator)?)
    }

    /// `readuntil((sep1, sep2, ...))`: the shortest data ending in any of
    /// the separators.
    pub fn readuntil_any(&self, separators: &[&[u8]]) -> Result<Vec<u8>> {
        let owned: Vec<Vec<u8>> = separators.iter().map(|s| s.to_vec()).collect();
        Ok(self.0.readuntil_any(&owned)?)
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
