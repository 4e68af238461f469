#!/usr/bin/env bash
# Benchmarks wasio's echo handlers (a fresh instance per connection) against
# a native Tokio echo server, uvloop and CPython asyncio, on
# loopback, and writes BENCHMARKS.md, bench/throughput.png and the raw
# result lines bench/results.jsonl.
#
# Every server runs pinned to one core (taskset -c $SERVER_CPU) and the
# load generator to the other ($LOAD_CPU), with the same loads; within each
# repetition the servers take turns column by column (their order rotating
# from one repetition to the next), so slow drift on this shared machine
# hits all of them alike. Each run starts a fresh server and stops it after.
#
# Usage: bench/run.sh            (about 20 minutes on 2 cores)
# Knobs (environment): BENCH_DURATION (5 s), BENCH_WARMUP (1 s),
# BENCH_REPS (3), BENCH_IDLE_CONNS (10000), BENCH_COLUMNS (all),
# BENCH_SERVER_CPU (0), BENCH_LOAD_CPU (1), BENCH_OUT (BENCHMARKS.md);
# BENCH_REPORT_ONLY=1 skips the runs and rewrites the report from
# bench/results.jsonl (e.g. after editing bench/analysis.md).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-5}
WARMUP=${BENCH_WARMUP:-1}
REPS=${BENCH_REPS:-3}
IDLE_CONNS=${BENCH_IDLE_CONNS:-10000}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
LOAD_CPU=${BENCH_LOAD_CPU:-1}
COLUMNS=${BENCH_COLUMNS:-"pp1 pp10 pp50 pp100 pp1000 lines50 bulk1 bulk10"}
OUT_MD=${BENCH_OUT:-BENCHMARKS.md}
RESULTS=bench/results.jsonl
PLOT=bench/throughput.png
WORK=target/bench
VENV=target/bench-venv
SERVERS=(wasio-raw wasio-lines wasio-raw-async tokio uvloop asyncio)
REPORT_ONLY=${BENCH_REPORT_ONLY:-0}
# The exact command, with the knobs that were set.
COMMAND=""
for knob in BENCH_DURATION BENCH_WARMUP BENCH_REPS BENCH_IDLE_CONNS BENCH_COLUMNS \
  BENCH_SERVER_CPU BENCH_LOAD_CPU; do
  if [[ -n ${!knob:-} ]]; then COMMAND+="$knob='${!knob}' "; fi
done
COMMAND+="bench/run.sh"
# The revision measured, taken before the run rewrites its own output files
# (which would make every run's tree `-dirty`).
REV_MEASURED=$(git describe --always --dirty 2>/dev/null || echo unknown)

log() { printf '%s [bench] %s\n' "$(date +%T)" "$*" >&2; }

# --- build -----------------------------------------------------------------
log "building wasio and wasio-bench (release)"
cargo build --release -p wasio -p wasio-bench
# The instantiation benchmark (host/benches/instantiate.rs): the same
# release build, found through cargo's JSON messages: the artifact of the
# target named `instantiate` (the messages also name the `wasio` binary,
# in an order that depends on what was rebuilt).
INSTANTIATE=$(cargo bench -p wasio --bench instantiate --no-run --message-format=json 2>/dev/null \
  | grep '"name":"instantiate"' \
  | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n1)
WASIO=target/release/wasio
BENCH=target/release/wasio-bench
GUEST=target/guest/wasm32-wasip2/release
HANDLERS=(echo_raw.wasm echo_lines.wasm echo_raw_async.wasm)
for f in "$WASIO" "$BENCH" "$INSTANTIATE" "${HANDLERS[@]/#/$GUEST/}"; do
  [[ -e $f ]] || { log "missing $f after the build"; exit 1; }
done
# Copies, so that a concurrent cargo build in this tree cannot replace the
# binaries halfway through the runs.
mkdir -p "$WORK/bin"
cp "$WASIO" "$BENCH" "${HANDLERS[@]/#/$GUEST/}" "$WORK/bin/"
cp "$INSTANTIATE" "$WORK/bin/instantiate"
WASIO=$WORK/bin/wasio
BENCH=$WORK/bin/wasio-bench
INSTANTIATE=$WORK/bin/instantiate
GUEST=$WORK/bin

