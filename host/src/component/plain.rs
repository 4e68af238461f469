//! `wasio:streams` for the plain engine (the one without concurrency
//! support, see [`super::engine`]): the interface's synchronous functions
//! only. bindgen's `add_to_linker` defines the `async func`s too, which
//! wasmtime refuses on such an engine; a component that runs there imports
//! none of them. Each definition here calls the same [`super::host`]
//! implementation as bindgen's does.

use super::bindings::streams::{self as wit, HostServer, HostStreamReader, HostStreamWriter};
use super::state::HostState;
use crate::net::{Server, StreamReader, StreamWriter};
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource, ResourceType};

/// The interface's instance name in the linker.
const STREAMS: &str = "wasio:streams/streams@0.1.0";

/// Defines `func-name(args) -> result` in a linker instance as the host
/// trait's method, and lists the names in [`SYNC_FUNCS`]. A function
/// without a result is written without `->`.
macro_rules! sync_funcs {
    ($($trait:ident $resource:literal $rtype:ty {
        $($name:literal => $method:ident($($arg:ident: $ty:ty),*) $(-> $result:ty)?;)*
    })*) => {
        /// The names of the functions [`add_to_linker`] defines.
        #[cfg(test)]
        pub(crate) const SYNC_FUNCS: &[&str] = &[$($(concat!("[method]", $resource, ".", $name),)*)*];

        fn define_funcs(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
            let mut streams = linker.instance(STREAMS)?;
            $($(
                streams.func_wrap(
                    concat!("[method]", $resource, ".", $name),
                    |mut store: StoreContextMut<'_, HostState>, (this, $($arg,)*): (Resource<$rtype>, $($ty,)*)| {
                        sync_funcs!(@call ($trait::$method(store.data_mut(), this $(, $arg)*)) $(-> $result)?)
                    },
                )?;
            )*)*
            Ok(())
        }
    };
    // A function without a result returns no tuple.
    (@call ($call:expr)) => { $call };
    (@call ($call:expr) -> $result:ty) => { $call.map(|r: $result| (r,)) };
}

type WitResult<T> = Result<T, wit::Error>;
type TryRead = Option<WitResult<Vec<u8>>>;

sync_funcs! {
    HostStreamReader "stream-reader" StreamReader {
        "feed-data" => feed_data(data: Vec<u8>) -> WitResult<()>;
        "feed-eof" => feed_eof();
        "set-exception" => set_exception(err: wit::Error);
        "exception" => exception() -> Option<wit::Error>;
        "limit" => limit() -> u32;
        "at-eof" => at_eof() -> bool;
        "try-read" => try_read(n: i64) -> TryRead;
        "try-readline" => try_readline() -> TryRead;
        "try-readexactly" => try_readexactly(n: u64) -> TryRead;
        "try-readuntil" => try_readuntil(separator: Vec<u8>) -> TryRead;
        "try-readuntil-any" => try_readuntil_any(separators: Vec<Vec<u8>>) -> TryRead;
        "subscribe" => subscribe() -> Resource<wasmtime_wasi::p2::DynPollable>;
    }
    HostStreamWriter "stream-writer" StreamWriter {
        "write" => write(data: Vec<u8>) -> WitResult<()>;
        "writelines" => writelines(chunks: Vec<Vec<u8>>) -> WitResult<()>;
        "try-drain" => try_drain() -> Option<WitResult<()>>;
        "write-and-check-drain" => write_and_check_drain(data: Vec<u8>) -> WitResult<bool>;
        "subscribe" => subscribe() -> Resource<wasmtime_wasi::p2::DynPollable>;
        "can-write-eof" => can_write_eof() -> bool;
        "write-eof" => write_eof() -> WitResult<()>;
        "close" => close();
        "abort" => abort();
        "is-closing" => is_closing() -> bool;
        "subscribe-closed" => subscribe_closed() -> Resource<wasmtime_wasi::p2::DynPollable>;
        "get-extra-info" => get_extra_info(name: String) -> Option<wit::Address>;
        "get-write-buffer-size" => get_write_buffer_size() -> u64;
        "set-write-buffer-limits" => set_write_buffer_limits(high: Option<u64>, low: Option<u64>) -> WitResult<()>;
    }
    HostServer "server" Server {
        "sockets" => sockets() -> Vec<wit::Address>;
        "close" => close();
        "is-serving" => is_serving() -> bool;
        "close-clients" => close_clients();
        "abort-clients" => abort_clients();
    }
}

/// Defines the interface's resources and synchronous functions.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    let mut streams = linker.instance(STREAMS)?;
    streams.resource(
        "stream-reader",
        ResourceType::host::<StreamReader>(),
        |mut store, rep| HostStreamReader::drop(store.data_mut(), Resource::new_own(rep)),
    )?;
    streams.resource(
        "stream-writer",
        ResourceType::host::<StreamWriter>(),
        |mut store, rep| HostStreamWriter::drop(store.data_mut(), Resource::new_own(rep)),
    )?;
    streams.resource(
        "server",
        ResourceType::host::<Server>(),
        |mut store, rep| HostServer::drop(store.data_mut(), Resource::new_own(rep)),
    )?;
    streams.func_wrap(
        "[constructor]stream-reader",
        |mut store: StoreContextMut<'_, HostState>, (limit,): (Option<u32>,)| {
            HostStreamReader::new(store.data_mut(), limit).map(|r| (r,))
        },
    )?;
    define_funcs(linker)
}

#[cfg(test)]
mod tests {
    use super::SYNC_FUNCS;

    /// Every synchronous function of the interface (the constructor
    /// apart, defined on its own), and nothing else, is in the table: a
    /// function added to the WIT but not here would be missing only for
    /// blocking-style guests.
    #[test]
    fn the_table_has_every_synchronous_function_of_the_wit() {
        // From strings, not `push_dir`: wit-parser's file reading needs its
        // `std` feature, which would give `semver` (shared with wasmtime)
        // other features in test builds and so rebuild wasmtime for them.
        let mut resolve = wit_parser::Resolve::default();
        resolve
            .push_source("poll.wit", include_str!("../../../wit/deps/io/poll.wit"))
            .expect("wasi:io parses");
        let package = resolve
            .push_source("streams.wit", include_str!("../../../wit/streams.wit"))
            .expect("the WIT parses");
        let streams = resolve.packages[package].interfaces["streams"];
        let mut in_wit: Vec<&str> = resolve.interfaces[streams]
            .functions
            .values()
            .filter(|f| !f.kind.is_async())
            .filter(|f| !matches!(f.kind, wit_parser::FunctionKind::Constructor(_)))
            .map(|f| f.name.as_str())
            .collect();
        let mut here = SYNC_FUNCS.to_vec();
        in_wit.sort_unstable();
        here.sort_unstable();
        assert_eq!(here, in_wit);
    }
}
