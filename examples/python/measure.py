#!/usr/bin/env python3
"""Measures a handler component under `wasio serve`: the time from start to
"Serving on" (compiling the component), the time per connection of N
sequential echo connections (a fresh instance each), and the server's
memory with K connections open at once (K live instances).

    python3 examples/python/measure.py [--wasio target/release/wasio]
        [-n 200] [-k 50] [COMPONENT...] [-- SERVE_FLAGS...]

With no component it measures the bundled Rust echo server and
target/python/echo_server.wasm. Uses loopback only; every wait is bounded.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MESSAGE = b"Hello World!"
TIMEOUT = 30


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start(wasio, component, flags):
    args = [wasio, "serve"] + ([component] if component else []) + ["--listen", "127.0.0.1:0"] + flags
    t0 = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()  # bounded by the compile; killed below otherwise
    startup = time.monotonic() - t0
    if not line.startswith("Serving on 127.0.0.1:"):
        proc.kill()
        sys.exit(f"wasio serve {component}: unexpected first line {line!r}")
    port = int(line.rsplit(":", 1)[1])
    # Drain the handler's output so that the pipe never fills.
    subprocess.Popen(["cat"], stdin=proc.stdout, stdout=subprocess.DEVNULL)
    return proc, port, startup


def echo(port):
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(MESSAGE)
        data = b""
        while len(data) < len(MESSAGE):
            chunk = s.recv(100)
            if not chunk:
                break
            data += chunk
        assert data == MESSAGE, data
        s.recv(100)  # EOF: the handler closed


def measure(wasio, component, n, k, flags):
    name = (component or "bundled Rust echo server") + "".join(" " + f for f in flags)
    proc, port, startup = start(wasio, component, flags)
    try:
        for _ in range(5):  # warm-up
            echo(port)
        rss_idle = rss_kib(proc.pid)
        times = []
        for _ in range(n):
            t0 = time.monotonic()
            echo(port)
            times.append(time.monotonic() - t0)
        # K connections open at once, each handler waiting in read(100).
        socks = [socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) for _ in range(k)]
        time.sleep(1.0)
        rss_open = rss_kib(proc.pid)
        for s in socks:
            s.sendall(MESSAGE)
        for s in socks:
            assert s.recv(100) == MESSAGE
            s.close()
        size = os.path.getsize(component) if component else 0
        print(f"{name}:")
        if size:
            print(f"  size                      {size / 1e6:.1f} MB")
        print(f"  start to 'Serving on'     {startup:.2f} s")
        print(f"  per connection (n={n})    mean {statistics.mean(times) * 1e3:.2f} ms, "
              f"median {statistics.median(times) * 1e3:.2f} ms, "
              f"p90 {sorted(times)[int(n * 0.9)] * 1e3:.2f} ms")
        print(f"  RSS idle                  {rss_idle / 1024:.0f} MiB")
        print(f"  RSS with {k} open          {rss_open / 1024:.0f} MiB "
              f"({(rss_open - rss_idle) / k / 1024:.2f} MiB per connection)")
    finally:
        proc.kill()
        proc.wait(TIMEOUT)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--wasio", default=os.path.join(ROOT, "target/release/wasio"))
    p.add_argument("-n", type=int, default=200)
    p.add_argument("-k", type=int, default=50)
    p.add_argument("components", nargs="*")
    argv = sys.argv[1:]
    flags = argv[argv.index("--") + 1:] if "--" in argv else []
    a = p.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    components = a.components or [None, os.path.join(ROOT, "target/python/echo_server.wasm")]
    for c in components:
        measure(a.wasio, c, a.n, a.k, flags)


if __name__ == "__main__":
    main()
