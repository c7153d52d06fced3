"""A small round-robin TCP balancer for the load test's app servers: `python -m loadtests.balancer`.

    python -m loadtests.balancer --listen 8000 --to 127.0.0.1:8001,127.0.0.1:8002

Each new client connection goes to the next server in turn and is piped both
ways until either side closes. (Locust's users keep their connections, so each
user sticks to one server, as behind a balancer with keep-alive.)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import signal


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def serve(port: int, servers: list[tuple[str, int]]) -> None:
    turn = itertools.cycle(servers)

    async def connect(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        host, server_port = next(turn)
        try:
            server_reader, server_writer = await asyncio.open_connection(host, server_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))

    server = await asyncio.start_server(connect, "127.0.0.1", port)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=int, required=True, help="port on 127.0.0.1")
    parser.add_argument("--to", required=True, help="host:port,host:port,...")
    args = parser.parse_args(argv)
    servers = [(host, int(port)) for host, port in (item.rsplit(":", 1) for item in args.to.split(","))]
    asyncio.run(serve(args.listen, servers))


if __name__ == "__main__":
    main()
