"""asyncio's Streams API for Python guests of wasio.

This wraps the componentize-py bindings of the `wasio:streams` WIT
(`wit/streams.wit`) in the shapes of asyncio's own Streams API, so that code
written for `asyncio.open_connection` / `asyncio.start_server` runs as a
wasio component with almost no change::

    import wasio_streams as asyncio

    async def handle_echo(reader, writer):
        data = await reader.read(100)
        ...

    WitWorld = asyncio.handler(handle_echo)      # world wasio:streams/handler

A component module exports its world through a class named `WitWorld`
(componentize-py's convention); `handler(cb)` and `command(main)` make that
class from a plain coroutine function.

Errors are raised as the exceptions asyncio raises: `IncompleteReadError`
and `LimitOverrunError` are asyncio's own classes, the connection errors
are Python's built-in `ConnectionRefusedError`, `ConnectionResetError`, ...
Where asyncio silently drops a write (after `close` or `write_eof`), wasio
raises `ClosedError`.
"""

import asyncio as _asyncio
import sys as _sys
import traceback as _traceback

from componentize_py_types import Err as _Err, Ok as _Ok
from wit_world.imports import streams as _wit

__all__ = [
    "IncompleteReadError",
    "LimitOverrunError",
    "ClosedError",
    "WriteBufferFullError",
    "ReadBufferFullError",
    "StreamReader",
    "StreamWriter",
    "Server",
    "open_connection",
    "open_unix_connection",
    "start_server",
    "start_unix_server",
    "create_task",
    "gather",
    "handler",
    "command",
]

_DEFAULT_LIMIT = 2**16  # 64 KiB, as asyncio's

# A handler instance never exits the way a Python program does, so output
# must not wait in a block buffer for an interpreter shutdown that never
# comes: flush at every line, as on a terminal.
for _stream in (_sys.stdout, _sys.stderr):
    try:
        _stream.reconfigure(line_buffering=True)
    except (AttributeError, ValueError):
        pass

# asyncio's exceptions, so that `except asyncio.IncompleteReadError` in
# existing code catches what wasio raises.
IncompleteReadError = _asyncio.IncompleteReadError
LimitOverrunError = _asyncio.LimitOverrunError
create_task = _asyncio.create_task
gather = _asyncio.gather


class _LineLimitOverrunError(LimitOverrunError, ValueError):
    """`readline` past the limit: asyncio raises `ValueError` there, wasio
    reports `LimitOverrunError` (with `consumed`); this is both."""


class ClosedError(ConnectionError):
    """A write after `close` or `write_eof` (asyncio drops it silently), or
    `accept` on a closed server."""


class WriteBufferFullError(BufferError):
    """The host's cap on unsent bytes would be exceeded; `drain` first."""

    def __init__(self, cap):
        super().__init__(f"the write buffer is full (cap {cap} bytes)")
        self.cap = cap


class ReadBufferFullError(BufferError):
    """The host's cap on buffered, unread bytes is reached: `read(-1)` or a
    large `readexactly` cannot complete."""

    def __init__(self, cap):
        super().__init__(f"the read buffer is full (cap {cap} bytes)")
        self.cap = cap


# The `wasio:streams` `error` cases by binding class name (`Error_<Case>`),
# with the exception each one becomes.
_EXCEPTIONS = {
    "Error_IncompleteRead": lambda v: IncompleteReadError(v.partial, v.expected),
    "Error_LimitOverrun": lambda v: LimitOverrunError(v.message, v.consumed),
    "Error_ConnectionRefused": ConnectionRefusedError,
    "Error_ConnectionReset": ConnectionResetError,
    "Error_ConnectionAborted": ConnectionAbortedError,
    "Error_NotPermitted": PermissionError,
    "Error_Closed": lambda v: ClosedError("closed"),
    "Error_ReadBufferFull": ReadBufferFullError,
    "Error_WriteBufferFull": WriteBufferFullError,
    "Error_InvalidArgument": ValueError,
    "Error_InvalidState": RuntimeError,
    "Error_TimedOut": TimeoutError,
    "Error_Io": OSError,
}


