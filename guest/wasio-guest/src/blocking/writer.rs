use super::raw;
use crate::Result;
use crate::bindings::wasi::io::poll::Pollable;
use core::cell::OnceCell;

/// `asyncio.StreamWriter` with a blocking `drain` and `wait_closed`. The
/// semantics are the async [`crate::StreamWriter`]'s. Dropping it closes
/// the stream.
#[derive(Debug)]
pub struct StreamWriter {
    raw: raw::StreamWriter,
    /// See `writer_calls!`.
    drained: core::sync::atomic::AtomicBool,
    /// What `drain` blocks on (`stream-writer.subscribe`), made at its
    /// first wait.
    pollable: OnceCell<Pollable>,
}

impl StreamWriter {
    writer_calls!();

    /// Wraps a raw binding handle.
    pub fn from_raw(raw: raw::StreamWriter) -> Self {
        Self {
            raw,
            drained: core::sync::atomic::AtomicBool::new(false),
            pollable: OnceCell::new(),
        }
    }

    /// `drain()`: blocks while more than the high-water mark is buffered,
    /// until the buffer is down to the low-water mark.
    /// Right after a [`write`](Self::write) that the host answered with
    /// "`drain` would not wait" it returns at once without asking again,
    /// so a connection lost in between shows at the next call.
    pub fn drain(&self) -> Result<()> {
        if let Some(result) = self.drain_at_once() {
            return result;
        }
        // Blocks on the writer's pollable, not through the `async func`
        // (which would cost a subtask), and asks again: the pollable is
        // ready when `try-drain` answers.
        loop {
            self.pollable.get_or_init(|| self.raw.subscribe()).block();
            if let Some(result) = self.raw.try_drain() {
                return Ok(result?);
            }
        }
    }

    /// `wait_closed()`: blocks until the connection is closed. It blocks
    /// on a pollable (`subscribe-closed`) rather than calling the `async
    /// func`, so that a blocking-style component needs no concurrency
    /// support from its host (see the `blocking-handler` world).
    pub fn wait_closed(&self) -> Result<()> {
        self.raw.subscribe_closed().block();
        Ok(())
    }
}
