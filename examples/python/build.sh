#!/usr/bin/env bash
# Builds the Python guests into WebAssembly components with componentize-py:
#
#   target/python/echo_server.wasm   handler (world wasio:streams/handler)
#   target/python/echo_client.wasm   command (world wasio:streams/command)
#   target/python/streams_check.wasm command: a check of the wasio_streams API
#
# It creates a virtual environment (target/python-venv), installs the pinned
# componentize-py from PyPI into it, writes the WIT's Python bindings for
# editors and type checkers (target/python/bindings/<world>; componentize-py
# generates the real ones itself while building), and builds the components.
# Components newer than their sources (this folder and wit/) are kept;
# `--force` rebuilds them.
#
# Exit status: 0 built (or up to date); 3 the toolchain cannot be installed
# (no python3 with venv, or componentize-py not installable, e.g. PyPI out of
# reach); 1 any other failure (a build error). tests/python_guests.rs runs
# this script and skips only on 3.
#
# Environment: PYTHON (default python3), CARGO_TARGET_DIR (default target/).
set -euo pipefail

COMPONENTIZE_PY_VERSION=0.25.1

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
case $target in /*) ;; *) target=$root/$target ;; esac
venv=$target/python-venv
out=$target/python
python=${PYTHON:-python3}
force=0
[ "${1:-}" = --force ] && force=1

# component:world:module
components=(
    "echo_server:handler:echo_server"
    "echo_client:command:echo_client"
    "streams_check:command:streams_check"
)

mkdir -p "$out"

# One build at a time (tests may start this from several processes).
if command -v flock >/dev/null; then
    exec 9>"$out/.build.lock"
    flock 9
fi

sources=$(find "$here" "$root/wit" -type f \( -name '*.py' -o -name '*.wit' \) -not -path '*/__pycache__/*' -not -name measure.py)
up_to_date() {
    local wasm=$1 src
    [ -f "$wasm" ] || return 1
    for src in $sources; do
        [ "$src" -nt "$wasm" ] && return 1
    done
    return 0
}
if [ $force = 0 ]; then
    stale=0
    for c in "${components[@]}"; do
        up_to_date "$out/${c%%:*}.wasm" || stale=1
    done
    if [ $stale = 0 ]; then
        echo "build.sh: Python components up to date in $out"
        exit 0
    fi
fi

start=$(date +%s)

# The toolchain: a venv with the pinned componentize-py.
cpy=$venv/bin/componentize-py
if ! { [ -x "$cpy" ] && [ "$("$cpy" --version 2>/dev/null)" = "componentize-py $COMPONENTIZE_PY_VERSION" ]; }; then
    if ! command -v "$python" >/dev/null; then
        echo "build.sh: cannot install the toolchain: $python not found" >&2
        exit 3
    fi
    echo "build.sh: creating $venv and installing componentize-py $COMPONENTIZE_PY_VERSION"
    rm -rf "$venv"
    if ! "$python" -m venv "$venv"; then
        echo "build.sh: cannot install the toolchain: '$python -m venv' failed" >&2
        exit 3
    fi
    if ! "$venv/bin/python" -m pip install --disable-pip-version-check --quiet \
        --timeout 30 --retries 2 "componentize-py==$COMPONENTIZE_PY_VERSION"; then
        rm -rf "$venv"
        echo "build.sh: cannot install the toolchain: pip could not install componentize-py==$COMPONENTIZE_PY_VERSION" >&2
        exit 3
    fi
fi
echo "build.sh: $("$cpy" --version) in $venv ($(($(date +%s) - start)) s)"

# Bindings (stubs) for editors and type checkers.
for world in handler command; do
    rm -rf "$out/bindings/$world"
    "$cpy" -d "$root/wit" -w "$world" bindings "$out/bindings/$world"
done

# The components. componentize-py imports the module at build time (a
# pre-initialized snapshot), so import-time errors show up here.
for c in "${components[@]}"; do
    IFS=: read -r name world module <<<"$c"
    t0=$(date +%s)
    # Keep componentize-py away from the venv's site-packages: the
    # components need only this folder.
    env -u VIRTUAL_ENV "$cpy" -q -d "$root/wit" -w "$world" componentize \
        -p "$here" "$module" -o "$out/$name.wasm.tmp"
    mv "$out/$name.wasm.tmp" "$out/$name.wasm"
    size=$(wc -c <"$out/$name.wasm")
    echo "build.sh: $out/$name.wasm ($world, $((size / 1024)) KiB, $(($(date +%s) - t0)) s)"
done
echo "build.sh: done in $(($(date +%s) - start)) s"
