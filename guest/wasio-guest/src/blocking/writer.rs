use super::raw;
use crate::Result;

/// `asyncio.StreamWriter` with a blocking `drain` and `wait_closed`. The
/// semantics are the async [`crate::StreamWriter`]'s. Dropping it closes
/// the stream.
#[derive(Debug)]
pub struct StreamWriter(raw::StreamWriter);

impl StreamWriter {
    writer_calls!();

    /// `drain()`: blocks while more than the high-water mark is buffered.
    pub fn drain(&self) -> Result<()> {
        // Saves the host the set-up of a call that may wait, when it would
        // not.
        if let Some(result) = self.0.try_drain() {
            return Ok(result?);
        }
        Ok(self.0.drain()?)
    }

    /// `wait_closed()`: blocks until the connection is closed.
    pub fn wait_closed(&self) -> Result<()> {
        Ok(self.0.wait_closed()?)
    }
}
