# The seed's TCP echo client, as a wasio command component (world
# wasio:streams/command). Compare ../tcp_echo_client.py: `tcp_echo_client`
# is the seed's, with the host and port as parameters.
#
#   wasio run echo_client.wasm --allow-connect 127.0.0.1:8888 -- [MESSAGE [HOST [PORT]]]
import wasio_streams as asyncio


async def tcp_echo_client(message, host='127.0.0.1', port=8888):
    reader, writer = await asyncio.open_connection(host, port)

    print(f'Send: {message!r}')
    writer.write(message.encode())
    await writer.drain()

    data = await reader.read(100)
    print(f'Received: {data.decode()!r}')

    print('Close the socket')
    writer.close()
    await writer.wait_closed()


# Instead of the seed's `asyncio.run(tcp_echo_client('Hello World!'))`:
# `wasio run` calls main with the arguments after `--`.
async def main(args):
    message = args[0] if len(args) > 0 else 'Hello World!'
    host = args[1] if len(args) > 1 else '127.0.0.1'
    port = int(args[2]) if len(args) > 2 else 8888
    await tcp_echo_client(message, host, port)


WitWorld = asyncio.command(main)
