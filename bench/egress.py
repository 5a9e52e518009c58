"""egress: why delivery uses aiohttp and not httpx, kept reproducible.

Requests per second to a local receiver process at 64 and 256 in flight, through
our `HttpSender`, through a bare aiohttp session (the ceiling), and through
`httpx.AsyncClient` with its pool sized to the concurrency.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx

from bench import load, receiver
from bench.harness import Bound, Context
from bench.report import Row, Table
from hooksmith_server import domain
from hooksmith_server.delivery import egress
from hooksmith_server.delivery.sender import HttpSender

NAME = "egress"
CONCURRENCY = (64, 256)
_TIMEOUT = 30.0

Client = Callable[[str, int], AbstractAsyncContextManager[load.Send]]


@asynccontextmanager
async def hooksmith(url: str, concurrency: int) -> AsyncIterator[load.Send]:
    """Our sender, as the dispatcher uses it: guarded resolver, full `Outcome` per request."""
    guard = egress.EgressGuard([ipaddress.ip_network("127.0.0.0/8")])
    session = HttpSender.create_session(guard, limit=concurrency)
    try:
        sender = HttpSender(session, guard)
        headers = tuple(domain.Header(name, value) for name, value in load.HEADERS.items())
        request = domain.HttpRequest("POST", url, headers, load.BODY)

        async def send() -> bool:
            return (await sender.send(request, timeout=_TIMEOUT)).succeeded

        yield send
    finally:
        await session.close()


@asynccontextmanager
async def plain_aiohttp(url: str, concurrency: int) -> AsyncIterator[load.Send]:
    async with load.plain_aiohttp(url, concurrency=concurrency) as send:
        yield send


@asynccontextmanager
async def httpx_client(url: str, concurrency: int) -> AsyncIterator[load.Send]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=_TIMEOUT) as client:
        body = load.BODY.encode()

        async def send() -> bool:
            try:
                response = await client.post(url, content=body, headers=load.HEADERS)
            except httpx.HTTPError:
                return False
            return response.is_success

        yield send


async def _measure(client: Client, url: str, concurrency: int, bound: Bound) -> load.Measured:
    async with client(url, concurrency) as send:
        return await load.warm_then_drive(send, concurrency=concurrency, bound=bound)


async def measure_at(ctx: Context, url: str, concurrency: int) -> Table:
    bound = Bound(count=100_000, seconds=ctx.pick(2.0, 5.0))
    # The two fast clients alternate and keep their best round; httpx runs once, cut
    # off by time (it is slow enough that a round costs seconds).
    best: dict[str, load.Measured] = {}
    for _ in range(ctx.pick(1, 2)):
        for name, client in (("aiohttp", plain_aiohttp), ("hooksmith", hooksmith)):
            measured = await _measure(client, url, concurrency, bound)
            if name not in best or measured.rate > best[name].rate:
                best[name] = measured
    best["httpx"] = await _measure(httpx_client, url, concurrency, bound)

    ceiling = best["aiohttp"].rate
    table = Table(f"egress: requests/s with {concurrency} in flight (receiver in its own process)")
    labels = {
        "hooksmith": "HttpSender (ours)",
        "aiohttp": "aiohttp ClientSession",
        "httpx": f"httpx {httpx.__version__} AsyncClient",
    }
    for name in ("hooksmith", "aiohttp", "httpx"):
        measured = best[name]
        note = f"{measured.failed:,} failed" if measured.failed else ""
        table.rows.append(Row(labels[name], measured.rate, ceiling, "plain aiohttp", note=note))
    return table


async def run(ctx: Context) -> list[Table]:
    with receiver.running(max_seconds=600) as base:
        url = base + load.PATH
        return [await measure_at(ctx, url, concurrency) for concurrency in CONCURRENCY]