if [[ $REPORT_ONLY == 1 ]]; then
  [[ -s $RESULTS ]] || { log "no $RESULTS to report on"; exit 1; }
  log "report only, from $RESULTS"
fi

# --- Python peers ----------------------------------------------------------
if [[ $REPORT_ONLY != 1 && ! -x $VENV/bin/python ]]; then
  log "creating $VENV"
  python3 -m venv "$VENV"
fi
if [[ $REPORT_ONLY != 1 ]] && ! "$VENV/bin/python" -c 'import uvloop' 2>/dev/null; then
  log "installing uvloop from PyPI into $VENV"
  "$VENV/bin/pip" install --quiet uvloop
fi
PY=$VENV/bin/python

# 10,000 connections need 10,000 descriptors on each side, plus margin.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# --- process bookkeeping: only what this script started is killed ----------
STARTED=()
cleanup() {
  local pid
  for pid in "${STARTED[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${STARTED[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
# forget PID: after it has been waited for, so that cleanup never signals a
# recycled process id.
forget() {
  local keep=() pid
  for pid in "${STARTED[@]}"; do
    [[ $pid == "$1" ]] || keep+=("$pid")
  done
  STARTED=("${keep[@]}")
}
trap 'exit 130' INT TERM

mkdir -p "$WORK/logs"

SERVER_PID=
SERVER_ADDR=

# start_server SERVER LINES(0|1): a fresh server on a free loopback port,
# pinned to the server core; sets SERVER_PID and SERVER_ADDR.
start_server() {
  local name=$1 lines=$2 cmd
  case $name in
    wasio-raw) cmd=("$WASIO" serve "$GUEST/echo_raw.wasm") ;;
    wasio-lines) cmd=("$WASIO" serve "$GUEST/echo_lines.wasm") ;;
    wasio-raw-async) cmd=("$WASIO" serve "$GUEST/echo_raw_async.wasm") ;;
    tokio) cmd=("$BENCH" echo-server) ;;
    uvloop) cmd=("$PY" bench/peers/echo_server.py --uvloop) ;;
    asyncio) cmd=("$PY" bench/peers/echo_server.py) ;;
    *) log "unknown server $name"; exit 1 ;;
  esac
  case $name in
    wasio-*) cmd+=(--listen 127.0.0.1:0) ;;
    *) if [[ $lines == 1 ]]; then cmd+=(--lines); fi ;;
  esac
  local out=$WORK/logs/$name.out
  : >"$out"
  taskset -c "$SERVER_CPU" "${cmd[@]}" >"$out" 2>"$WORK/logs/$name.err" &
  SERVER_PID=$!
  STARTED+=("$SERVER_PID")
  local i
  for i in $(seq 300); do
    SERVER_ADDR=$(sed -n 's/^Serving on //p' "$out" | head -n1)
    [[ -n $SERVER_ADDR ]] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  log "$name did not start: $(tail -n5 "$WORK/logs/$name.err")"
  exit 1
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  forget "$SERVER_PID"
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# load_args COLUMN SERVER: the load generator's subcommand and flags for a
# column (empty when the server does not take part in it).
load_args() {
  local column=$1 server=$2 mode=pingpong
  # The line-echo handler gets the same 64-byte messages, newline-ended.
  [[ $server == wasio-lines ]] && mode=lines
  # The async echo is a comparison of handler styles: pingpong and
  # connection rate only.
  if [[ $server == wasio-raw-async && $column != pp* && $column != connect ]]; then
    return 0
  fi
  case $column in
    pp*) echo "load --mode $mode --size 64 --connections ${column#pp}" ;;
    lines50)
      [[ $server == wasio-raw* ]] && return 0
      echo "load --mode lines --size 64 --connections 50" ;;
    bulk*)
      [[ $server == wasio-lines ]] && return 0
      echo "load --mode bulk --size 65536 --connections ${column#bulk}" ;;
    connect) echo "connect-rate --connections 16 --size 64" ;;
    *) log "unknown column $column"; exit 1 ;;
  esac
}

