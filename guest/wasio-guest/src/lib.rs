//! asyncio's Streams API for wasio guest components.
//!
//! This crate wraps the `wasio:streams` WIT bindings in the shapes of
//! Python's `asyncio` streams, so a handler reads like the Python it comes
//! from:
//!
//! ```ignore
//! use wasio_guest::{StreamReader, StreamWriter, StreamError};
//!
//! async fn handle_echo(reader: StreamReader, writer: StreamWriter) -> Result<(), StreamError> {
//!     let data = reader.read(100).await?;
//!     writer.write(&data)?;
//!     writer.drain().await?;
//!     writer.close();
//!     Ok(())
//! }
//!
//! wasio_guest::export_handler!(handle_echo);
//! ```
//!
//! Coroutines are `async fn`s; exceptions are [`StreamError`] values
//! (with [`IncompleteReadError`] and [`LimitOverrunError`] carrying
//! asyncio's `partial`/`expected` and `consumed`).
//!
//! [`blocking`] has the same reader and writer with plain calls that block
//! the handler's own stack, and [`export_blocking_handler!`]: the faster
//! style for a handler that does one thing at a time on its connection
//! ([`export_blocking_command!`] for a program).
//!
//! Feature `std` (on by default): Rust's std, and with it
//! [`create_task`] and [`start_server`], which spawn tasks. Without it the
//! crate is `no_std` (it needs `alloc`) and supplies what std would give a
//! component: a heap, `cabi_realloc`, a panic handler that prints to stderr,
//! and the `handler error:` line of the export macros. Such a component
//! imports no WASI start-up (environment, stdio, exit, terminal), only
//! stderr: it is smaller and instantiates faster, which is what the
//! `echo-raw`, `echo-lines` and `echo-raw-async` components use it for. A `no_std` handler
//! crate says `#![no_std]` and `extern crate alloc;`, and depends on this
//! crate with `default-features = false`.
//!
//! Feature `inter-task-wakeup`: needed when a Rust waker in one
//! component-model task wakes a future in another, e.g. when the
//! connections of a pooled instance (each its own `handle` call) share a
//! channel. Tasks spawned with [`create_task`] inside one handler do not
//! need it. It costs two host calls every time a task goes to sleep, so it
//! is off by default.

#![cfg_attr(not(feature = "std"), no_std)]

// Lets the generated `with:` paths below name this crate absolutely.
extern crate self as wasio_guest;

extern crate alloc;

#[doc(hidden)]
pub use wit_bindgen;

/// For the export macros, which expand in crates that may be `no_std`.
#[doc(hidden)]
pub mod __alloc {
    pub use alloc::string::String;
    pub use alloc::vec::Vec;
}

/// The raw generated bindings of the imported interface.
pub mod bindings {
    wit_bindgen::generate!({
        world: "imports",
        path: "../../wit",
        with: { "wasi:io/poll@0.2.0": generate },
    });
}

/// The `handler` world's export side (used by [`export_handler!`]).
#[doc(hidden)]
pub mod handler {
    wit_bindgen::generate!({
        world: "handler",
        path: "../../wit",
        with: {
            "wasio:streams/streams@0.1.0": wasio_guest::bindings::wasio::streams::streams,
            "wasi:io/poll@0.2.0": wasio_guest::bindings::wasi::io::poll,
        },
        pub_export_macro: true,
        export_macro_name: "export_handler_world",
        default_bindings_module: "wasio_guest::handler",
        runtime_path: "wasio_guest::wit_bindgen::rt",
    });
}

/// The `command` world's export side (used by [`export_command!`]).
#[doc(hidden)]
pub mod command {
    wit_bindgen::generate!({
        world: "command",
        path: "../../wit",
        with: {
            "wasio:streams/streams@0.1.0": wasio_guest::bindings::wasio::streams::streams,
            "wasi:io/poll@0.2.0": wasio_guest::bindings::wasi::io::poll,
        },
        pub_export_macro: true,
        export_macro_name: "export_command_world",
        default_bindings_module: "wasio_guest::command",
        runtime_path: "wasio_guest::wit_bindgen::rt",
    });
}

pub(crate) use bindings::wasio::streams::streams as raw;

use alloc::string::ToString;

#[macro_use]
mod calls;

