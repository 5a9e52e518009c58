"""history_page: ListHistory's first page for one webhook and one status, in a large history.

2,000,000 messages (quick: 200,000) of 100 webhooks are written straight into
`messages` with SQL (a mix of statuses: 85 % SUCCEEDED, 10 % FAILED, 5 % PENDING;
create_time spread over the last 30 days, each id a UUIDv7 of its creation time, so the
rows fill the 30 daily partitions they would be in; request, response and destination
set as delivery leaves them), then ANALYZE. An `Application` (deliveries off, so nothing
claims or deletes them) answers ~200 `ListHistory` calls, one at a time, each for a
webhook chosen in turn and status FAILED, default page size. The p95 of the call as
the client sees it is compared with the goal of 50 ms (ratio goal / figure).
"""

from __future__ import annotations

import contextlib
import ipaddress
import time
import uuid
from datetime import timedelta

import asyncpg

from bench import service
from bench.harness import Context
from bench.latency import _percentile
from bench.report import Row, Table
from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server.config import Settings

NAME = "history_page"
WEBHOOKS = 100
GOAL_MS = 50.0
CHUNK = 100_000
DESTINATION = "api.sms.example"

# One statement per chunk of [$3, $4): webhook i % 100, status by (i / 100) % 20.
_INSERT = """
INSERT INTO messages (workspace_id, id, webhook_id, webhook_version, kind, status, user_id,
                      recipient, data, labels, attempt_count, failures, next_attempt_time,
                      last_request, last_response, last_error, destination, create_time,
                      update_time)
SELECT $1,
       -- A UUIDv7 of its creation time, as the server makes them: it picks the partition.
       (lpad(to_hex(floor(extract(epoch FROM t.created) * 1000)::bigint), 12, '0') || '7'
        || substr(md5(i::text), 1, 3) || '8' || substr(md5(i::text), 4, 15))::uuid,
       ($2::uuid[])[1 + i % $5], 1, 'LIVE', s.status, 'user-' || i,
       jsonb_build_object(
           'user_id', 'user-' || i,
           'tags', jsonb_build_object(
               'phone_number', '+1555' || lpad(i::text, 7, '0'),
               'first_name', 'Ada', 'plan', 'pro'),
           'entry_event', '{"event": "order_shipped", "order": 1234}'::jsonb),
       '{"account_id": "AC5ef8732a3c49700934481addd5ce1659", "text": "your order has shipped."}',
       '{}', s.attempts, s.attempts - (s.status = 'SUCCEEDED')::int,
       CASE WHEN s.status = 'PENDING' THEN t.created + interval '5 minutes' END,
       jsonb_build_object(
           'method', 'POST',
           'url', 'https://api.sms.example/v1/accounts/AC5ef8732a3c49700934481addd5ce1659/messages',
           'headers', '[{"name": "Authorization", "value": "****", "secret": true},
                        {"name": "Content-Type", "value": "application/json"}]'::jsonb,
           'body', '{"to": "+1555' || lpad(i::text, 7, '0')
                   || '", "text": "Hi Ada, your order has shipped."}'),
       CASE WHEN s.status = 'PENDING' THEN NULL ELSE jsonb_build_object(
           'status_code', CASE WHEN s.status = 'FAILED' THEN 503 ELSE 200 END,
           'headers', '[{"name": "Content-Type", "value": "application/json"}]'::jsonb,
           'body', CASE WHEN s.status = 'FAILED' THEN '{"error": "unavailable"}'
                        ELSE '{"ok": true}' END,
           'body_truncated', false) END,
       CASE WHEN s.status = 'FAILED' THEN 'HTTP 503' END,
       $6, t.created, t.created + interval '2 seconds'
FROM generate_series($3::bigint, $4::bigint - 1) AS i
CROSS JOIN LATERAL (
    SELECT CASE WHEN k < 2 THEN 'FAILED' WHEN k = 2 THEN 'PENDING' ELSE 'SUCCEEDED' END
               AS status,
           CASE WHEN k < 2 THEN 8 WHEN k = 2 THEN 2 ELSE 1 END AS attempts
    FROM (SELECT (i / $5) % 20 AS k) kind
) s
-- `i` in it makes the time drawn per row, not once per statement.
CROSS JOIN LATERAL (
    SELECT now() - random() * interval '30 days' + 0 * i * interval '1 s' AS created
) t
"""


