"""workers: delivery by 1, 2 and 3 `worker` processes on one database.

A `serve` process with `HOOKSMITH_WORKERS=0` takes the Sends and delivers nothing;
1, 2 or 3 `hooksmith_server worker` processes (default settings: 512 in flight each)
deliver 20,000 messages (quick: 5,000) to the fast receiver process, which counts the
requests per `webhook-id` header. Each count gets a new database. The clock runs from
the first Send until none is pending. Without a crash no message may be delivered
twice; the duplicates the receiver saw are printed with each rate. The ceiling is bare
aiohttp at 64 in flight against the same receiver, best of before and after (as in
`deliver`).
"""

from __future__ import annotations

import contextlib
import time

import asyncpg

from bench import load, receiver, service
from bench.harness import Bound, Context
from bench.report import Row, Table

NAME = "workers"
COUNTS = (1, 2, 3)
PER_CALL = 1_000
CEILING_IN_FLIGHT = 64


async def _deliver(
    ctx: Context, rx: receiver.Receiver, processes: int, table: Table
) -> tuple[float, str]:
    total = ctx.pick(5_000, 20_000)
    async with ctx.postgres.scratch() as dsn, contextlib.AsyncExitStack() as stack:
        key = await service.new_key(dsn)
        api = await stack.enter_async_context(
            service.server_process("serve", dsn, {"HOOKSMITH_WORKERS": "0"})
        )
        assert api.port is not None
        workers = [
            await stack.enter_async_context(service.server_process("worker", dsn))
            for _ in range(processes)
        ]
        client = service.Client(api.port, key)
        stack.push_async_callback(client.close)
        await client.ready()
        conn: asyncpg.Connection = await asyncpg.connect(dsn)
        stack.push_async_callback(conn.close)
        webhook_id = await client.create(service.sms_spec(rx.base))
        requests = service.sms_sends(webhook_id, total // PER_CALL)
        rx.reset()

        started = time.perf_counter()
        await client.send_all(requests)
        done = await service.wait_done(conn, webhook_id, total, started + ctx.pick(30.0, 60.0))
        elapsed = time.perf_counter() - started
        seen = rx.report()
        failed = await service.failures(conn, webhook_id)
        problems = [line for w in [api, *workers] for line in w.problems()]
    rate = done.succeeded / elapsed
    duplicates = f"{seen.duplicates:,} duplicates" if seen.duplicates else "no duplicates"
    table.notes.append(
        f"{processes} worker(s): {done.succeeded:,} of {total:,} succeeded, {done.pending:,} "
        f"pending after {elapsed:.1f} s; {done.attempts:,} attempts; the receiver saw "
        f"{seen.with_id:,} requests for {seen.distinct_ids:,} webhook-ids ({duplicates}, "
        f"most for one id {seen.most_for_one_id})"
    )
    if failed:
        table.notes.append(f"  FAILED: {'; '.join(failed)}")
    if problems:
        table.notes.append(f"  logged {len(problems)} warnings: {problems[0][:200]}")
    return rate, duplicates


async def _ceiling(ctx: Context, base: str) -> float:
    async with load.plain_aiohttp(base + load.PATH, concurrency=CEILING_IN_FLIGHT) as send:
        bound = Bound(count=100_000, seconds=ctx.pick(1.5, 4.0))
        measured = await load.warm_then_drive(send, concurrency=CEILING_IN_FLIGHT, bound=bound)
        return measured.rate


async def run(ctx: Context) -> list[Table]:
    table = Table("workers: serve (HOOKSMITH_WORKERS=0) + N worker processes, one database")
    options = receiver.Options(count_ids=True)
    results = []
    with receiver.process(max_seconds=900, options=options) as rx:
        ceiling = await _ceiling(ctx, rx.base)
        for processes in COUNTS:
            results.append((processes, *await _deliver(ctx, rx, processes, table)))
        ceiling = max(ceiling, await _ceiling(ctx, rx.base))
    label = f"plain aiohttp, {CEILING_IN_FLIGHT} in flight"
    for processes, rate, duplicates in results:
        table.rows.append(
            Row(f"{processes} worker(s)", rate, ceiling, label, " msgs/s", duplicates)
        )
    return [table]
