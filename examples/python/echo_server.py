# The seed's TCP echo server's `handle_echo`, as a wasio handler component
# (world wasio:streams/handler): `wasio serve` calls it once per connection,
# as asyncio.start_server calls its client_connected_cb. Compare
# ../tcp_echo_server.py: `handle_echo` is the seed's, line for line.
import wasio_streams as asyncio


async def handle_echo(reader, writer):
    data = await reader.read(100)
    message = data.decode()
    addr = writer.get_extra_info('peername')
    print(f"Received {message!r} from {addr!r}")

    print(f"Send: {message!r}")
    writer.write(data)
    await writer.drain()

    print("Close the client socket")
    writer.close()
    await writer.wait_closed()


# Instead of the seed's `main()` with `asyncio.start_server(handle_echo,
# '127.0.0.1', 8888)`: the host listens (`wasio serve --listen ADDR`) and
# calls handle_echo for each connection.
WitWorld = asyncio.handler(handle_echo)
