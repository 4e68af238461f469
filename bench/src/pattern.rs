//! The bytes every load sends: a fixed pseudo-random sequence, so the echo
//! can be checked with a plain slice comparison (memcmp speed) instead of
//! generating data on the load generator's hot path.

use std::sync::{Arc, OnceLock};

/// The pattern repeats after this many bytes. It is prime, so a stream
/// that lost, repeated or reordered any run of bytes whose length is not a
/// multiple of it (about 1 MiB) no longer matches the pattern.
pub const PERIOD: usize = 1_048_573;

/// The longest slice [`Pattern::slice`] hands out: the largest message or
/// write chunk a load may use.
pub const MAX_CHUNK: usize = 256 * 1024;

/// A shared, immutable pattern buffer.
#[derive(Debug)]
pub struct Pattern {
    /// `PERIOD + MAX_CHUNK` bytes: the period plus its start again, so any
    /// slice of up to `MAX_CHUNK` bytes is contiguous.
    bytes: Vec<u8>,
}

impl Pattern {
    /// The process-wide pattern (built once: 2 MiB).
    pub fn shared() -> Arc<Pattern> {
        static SHARED: OnceLock<Arc<Pattern>> = OnceLock::new();
        SHARED.get_or_init(|| Arc::new(Pattern::new())).clone()
    }

    fn new() -> Self {
        // xorshift64*: deterministic, so runs are comparable, and random
        // enough that no two windows of a few bytes repeat nearby.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut period = Vec::with_capacity(PERIOD);
        while period.len() < PERIOD {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let word = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
            for byte in word.to_le_bytes() {
                if period.len() < PERIOD {
                    // Printable ASCII only ('!'..='~'): never a newline, so
                    // any slice is a valid line body for the line-echo
                    // servers, and every mode can share one pattern.
                    period.push(b'!' + (byte % 94));
                }
            }
        }
        let mut bytes = period.clone();
        bytes.extend_from_slice(&period[..MAX_CHUNK]);
        Self { bytes }
    }

    /// `len` bytes of the endless pattern starting at stream `offset`.
    ///
    /// # Panics
    /// If `len` exceeds [`MAX_CHUNK`].
    pub fn slice(&self, offset: u64, len: usize) -> &[u8] {
        assert!(len <= MAX_CHUNK, "chunk of {len} bytes exceeds {MAX_CHUNK}");
        let start = (offset % PERIOD as u64) as usize;
        &self.bytes[start..start + len]
    }

    /// Where connection `id`'s stream starts in the pattern: far apart, so
    /// bytes crossing from one connection to another fail verification.
    pub fn base(id: usize) -> u64 {
        (id as u64).wrapping_mul(7_919 * 64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_wrap_around_the_period() {
        let p = Pattern::shared();
        assert_eq!(p.slice(PERIOD as u64 - 3, 6)[3..], *p.slice(0, 3));
        assert_eq!(p.slice(5, 10), p.slice(PERIOD as u64 + 5, 10));
        assert!(p.slice(0, MAX_CHUNK).iter().all(|&b| b != b'\n'));
    }

    #[test]
    fn a_shifted_stream_does_not_match() {
        let p = Pattern::shared();
        for shift in 1..300 {
            assert_ne!(p.slice(0, 64), p.slice(shift, 64));
        }
    }
}
