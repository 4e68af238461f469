use crate::{Result, raw};

/// `asyncio.StreamWriter`. Dropping it closes the stream.
#[derive(Debug)]
pub struct StreamWriter(raw::StreamWriter);

impl StreamWriter {
    writer_calls!();

    /// `drain()`: waits while more than the high-water mark is buffered.
    pub async fn drain(&self) -> Result<()> {
        // The host answers at once when there is no need to wait, without
        // the cost of an async call.
        if let Some(result) = self.0.try_drain() {
            return Ok(result?);
        }
        Ok(self.0.drain().await?)
    }

    /// `wait_closed()`.
    pub async fn wait_closed(&self) -> Result<()> {
        Ok(self.0.wait_closed().await?)
    }
}
