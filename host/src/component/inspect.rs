//! What the host reads from a component's binary that wasmtime does not
//! report: how the component lifts its exports (the canonical ABI options
//! it chose), and whether it uses the component model's async features.
//!
//! Lifting matters for the pooled instance model. A `handle` lifted without
//! `async` (a blocking-style handler: its calls block its own stack) is
//! not entered again while a call is in progress, so one instance can
//! serve only one connection at a time; an async-lifted one serves many.

use wasmparser::{
    CanonicalFunction, CanonicalOption, ComponentAlias, ComponentExternalKind, ComponentTypeRef,
    Parser, Payload, Validator, WasmFeatures,
};

/// The features of the component model's concurrency: what a component
/// may not use to run on an engine without concurrency support (the set
/// wasmtime 48's `Config` requires it for).
const CONCURRENCY: WasmFeatures = WasmFeatures::CM_ASYNC
    .union(WasmFeatures::CM_MORE_ASYNC_BUILTINS)
    .union(WasmFeatures::CM_ASYNC_STACKFUL)
    .union(WasmFeatures::CM_THREADING)
    .union(WasmFeatures::CM_ERROR_CONTEXT);

/// Whether the component in `bytes` uses any of the component model's
/// async features (an `async func` type, an async lift or lower, a stream,
/// future or task built-in): whether it fails to validate without them.
/// Any other invalidity counts as a use, so that the error comes from the
/// engine that supports everything.
pub fn uses_concurrency(bytes: &[u8]) -> bool {
    let without = WasmFeatures::all().difference(CONCURRENCY);
    Validator::new_with_features(without)
        .validate_all(bytes)
        .is_err()
}

/// How a component-level function is lifted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifting {
    /// Without `async`: each call runs on a stack of its own and blocks
    /// there when it waits; the instance takes no other such call
    /// meanwhile.
    Sync,
    /// `async` with a callback: the guest returns to the host whenever it
    /// waits, and one instance runs many calls at once.
    AsyncCallback,
    /// `async` without a callback (stackful): many calls at once, each on
    /// a stack of its own.
    AsyncStackful,
}

impl Lifting {
    /// Whether one instance may run several calls of the function at once.
    pub fn runs_calls_concurrently(self) -> bool {
        self != Lifting::Sync
    }
}

/// How the component in `bytes` lifts its export `name`: `None` when it
/// does not export a lifted function by that name (or is not a component).
pub fn export_lifting(bytes: &[u8], name: &str) -> Option<Lifting> {
    // The outer component's function index space: `Some` for functions it
    // lifts itself, `None` for imported and aliased ones.
    let mut funcs: Vec<Option<Lifting>> = Vec::new();
    // Nested modules and components have index spaces of their own.
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.ok()?;
        match payload {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            Payload::ComponentImportSection(imports) => {
                for import in imports {
                    if matches!(import.ok()?.ty, ComponentTypeRef::Func(_)) {
                        funcs.push(None);
                    }
                }
            }
            Payload::ComponentAliasSection(aliases) => {
                for alias in aliases {
                    if let ComponentAlias::InstanceExport {
                        kind: ComponentExternalKind::Func,
                        ..
                    } = alias.ok()?
                    {
                        funcs.push(None);
                    }
                }
            }
            Payload::ComponentCanonicalSection(canonicals) => {
                for canonical in canonicals {
                    // Every other canonical function is a core function.
                    if let CanonicalFunction::Lift { options, .. } = canonical.ok()? {
                        funcs.push(Some(lifting_of(&options)));
                    }
                }
            }
            Payload::ComponentExportSection(exports) => {
                for export in exports {
                    let export = export.ok()?;
                    if export.kind != ComponentExternalKind::Func {
                        continue;
                    }
                    let lifted = *funcs.get(export.index as usize)?;
                    if export.name.name == name {
                        return lifted;
                    }
                    // An export is a new function index too.
                    funcs.push(lifted);
                }
            }
            _ => {}
        }
    }
    None
}

fn lifting_of(options: &[CanonicalOption]) -> Lifting {
    let is_async = options.iter().any(|o| matches!(o, CanonicalOption::Async));
    let has_callback = options
        .iter()
        .any(|o| matches!(o, CanonicalOption::Callback(_)));
    match (is_async, has_callback) {
        (false, _) => Lifting::Sync,
        (true, true) => Lifting::AsyncCallback,
        (true, false) => Lifting::AsyncStackful,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundled;

    #[test]
    fn the_bundled_handlers_lifting_is_read() {
        // echo-server is written with the async guest API, echo-lines with
        // the blocking one.
        assert_eq!(
            export_lifting(bundled::ECHO_SERVER, "handle"),
            Some(Lifting::AsyncCallback)
        );
        assert_eq!(
            export_lifting(bundled::ECHO_LINES, "handle"),
            Some(Lifting::Sync)
        );
        assert_eq!(
            export_lifting(bundled::ECHO_CLIENT, "run"),
            Some(Lifting::AsyncCallback)
        );
        // The blocking-style client, which is not bundled.
        let blocking = concat!(env!("WASIO_GUEST_DIR"), "/echo_client_blocking.wasm");
        assert_eq!(
            export_lifting(&std::fs::read(blocking).unwrap(), "run"),
            Some(Lifting::Sync)
        );
    }

    #[test]
    fn blocking_style_components_use_no_concurrency() {
        let guest = |name: &str| {
            let path = format!("{}/{name}.wasm", env!("WASIO_GUEST_DIR"));
            std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
        };
        // The blocking-handler and blocking-command worlds' `no_std`
        // handlers, and the blocking test handler.
        for plain in ["echo_raw", "echo_lines", "test_blocking"] {
            assert!(!uses_concurrency(&guest(plain)), "{plain}");
        }
        // Written with the async guest API, or calling an `async func`
        // (the blocking client's `open-connection`).
        for concurrent in ["echo_raw_async", "echo_server", "echo_client_blocking"] {
            assert!(uses_concurrency(&guest(concurrent)), "{concurrent}");
        }
        assert!(uses_concurrency(b"not wasm"));
    }

    #[test]
    fn a_missing_export_or_a_non_component_is_none() {
        assert_eq!(export_lifting(bundled::ECHO_SERVER, "run"), None);
        assert_eq!(export_lifting(b"not wasm", "handle"), None);
        // A core module (magic and version 1) has no component exports.
        assert_eq!(export_lifting(b"\0asm\x01\0\0\0", "handle"), None);
    }
}
