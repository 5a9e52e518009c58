"""The standard health service follows the database: NOT_SERVING while it cannot be reached.

A load balancer or orchestrator asking `grpc.health.v1.Health/Check` then stops sending
calls that could only fail with UNAVAILABLE, and sends them again once PostgreSQL answers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from grpc_health.v1 import health, health_pb2

from hooksmith_server import errors

log = logging.getLogger(__name__)

INTERVAL = 1.0
"""Seconds between two pings of the database."""
PATIENCE = 2.0
"""Seconds a ping may take before the database counts as unreachable."""

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class HealthWatcher:
    """Pings the database and sets every service name's health from the answer."""

    def __init__(
        self,
        servicer: health.aio.HealthServicer,
        services: Sequence[str],
        ping: Callable[[float], Awaitable[None]],
        *,
        interval: float = INTERVAL,
        patience: float = PATIENCE,
    ) -> None:
        self._servicer = servicer
        self._services = tuple(services)
        self._ping = ping
        self._interval = interval
        self._patience = patience
        self.serving: bool | None = None
        """The last health set: None before the first ping."""

    async def check(self) -> bool:
        """Ping once and set the health; returns whether the database answered."""
        try:
            await self._ping(self._patience)
        except errors.Unavailable as e:
            if self.serving is not False:
                log.warning("health is NOT_SERVING: %s", e.message)
            await self._set(False)
            return False
        if self.serving is False:
            log.warning("health is SERVING again: the database answers")
        await self._set(True)
        return True

    async def run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self._interval)

    async def _set(self, serving: bool) -> None:
        if serving == self.serving:
            return
        self.serving = serving
        status = SERVING if serving else NOT_SERVING
        for name in self._services:
            await self._servicer.set(name, status)
