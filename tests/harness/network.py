"""Loopback ports: a free one, and a plain TCP listener that counts connections."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass


def free_port() -> int:
    """A loopback port that was free a moment ago: nothing is listening on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Listener:
    """A plain TCP listener that only counts connections."""

    port: int
    connections: int = 0


@asynccontextmanager
async def listening() -> AsyncIterator[Listener]:
    """A TCP listener on 127.0.0.1 that counts connections and closes each at once."""
    counter = Listener(port=0)

    async def on_connect(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counter.connections += 1
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    counter.port = server.sockets[0].getsockname()[1]
    try:
        yield counter
    finally:
        server.close()
        await server.wait_closed()
