"""A closed-loop load driver, and the plain aiohttp client that is the egress ceiling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp

from bench.harness import Bound

Send = Callable[[], Awaitable[bool]]
"""Make one request; True when it was answered 2xx. Never raises for a failed request."""

# What an SMS provider webhook sends: a small JSON body and a handful of headers.
BODY = '{"to":"+15551234567","text":"Hi Ada, your order #1234 has shipped."}'
HEADERS = {
    "Content-Type": "application/json",
    "Authorization": "Bearer tok_live_1234567890",
    "User-Agent": "Hooksmith/0.1",
}
PATH = "/v1/accounts/AC123/messages"

# A request still running this long after the bound is cut off and not counted.
_GRACE = 10.0


@dataclass(frozen=True)
class Measured:
    """Requests answered 2xx, others, and the seconds they took."""

    ok: int
    failed: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0


async def drive(send: Send, *, concurrency: int, bound: Bound) -> Measured:
    """Keep `concurrency` requests in flight until `bound` is reached; each starts as one ends."""
    issued = ok = failed = 0
    start = time.perf_counter()
    deadline = start + bound.seconds

    async def worker() -> None:
        nonlocal issued, ok, failed
        while issued < bound.count and time.perf_counter() < deadline:
            issued += 1
            if await send():
                ok += 1
            else:
                failed += 1

    tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
    _, pending = await asyncio.wait(tasks, timeout=bound.seconds + _GRACE)
    elapsed = time.perf_counter() - start
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            raise RuntimeError("a load worker failed") from task.exception()
    return Measured(ok, failed, elapsed)


async def warm_then_drive(send: Send, *, concurrency: int, bound: Bound) -> Measured:
    """Open the connections first (a short unmeasured run), then measure."""
    await drive(send, concurrency=concurrency, bound=Bound(concurrency * 2, 1.0))
    return await drive(send, concurrency=concurrency, bound=bound)


@asynccontextmanager
async def plain_aiohttp(url: str, *, concurrency: int) -> AsyncIterator[Send]:
    """The ceiling: one bare aiohttp session, nothing around the request."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        body = BODY.encode()

        async def send() -> bool:
            try:
                async with session.post(url, data=body, headers=HEADERS) as response:
                    await response.read()
                    return 200 <= response.status < 300
            except (aiohttp.ClientError, OSError):
                return False

        yield send
