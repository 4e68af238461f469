//! wasio: asyncio's Streams API for sandboxed WebAssembly components.
//!
//! Layers, bottom up:
//! - [`streams`]: asyncio's semantics (reader buffer and separator search,
//!   write flow control) as plain Rust, with no I/O.
//! - [`net`]: Tokio sockets under those semantics: stream readers and
//!   writers, listeners, the sandbox's allow-list.
//! - [`component`]: the wasmtime glue: bindings of the `wasio:streams` WIT,
//!   host resources that only translate, the engine and linker.
//! - [`serve`] and [`run`]: the `wasio` command's two jobs.

pub mod bundled;
pub mod cli;
pub mod component;
pub mod net;
pub mod run;
pub mod serve;
pub mod streams;
