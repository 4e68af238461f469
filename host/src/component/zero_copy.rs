//! Host functions defined by hand where bindgen's would copy: bindgen
//! lifts a `list<u8>` argument into a `Vec`, a copy of the guest's bytes on
//! every call. These lift it as a [`WasmList`] and read the guest's memory
//! in place. They replace the bindgen definitions of the same names in the
//! linker, and translate exactly as those do (see [`super::host`]).

use super::bindings::streams as wit;
use super::state::HostState;
use crate::net::StreamWriter;
use crate::streams::StreamResult;
use wasmtime::StoreContextMut;
use wasmtime::component::{ComponentType, Linker, LinkerInstance, Lower, Resource, WasmList};

/// The interface's instance name in the linker.
const STREAMS: &str = "wasio:streams/streams@0.1.0";

/// Replaces `stream-writer.write` and `stream-writer.write-and-check-drain`
/// with versions that send straight from guest memory (what the socket
/// does not take at once is copied into the writer's queue): one
/// allocation and copy less per write, 64 KiB per chunk for a bulk echo.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let result = define(linker);
    linker.allow_shadowing(false);
    result
}

fn define(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    let mut streams = linker.instance(STREAMS)?;
    in_place(&mut streams, "[method]stream-writer.write", |w, data| {
        w.write_slice(data)
    })?;
    in_place(
        &mut streams,
        "[method]stream-writer.write-and-check-drain",
        |w, data| w.write_and_check_drain(data),
    )
}

/// Defines `name(writer, data)` as `op` on the writer and the guest's
/// bytes, read in place.
fn in_place<R>(
    streams: &mut LinkerInstance<'_, HostState>,
    name: &str,
    op: fn(&StreamWriter, &[u8]) -> StreamResult<R>,
) -> wasmtime::Result<()>
where
    R: ComponentType + Lower + Send + Sync + 'static,
{
    streams.func_wrap(
        name,
        move |store: StoreContextMut<'_, HostState>,
              (this, data): (Resource<StreamWriter>, WasmList<u8>)| {
            // Both are shared borrows of the store: the table lookup and
            // the view of guest memory.
            let writer = store.data().table.get(&this)?;
            let result = op(writer, data.as_le_slice(&store));
            Ok((result.map_err(wit::Error::from),))
        },
    )
}
