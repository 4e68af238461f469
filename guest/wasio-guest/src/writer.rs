use crate::{Address, Result, raw};

/// `asyncio.StreamWriter`. Dropping it closes the stream.
#[derive(Debug)]
pub struct StreamWriter(raw::StreamWriter);

impl StreamWriter {
    /// Wraps a raw binding handle.
    pub fn from_raw(w: raw::StreamWriter) -> Self {
        Self(w)
    }

    /// `write(data)`: queues bytes; never waits. Unlike asyncio it fails
    /// rather than dropping data: after `close`/`write_eof`
    /// ([`StreamError::Closed`](crate::StreamError::Closed)), once the
    /// connection is lost, and past the host's buffer cap.
    pub fn write(&self, data: &[u8]) -> Result<()> {
        Ok(self.0.write(data)?)
    }

    /// `writelines(chunks)`.
    pub fn writelines<I, B>(&self, chunks: I) -> Result<()>
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        let chunks: Vec<Vec<u8>> = chunks.into_iter().map(|c| c.as_ref().to_vec()).collect();
        Ok(self.0.writelines(&chunks)?)
    }

    /// `drain()`: waits while more than the high-water mark is buffered.
    pub async fn drain(&self) -> Result<()> {
        // The host answers at once when there is no need to wait, without
        // the cost of an async call.
        if let Some(result) = self.0.try_drain() {
            return Ok(result?);
        }
        Ok(self.0.drain().await?)
    }

    /// `can_write_eof()`.
    pub fn can_write_eof(&self) -> bool {
        self.0.can_write_eof()
    }

    /// `write_eof()`: flush, then shut down the write side.
    pub fn write_eof(&self) -> Result<()> {
        Ok(self.0.write_eof()?)
    }

    /// `close()`.
    pub fn close(&self) {
        self.0.close()
    }

    /// `transport.abort()`: close at once, dropping unsent bytes.
    pub fn abort(&self) {
        self.0.abort()
    }

    /// `is_closing()`.
    pub fn is_closing(&self) -> bool {
        self.0.is_closing()
    }

    /// `wait_closed()`.
    pub async fn wait_closed(&self) -> Result<()> {
        Ok(self.0.wait_closed().await?)
    }

    /// `get_extra_info(name)`: `"peername"` or `"sockname"`.
    pub fn get_extra_info(&self, name: &str) -> Option<Address> {
        self.0.get_extra_info(name).map(Into::into)
    }

    /// `transport.get_write_buffer_size()`.
    pub fn get_write_buffer_size(&self) -> u64 {
        self.0.get_write_buffer_size()
    }

    /// `transport.set_write_buffer_limits(high, low)`.
    pub fn set_write_buffer_limits(&self, high: Option<u64>, low: Option<u64>) -> Result<()> {
        Ok(self.0.set_write_buffer_limits(high, low)?)
    }
}