def _exception(err):
    """The Python exception for a `wasio:streams` `error` value."""
    make = _EXCEPTIONS.get(type(err).__name__)
    if make is None:
        return OSError(repr(err))
    return make(getattr(err, "value", None))


def _error(exc):
    """The `wasio:streams` `error` value for a Python exception
    (`StreamReader.set_exception`)."""
    if isinstance(exc, IncompleteReadError):
        return _wit.Error_IncompleteRead(_wit.IncompleteRead(bytes(exc.partial), exc.expected))
    if isinstance(exc, LimitOverrunError):
        return _wit.Error_LimitOverrun(_wit.LimitOverrun(str(exc.args[0]) if exc.args else "", exc.consumed))
    if isinstance(exc, ClosedError):
        return _wit.Error_Closed()
    for cls, case in (
        (ConnectionRefusedError, "Error_ConnectionRefused"),
        (ConnectionResetError, "Error_ConnectionReset"),
        (ConnectionAbortedError, "Error_ConnectionAborted"),
        (PermissionError, "Error_NotPermitted"),
        (ValueError, "Error_InvalidArgument"),
        (RuntimeError, "Error_InvalidState"),
        (TimeoutError, "Error_TimedOut"),
    ):
        if isinstance(exc, cls):
            return getattr(_wit, case)(str(exc))
    return _wit.Error_Io(f"{type(exc).__name__}: {exc}")


def _address(addr):
    """`get_extra_info`'s value in asyncio's form: `(host, port)` for IPv4,
    `(host, port, flowinfo, scope_id)` for IPv6, the path for Unix."""
    if addr is None:
        return None
    if isinstance(addr, _wit.Address_Inet):
        host, port = addr.value.host, addr.value.port
        return (host, port, 0, 0) if ":" in host else (host, port)
    return addr.value


async def _call(coroutine):
    """Awaits a binding call, raising its error as a Python exception."""
    try:
        return await coroutine
    except _Err as e:
        raise _exception(e.value) from None


def _sync(function, *args):
    try:
        return function(*args)
    except _Err as e:
        raise _exception(e.value) from None


def _raise(err):
    raise err


def _new_reader(limit):
    """`stream-reader`'s constructor, which returns `result<stream-reader,
    error>`. componentize-py 0.25.1 generates constructors that take the
    call's value for the resource itself (`tmp.finalizer`, `tmp.handle`),
    so with a `result` they fail with "'Ok' object has no attribute
    'finalizer'". For the length of the call, `Ok` forwards those two to the
    resource it holds, and `Err` raises itself."""
    _Ok.handle = property(lambda ok: ok.value.handle)
    _Ok.finalizer = property(lambda ok: ok.value.finalizer)
    _Err.finalizer = property(_raise)
    try:
        return _wit.StreamReader(limit)
    finally:
        del _Ok.handle, _Ok.finalizer, _Err.finalizer


