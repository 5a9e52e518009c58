"""Real HTTP receivers and raw TCP listeners on 127.0.0.1, port 0, and senders that use them."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from hooksmith_server.delivery import egress, http
from tests.integration.delivery.delivery_support import (
    RECEIVER,
    Handler,
    Listener,
    Receiver,
    Seen,
    StartReceiver,
)


@pytest.fixture
async def start_receiver() -> AsyncIterator[StartReceiver]:
    """Start receivers routing `{path: handler}`; every request is recorded first."""
    runners: list[web.AppRunner] = []
    receivers: list[Receiver] = []

    async def start(routes: dict[str, Handler]) -> Receiver:
        receiver = Receiver(port=0, requests=[], release=asyncio.Event())

        def recording(handler: Handler) -> Handler:
            async def handle(request: web.Request) -> web.StreamResponse:
                receiver.requests.append(
                    Seen(
                        request.method,
                        request.path_qs,
                        tuple((k.decode(), v.decode()) for k, v in request.raw_headers),
                        await request.read(),
                    )
                )
                return await handler(request)

            return handle

        app = web.Application()
        app[RECEIVER] = receiver
        for path, handler in routes.items():
            app.router.add_route("*", path, recording(handler))
        runner = web.AppRunner(app, shutdown_timeout=2.0)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        receiver.port = runner.addresses[0][1]
        receivers.append(receiver)
        return receiver

    yield start
    for receiver in receivers:
        receiver.release.set()
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
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


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def _sender(allow: str) -> AsyncIterator[http.HttpSender]:
    guard = egress.EgressGuard(egress.EgressGuard.parse_allow(allow))
    session = http.HttpSender.create_session(guard)
    try:
        yield http.HttpSender(session, guard)
    finally:
        await session.close()


@pytest.fixture
async def sender() -> AsyncIterator[http.HttpSender]:
    """A sender whose allow-list admits loopback, so it can reach the test receivers."""
    async for s in _sender("127.0.0.0/8, ::1/128"):
        yield s


@pytest.fixture
async def strict_sender() -> AsyncIterator[http.HttpSender]:
    """A sender with an empty allow-list, as in production."""
    async for s in _sender(""):
        yield s
