use crate::{Result, raw};
use alloc::vec::Vec;

/// `asyncio.StreamReader`.
///
/// At most one read may wait for data at a time; a second one that would
/// wait fails with
/// [`StreamError::InvalidState`](crate::StreamError::InvalidState), as
/// asyncio raises `RuntimeError`.
#[derive(Debug)]
pub struct StreamReader(raw::StreamReader);

impl StreamReader {
    reader_calls!();

    /// Wraps a raw binding handle.
    pub fn from_raw(r: raw::StreamReader) -> Self {
        Self(r)
    }

    /// `read(n)`: `n < 0` reads to EOF; `n == 0` returns empty at once;
    /// otherwise up to `n` bytes as soon as any are available, empty at EOF.
    pub async fn read(&self, n: i64) -> Result<Vec<u8>> {
        Ok(self.0.read(n).await?)
    }

    /// `readline()`: one line with its `\n`; the partial line at EOF;
    /// empty at EOF. A line over the limit is discarded and fails with
    /// [`StreamError::LimitOverrun`](crate::StreamError::LimitOverrun).
    pub async fn readline(&self) -> Result<Vec<u8>> {
        Ok(self.0.readline().await?)
    }

    /// `readexactly(n)`: exactly `n` bytes, or
    /// [`StreamError::IncompleteRead`](crate::StreamError::IncompleteRead) at EOF.
    pub async fn readexactly(&self, n: u64) -> Result<Vec<u8>> {
        Ok(self.0.readexactly(n).await?)
    }

    /// `readuntil(separator)`: data up to and including `separator`.
    pub async fn readuntil(&self, separator: &[u8]) -> Result<Vec<u8>> {
        Ok(self.0.readuntil(separator.to_vec()).await?)
    }

    /// `readuntil((sep1, sep2, ...))`: the shortest data ending in any of
    /// the separators.
    pub async fn readuntil_any(&self, separators: &[&[u8]]) -> Result<Vec<u8>> {
        let owned: Vec<Vec<u8>> = separators.iter().map(|s| s.to_vec()).collect();
        Ok(self.0.readuntil_any(owned).await?)
    }

    /// `async for line in reader`: the next line, or `None` at EOF.
    pub async fn next_line(&self) -> Option<Result<Vec<u8>>> {
        match self.readline().await {
            Ok(line) if line.is_empty() => None,
            other => Some(other),
        }
    }
}
