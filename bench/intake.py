"""intake: Send calls per second, and recipients committed per second.

One `Application` (gRPC on port 0, deliveries off: `workers=0`, its own database), in
this process like `deliver`. Two figures, each beside a ceiling from the same run:

- Send with one recipient, 64 calls in flight: calls/s, against the standard gRPC
  health service's `Check` on the same server with the same 64 in flight (the cost of
  a gRPC call itself, with no authentication, no validation and no database).
- Send with 1,000 recipients per call, one call at a time: recipients committed/s,
  against asyncpg `copy_records_to_table` of the same rows into a scratch table
  `LIKE messages INCLUDING ALL` (as `send` does).
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import types
import uuid
from datetime import UTC, datetime, timedelta

import grpc
from grpc_health.v1 import health_pb2

from bench import deliver, load, send, service, webhook
from bench.harness import Bound, Context, async_rate
from bench.report import Row, Table
from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server import domain, ids
from hooksmith_server.config import Settings

NAME = "intake"
IN_FLIGHT = 64
PER_CALL = 1_000
UNREACHED = "http://127.0.0.1:9"  # deliveries are off: nothing is ever sent there


def _settings() -> Settings:
    return Settings(
        listen="127.0.0.1:0",
        workers=0,
        egress_allow=(ipaddress.ip_network("127.0.0.0/8"),),
        shutdown_grace=timedelta(seconds=2),
    )


async def _calls(ctx: Context, client: service.Client, webhook_id: str, table: Table) -> Row:
    data = deliver._struct(webhook.DATA)
    counter = itertools.count()

    async def send_one() -> bool:
        i = next(counter)
        r = webhook.recipient(i)
        request = pb.SendRequest(
            webhook_id=webhook_id,
            recipients=[
                pb.Recipient(
                    user_id=r.user_id,
                    tags=deliver._struct(r.tags),
                    entry_event=deliver._struct(r.entry_event),
                )
            ],
            data=data,
        )
        try:
            await client.stub.Send(request, metadata=client.metadata, timeout=30)
        except grpc.aio.AioRpcError:
            return False
        return True

    async def check() -> bool:
        try:
            await client.health.Check(health_pb2.HealthCheckRequest(), timeout=30)
        except grpc.aio.AioRpcError:
            return False
        return True

    bound = Bound(count=200_000, seconds=ctx.pick(2.0, 5.0))
    best_send = best_check = 0.0
    failed = 0
    for _ in range(ctx.pick(1, 2)):
        measured = await load.warm_then_drive(send_one, concurrency=IN_FLIGHT, bound=bound)
        best_send = max(best_send, measured.rate)
        failed += measured.failed
        measured = await load.warm_then_drive(check, concurrency=IN_FLIGHT, bound=bound)
        best_check = max(best_check, measured.rate)
        failed += measured.failed
    if failed:
        table.notes.append(f"{failed:,} calls failed and were not counted")
    if best_send > 0 and best_check > 0:
        table.notes.append(
            f"Send of 1: {1000 * IN_FLIGHT / best_send:.1f} ms per call at {IN_FLIGHT} in "
            f"flight (Check: {1000 * IN_FLIGHT / best_check:.1f} ms); client and server share "
            "this process, as in `deliver`"
        )
    return Row(
        f"Send of 1, {IN_FLIGHT} in flight",
        best_send,
        best_check,
        f"health Check, {IN_FLIGHT} in flight",
        " calls/s",
    )


async def _bulk(
    ctx: Context, dsn: str, client: service.Client, webhook_id: str, table: Table
) -> Row:
    copy_conn = await send._copy_connection(dsn)
    try:
        caller_ws = await copy_conn.fetchval(
            "SELECT workspace_id FROM webhooks WHERE id = $1", uuid.UUID(webhook_id)
        )
        await copy_conn.execute(f"CREATE TABLE {send._COPY_TABLE} (LIKE messages INCLUDING ALL)")
        saved = types.SimpleNamespace(id=webhook_id, version=1)
        rounds = ctx.pick(2, 3)
        calls = Bound(count=ctx.pick(8, 20), seconds=ctx.pick(1.5, 4.0))
        total_calls = rounds * calls.count
        requests = iter(service.sms_sends(webhook_id, total_calls))
        counter = itertools.count()

        async def send_call() -> int:
            await client.stub.Send(next(requests), metadata=client.metadata, timeout=60)
            return PER_CALL

        async def copy() -> int:
            first = next(counter) * PER_CALL
            now = datetime.now(UTC)
            records = [
                send._record(
                    caller_ws,
                    saved,  # type: ignore[arg-type]
                    domain.NewMessage(ids.new(), webhook.recipient(i)),
                    now,
                    send._DATA,
                )
                for i in range(first, first + PER_CALL)
            ]
            await copy_conn.copy_records_to_table(
                send._COPY_TABLE, records=records, columns=send._COLUMNS
            )
            return PER_CALL

        send_rate = copy_rate = 0.0
        for _ in range(rounds):
            send_rate = max(send_rate, await async_rate(send_call, calls))
            copy_rate = max(copy_rate, await async_rate(copy, calls))
    finally:
        await copy_conn.close()
    per_send = 1000 * PER_CALL / max(send_rate, 1e-9)
    per_copy = 1000 * PER_CALL / max(copy_rate, 1e-9)
    table.notes.append(
        f"Send of {PER_CALL:,}: {per_send:.0f} ms per call, one at a time (COPY of the same "
        f"rows: {per_copy:.0f} ms); the request protos are built before the clock starts"
    )
    return Row(
        f"Send of {PER_CALL:,}, one at a time",
        send_rate,
        copy_rate,
        "COPY of the same rows",
        " recipients/s",
    )


async def run(ctx: Context) -> list[Table]:
    table = Table("intake: Send, deliveries off (workers=0), one process")
    async with ctx.postgres.scratch() as dsn, contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(service.in_process(dsn, _settings()))
        webhook_id = await client.create(service.sms_spec(UNREACHED))
        table.rows.append(await _calls(ctx, client, webhook_id, table))
        table.rows.append(await _bulk(ctx, dsn, client, webhook_id, table))
        table.notes.append(f"PostgreSQL: {await service.server_version(dsn)}")
    return [table]