# cpu_ticks PID: user + system CPU time so far, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run_one REP COLUMN SERVER: one fresh server, one load, one result line;
# plus the CPU both sides used inside the measured window (which side is
# saturated, and the server's CPU time per operation) and, for pp1000, the
# server's resident memory.
run_one() {
  local rep=$1 column=$2 server=$3 args lines=0
  args=$(load_args "$column" "$server")
  [[ -z $args ]] && return 0
  [[ $column == lines* ]] && lines=1
  start_server "$server" "$lines"
  local tags=(--tag "server=$server" --tag "column=$column" --tag "rep=$rep")
  local load_err=$WORK/logs/load.err
  : >"$load_err"
  # shellcheck disable=SC2086 # $args is a list of flags
  taskset -c "$LOAD_CPU" "$BENCH" $args --addr "$SERVER_ADDR" \
    --duration "$DURATION" --warmup "$WARMUP" "${tags[@]}" >"$WORK/line.json" 2>"$load_err" &
  local load=$!
  STARTED+=("$load")
  # The sampling window: from 0.5 s after the measured window starts to
  # 0.5 s before it ends. A `load` run says on stderr when its connections
  # are open (the warm-up starts then); connect-rate has no such phase.
  local window i
  window=$(awk -v d="$DURATION" 'BEGIN {w = d - 1; print (w > 0.5 ? w : 0)}')
  if [[ $args == load* && $window != 0 ]]; then
    for i in $(seq 600); do
      grep -q '^connected' "$load_err" && break
      kill -0 "$load" 2>/dev/null || break
      sleep 0.05
    done
    if ! grep -q '^connected' "$load_err"; then
      log "no 'connected' line from the load generator: no CPU sample for $server $column"
      window=0
    fi
  fi
  if [[ $window != 0 ]]; then
    sleep "$(awk -v w="$WARMUP" 'BEGIN {print w + 0.5}')"
    local s0 l0 s1 l1
    s0=$(cpu_ticks "$SERVER_PID")
    l0=$(cpu_ticks "$load")
    sleep "$window"
    s1=$(cpu_ticks "$SERVER_PID")
    l1=$(cpu_ticks "$load")
    printf '{"mode":"cpu","server":"%s","column":"%s","rep":"%s","window_s":%s,"clk_tck":%s,"server_ticks":%s,"load_ticks":%s}\n' \
      "$server" "$column" "$rep" "$window" "$(getconf CLK_TCK)" "$((s1 - s0))" "$((l1 - l0))" \
      >>"$RESULTS"
    if [[ $column == pp1000 ]]; then
      # Resident memory with 1000 connections open and busy.
      printf '{"mode":"rss","server":"%s","column":"rss1000","rep":"%s","rss_kib":%s}\n' \
        "$server" "$rep" "$(rss_kib "$SERVER_PID")" >>"$RESULTS"
    fi
  fi
  wait "$load" || log "load generator failed: $server $column rep $rep: $(tail -n3 "$load_err")"
  forget "$load"
  cat "$WORK/line.json" >>"$RESULTS"
  log "rep $rep $column $server: $(cut -c1-160 "$WORK/line.json")"
  stop_server
}

