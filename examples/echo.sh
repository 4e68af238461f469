#!/usr/bin/env bash
# The seed's echo server and client through wasio, in one terminal: starts
# `wasio serve` on a free loopback port, runs `wasio run` against it, prints
# both sides' output, and stops the server it started.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
wasio=target/release/wasio
out=$(mktemp)
"$wasio" serve --listen 127.0.0.1:0 >"$out" 2>/dev/null &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do grep -q '^Serving on' "$out" && break; sleep 0.1; done
port=$(sed -n 's/^Serving on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out")
[ -n "$port" ] || { echo "the server did not start" >&2; exit 1; }
echo "--- client (wasio run)"
"$wasio" run -- "Hello World!" 127.0.0.1 "$port"
sleep 0.2
echo "--- server (wasio serve)"
cat "$out"
