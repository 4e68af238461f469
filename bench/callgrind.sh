#!/usr/bin/env bash
# User-space instructions per pingpong message (MODE=lines: per line
# message, for a line-echo handler; MODE=connect: per new connection) of
# `wasio serve`, counted by
# valgrind's callgrind: a figure that repeats to within about 1% from run
# to run on this shared machine, where times move by 20-50%. For A/B
# comparisons of a change to the per-message path (bench/run.sh is for
# the ratios against the other servers).
#
#   bench/callgrind.sh [COMPONENT.wasm] [wasio serve flags...]
#
# Defaults: the echo_raw handler, 50 connections (CONNECTIONS=N to
# change), a 2-second uncounted warm-up, then 5 counted seconds. Prints
# one line: instructions per message, and the messages counted. KEEP=FILE
# keeps the callgrind profile (read it with callgrind_annotate);
# CALLGRIND_FLAGS adds valgrind flags (e.g. --cache-sim=yes, whose cache
# misses show where a larger working set costs). Kernel
# time is not counted (callgrind sees user space only), nor are the load's
# connects and warm-up.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is not installed" >&2; exit 1; }
cargo build --release -p wasio -p wasio-bench >&2
WASM=${1:-target/guest/wasm32-wasip2/release/echo_raw.wasm}
shift || true
CONNECTIONS=${CONNECTIONS:-50}
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# A small instance pool: valgrind cannot reserve the address space of the
# default one (10,000 slots). One thread, as bench/run.sh's pinned server
# has (valgrind runs one thread at a time anyway).
# shellcheck disable=SC2086 # CALLGRIND_FLAGS is a list of flags
valgrind --tool=callgrind ${CALLGRIND_FLAGS:-} --callgrind-out-file="$WORK/cg.out" \
  target/release/wasio --threads 1 serve "$WASM" --listen "127.0.0.1:$PORT" \
  --max-connections $((CONNECTIONS + 16)) "$@" >"$WORK/serve.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT

# Under valgrind the server takes a few seconds to start: wait up to 60 s.
for _ in $(seq 600); do
  grep -q "^Serving on" "$WORK/serve.log" 2>/dev/null && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
  sleep 0.1
done
grep -q "^Serving on" "$WORK/serve.log" || { echo "callgrind.sh: the server did not start" >&2; exit 1; }

MODE=${MODE:-pingpong}
case $MODE in
  pingpong | lines)
    LOAD=(target/release/wasio-bench load --mode "$MODE" --size 64 --connections "$CONNECTIONS") ;;
  connect)
    # As bench/run.sh's connection-rate column: 16 connectors, one line each.
    LOAD=(target/release/wasio-bench connect-rate --connections 16 --size 64) ;;
  *) echo "callgrind.sh: MODE is pingpong, lines or connect, not $MODE" >&2; exit 1 ;;
esac
# One load: 2 s of warm-up, then 5 counted seconds. The counters are
# zeroed when the load says its window starts and dumped when it says the
# window ends, so that neither its connects (an instantiation each) nor
# the instances' teardown after it are counted.
"${LOAD[@]}" --addr "127.0.0.1:$PORT" --warmup 2 --duration 5 >"$WORK/load.json" 2>"$WORK/load.log" &
LOADER=$!
# wait_for LINE: until the load prints LINE on stderr (at most 60 s).
wait_for() {
  for _ in $(seq 1200); do
    grep -qx "$1" "$WORK/load.log" && return 0
    kill -0 "$LOADER" 2>/dev/null || break
    sleep 0.05
  done
  grep -qx "$1" "$WORK/load.log" || { echo "callgrind.sh: the load did not print '$1'" >&2; cat "$WORK/load.log" >&2; exit 1; }
}
wait_for measuring
callgrind_control -z "$SERVER" >/dev/null 2>&1
wait_for "window ends"
callgrind_control -d "$SERVER" >/dev/null 2>&1
wait "$LOADER"
kill -INT "$SERVER"
wait "$SERVER" 2>/dev/null || true

PROFILE=$(ls "$WORK"/cg.out.* | head -n1)
[[ -n ${KEEP:-} ]] && cp "$PROFILE" "$KEEP"
python3 - "$PROFILE" "$WORK/load.json" "$MODE" <<'PY'
import json, sys
total = next(int(l.split()[1]) for l in open(sys.argv[1]) if l.startswith("summary:"))
load = json.load(open(sys.argv[2]))
if load["errors"]:
    sys.exit(f"callgrind.sh: the load had errors: {load['first_error']}")
unit = "connection" if sys.argv[3] == "connect" else "message"
print(f"{total / load['ops']:.0f} instructions per {unit} ({load['ops']} {unit}s)")
PY
