"""latency: Send → receiver latency at a steady rate of Sends of one recipient.

A `serve` process (default settings but listen and egress, its own database) delivers
to the receiver process. This process paces Sends open-loop: Send number i starts at
`start + i / rate` whether or not earlier ones have returned (at most 256 in flight;
a Send that finds none free waits, and the achieved rate shows it). Each Send carries
`sent_at` (time.time() as the call is made) as a data field rendered into the body;
the receiver records `time.time() - sent_at` per request and reports them at the end.
The percentiles are compared with the goals 10 / 25 / 50 ms (ratio goal / figure:
1 or more means the goal is met).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time

import asyncpg
import grpc
from google.protobuf import struct_pb2

from bench import receiver, service
from bench.harness import Context
from bench.report import Row, Table
from hooksmith.v1 import webhooks_pb2 as pb

NAME = "latency"
IN_FLIGHT = 256
GOALS_MS = {50: 10.0, 95: 25.0, 99: 50.0}
_DRAIN = 20.0


def _spec(base: str) -> pb.WebhookSpec:
    return pb.WebhookSpec(
        name="latency",
        url=base + "/latency",
        method=pb.HTTP_METHOD_POST,
        body_format=pb.BODY_FORMAT_JSON,
        body='{"user": "{{ userId }}", "sent_at": "{{ sent_at }}"}',
    )


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index]


async def _pace(
    client: service.Client, webhook_id: str, rate: float, seconds: float
) -> tuple[int, int, float, list[float], int]:
    """Sends made, failed, seconds taken, each call's latency, and Sends that started late."""
    free = asyncio.Semaphore(IN_FLIGHT)
    calls: list[float] = []
    tasks: set[asyncio.Task[None]] = set()
    failed = late = 0

    async def one(i: int) -> None:
        nonlocal failed
        try:
            data = struct_pb2.Struct()
            sent_at = time.time()
            data.update({"sent_at": sent_at})
            request = pb.SendRequest(
                webhook_id=webhook_id, recipients=[pb.Recipient(user_id=f"u{i}")], data=data
            )
            began = time.perf_counter()
            await client.stub.Send(request, metadata=client.metadata, timeout=30)
            calls.append(time.perf_counter() - began)
        except grpc.aio.AioRpcError:
            failed += 1
        finally:
            free.release()

    total = int(rate * seconds)
    start = time.perf_counter()
    for i in range(total):
        due = start + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        if free.locked():
            late += 1
        await free.acquire()
        task = asyncio.create_task(one(i))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    issued = time.perf_counter() - start
    if tasks:
        await asyncio.wait(set(tasks), timeout=_DRAIN)
    return total, failed, issued, calls, late


async def _measure(ctx: Context, dsn: str, rx: receiver.Receiver, table: Table) -> None:
    rate = ctx.pick(500.0, 1_000.0)
    seconds = ctx.pick(4.0, 10.0)
    key = await service.new_key(dsn)
    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(service.server_process("serve", dsn))
        assert server.port is not None
        client = service.Client(server.port, key)
        stack.push_async_callback(client.close)
        await client.ready()
        conn: asyncpg.Connection = await asyncpg.connect(dsn)
        stack.push_async_callback(conn.close)
        webhook_id = await client.create(_spec(rx.base))
        # Warm the connections, caches and prepared statements; not measured.
        await _pace(client, webhook_id, rate, 1.0)
        warmed = await service.wait_done(
            conn, webhook_id, int(rate * 1.0), time.perf_counter() + _DRAIN
        )
        warm = warmed.total
        rx.reset()

        total, failed, issued, calls, late = await _pace(client, webhook_id, rate, seconds)
        done = await service.wait_done(conn, webhook_id, warm + total, time.perf_counter() + _DRAIN)
        report = rx.report()
        problems = server.problems()

    latencies_ms = [1000 * s for s in report.latencies]
    achieved = (total - failed) / issued
    table.rows.append(
        Row("Sends made", achieved, rate, "the pace asked for", " Sends/s", "open loop")
    )
    for p, goal in GOALS_MS.items():
        table.rows.append(
            Row(
                f"p{p} Send → receiver",
                _percentile(latencies_ms, p),
                goal,
                "goal",
                " ms",
                lower_is_better=True,
            )
        )
    calls_ms = [1000 * s for s in calls]
    table.notes += [
        "ratio = goal / figure for the latencies: 1 or more means the goal is met",
        f"{total:,} Sends of 1 recipient over {issued:.1f} s ({failed} failed, {late:,} "
        f"waited for one of the {IN_FLIGHT} slots); {len(latencies_ms):,} requests timed at "
        f"the receiver; {done.succeeded - warm:,} succeeded, {done.pending:,} still pending",
        f"Send → receiver: mean {statistics.fmean(latencies_ms or [0]):.1f} ms, "
        f"max {max(latencies_ms or [0]):.1f} ms",
        f"the Send call itself: p50 {_percentile(calls_ms, 50):.1f} ms, "
        f"p99 {_percentile(calls_ms, 99):.1f} ms",
    ]
    if problems:
        table.notes.append(f"the server logged {len(problems)} warnings: {problems[0][:200]}")


async def run(ctx: Context) -> list[Table]:
    rate = ctx.pick(500, 1_000)
    table = Table(f"latency: Send of 1 → receiver, {rate:,} Sends/s paced, one serve process")
    options = receiver.Options(latency=True)
    with receiver.process(max_seconds=600, options=options) as rx:
        async with ctx.postgres.scratch() as dsn:
            await _measure(ctx, dsn, rx, table)
    return [table]
