use crate::{Result, raw};

/// `asyncio.StreamWriter`. Dropping it closes the stream.
#[derive(Debug)]
pub struct StreamWriter {
    raw: raw::StreamWriter,
    /// See `writer_calls!`.
    drained: core::sync::atomic::AtomicBool,
}

impl StreamWriter {
    writer_calls!();

    /// Wraps a raw binding handle.
    pub fn from_raw(raw: raw::StreamWriter) -> Self {
        Self {
            raw,
            drained: core::sync::atomic::AtomicBool::new(false),
        }
    }

    /// `drain()`: waits while more than the high-water mark is buffered.
    /// Right after a [`write`](Self::write) that the host answered with
    /// "`drain` would not wait" it returns at once without asking again,
    /// so a connection lost in between shows at the next call.
    pub async fn drain(&self) -> Result<()> {
        if let Some(result) = self.drain_at_once() {
            return result;
        }
        Ok(self.raw.drain().await?)
    }

    /// `wait_closed()`.
    pub async fn wait_closed(&self) -> Result<()> {
        Ok(self.raw.wait_closed().await?)
    }
}
