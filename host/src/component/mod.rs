//! The wasmtime glue: bindings, host functions that only translate, the
//! engine and linker, and loading components.

pub mod bindings;
mod convert;
pub mod engine;
pub mod guest;
mod host;
pub mod inspect;
mod plain;
pub mod state;
mod zero_copy;

pub use engine::{EngineKind, Loaded, Runtime, World};
pub use guest::{Command, Handler, HandlerInstance};
pub use inspect::Lifting;
pub use state::HostState;
