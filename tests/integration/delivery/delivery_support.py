"""Types shared by the delivery integration tests and their fixtures."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Seen:
    """One request as the receiver got it off the wire."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass
class Receiver:
    """A running aiohttp receiver: where it listens and what it has seen."""

    port: int
    requests: list[Seen]
    release: asyncio.Event
    """Set at teardown so that handlers still waiting return at once."""

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@dataclass
class Listener:
    """A plain TCP listener that only counts connections."""

    port: int
    connections: int = 0


RECEIVER = web.AppKey("receiver", Receiver)
"""The app key under which a handler finds its own `Receiver`."""

StartReceiver = Callable[[dict[str, Handler]], Awaitable[Receiver]]
