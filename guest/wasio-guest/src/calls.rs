//! The reader and writer calls that never wait, defined once for both
//! handler styles: the async wrappers ([`crate::StreamReader`],
//! [`crate::StreamWriter`]) and the blocking ones
//! ([`crate::blocking`]) differ only in the calls that wait. Each macro
//! expands inside an `impl` of a wrapper around the `raw` binding in scope
//! where it is used.

/// The `StreamReader` calls that never wait.
macro_rules! reader_calls {
    () => {
        /// `asyncio.StreamReader(limit=limit)`: an in-memory reader fed
        /// with [`feed_data`](Self::feed_data). `None` means 64 KiB; 0 is
        /// [`StreamError::InvalidArgument`](crate::StreamError::InvalidArgument).
        pub fn new(limit: Option<u32>) -> crate::Result<Self> {
            Ok(Self(raw::StreamReader::new(limit)?))
        }

        /// Wraps a raw binding handle.
        pub fn from_raw(r: raw::StreamReader) -> Self {
            Self(r)
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

/// The `StreamWriter` calls that never wait.
macro_rules! writer_calls {
    () => {
        /// Wraps a raw binding handle.
        pub fn from_raw(w: raw::StreamWriter) -> Self {
            Self(w)
        }

        /// `write(data)`: queues bytes; never waits. Unlike asyncio it
        /// fails rather than dropping data: after `close`/`write_eof`
        /// ([`StreamError::Closed`](crate::StreamError::Closed)), once the
        /// connection is lost, and past the host's buffer cap.
        pub fn write(&self, data: &[u8]) -> crate::Result<()> {
            Ok(self.0.write(data)?)
        }

        /// `writelines(chunks)`.
        pub fn writelines<I, B>(&self, chunks: I) -> crate::Result<()>
        where
            I: IntoIterator<Item = B>,
            B: AsRef<[u8]>,
        {
            let chunks: alloc::vec::Vec<alloc::vec::Vec<u8>> =
                chunks.into_iter().map(|c| c.as_ref().to_vec()).collect();
            Ok(self.0.writelines(&chunks)?)
        }

        /// `can_write_eof()`.
        pub fn can_write_eof(&self) -> bool {
            self.0.can_write_eof()
        }

        /// `write_eof()`: flush, then shut down the write side.
        pub fn write_eof(&self) -> crate::Result<()> {
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

        /// `get_extra_info(name)`: `"peername"` or `"sockname"`.
        pub fn get_extra_info(&self, name: &str) -> Option<crate::Address> {
            self.0.get_extra_info(name).map(Into::into)
        }

        /// `transport.get_write_buffer_size()`.
        pub fn get_write_buffer_size(&self) -> u64 {
            self.0.get_write_buffer_size()
        }

        /// `transport.set_write_buffer_limits(high, low)`.
        pub fn set_write_buffer_limits(
            &self,
            high: Option<u64>,
            low: Option<u64>,
        ) -> crate::Result<()> {
            Ok(self.0.set_write_buffer_limits(high, low)?)
        }
    };
}
