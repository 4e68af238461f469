//! Builds the guest components (../guest, for wasm32-wasip2) so that the
//! `wasio` binary can embed the echo handler and client, and tests can load
//! every component. Installs the wasm32-wasip2 target with rustup when it is
//! missing, so a fresh machine needs no manual step.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir
        .parent()
        .expect("host/ is inside the workspace");
    let guest = root.join("guest");
    // Guests get a target directory of their own (outside guest/, which is
    // watched for changes) so this nested cargo never waits on the outer
    // build's lock.
    let target_dir = root.join("target").join("guest");

    for watched in ["guest", "wit"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=WASIO_SKIP_TARGET_INSTALL");

    ensure_target();
    check_every_component_is_built(&guest);

    // Three builds, because cargo unifies a dependency's features over one
    // build: the `no_std` components (built with any std one, wasio-guest
    // would get its `std` feature), the other components wasio ships and
    // benchmarks, without wit-bindgen's inter-task wake-ups (a cost on
    // every sleep of a task), and the test components, which use them.
    for packages in GROUPS {
        build_guests(&guest, &target_dir, packages);
    }

    let out = target_dir.join(TARGET).join("release");
    for name in GROUPS.iter().copied().flatten() {
        let file = out.join(format!("{}.wasm", name.replace('-', "_")));
        assert!(
            file.exists(),
            "guest build did not produce {}",
            file.display()
        );
    }
    println!("cargo:rustc-env=WASIO_GUEST_DIR={}", out.display());
}

/// The `no_std` components wasio embeds and the benchmarks run.
const PRODUCT_NO_STD: &[&str] = &["echo-lines", "echo-raw", "echo-raw-async"];
/// The other components wasio embeds and the benchmarks run.
const PRODUCT: &[&str] = &["echo-server", "echo-client", "echo-client-blocking"];
/// The components only the tests use.
const TESTS: &[&str] = &["test-handler", "test-blocking", "conformance"];
/// Every component, in the groups that are built separately.
const GROUPS: [&[&str]; 3] = [PRODUCT_NO_STD, PRODUCT, TESTS];

/// Panics when a guest directory (a member crate other than the library)
/// is in no group, which would leave it unbuilt without a word.
fn check_every_component_is_built(guest: &Path) {
    let entries =
        std::fs::read_dir(guest).unwrap_or_else(|e| panic!("cannot list {}: {e}", guest.display()));
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_crate = entry.path().join("Cargo.toml").is_file();
        let listed = GROUPS.iter().copied().flatten().any(|p| *p == name);
        if is_crate && name != "wasio-guest" && !listed {
            panic!("guest/{name} is in no group of host/build.rs (GROUPS): add it to one");
        }
    }
}

/// Builds `packages` of the guest workspace for wasm32-wasip2 in release.
fn build_guests(guest: &Path, target_dir: &Path, packages: &[&str]) {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(guest)
        .args(["build", "--release", "--target", TARGET, "--target-dir"])
        .arg(target_dir);
    for package in packages {
        cmd.args(["-p", package]);
    }
    // Variables cargo sets for this build script (or the user set for the
    // host build) that must not leak into the guest build.
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_FEATURE_")
            || key.starts_with("CARGO_CFG_")
            || key.starts_with("CARGO_PROFILE_")
            || key.starts_with("CARGO_TARGET_")
            || matches!(
                &*key,
                "CARGO_ENCODED_RUSTFLAGS"
                    | "RUSTFLAGS"
                    | "CARGO_BUILD_TARGET"
                    | "CARGO_BUILD_RUSTFLAGS"
                    | "RUSTC_WRAPPER"
                    | "RUSTC_WORKSPACE_WRAPPER"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
            )
        {
            cmd.env_remove(&*key);
        }
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build the guests: {e}"));
    if !status.success() {
        panic!(
            "building the guest components {packages:?} in {} failed ({status})",
            guest.display()
        );
    }
}

/// Installs the wasm32-wasip2 standard library with rustup if this
/// toolchain lacks it (RUSTUP_AUTO_INSTALL=0 is common, and a
/// rust-toolchain.toml would not add targets then).
fn ensure_target() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed = |root: &Path| root.join("lib/rustlib").join(TARGET).join("lib").exists();
    if sysroot.as_deref().is_some_and(installed) {
        return;
    }
    if env::var_os("WASIO_SKIP_TARGET_INSTALL").is_some() {
        panic!("the {TARGET} target is not installed: run `rustup target add {TARGET}`");
    }
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .unwrap_or_else(|e| panic!("cannot run rustup to install {TARGET}: {e}; install it with `rustup target add {TARGET}`"));
    if !status.success() {
        panic!("`rustup target add {TARGET}` failed ({status})");
    }
    // Cargo shows a build script's warnings once it has finished, and again
    // on later builds that reuse its output: so the note says what happened
    // on the first build, not what is happening now.
    println!(
        "cargo:warning=the {TARGET} target was missing: installed it with rustup (on the first build)"
    );
}