# --- the table's columns (and the plot's sweep) ----------------------------
measure() {
  : >"$RESULTS"
  local start load_before rep order column server before during hold_out holder
  start=$(date +%s)
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  for rep in $(seq "$REPS"); do
    # Rotate the order each repetition.
    order=("${SERVERS[@]:$(( (rep - 1) % ${#SERVERS[@]} ))}" "${SERVERS[@]:0:$(( (rep - 1) % ${#SERVERS[@]} ))}")
    for column in $COLUMNS; do
      for server in "${order[@]}"; do
        run_one "$rep" "$column" "$server"
      done
    done
  done

  # --- new connections per second --------------------------------------------
  for rep in $(seq "$REPS"); do
    for server in "${SERVERS[@]}"; do
      run_one "$rep" connect "$server"
    done
  done

  # --- instantiation time per connection ------------------------------------
  for rep in $(seq "$REPS"); do
    taskset -c "$SERVER_CPU" "$INSTANTIATE" 20000 "${HANDLERS[@]/#/$GUEST/}" \
      | sed "s/^{/{\"rep\":\"$rep\",/" >>"$RESULTS"
  done
  log "instantiation: $(grep '"mode":"instantiate"' "$RESULTS" | tail -n2 | cut -c1-160 | tr '\n' ' ')"

  # --- idle connections: memory per connection -------------------------------
  for server in wasio-raw wasio-lines tokio; do
    start_server "$server" 0
    sleep 1
    before=$(rss_kib "$SERVER_PID")
    hold_out=$WORK/hold.json
    : >"$hold_out"
    taskset -c "$LOAD_CPU" "$BENCH" hold --addr "$SERVER_ADDR" --connections "$IDLE_CONNS" \
      --hold 300 --tag "server=$server" --tag column=idle >"$hold_out" 2>"$WORK/logs/hold.err" &
    holder=$!
    STARTED+=("$holder")
    for _ in $(seq 1200); do
      [[ -s $hold_out ]] && break
      kill -0 "$holder" 2>/dev/null || break
      sleep 0.25
    done
    sleep 2 # let the server settle with everything open
    during=$(rss_kib "$SERVER_PID")
    kill "$holder" 2>/dev/null || true
    wait "$holder" 2>/dev/null || true
    forget "$holder"
    if [[ -s $hold_out ]]; then
      cat "$hold_out" >>"$RESULTS"
    else
      log "holder for $server printed nothing: $(tail -n3 "$WORK/logs/hold.err")"
    fi
    printf '{"mode":"rss","server":"%s","column":"idle","rss_before_kib":%s,"rss_kib":%s}\n' \
      "$server" "$before" "$during" >>"$RESULTS"
    log "idle $server: $(cut -c1-200 "$hold_out") rss ${before} -> ${during} KiB"
    stop_server
  done
  # What the report needs to say about this run, kept with its results so
  # that BENCH_REPORT_ONLY=1 can rewrite the report later.
  printf '{"mode":"meta","command":"%s","rev":"%s","date":"%s","minutes":%s,"load_before":"%s","load_after":"%s","duration":"%s","warmup":"%s","reps":"%s","idle_conns":"%s","python":"%s","uvloop":"%s"}\n' \
    "$COMMAND" "$REV_MEASURED" "$(date -u +%Y-%m-%d)" \
    "$(( ($(date +%s) - start) / 60 ))" "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    "$DURATION" "$WARMUP" "$REPS" "$IDLE_CONNS" "$("$PY" --version 2>&1)" \
    "$("$PY" -c 'import uvloop; print(uvloop.__version__)')" >>"$RESULTS"
}

if [[ $REPORT_ONLY != 1 ]]; then
  measure
fi

# --- report ------------------------------------------------------------------
"$BENCH" plot --input "$RESULTS" --output "$PLOT"
TABLES=$("$BENCH" table --input "$RESULTS")
SHORT=$("$BENCH" table --input "$RESULTS" --shortfalls)
# meta KEY: a field of the run's meta record.
meta() {
  python3 -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("mode") == "meta":
        print(r.get(sys.argv[2], ""))
        break' "$RESULTS" "$1"
}
COMMAND=$(meta command)
DURATION=$(meta duration)
WARMUP=$(meta warmup)
REPS=$(meta reps)
IDLE_CONNS=$(meta idle_conns)
REV=$(meta rev)
CPU_MODEL=$(lscpu | sed -n 's/^Model name: *//p' | head -n1)
ANALYSIS=bench/analysis.md

