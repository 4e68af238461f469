#!/usr/bin/env python3
"""Echo servers on CPython's asyncio streams, the API wasio mirrors, for
the benchmark's comparison: raw (read(65536), write, drain until EOF) or
--lines (readline, write, drain until EOF); --uvloop runs the same code on
uvloop's event loop. Prints "Serving on HOST:PORT" once listening.

Kept out of the product: only bench/run.sh uses it.
"""

import argparse
import asyncio
import sys

# Matches the wasio echo_raw handler's read size and the host's read chunk.
CHUNK = 65536
# `wasio serve`'s default listen backlog, which the native Tokio server uses
# too (asyncio's default, 100, overflows while 1000 connections open).
BACKLOG = 1024


async def echo_raw(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass  # the client reset: its business, not a server failure
    finally:
        writer.close()


async def echo_lines(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            writer.write(line)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def serve(args: argparse.Namespace) -> None:
    handler = echo_lines if args.lines else echo_raw
    server = await asyncio.start_server(handler, args.host, args.port, backlog=BACKLOG)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"Serving on {host}:{port}", flush=True)
    async with server:
        # A forgotten server goes away by itself.
        await asyncio.wait_for(server.serve_forever(), timeout=args.max_secs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--lines", action="store_true", help="echo line by line")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop")
    parser.add_argument("--max-secs", type=float, default=3600.0)
    args = parser.parse_args()
    try:
        if args.uvloop:
            import uvloop

            uvloop.run(serve(args))
        else:
            asyncio.run(serve(args))
    except (KeyboardInterrupt, asyncio.TimeoutError):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
