//! The wasmtime glue: bindings, host functions that only translate, the
//! engine and linker, and loading components.

pub mod bindings;
mod convert;
pub mod engine;
mod host;
pub mod state;

pub use engine::{Runtime, World};
pub use state::HostState;
