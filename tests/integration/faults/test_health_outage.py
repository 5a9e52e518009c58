"""Health follows the database: NOT_SERVING while PostgreSQL is down, SERVING once it is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.grpc_errors import expect_error
from tests.harness.polling import wait_until
from tests.harness.postgres import StoppablePostgres
from tests.harness.server import Running, servers

SERVICES = ("", "hooksmith.v1.WebhookService")
"""The server as a whole and the webhook service: both follow the database."""


@pytest.fixture
async def postgres(tmp_path: Path) -> AsyncIterator[StoppablePostgres]:
    pg = StoppablePostgres(tmp_path / "pg")
    await asyncio.to_thread(pg.start)
    try:
        yield pg
    finally:
        if not pg.running:
            await pg.restart()
        await pg.stop()


async def statuses(server: Running) -> set[int]:
    stub = health_pb2_grpc.HealthStub(server.channel)
    answers = [
        await stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=2)
        for name in SERVICES
    ]
    return {answer.status for answer in answers}


async def test_health_is_not_serving_while_the_database_is_down_and_serving_after(
    postgres: StoppablePostgres,
) -> None:
    serving = health_pb2.HealthCheckResponse.SERVING
    not_serving = health_pb2.HealthCheckResponse.NOT_SERVING
    dsn = await postgres.database("hooksmith")
    async with servers(dsn) as start:
        server = await start(workers=0)
        api = await server.api()
        assert await statuses(server) == {serving}

        await postgres.kill()
        killed = time.monotonic()

        async def down() -> bool:
            return await statuses(server) == {not_serving}

        # A ping a second, two seconds allowed for its answer.
        await wait_until(down, timeout=6)
        assert time.monotonic() - killed < 6
        # What health tells is true: calls that need the database cannot be served.
        await expect_error(api.List(pb.ListRequest()), grpc.StatusCode.UNAVAILABLE)

        await postgres.restart()

        async def up() -> bool:
            return await statuses(server) == {serving}

        await wait_until(up, timeout=6)
        assert list((await api.List(pb.ListRequest())).webhooks) == []
