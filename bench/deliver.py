"""deliver: end to end, messages delivered and recorded per second.

A whole `Application` with default settings (gRPC on port 0, its own database) sends
20,000 messages (quick 5,000) to a receiver process. Messages go in through gRPC Send,
1,000 per call; the clock runs from the first Send until none of them is pending. The
ceiling is a bare aiohttp session against the same receiver, 64 requests in flight
(its best concurrency here).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import time
import uuid
from datetime import timedelta

import asyncpg
import grpc
from google.protobuf import struct_pb2

from bench import load, receiver, webhook
from bench.harness import Bound, Context
from bench.report import Row, Table
from bench.secret_key import keyring
from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith.v1 import webhooks_pb2_grpc as pb_grpc
from hooksmith_server import domain
from hooksmith_server.app import Application
from hooksmith_server.config import Settings
from hooksmith_server.store.keys import KeyStore

NAME = "deliver"
CEILING_IN_FLIGHT = 64
WORKERS = Settings().workers
PER_CALL = 1_000
_POLL = 0.025

_PROGRESS = """
SELECT count(*) AS total,
       count(*) FILTER (WHERE status = 'PENDING') AS pending,
       count(*) FILTER (WHERE status = 'SUCCEEDED') AS succeeded
FROM messages WHERE webhook_id = $1
"""
# The scratch database holds this one webhook's attempts only.
_MEAN_ATTEMPT = "SELECT avg(extract(epoch FROM duration))::float8 FROM attempts"


def _struct(values: domain.JsonObject) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def _spec(base: str) -> pb.WebhookSpec:
    spec = webhook.spec(base)
    return pb.WebhookSpec(
        name=spec.name,
        url=spec.url,
        method=pb.HTTP_METHOD_POST,
        headers=[pb.Header(name=h.name, value=h.value, secret=h.secret) for h in spec.headers],
        body_format=pb.BODY_FORMAT_JSON,
        body=spec.body,
    )


def _sends(webhook_id: str, calls: int) -> list[pb.SendRequest]:
    requests = []
    for call in range(calls):
        recipients = []
        for i in range(call * PER_CALL, (call + 1) * PER_CALL):
            r = webhook.recipient(i)
            recipients.append(
                pb.Recipient(
                    user_id=r.user_id, tags=_struct(r.tags), entry_event=_struct(r.entry_event)
                )
            )
        requests.append(
            pb.SendRequest(webhook_id=webhook_id, recipients=recipients, data=_struct(webhook.DATA))
        )
    return requests


def _settings() -> Settings:
    return Settings(
        listen="127.0.0.1:0",
        egress_allow=(ipaddress.ip_network("127.0.0.0/8"),),
        shutdown_grace=timedelta(seconds=2),
    )


async def _deliver_all(ctx: Context, dsn: str, base: str, table: Table) -> float:
    """Messages succeeded per second, from the first Send until none is pending."""
    calls = ctx.pick(5, 20)
    total = calls * PER_CALL
    async with contextlib.AsyncExitStack() as stack:
        app = Application(_settings(), dsn, keyring=keyring())
        # Stopped however far it got: stop() closes only what start() opened.
        stack.push_async_callback(app.stop)
        await app.start()
        progress: asyncpg.Connection = await asyncpg.connect(dsn)
        stack.push_async_callback(progress.close)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.port}")
        stack.push_async_callback(channel.close)

        assert app.database is not None
        key = await KeyStore(app.database).create("bench", domain.Scope.CONSOLE)
        metadata = (("authorization", f"Bearer {key}"),)
        stub = pb_grpc.WebhookServiceStub(channel)
        created = await stub.Create(pb.CreateRequest(spec=_spec(base)), metadata=metadata)
        webhook_id = created.webhook.id
        requests = _sends(webhook_id, calls)

        started = time.perf_counter()
        for request in requests:
            await stub.Send(request, metadata=metadata)
        sent = time.perf_counter() - started
        deadline = started + ctx.pick(60.0, 120.0)
        while True:
            row = await progress.fetchrow(_PROGRESS, uuid.UUID(webhook_id))
            assert row is not None
            done = row["total"] == total and row["pending"] == 0
            if done or time.perf_counter() > deadline:
                break
            await asyncio.sleep(_POLL)
        elapsed = time.perf_counter() - started
        http_seconds = await progress.fetchval(_MEAN_ATTEMPT) or 0.0

    succeeded: int = row["succeeded"]
    table.notes.append(
        f"{calls} Send calls of {PER_CALL:,} took {sent * 1000:.0f} ms; "
        f"{succeeded:,} of {total:,} succeeded, {row['pending']:,} still pending "
        f"after {elapsed:.1f} s"
    )
    rate = succeeded / elapsed
    if rate > 0:
        # Each worker holds its slot from claim until the outcome is committed.
        slot = WORKERS / rate
        table.notes.append(
            f"a worker slot turns over every {slot * 1000:.1f} ms; the HTTP attempt in it "
            f"takes {http_seconds * 1000:.1f} ms on average ({http_seconds / slot:.0%})"
        )
    return rate


async def _ceiling(ctx: Context, base: str) -> float:
    async with load.plain_aiohttp(base + load.PATH, concurrency=CEILING_IN_FLIGHT) as send:
        bound = Bound(count=100_000, seconds=ctx.pick(1.5, 4.0))
        return (await load.warm_then_drive(send, concurrency=CEILING_IN_FLIGHT, bound=bound)).rate


async def run(ctx: Context) -> list[Table]:
    table = Table(f"deliver: Send → delivered and recorded, {WORKERS} workers, one process")
    with receiver.running(max_seconds=600) as base:
        # Measured before and after, the best kept: a busy spell on the machine then
        # cannot make the ceiling look low.
        ceiling = await _ceiling(ctx, base)
        async with ctx.postgres.scratch() as dsn:
            rate = await _deliver_all(ctx, dsn, base, table)
        ceiling = max(ceiling, await _ceiling(ctx, base))
    table.rows.append(
        Row("delivered", rate, ceiling, f"plain aiohttp, {CEILING_IN_FLIGHT} in flight", " msgs/s")
    )
    return [table]
