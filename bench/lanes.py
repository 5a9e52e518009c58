"""lanes: a healthy webhook's delivery time beside a receiver that never answers.

One `Application` with default delivery settings (its own database) and two receivers:
the fast receiver process, and a TCP listener on another loopback address that accepts
connections and never answers. The healthy webhook's messages are sent alone, then
again after a backlog of messages to the hanging receiver (timeout 2 s); the clock runs
from the first healthy Send until all of them have succeeded. The ceiling is the same
healthy batch alone, in the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import grpc
from google.protobuf import duration_pb2

from bench import receiver
from bench.harness import Context
from bench.report import Row, Table
from bench.secret_key import keyring
from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith.v1 import webhooks_pb2_grpc as pb_grpc
from hooksmith_server import domain
from hooksmith_server.app import Application
from hooksmith_server.config import Settings
from hooksmith_server.store.keys import KeyStore

NAME = "lanes"
PER_CALL = 1_000
HANGING_HOST = "127.0.0.2"
_POLL = 0.02

_SUCCEEDED = "SELECT count(*) FROM messages WHERE webhook_id = $1 AND status = 'SUCCEEDED'"


@contextlib.asynccontextmanager
async def _hanging() -> AsyncIterator[str]:
    """A listener that accepts every connection and never answers; yields its base URL."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, HANGING_HOST, 0, backlog=2048)
    try:
        yield f"http://{HANGING_HOST}:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        for writer in held:
            writer.close()


def _spec(name: str, url: str, timeout: float) -> pb.WebhookSpec:
    return pb.WebhookSpec(
        name=name,
        url=url,
        body='{"user": "{{ userId }}"}',
        policy=pb.DeliveryPolicy(timeout=duration_pb2.Duration(seconds=int(timeout))),
    )


class _Run:
    def __init__(self, stub: pb_grpc.WebhookServiceStub, key: str, progress: asyncpg.Connection):
        self._stub = stub
        self._metadata = (("authorization", f"Bearer {key}"),)
        self._progress = progress

    async def create(self, spec: pb.WebhookSpec) -> str:
        created = await self._stub.Create(pb.CreateRequest(spec=spec), metadata=self._metadata)
        return created.webhook.id

    async def send(self, webhook_id: str, count: int) -> None:
        for start in range(0, count, PER_CALL):
            users = [
                pb.Recipient(user_id=f"u{i}") for i in range(start, min(count, start + PER_CALL))
            ]
            request = pb.SendRequest(webhook_id=webhook_id, recipients=users)
            await self._stub.Send(request, metadata=self._metadata)

    async def wait_succeeded(self, webhook_id: str, count: int, deadline: float) -> int:
        while True:
            done: int = await self._progress.fetchval(_SUCCEEDED, uuid.UUID(webhook_id))
            if done >= count or time.perf_counter() > deadline:
                return done
            await asyncio.sleep(_POLL)


async def _measure(ctx: Context, dsn: str, base: str, hanging: str, table: Table) -> Row:
    healthy = ctx.pick(1_000, 3_000)
    stuck = ctx.pick(500, 1_000)
    limit = ctx.pick(60.0, 120.0)
    settings = Settings(
        listen="127.0.0.1:0",
        egress_allow=(ipaddress.ip_network("127.0.0.0/8"),),
        shutdown_grace=timedelta(seconds=1),
    )
    async with contextlib.AsyncExitStack() as stack:
        app = Application(settings, dsn, keyring=keyring())
        stack.push_async_callback(app.stop)
        await app.start()
        progress = await asyncpg.connect(dsn)
        stack.push_async_callback(progress.close)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.port}")
        stack.push_async_callback(channel.close)
        assert app.database is not None
        key = await KeyStore(app.database).create("bench", domain.Scope.CONSOLE)
        run = _Run(pb_grpc.WebhookServiceStub(channel), key, progress)

        alone_id = await run.create(_spec("alone", base + "/alone", 10))
        started = time.perf_counter()
        await run.send(alone_id, healthy)
        await run.wait_succeeded(alone_id, healthy, started + limit)
        alone = time.perf_counter() - started

        stuck_id = await run.create(_spec("hanging", hanging + "/never", 2))
        beside_id = await run.create(_spec("beside", base + "/beside", 10))
        await run.send(stuck_id, stuck)
        started = time.perf_counter()
        await run.send(beside_id, healthy)
        done = await run.wait_succeeded(beside_id, healthy, started + limit)
        beside = time.perf_counter() - started
    table.notes.append(
        f"{healthy:,} healthy messages: {alone:.2f} s alone, {beside:.2f} s behind "
        f"{stuck:,} to a receiver that never answers (timeout 2 s); "
        f"{done:,} of {healthy:,} succeeded within the {limit:.0f} s bound"
    )
    return Row(
        "healthy beside hanging", done / beside, healthy / alone, "the same alone", " msgs/s"
    )


async def run(ctx: Context) -> list[Table]:
    table = Table("lanes: a healthy webhook beside one whose receiver never answers")
    with receiver.running(max_seconds=600) as base:
        async with _hanging() as hanging, ctx.postgres.scratch() as dsn:
            table.rows.append(await _measure(ctx, dsn, base, hanging, table))
    return [table]