class StreamReader:
    """`asyncio.StreamReader`."""

    def __init__(self, limit=_DEFAULT_LIMIT, *, _resource=None):
        # StreamReader(limit) is an in-memory reader fed by feed_data and
        # feed_eof, as asyncio's; the others come from the host.
        self._r = _resource if _resource is not None else _sync(_new_reader, limit)
        self._limit = self._r.limit()

    def __repr__(self):
        return f"<wasio_streams.StreamReader limit={self._limit}>"

    def feed_data(self, data):
        _sync(self._r.feed_data, bytes(data))

    def feed_eof(self):
        self._r.feed_eof()

    def set_exception(self, exc):
        self._r.set_exception(_error(exc))

    def exception(self):
        err = self._r.exception()
        return None if err is None else _exception(err)

    def at_eof(self):
        """True if the buffer is empty and `feed_eof` was called (or the
        peer closed)."""
        return self._r.at_eof()

    async def read(self, n=-1):
        """Up to `n` bytes (`n < 0`: everything up to EOF); b'' at EOF."""
        return await _call(self._r.read(n))

    async def readline(self):
        """One line ending in b'\\n'; the partial line at EOF. A line past
        the limit raises `ValueError` (as asyncio), here also a
        `LimitOverrunError` with `consumed`."""
        try:
            return await _call(self._r.readline())
        except LimitOverrunError as e:
            raise _LineLimitOverrunError(e.args[0], e.consumed) from None

    async def readexactly(self, n):
        """Exactly `n` bytes, or `IncompleteReadError` at EOF."""
        if n < 0:
            raise ValueError("readexactly size can not be less than zero")
        return await _call(self._r.readexactly(n))

    async def readuntil(self, separator=b"\n"):
        """Data up to and including `separator` (or, as in Python 3.13, the
        first of a tuple of separators)."""
        if isinstance(separator, tuple):
            return await _call(self._r.readuntil_any([bytes(s) for s in separator]))
        return await _call(self._r.readuntil(bytes(separator)))

    def __aiter__(self):
        return self

    async def __anext__(self):
        val = await self.readline()
        if val == b"":
            raise StopAsyncIteration
        return val


class StreamWriter:
    """`asyncio.StreamWriter`."""

    def __init__(self, resource, reader=None):
        self._w = resource
        self._reader = reader
        # Set by a write after which the host said a drain would return at
        # once; cleared by every other writer call (see drain).
        self._drained = False

    def __repr__(self):
        return f"<wasio_streams.StreamWriter peername={self.get_extra_info('peername')!r}>"

    @property
    def transport(self):
        # The writer is its own transport: get_write_buffer_size,
        # set_write_buffer_limits, is_closing, close, write_eof, ...
        return self

    def write(self, data):
        self._drained = False
        self._drained = _sync(self._w.write_and_check_drain, bytes(data))

    def writelines(self, data):
        self._drained = False
        _sync(self._w.writelines, [bytes(d) for d in data])

    def write_eof(self):
        self._drained = False
        _sync(self._w.write_eof)

    def can_write_eof(self):
        return self._w.can_write_eof()

    def close(self):
        self._drained = False
        self._w.close()

    def abort(self):
        """`transport.abort()`: close at once, dropping unsent bytes."""
        self._drained = False
        self._w.abort()

    def is_closing(self):
        return self._w.is_closing()

    async def wait_closed(self):
        await _call(self._w.wait_closed())

    async def drain(self):
        # The write before this one already learnt that there is no need
        # to wait: no host call at all.
        if self._drained:
            self._drained = False
            return
        # The host answers at once when there is no need to wait, which
        # saves an async call per write.
        ready = self._w.try_drain()
        if ready is None:
            await _call(self._w.drain())
        elif isinstance(ready, _Err):
            raise _exception(ready.value)

    def get_extra_info(self, name, default=None):
        if name in ("peername", "sockname"):
            addr = _address(self._w.get_extra_info(name))
            return default if addr is None else addr
        return default

    def get_write_buffer_size(self):
        return self._w.get_write_buffer_size()

    def set_write_buffer_limits(self, high=None, low=None):
        self._drained = False
        _sync(self._w.set_write_buffer_limits, high, low)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.close()
        await self.wait_closed()


def _pair(resources):
    reader, writer = resources
    reader = StreamReader(_resource=reader)
    return reader, StreamWriter(writer, reader)


async def open_connection(host=None, port=None, *, limit=_DEFAULT_LIMIT):
    """`asyncio.open_connection`: `(reader, writer)`."""
    return _pair(await _call(_wit.open_connection(host, port, _wit.ConnectOptions(limit))))


async def open_unix_connection(path=None, *, limit=_DEFAULT_LIMIT):
    """`asyncio.open_unix_connection`: `(reader, writer)`."""
    return _pair(await _call(_wit.open_unix_connection(str(path), _wit.ConnectOptions(limit))))


class _Socket:
    """What `Server.sockets` holds: enough of a socket for `getsockname()`."""

    def __init__(self, address):
        self._address = address

    def getsockname(self):
        return self._address

    def __repr__(self):
        return f"<wasio_streams socket {self._address!r}>"


