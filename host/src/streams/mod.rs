//! asyncio's stream semantics as plain Rust: no I/O, no async, no wasmtime.
//!
//! - [`read_buffer`]: `StreamReader`'s buffer, limit, EOF and exception, and
//!   the rules of `read`, `readline`, `readexactly` and `readuntil`.
//! - [`write_flow`]: `StreamWriter`'s buffer of unsent bytes, its water
//!   marks (when `drain` waits) and its hard cap.
//! - [`error`]: the error type both report.

pub mod error;
pub mod read_buffer;
pub mod write_flow;

pub use error::{StreamError, StreamResult};
pub use read_buffer::{DEFAULT_LIMIT, Progress, ReadBuffer, ScanState, validate_separators};
pub use write_flow::{WriteFlow, WriterState};
