"""slow_receiver: delivery to a receiver that answers every request after 200 ms.

One `Application` (gRPC on port 0, its own database) with default `Settings` but for
the listen address and the egress allow-list: 512 workers, half of them (256) at most
to one destination. Messages go in through gRPC Send, 1,000 per call; the clock runs
from the first Send until none of them is pending. Compared with the goal of
1,000 msgs/s and with the ideal for these settings, `min(workers, per-destination
cap) / 0.2 s`: every slot the destination may hold busy all the time.
"""

from __future__ import annotations

import contextlib
import ipaddress
import time

import asyncpg

from bench import receiver, service
from bench.harness import Context
from bench.report import Row, Table
from hooksmith_server.config import Settings

NAME = "slow_receiver"
DELAY = 0.2
GOAL = 1_000.0
PER_CALL = 1_000


async def _measure(ctx: Context, dsn: str, base: str, table: Table) -> Row:
    total = ctx.pick(5_000, 20_000)
    settings = Settings(listen="127.0.0.1:0", egress_allow=(ipaddress.ip_network("127.0.0.0/8"),))
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(service.in_process(dsn, settings))
        conn: asyncpg.Connection = await asyncpg.connect(dsn)
        stack.push_async_callback(conn.close)
        webhook_id = await client.create(service.sms_spec(base))
        requests = service.sms_sends(webhook_id, total // PER_CALL)

        started = time.perf_counter()
        await client.send_all(requests)
        sent = time.perf_counter() - started
        done = await service.wait_done(
            conn, webhook_id, total, started + ctx.pick(25.0, 100.0), poll=0.05
        )
        elapsed = time.perf_counter() - started
        duration = await conn.fetchval(
            "SELECT avg(extract(epoch FROM duration))::float8 FROM attempts"
        )
        failed = await service.failures(conn, webhook_id)
    rate = done.succeeded / elapsed
    slots = min(settings.workers, settings.lane_limit)
    table.notes.append(
        f"{total // PER_CALL} Sends of {PER_CALL:,} took {sent:.1f} s; {done.succeeded:,} of "
        f"{total:,} succeeded, {done.pending:,} still pending after {elapsed:.1f} s; "
        f"{done.attempts:,} attempts; mean attempt {1000 * (duration or 0):.0f} ms"
    )
    table.notes.append(
        f"workers {settings.workers}, per-destination cap {settings.lane_limit}: "
        f"{rate * DELAY:.0f} requests in flight on average of the {slots} allowed"
    )
    if failed:
        table.notes.append(f"FAILED: {'; '.join(failed)}")
    table.rows.append(
        Row(
            "delivered",
            rate,
            slots / DELAY,
            f"ideal min({settings.workers}, {settings.lane_limit}) / {DELAY} s",
            " msgs/s",
        )
    )
    return Row("delivered", rate, GOAL, "goal", " msgs/s")


async def run(ctx: Context) -> list[Table]:
    table = Table(f"slow_receiver: every answer after {DELAY * 1000:.0f} ms, default settings")
    with receiver.running(max_seconds=600, delay=DELAY) as base:
        async with ctx.postgres.scratch() as dsn:
            table.rows.insert(0, await _measure(ctx, dsn, base, table))
    return [table]
