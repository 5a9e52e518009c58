"""A real HTTP receiver on loopback that records every request it is sent and answers as told:
by a behaviour called with each request, or by aiohttp handlers routed per path."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web


@dataclass(frozen=True)
class Received:
    """One request as the receiver got it off the wire."""

    method: str
    path_qs: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    time: float

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


# Given the request and how many times its webhook-id was seen (1 for the first),
# returns the response to send.
Behaviour = Callable[[Received, int], Awaitable[web.StreamResponse] | web.StreamResponse]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
"""An aiohttp handler; it finds its own receiver as `request.app[RECEIVER]`."""


def ok(_: Received, __: int) -> web.StreamResponse:
    return web.json_response({"ok": True})


@dataclass
class Receiver:
    """Answers every path by `behaviour`, or, when `routes` is given, each route by its handler."""

    behaviour: Behaviour = ok
    routes: Mapping[str, Handler] | None = None
    received: list[Received] = field(default_factory=list)
    seen: Counter[str] = field(default_factory=Counter)
    """How many requests arrived per webhook-id ("" for none)."""
    release: asyncio.Event = field(default_factory=asyncio.Event)
    """Set at `stop` so that handlers still waiting return at once."""
    port: int = 0
    _runner: web.AppRunner | None = None

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _record(self, request: web.Request) -> tuple[Received, int]:
        """Records the request; returns it and how many times its webhook-id was seen."""
        got = Received(
            request.method,
            request.path_qs,
            tuple((k.decode(), v.decode()) for k, v in request.raw_headers),
            await request.read(),
            time.monotonic(),
        )
        self.received.append(got)
        key = got.header("webhook-id") or ""
        self.seen[key] += 1
        return got, self.seen[key]

    async def _behave(self, request: web.Request) -> web.StreamResponse:
        answer = self.behaviour(*await self._record(request))
        if asyncio.iscoroutine(answer) or isinstance(answer, Awaitable):
            return await answer
        return answer

    def _recording(self, handler: Handler) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            await self._record(request)
            return await handler(request)

        return handle

    async def start(self) -> Receiver:
        app = web.Application()
        app[RECEIVER] = self
        if self.routes is None:
            app.router.add_route("*", "/{tail:.*}", self._behave)
        else:
            for path, handler in self.routes.items():
                app.router.add_route("*", path, self._recording(handler))
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def by_id(self) -> dict[str, list[Received]]:
        grouped: dict[str, list[Received]] = {}
        for r in self.received:
            grouped.setdefault(r.header("webhook-id") or "", []).append(r)
        return grouped


RECEIVER = web.AppKey("receiver", Receiver)
"""The app key under which a handler finds its own `Receiver`."""


class StartReceiver(Protocol):
    """Starts a receiver answering by `behaviour`, or by `routes` `{path: handler}`."""

    def __call__(
        self, behaviour: Behaviour = ..., *, routes: Mapping[str, Handler] | None = None
    ) -> Awaitable[Receiver]: ...


@asynccontextmanager
async def receivers() -> AsyncIterator[StartReceiver]:
    """Yields a function that starts receivers; on exit every `release` is set, then all stop."""
    started: list[Receiver] = []

    async def start(
        behaviour: Behaviour = ok, *, routes: Mapping[str, Handler] | None = None
    ) -> Receiver:
        receiver = await Receiver(behaviour, routes).start()
        started.append(receiver)
        return receiver

    try:
        yield start
    finally:
        for receiver in started:
            receiver.release.set()
        for receiver in started:
            await receiver.stop()
