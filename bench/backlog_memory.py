"""backlog_memory: the memory of a server that keeps attempting a large backlog.

A `serve` process (default settings but listen, egress and `HOOKSMITH_BREAKER_THRESHOLD=0`:
the breaker is off, so it never pauses the destination and keeps attempting) and a
webhook whose receiver refuses every connection (a closed port on 127.0.0.1), with 25
retries 5 s apart. 100,000 messages (quick: 20,000) go in through gRPC Send, 1,000 per
call. The process's RSS (VmRSS in /proc/<pid>/status) is sampled every second for
5 minutes (quick: 30 s) from the first Send: the largest sample against the goal of
250 MB, and the slope over the second half (least squares, MB per minute).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import asyncpg
from google.protobuf import duration_pb2

from bench import deliver, service
from bench.harness import Context
from bench.report import Row, Table
from hooksmith.v1 import webhooks_pb2 as pb

NAME = "backlog_memory"
GOAL_MB = 250.0
PER_CALL = 1_000
RETRIES = 25
RETRY_DELAY = 5


def _spec(url: str) -> pb.WebhookSpec:
    delay = duration_pb2.Duration(seconds=RETRY_DELAY)
    return pb.WebhookSpec(
        name="refused",
        url=url,
        body='{"user": "{{ userId }}", "text": "{{ text }}"}',
        policy=pb.DeliveryPolicy(retry_schedule=[delay] * RETRIES),
    )


def _slope_per_minute(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB), in MB per minute."""
    n = len(samples)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in samples) / n
    mean_m = sum(m for _, m in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    if var == 0:
        return 0.0
    cov = sum((t - mean_t) * (m - mean_m) for t, m in samples)
    return 60 * cov / var


async def _measure(ctx: Context, dsn: str, table: Table) -> None:
    total = ctx.pick(20_000, 100_000)
    seconds = ctx.pick(30.0, 300.0)
    refused = f"http://127.0.0.1:{service.free_port()}/refused"
    key = await service.new_key(dsn)
    env = {"HOOKSMITH_BREAKER_THRESHOLD": "0"}
    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(service.server_process("serve", dsn, env))
        assert server.port is not None
        client = service.Client(server.port, key)
        stack.push_async_callback(client.close)
        await client.ready()
        conn: asyncpg.Connection = await asyncpg.connect(dsn)
        stack.push_async_callback(conn.close)
        webhook_id = await client.create(_spec(refused))
        text = {"text": "your order #1234 has shipped and arrives on Thursday."}
        data = deliver._struct(text)
        requests = [
            pb.SendRequest(
                webhook_id=webhook_id,
                recipients=[
                    pb.Recipient(user_id=f"user-{i}")
                    for i in range(call * PER_CALL, (call + 1) * PER_CALL)
                ],
                data=data,
            )
            for call in range(total // PER_CALL)
        ]
        idle = server.rss_mb() or 0.0

        samples: list[tuple[float, float]] = []
        started = time.perf_counter()

        async def sample() -> None:
            for second in range(int(seconds) + 1):
                await asyncio.sleep(max(0.0, started + second - time.perf_counter()))
                rss = server.rss_mb()
                if rss is None:
                    return
                samples.append((time.perf_counter() - started, rss))

        sampler = asyncio.create_task(sample())
        await client.send_all(requests)
        sent = time.perf_counter() - started
        await sampler
        now = await service.progress(conn, webhook_id)
        alive = server.popen.poll() is None
        problems = server.problems()

    peak = max((m for _, m in samples), default=0.0)
    half = [s for s in samples if s[0] >= seconds / 2]
    slope = _slope_per_minute(half)
    first_half = [m for t, m in samples if t < seconds / 2]
    table.rows += [
        Row("max RSS", peak, GOAL_MB, "goal", " MB", lower_is_better=True),
        Row(f"RSS slope, second {seconds / 2:.0f} s", slope, None, unit=" MB/min"),
    ]
    table.notes += [
        "ratio = goal / figure: 1 or more means the goal is met",
        f"{total:,} messages sent in {sent:.1f} s ({total // PER_CALL} Sends of {PER_CALL:,}); "
        f"RSS {idle:.0f} MB before, max {max(first_half, default=0):.0f} MB in the first half, "
        f"{samples[-1][1] if samples else 0:.0f} MB at the end ({len(samples)} samples, "
        f"{seconds:.0f} s)",
        f"after {seconds:.0f} s: {now.attempts:,} attempts made, {now.pending:,} pending, "
        f"{now.failed:,} failed (every attempt is refused; breaker off)",
    ]
    if not alive:
        table.notes.append("the server process exited before the end")
    if problems:
        table.notes.append(f"the server logged {len(problems)} warnings: {problems[0][:200]}")


async def run(ctx: Context) -> list[Table]:
    table = Table("backlog_memory: a serve process attempting a backlog its receiver refuses")
    async with ctx.postgres.scratch() as dsn:
        await _measure(ctx, dsn, table)
    return [table]
