# A check of the wasio_streams API, as a wasio command component: in-memory
# readers (feed_data) through every read operation and exception, then the
# seed's echo server shape (start_server with a client_connected_cb) and a
# client of it, in one instance. Prints one line per check; any failure
# fails the run.
#
#   wasio run streams_check.wasm --allow-listen '127.0.0.1:*' --allow-connect '127.0.0.1:*'
import wasio_streams as asyncio

checks = []


def check(name):
    def register(f):
        checks.append((name, f))
        return f
    return register


def fed(data, limit=2**16):
    reader = asyncio.StreamReader(limit=limit)
    reader.feed_data(data)
    reader.feed_eof()
    return reader


async def raises(exc_type, awaitable):
    try:
        await awaitable
    except exc_type as e:
        return e
    raise AssertionError(f"expected {exc_type.__name__}")


@check("read, readline, readuntil, readexactly, at_eof")
async def _():
    r = fed(b"line 1\nline 2\nab|cd;ef")
    assert await r.readline() == b"line 1\n"
    assert await r.read(3) == b"lin"
    assert await r.readuntil() == b"e 2\n"
    assert await r.readuntil((b";", b"|")) == b"ab|"
    assert await r.readexactly(3) == b"cd;"
    assert not r.at_eof()
    assert await r.read() == b"ef"
    assert r.at_eof()
    assert await r.read(100) == b""
    assert await r.readline() == b""


@check("IncompleteReadError(partial, expected)")
async def _():
    e = await raises(asyncio.IncompleteReadError, fed(b"abc").readexactly(5))
    assert (e.partial, e.expected) == (b"abc", 5), (e.partial, e.expected)
    assert isinstance(e, EOFError)
    e = await raises(asyncio.IncompleteReadError, fed(b"abc").readuntil(b"\n"))
    assert (e.partial, e.expected) == (b"abc", None), (e.partial, e.expected)


@check("LimitOverrunError(consumed); readline's ValueError")
async def _():
    r = fed(b"0123456789\nnext\n", limit=4)
    e = await raises(asyncio.LimitOverrunError, r.readuntil(b"\n"))
    assert e.consumed > 0, e.consumed
    # readuntil leaves the data buffered; readline discards the long line,
    # raising ValueError as asyncio does.
    await raises(ValueError, r.readline())
    assert await r.readline() == b"next\n"


@check("async for line in reader")
async def _():
    lines = [line async for line in fed(b"a\nb\nc")]
    assert lines == [b"a\n", b"b\n", b"c"], lines


@check("set_exception, exception, bad arguments")
async def _():
    r = asyncio.StreamReader()
    r.set_exception(ConnectionResetError("gone"))
    assert isinstance(r.exception(), ConnectionResetError)
    await raises(ConnectionResetError, r.read(1))
    try:
        asyncio.StreamReader(limit=0)
        raise AssertionError("limit=0 accepted")
    except ValueError:
        pass
    await raises(ValueError, fed(b"").readuntil(b""))


async def handle_echo(reader, writer):
    async for line in reader:
        writer.write(line)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


@check("start_server, open_connection, writer")
async def _():
    server = await asyncio.start_server(handle_echo, '127.0.0.1', 0)
    addr = server.sockets[0].getsockname()
    assert server.is_serving()
    reader, writer = await asyncio.open_connection(*addr)
    assert writer.get_extra_info('peername') == addr
    assert writer.get_extra_info('sockname')[0] == '127.0.0.1'
    assert writer.get_extra_info('nonsense', 42) == 42
    writer.writelines([b"Hello ", b"World!\n"])
    writer.write(b"again\n")
    await writer.drain()
    assert await reader.readline() == b"Hello World!\n"
    assert await reader.readexactly(6) == b"again\n"
    assert writer.can_write_eof()
    writer.write_eof()
    assert await reader.read() == b""  # the server saw EOF and closed
    try:
        writer.write(b"late")
        raise AssertionError("a write after write_eof was accepted")
    except asyncio.ClosedError:
        pass
    writer.close()
    assert writer.is_closing()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()
    assert not server.is_serving()


async def main(args):
    for name, f in checks:
        await f()
        print(f"ok: {name}")
    print(f"all {len(checks)} checks passed")


WitWorld = asyncio.command(main)
