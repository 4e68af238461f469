use super::raw;
use crate::Result;

/// `asyncio.StreamWriter` with a blocking `drain` and `wait_closed`. The
/// semantics are the async [`crate::StreamWriter`]'s. Dropping it closes
/// the stream.
#[derive(Debug)]
pub struct StreamWriter {
    raw: raw::StreamWriter,
    /// See `writer_calls!`.
    drained: core::sync::atomic::AtomicBool,
}

impl StreamWriter {
    writer_calls!();

    /// `drain()`: blocks while more than the high-water mark is buffered.
    /// Right after a [`write`](Self::write) that the host answered with
    /// "`drain` would not wait" it returns at once without asking again,
    /// so a connection lost in between shows at the next call.
    pub fn drain(&self) -> Result<()> {
        if let Some(result) = self.drain_at_once() {
            return result;
        }
        Ok(self.raw.drain()?)
    }

    /// `wait_closed()`: blocks until the connection is closed.
    pub fn wait_closed(&self) -> Result<()> {
        Ok(self.raw.wait_closed()?)
    }
}
