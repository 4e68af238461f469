//! The wasmtime glue: bindings, host functions that only translate, the
//! engine and linker, and loading components.

pub mod bindings;
mod convert;
pub mod engine;
mod host;
pub mod lifting;
pub mod state;
mod zero_copy;

pub use engine::{Handler, Loaded, Runtime, World};
pub use lifting::Lifting;
pub use state::HostState;
