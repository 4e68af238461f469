//! Blocking-style handlers: the same streams API with plain (non-async)
//! calls.
//!
//! Each call that waits (`read`, `readline`, `drain`, ...) blocks the
//! handler's own stack until it completes; the host runs other connections
//! meanwhile, each handler on a stack of its own. For a handler that does
//! one thing at a time on its connection (most do) this is the faster
//! style: a wait costs one stack switch, where an async call costs a
//! subtask, a waitable set and a callback into the guest (1.5–1.7× the
//! round trips per second of an echo server; see BENCHMARKS.md).
//!
//! Reads and `drain` cost least: they call the non-blocking `try-` form
//! and, when it would wait, block on the stream's `wasi:io/poll` pollable
//! (`stream-reader.subscribe`, `stream-writer.subscribe`) and try again. A
//! synchronous call of an `async func` (`wait-closed`, `open-connection`)
//! makes the host run a subtask even so; blocking on a pollable does not.
//!
//! ```ignore
//! use wasio_guest::StreamError;
//! use wasio_guest::blocking::{StreamReader, StreamWriter};
//!
//! fn handle_echo(reader: StreamReader, writer: StreamWriter) -> Result<(), StreamError> {
//!     let data = reader.read(100)?;
//!     writer.write(&data)?;
//!     writer.drain()?;
//!     writer.close();
//!     Ok(())
//! }
//!
//! wasio_guest::export_blocking_handler!(handle_echo);
//! ```
//!
//! What it cannot do: run tasks side by side within one handler
//! (`create_task`, `start_server`'s task per connection), for which the
//! async API is there. And since the component model does not enter a
//! synchronously lifted export again while a call of it is in progress, one
//! instance serves one connection at a time: `wasio serve --instance-model
//! pooled` reuses such instances one connection after another.
//!
//! Both styles implement the same `wasio:streams/handler` world; the
//! difference is only in how the component lowers its imports and lifts
//! `handle` (the canonical ABI's `async` option).

mod reader;
mod writer;

pub use reader::StreamReader;
pub use writer::StreamWriter;

use crate::{ConnectOptions, Result};

/// The `wasio:streams` imports lowered synchronously. The interface's
/// plain types are shared with the async bindings, so errors and addresses
/// convert the same way.
pub mod bindings {
    wit_bindgen::generate!({
        world: "imports",
        path: "../../wit",
        sync: ["all"],
        with: {
            "wasio:streams/streams@0.1.0/error": wasio_guest::raw::Error,
            "wasio:streams/streams@0.1.0/incomplete-read": wasio_guest::raw::IncompleteRead,
            "wasio:streams/streams@0.1.0/limit-overrun": wasio_guest::raw::LimitOverrun,
            "wasio:streams/streams@0.1.0/address": wasio_guest::raw::Address,
            "wasio:streams/streams@0.1.0/inet-address": wasio_guest::raw::InetAddress,
            "wasio:streams/streams@0.1.0/connect-options": wasio_guest::raw::ConnectOptions,
            "wasio:streams/streams@0.1.0/server-options": wasio_guest::raw::ServerOptions,
            "wasi:io/poll@0.2.0": wasio_guest::bindings::wasi::io::poll,
        },
    });
}

pub(crate) use bindings::wasio::streams::streams as raw;

/// A module of export glue for `$world`, lifted synchronously over the
/// blocking imports, with its export macro named `$export_macro`.
macro_rules! sync_exports {
    ($world:literal, $export_macro:literal, $module:literal) => {
        wit_bindgen::generate!({
            world: $world,
            path: "../../wit",
            sync: ["all"],
            with: {
                "wasio:streams/streams@0.1.0": wasio_guest::blocking::bindings::wasio::streams::streams,
                "wasi:io/poll@0.2.0": wasio_guest::bindings::wasi::io::poll,
            },
            pub_export_macro: true,
            export_macro_name: $export_macro,
            default_bindings_module: $module,
            runtime_path: "wasio_guest::wit_bindgen::rt",
        });
    };
}

/// The `handler` world's export, lifted synchronously (used by
/// [`export_blocking_handler!`](crate::export_blocking_handler)).
#[doc(hidden)]
pub mod handler {
    sync_exports!(
        "blocking-handler",
        "export_blocking_handler_world",
        "wasio_guest::blocking::handler"
    );
}

/// The `command` world's export, lifted synchronously (used by
/// [`export_blocking_command!`](crate::export_blocking_command)).
#[doc(hidden)]
pub mod command {
    sync_exports!(
        "blocking-command",
        "export_blocking_command_world",
        "wasio_guest::blocking::command"
    );
}

/// `asyncio.open_connection(host, port)`, blocking until connected. The
/// host grants addresses with `--allow-connect`.
pub fn open_connection(host: &str, port: u16) -> Result<(StreamReader, StreamWriter)> {
    let (r, w) = raw::open_connection(host, port, ConnectOptions { limit: None })?;
    Ok((StreamReader::from_raw(r), StreamWriter::from_raw(w)))
}

/// `asyncio.open_unix_connection(path)`, blocking until connected.
pub fn open_unix_connection(path: &str) -> Result<(StreamReader, StreamWriter)> {
    let (r, w) = raw::open_unix_connection(path, ConnectOptions { limit: None })?;
    Ok((StreamReader::from_raw(r), StreamWriter::from_raw(w)))
}

/// Exports an `fn(StreamReader, StreamWriter) -> Result<()>` (the
/// [`blocking`](crate::blocking) types) as the component's connection
/// handler (`wasio:streams/handler`), lifted synchronously. An error it
/// returns is printed to stderr (also without std) and the connection is
/// closed.
#[macro_export]
macro_rules! export_blocking_handler {
    ($handler:path) => {
        struct __WasioBlockingHandler;
        impl $crate::blocking::handler::Guest for __WasioBlockingHandler {
            fn handle(
                reader: $crate::blocking::handler::StreamReader,
                writer: $crate::blocking::handler::StreamWriter,
            ) {
                let reader = $crate::blocking::StreamReader::from_raw(reader);
                let writer = $crate::blocking::StreamWriter::from_raw(writer);
                if let Err(err) = $handler(reader, writer) {
                    $crate::eprintln(format_args!("handler error: {err}"));
                }
            }
        }
        $crate::blocking::handler::export_blocking_handler_world!(__WasioBlockingHandler);
    };
}

/// Exports an `fn(Vec<String>) -> Result<(), String>` as the component's
/// program (`wasio:streams/command`, run by `wasio run`), lifted
/// synchronously: the blocking counterpart of
/// [`export_command!`](crate::export_command). It gets the arguments
/// after `--`; an `Err` is printed by the host and makes it exit with
/// status 1.
#[macro_export]
macro_rules! export_blocking_command {
    ($main:path) => {
        struct __WasioBlockingCommand;
        impl $crate::blocking::command::Guest for __WasioBlockingCommand {
            fn run(
                args: $crate::__alloc::Vec<$crate::__alloc::String>,
            ) -> Result<(), $crate::__alloc::String> {
                $main(args)
            }
        }
        $crate::blocking::command::export_blocking_command_world!(__WasioBlockingCommand);
    };
}
