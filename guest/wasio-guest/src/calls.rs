//! The reader and writer calls that never wait, defined once for both
//! handler styles: the async wrappers ([`crate::StreamReader`],
//! [`crate::StreamWriter`]) and the blocking ones
//! ([`crate::blocking`]) differ only in the calls that wait. Each macro
//! expands inside an `impl` of a wrapper whose field `0` is the `raw`
//! binding in scope where it is used, and which defines `from_raw`.

/// The `StreamReader` calls that never wait.
macro_rules! reader_calls {
    () => {
        /// `asyncio.StreamReader(limit=limit)`: an in-memory reader fed
        /// with [`feed_data`](Self::feed_data). `None` means 64 KiB; 0 is
        /// [`StreamError::InvalidArgument`](crate::StreamError::InvalidArgument).
        pub fn new(limit: Option<u32>) -> crate::Result<Self> {
            Ok(Self::from_raw(raw::StreamReader::new(limit)?))
        }

        /// `feed_data(data)`.
        pub fn feed_data(&self, data: &[u8]) -> crate::Result<()> {
            Ok(self.0.feed_data(data)?)
        }

        /// `feed_eof()`.
        pub fn feed_eof(&self) {
            self.0.feed_eof()
        }

        /// `set_exception(exc)`.
        pub fn set_exception(&self, err: crate::StreamError) {
            self.0.set_exception(&err.into())
        }

        /// `exception()`.
        pub fn exception(&self) -> Option<crate::StreamError> {
            self.0.exception().map(Into::into)
        }

        /// The stream limit.
        pub fn limit(&self) -> u32 {
            self.0.limit()
        }

        /// `at_eof()`.
        pub fn at_eof(&self) -> bool {
            self.0.at_eof()
        }
    };
}

/// The `StreamWriter` calls that never wait. The wrapper has at least two
/// fields: `raw`, the binding, and `drained`, set by a `write` after which
/// the host said `drain` would return at once, and cleared by every other
/// writer call, so that the `write` + `drain` idiom costs one host call,
/// not two.
macro_rules! writer_calls {
    () => {
        /// `write(data)`: queues bytes; never waits. Unlike asyncio it
        /// fails rather than dropping data: after `close`/`write_eof`
        /// ([`StreamError::Closed`](crate::StreamError::Closed)), once the
        /// connection is lost, and past the host's buffer cap.
        pub fn write(&self, data: &[u8]) -> crate::Result<()> {
            self.set_drained(false);
            // The host also answers whether a `drain` now would return at
            // once, so that the `drain` which follows need not ask.
            let drained = self.raw.write_and_check_drain(data)?;
            self.set_drained(drained);
            Ok(())
        }

        /// `writelines(chunks)`.
        pub fn writelines<I, B>(&self, chunks: I) -> crate::Result<()>
        where
            I: IntoIterator<Item = B>,
            B: AsRef<[u8]>,
        {
            self.set_drained(false);
            let chunks: alloc::vec::Vec<alloc::vec::Vec<u8>> =
                chunks.into_iter().map(|c| c.as_ref().to_vec()).collect();
            Ok(self.raw.writelines(&chunks)?)
        }

        /// `can_write_eof()`.
        pub fn can_write_eof(&self) -> bool {
            self.raw.can_write_eof()
        }

        /// `write_eof()`: flush, then shut down the write side.
        pub fn write_eof(&self) -> crate::Result<()> {
            self.set_drained(false);
            Ok(self.raw.write_eof()?)
        }

        /// `close()`.
        pub fn close(&self) {
            self.set_drained(false);
            self.raw.close()
        }

        /// `transport.abort()`: close at once, dropping unsent bytes.
        pub fn abort(&self) {
            self.set_drained(false);
            self.raw.abort()
        }

        /// `is_closing()`.
        pub fn is_closing(&self) -> bool {
            self.raw.is_closing()
        }

        /// `get_extra_info(name)`: `"peername"` or `"sockname"`.
        pub fn get_extra_info(&self, name: &str) -> Option<crate::Address> {
            self.raw.get_extra_info(name).map(Into::into)
        }

        /// `transport.get_write_buffer_size()`.
        pub fn get_write_buffer_size(&self) -> u64 {
            self.raw.get_write_buffer_size()
        }

        /// `transport.set_write_buffer_limits(high, low)`.
        pub fn set_write_buffer_limits(
            &self,
            high: Option<u64>,
            low: Option<u64>,
        ) -> crate::Result<()> {
            self.set_drained(false);
            Ok(self.raw.set_write_buffer_limits(high, low)?)
        }

        fn set_drained(&self, drained: bool) {
            self.drained
                .store(drained, core::sync::atomic::Ordering::Relaxed);
        }

        /// `drain()`'s result when it is known without waiting: the last
        /// writer call was a `write` after which the host said `drain`
        /// would return at once, or the host says so now. `None`: call the
        /// host's `drain`, which may wait.
        fn drain_at_once(&self) -> Option<crate::Result<()>> {
            if self
                .drained
                .swap(false, core::sync::atomic::Ordering::Relaxed)
            {
                return Some(Ok(()));
            }
            // Saves the host the set-up of a call that may wait, when it
            // would not.
            self.raw.try_drain().map(|r| r.map_err(Into::into))
        }
    };
}