mod address;
pub mod blocking;
mod error;
pub mod pyrepr;
mod reader;
#[cfg(all(not(feature = "std"), target_family = "wasm"))]
mod runtime;
#[cfg(feature = "std")]
mod server;
mod writer;

pub use address::Address;
pub use error::{IncompleteReadError, LimitOverrunError, StreamError};
pub use reader::StreamReader;
#[cfg(feature = "std")]
pub use server::{
    Server, start_server, start_server_with, start_unix_server, start_unix_server_with,
};
pub use writer::StreamWriter;

/// Options of [`open_connection_with`]: asyncio's `limit`.
pub use raw::ConnectOptions;
/// Options of [`start_server_with`]: asyncio's `limit` and `backlog`.
pub use raw::ServerOptions;

/// Runs a future as a concurrent task of the current component task
/// (asyncio's `create_task`).
#[cfg(feature = "std")]
pub use wit_bindgen::spawn_local as create_task;

/// A `Result` whose error is [`StreamError`].
pub type Result<T, E = StreamError> = core::result::Result<T, E>;

/// `asyncio.open_connection(host, port)`: connect over TCP. The host
/// grants addresses with `--allow-connect`; others fail with
/// [`StreamError::NotPermitted`].
pub async fn open_connection(host: &str, port: u16) -> Result<(StreamReader, StreamWriter)> {
    open_connection_with(host, port, ConnectOptions { limit: None }).await
}

/// [`open_connection`] with options (the reader's `limit`).
pub async fn open_connection_with(
    host: &str,
    port: u16,
    options: ConnectOptions,
) -> Result<(StreamReader, StreamWriter)> {
    let (r, w) = raw::open_connection(host.to_string(), port, options).await?;
    Ok((StreamReader::from_raw(r), StreamWriter::from_raw(w)))
}

/// `asyncio.open_unix_connection(path)`.
pub async fn open_unix_connection(path: &str) -> Result<(StreamReader, StreamWriter)> {
    open_unix_connection_with(path, ConnectOptions { limit: None }).await
}

/// [`open_unix_connection`] with options.
pub async fn open_unix_connection_with(
    path: &str,
    options: ConnectOptions,
) -> Result<(StreamReader, StreamWriter)> {
    let (r, w) = raw::open_unix_connection(path.to_string(), options).await?;
    Ok((StreamReader::from_raw(r), StreamWriter::from_raw(w)))
}

/// Prints a line to the component's stderr: `eprintln!`, also without
/// std. The export macros report a handler's error with it.
#[doc(hidden)]
pub fn eprintln(args: core::fmt::Arguments<'_>) {
    #[cfg(feature = "std")]
    std::eprintln!("{args}");
    #[cfg(all(not(feature = "std"), target_family = "wasm"))]
    runtime::eprint(format_args!("{args}\n"));
    #[cfg(all(not(feature = "std"), not(target_family = "wasm")))]
    let _ = args;
}

/// Exports an `async fn(StreamReader, StreamWriter) -> Result<()>` as the
/// component's connection handler (`wasio:streams/handler`). The host calls
/// it once per accepted connection, as asyncio calls `start_server`'s
/// `client_connected_cb`. An error it returns is printed to stderr and the
/// connection is closed.
#[macro_export]
macro_rules! export_handler {
    ($handler:path) => {
        struct __WasioHandler;
        impl $crate::handler::Guest for __WasioHandler {
            async fn handle(
                reader: $crate::handler::StreamReader,
                writer: $crate::handler::StreamWriter,
            ) {
                let reader = $crate::StreamReader::from_raw(reader);
                let writer = $crate::StreamWriter::from_raw(writer);
                if let Err(err) = $handler(reader, writer).await {
                    $crate::eprintln(format_args!("handler error: {err}"));
                }
            }
        }
        $crate::handler::export_handler_world!(__WasioHandler);
    };
}

/// Exports an `async fn(Vec<String>) -> Result<(), String>` as the
/// component's program (`wasio:streams/command`); `wasio run` calls it with
/// the arguments after `--`.
#[macro_export]
macro_rules! export_command {
    ($main:path) => {
        struct __WasioCommand;
        impl $crate::command::Guest for __WasioCommand {
            async fn run(
                args: $crate::__alloc::Vec<$crate::__alloc::String>,
            ) -> Result<(), $crate::__alloc::String> {
                $main(args).await
            }
        }
        $crate::command::export_command_world!(__WasioCommand);
    };
}