class Server:
    """`asyncio.Server`: accepts connections and runs `client_connected_cb`
    for each, as a task of this component instance."""

    def __init__(self, resource, client_connected_cb):
        self._s = resource
        self._cb = client_connected_cb
        self._serving = None  # the accept loop's task
        self._closed = _asyncio.get_event_loop().create_future()

    @property
    def sockets(self):
        return tuple(_Socket(_address(a)) for a in self._s.sockets())

    def is_serving(self):
        return self._s.is_serving()

    def close(self):
        self._s.close()
        if not self._closed.done():
            self._closed.set_result(None)

    async def start_serving(self):
        if self._serving is None:
            self._serving = _asyncio.create_task(self._accept_loop())

    async def serve_forever(self):
        await self.start_serving()
        await self._serving

    def close_clients(self):
        self._s.close_clients()

    def abort_clients(self):
        self._s.abort_clients()

    async def wait_closed(self):
        await self._closed
        if self._serving is not None:
            await self._serving  # the accept loop ends with the server
        if hasattr(self._s, "wait_closed"):
            await self._s.wait_closed()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.close()
        await self.wait_closed()

    async def _accept_loop(self):
        while True:
            try:
                reader, writer = _pair(await _call(self._s.accept()))
            except ClosedError:  # error::closed: the server was closed
                return
            _asyncio.create_task(self._run_cb(reader, writer))

    async def _run_cb(self, reader, writer):
        try:
            result = self._cb(reader, writer)
            if _asyncio.iscoroutine(result):
                await result
        except Exception:
            print("Unhandled exception in client_connected_cb", file=_sys.stderr)
            _traceback.print_exc()
            writer.close()


async def start_server(client_connected_cb, host=None, port=None, *, limit=_DEFAULT_LIMIT,
                       backlog=100, start_serving=True):
    """`asyncio.start_server`: needs `--allow-listen HOST:PORT` from the host.
    The server serves while this component's task runs: await
    `serve_forever()` (as asyncio's examples do)."""
    resource = await _call(_wit.start_server(host or "0.0.0.0", port or 0,
                                             _wit.ServerOptions(limit, backlog)))
    server = Server(resource, client_connected_cb)
    if start_serving:
        await server.start_serving()
    return server


async def start_unix_server(client_connected_cb, path=None, *, limit=_DEFAULT_LIMIT,
                            backlog=100, start_serving=True):
    """`asyncio.start_unix_server`: needs `--allow-listen unix:PATH`."""
    resource = await _call(_wit.start_unix_server(str(path), _wit.ServerOptions(limit, backlog)))
    server = Server(resource, client_connected_cb)
    if start_serving:
        await server.start_serving()
    return server


def handler(client_connected_cb):
    """The `WitWorld` class of a `wasio:streams/handler` component: the host
    calls `client_connected_cb(reader, writer)` once per connection, as
    `asyncio.start_server` does. An exception it raises is printed to
    stderr and closes the connection."""
    import wit_world

    class WitWorld(wit_world.WitWorld):
        async def handle(self, reader, writer):
            reader, writer = _pair((reader, writer))
            try:
                await client_connected_cb(reader, writer)
            except Exception:
                print("Unhandled exception in client_connected_cb", file=_sys.stderr)
                _traceback.print_exc()
                writer.close()

    return WitWorld


def command(main):
    """The `WitWorld` class of a `wasio:streams/command` component: the host
    calls `main(args)` (a coroutine function taking the argument list) once.
    An exception fails the run: `wasio run` prints it and exits with 1."""
    import wit_world

    class WitWorld(wit_world.WitWorld):
        async def run(self, args):
            try:
                await main(list(args))
            except SystemExit as e:
                if e.code not in (None, 0):
                    raise _Err(str(e.code)) from None
            except Exception as e:
                raise _Err(f"{type(e).__name__}: {e}") from None

    return WitWorld
