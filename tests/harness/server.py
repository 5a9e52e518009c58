"""A real Hooksmith gRPC server on port 0 over the test's own database."""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import grpc

from hooksmith.v1 import webhooks_pb2_grpc as pb_grpc
from hooksmith_server import domain
from hooksmith_server.app import Application
from hooksmith_server.config import Settings
from hooksmith_server.store.catalog import Clock, utc_now
from hooksmith_server.store.crypto import Keyring
from hooksmith_server.store.keys import KeyStore


class Api:
    """The service stub with one API key attached to every call: `await api.Create(req)`."""

    def __init__(self, stub: pb_grpc.WebhookServiceStub, key: str) -> None:
        self._stub = stub
        self.key = key

    def __getattr__(self, method: str) -> Callable[[Any], Awaitable[Any]]:
        call = getattr(self._stub, method)

        async def invoke(request: Any) -> Any:
            return await call(request, metadata=(("authorization", f"Bearer {self.key}"),))

        return invoke


@dataclass
class Running:
    app: Application
    channel: grpc.aio.Channel
    stub: pb_grpc.WebhookServiceStub
    database_url: str
    _apis: dict[tuple[str, str], Api] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.app.port}"

    async def api(self, workspace: str = "acme", scope: str = "console") -> Api:
        """A client authenticated with a new key of `workspace` and `scope`."""
        if (workspace, scope) not in self._apis:
            assert self.app.database is not None
            key = await KeyStore(self.app.database).create(workspace, domain.Scope(scope))
            self._apis[(workspace, scope)] = Api(self.stub, key)
        return self._apis[(workspace, scope)]


SECRET_KEY = b"hooksmith test key, never secret"
"""The key servers under test seal secrets with (32 bytes, as HOOKSMITH_SECRET_KEY wants)."""
SECRET_KEY_BASE64 = base64.b64encode(SECRET_KEY).decode("ascii")
"""`SECRET_KEY` as HOOKSMITH_SECRET_KEY is written, for server processes."""


def keyring() -> Keyring:
    """The keys of servers under test, for stores made without a server."""
    return Keyring(SECRET_KEY)


StartServer = Callable[..., Awaitable[Running]]
"""Starts a server with `Settings` overrides as keyword arguments (and `clock`, the
catalog's time, for tests that move it)."""


def settings_for_tests(**overrides: Any) -> Settings:
    """Settings for a server under test: port 0, loopback receivers allowed, quick polling."""
    base: dict[str, Any] = {
        "listen": "127.0.0.1:0",
        "egress_allow": (ipaddress.ip_network("127.0.0.0/8"),),
        "poll_interval": timedelta(milliseconds=200),
        "lease_margin": timedelta(seconds=2),
        "shutdown_grace": timedelta(seconds=2),
        # Most tests fail a receiver on purpose to exercise retries; the breaker has its own.
        "breaker_threshold": 0,
        "secret_key": SECRET_KEY,
    }
    base.update(overrides)
    return Settings(**base)


@asynccontextmanager
async def servers(database_url: str) -> AsyncIterator[StartServer]:
    """Yields a function that starts servers on `database_url`; all are stopped on exit."""
    started: list[Running] = []

    async def start(*, clock: Clock = utc_now, **overrides: Any) -> Running:
        app = Application(settings_for_tests(**overrides), database_url, clock=clock)
        await app.start()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.port}")
        running = Running(app, channel, pb_grpc.WebhookServiceStub(channel), database_url)
        started.append(running)
        return running

    try:
        yield start
    finally:
        for running in started:
            await running.channel.close()
            await running.app.stop()
