"""A real HTTP receiver on loopback that records what it is sent and answers as told."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web


@dataclass(frozen=True)
class Received:
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


def ok(_: Received, __: int) -> web.StreamResponse:
    return web.json_response({"ok": True})


@dataclass
class Receiver:
    behaviour: Behaviour = ok
    received: list[Received] = field(default_factory=list)
    seen: Counter[str] = field(default_factory=Counter)
    _runner: web.AppRunner | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
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
        answer = self.behaviour(got, self.seen[key])
        if asyncio.iscoroutine(answer) or isinstance(answer, Awaitable):
            return await answer
        return answer

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def by_id(self) -> dict[str, list[Received]]:
        grouped: dict[str, list[Received]] = {}
        for r in self.received:
            grouped.setdefault(r.header("webhook-id") or "", []).append(r)
        return grouped


async def wait_until(
    check: Callable[[], Awaitable[bool]], *, timeout: float = 30.0, every: float = 0.1
) -> None:
    """Poll `check` until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(every)