{
  cat <<EOF
# Benchmarks

wasio's echo handlers, one fresh component instance per connection, beside
a native Tokio echo server, uvloop and CPython asyncio streams
echo servers: the table of issue 5, measured by \`$COMMAND\` on
$(meta date) at revision \`$REV\` ($(meta minutes) minutes).
Round trips per second, MB/s (10^6 bytes) echoed, resident memory; every
echoed byte is verified by the load generator.

![Pingpong throughput against connection count](bench/throughput.png)

## Results

$TABLES

## Targets missed in this run

$SHORT

EOF
  if [[ -f $ANALYSIS ]]; then
    cat "$ANALYSIS"
    echo
  fi
  cat <<EOF
## Method

- Command: \`$COMMAND\` from the repository root (it builds everything,
  creates \`$VENV\` with uvloop from PyPI, runs, and writes this file,
  \`$PLOT\` and the raw result lines \`$RESULTS\`).
- Servers, each started fresh for every run on a free loopback port and
  pinned with \`taskset -c $SERVER_CPU\`:
  - \`wasio serve echo_raw.wasm\` (guest/echo-raw: \`read(65536)\`, \`write\`,
    \`drain\` until EOF) and \`wasio serve echo_lines.wasm\` (guest/echo-lines:
    \`readline\`, \`write\`, \`drain\` until EOF), both written with the
    blocking guest API (\`wasio_guest::blocking\`) and \`no_std\` (no WASI
    start-up imports; see wasio-guest's \`std\` feature); and, in the
    pingpong and connection-rate columns, \`wasio serve echo_raw_async.wasm\`
    (guest/echo-raw-async: echo-raw's loop with the async guest API, also
    \`no_std\`). The default per-connection instance model and default flags;
  - \`wasio-bench echo-server [--lines]\`: Tokio, with the same scheduler
    as wasio (current-thread on one core: both pick it when the process may
    run on one CPU), a task per connection, 64 KiB reads, or
    \`read_until('\\n')\` + \`write_all\`;
  - \`bench/peers/echo_server.py [--lines] [--uvloop]\`: \`asyncio.start_server\`
    with the same loops as the wasio handlers, on CPython's event loop or on
    uvloop.
- The load generator \`wasio-bench load\` is pinned with \`taskset -c $LOAD_CPU\`
  (Tokio's current-thread scheduler). It opens all connections first (64
  connects in flight; every server listens with backlog 1024, so none is
  dropped and retried) and says so on stderr; then all start together:
  ${WARMUP} s of warm-up are not counted, then ${DURATION} s are measured. The
  CPU table's samples run from 0.5 s into the measured window (timed from
  that stderr line) to 0.5 s before its end.
  - pingpong: each connection sends a 64-byte message and waits for all 64
    bytes of the echo before the next; for the \`echo_lines\` handler the
    message is 63 bytes and a newline (the same bytes on the wire). Latency
    is per round trip, recorded in an HDR histogram.
  - lines: the same with newline-ended messages against line-echo servers.
  - bulk: each connection writes 64 KiB chunks continuously while it reads
    the echo back on the same connection; at the end it half-closes, reads
    the rest and checks that everything written came back.
  - Messages are successive slices of a fixed pseudo-random pattern (period
    a prime number of bytes, offset per connection), compared byte for byte:
    a wrong, shifted, lost or cross-connection echo is an error.
- RSS at 1000 conns: VmRSS of the server from /proc while the 1000-connection
  pingpong run is halfway through its measured window.
- New connections per second: \`wasio-bench connect-rate\`, 16 connectors
  (enough to keep the server's core busy: with 4, wasio's stayed a few per
  cent idle and accepted 17–18k/s where 16 reach 21–22k/s), each
  connecting, sending one 64-byte line, half-closing and reading the echo to
  the server's close, over and over; latency is connect to close (for wasio
  it includes instantiating the handler). Connections come from 127.0.0.1
  to 127.0.0.16 in turn: from a single source address every server,
  Tokio's included, stalled at ~14,400/s on this machine (too few
  ephemeral ports, each reused while the server still held its last
  connection in TIME_WAIT).
- Instantiation: \`host/benches/instantiate.rs\` (pinned like the servers)
  times 20,000 instantiations of each handler after 2,000 uncounted, as
  \`wasio serve\` does per connection with its default engine settings (new
  store with its WASI context, limits and watchdog, then
  \`instantiate_async\` from the pre-linked component), and separately the
  store's drop (which returns the pool slot); once per repetition.
- Idle connections: \`wasio-bench hold\` opens ${IDLE_CONNS} connections (one
  exchange each, so each is accepted and, for wasio, instantiated) and holds
  them; the server's VmRSS is read before and with them open.
- ${REPS} repetitions; within each, every column runs every server in turn,
  the order rotating per repetition; the tables show medians and the spread.

## Machine

- $(nproc) CPUs: ${CPU_MODEL:-unknown}; $(free -g | awk '/^Mem:/ {print $2}') GiB memory;
  Linux $(uname -r).
- $(rustc --version); $(meta python); uvloop $(meta uvloop).
- Load average (1, 5, 15 min) before: $(meta load_before); after: $(meta load_after). The
  machine is shared (builds may run beside the benchmark), so compare
  ratios from the same run rather than absolute numbers across runs.
EOF
} >"$OUT_MD"
log "wrote $OUT_MD, $PLOT and $RESULTS"