async def _fill(
    conn: asyncpg.Connection, workspace: uuid.UUID, webhooks: list[uuid.UUID], total: int
) -> float:
    started = time.perf_counter()
    if await conn.fetchval("SELECT to_regproc('hooksmith_ensure_partitions') IS NOT NULL"):
        # A daily partition for each of the 30 days the history spans, as the server
        # would have made them.
        await conn.execute(
            "SELECT hooksmith_ensure_partitions(today - 31, today)"
            " FROM (SELECT (now() AT TIME ZONE 'UTC')::date AS today) t"
        )
    for first in range(0, total, CHUNK):
        await conn.execute(
            _INSERT,
            workspace,
            webhooks,
            first,
            min(total, first + CHUNK),
            len(webhooks),
            DESTINATION,
        )
    await conn.execute("ANALYZE messages")
    return time.perf_counter() - started


async def _measure(ctx: Context, dsn: str, table: Table) -> None:
    total = ctx.pick(200_000, 2_000_000)
    calls = 200
    settings = Settings(
        listen="127.0.0.1:0",
        workers=0,
        egress_allow=(ipaddress.ip_network("127.0.0.0/8"),),
        shutdown_grace=timedelta(seconds=2),
    )
    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(service.in_process(dsn, settings))
        conn: asyncpg.Connection = await asyncpg.connect(dsn)
        stack.push_async_callback(conn.close)
        webhook_ids = [
            await client.create(service.sms_spec("https://api.sms.example"))
            for _ in range(WEBHOOKS)
        ]
        workspace = await conn.fetchval(
            "SELECT workspace_id FROM webhooks WHERE id = $1", uuid.UUID(webhook_ids[0])
        )
        filled = await _fill(conn, workspace, [uuid.UUID(w) for w in webhook_ids], total)
        size = await conn.fetchval(
            "SELECT pg_size_pretty(coalesce(sum(pg_total_relation_size(relid)),"
            " pg_total_relation_size('messages'))) FROM pg_partition_tree('messages')"
        )

        # Warm: connections, prepared statements, the pages of the first few webhooks.
        for webhook_id in webhook_ids[:5]:
            await client.stub.ListHistory(
                pb.ListHistoryRequest(webhook_id=webhook_id, statuses=[pb.MESSAGE_STATUS_FAILED]),
                metadata=client.metadata,
            )
        timings: list[float] = []
        shown = 0
        deadline = time.perf_counter() + ctx.pick(30.0, 60.0)
        for i in range(calls):
            request = pb.ListHistoryRequest(
                webhook_id=webhook_ids[i % WEBHOOKS], statuses=[pb.MESSAGE_STATUS_FAILED]
            )
            began = time.perf_counter()
            answer = await client.stub.ListHistory(request, metadata=client.metadata, timeout=30)
            timings.append(1000 * (time.perf_counter() - began))
            shown += len(answer.messages)
            if time.perf_counter() > deadline:
                break
    table.rows += [
        Row(
            "p95 ListHistory",
            _percentile(timings, 95),
            GOAL_MS,
            "goal",
            " ms",
            lower_is_better=True,
        ),
        Row("p50 ListHistory", _percentile(timings, 50), None, unit=" ms"),
        Row("p99 ListHistory", _percentile(timings, 99), None, unit=" ms"),
    ]
    table.notes += [
        "ratio = goal / figure: 1 or more means the goal is met",
        f"{total:,} messages of {WEBHOOKS} webhooks written in {filled:.0f} s (with ANALYZE); "
        f"messages is {size} with its indexes",
        f"{len(timings)} calls, webhook by turns, status FAILED (10 % of each webhook's), "
        f"default page size: {shown / max(1, len(timings)):.0f} messages a page",
    ]


async def run(ctx: Context) -> list[Table]:
    table = Table("history_page: ListHistory first page, one webhook, status FAILED")
    async with ctx.postgres.scratch() as dsn:
        await _measure(ctx, dsn, table)
    return [table]
