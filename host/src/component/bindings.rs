//! Rust bindings of the `wasio:streams` WIT for the host.
//!
//! The WIT resources are backed by the [`crate::net`] types directly: the
//! resource table holds a [`StreamReader`](crate::net::StreamReader),
//! [`StreamWriter`](crate::net::StreamWriter) or
//! [`Server`](crate::net::Server) for each handle a guest owns.

mod generated {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "wasio:streams/handler",
        imports: { default: trappable },
        with: {
            "wasio:streams/streams.stream-reader": crate::net::StreamReader,
            "wasio:streams/streams.stream-writer": crate::net::StreamWriter,
            "wasio:streams/streams.server": crate::net::Server,
            // The pollable is wasmtime-wasi's, linked with WASI p2.
            "wasi:io/poll": wasmtime_wasi::p2::bindings::io::poll,
        },
    });
}

mod command_generated {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "wasio:streams/command",
        imports: { default: trappable },
        with: {
            "wasio:streams/streams": super::generated::wasio::streams::streams,
            "wasi:io/poll": wasmtime_wasi::p2::bindings::io::poll,
        },
        require_store_data_send: true,
    });
}

/// The blocking-style handler world, whose export is a plain `func`: called on the
/// plain engine (no concurrency support), from an async store so that the
/// guest's waits (`pollable.block`) suspend its fiber.
mod blocking_generated {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "wasio:streams/blocking-handler",
        imports: { default: trappable },
        exports: { default: async },
        with: {
            "wasio:streams/streams": super::generated::wasio::streams::streams,
            "wasi:io/poll": wasmtime_wasi::p2::bindings::io::poll,
        },
    });
}

pub use blocking_generated::{BlockingHandler, BlockingHandlerPre};
pub use command_generated::{Command, CommandPre};
pub use generated::wasio::streams::streams;
pub use generated::{Handler, HandlerPre};
