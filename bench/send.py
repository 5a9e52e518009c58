"""send: ingestion, messages stored per second by `QueueStore.insert_live`.

Each call stores 1,000 recipients in one transaction (what one Send does, workers
off). The ceiling is COPY of the same rows into a table of the same shape (same
columns, checks and indexes, no foreign keys) over the same driver in the same run;
single-row commits are the floor, for context.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench import webhook
from bench.harness import Bound, Context, async_rate
from bench.report import Row, Table
from bench.secret_key import keyring
from hooksmith_server import domain, ids, rendering
from hooksmith_server.delivery import signing
from hooksmith_server.store import db as store_db
from hooksmith_server.store.catalog import WebhookStore
from hooksmith_server.store.keys import KeyStore
from hooksmith_server.store.queue import LiveSend, QueueStore, recipient_json

NAME = "send"
RECIPIENTS_PER_CALL = 1_000
LANE = "api.sms.example"

_COPY_TABLE = "bench_copy"
_COLUMNS = (
    "workspace_id",
    "id",
    "webhook_id",
    "webhook_version",
    "kind",
    "status",
    "user_id",
    "recipient",
    "data",
    "labels",
    "destination",
    "next_attempt_time",
    "create_time",
    "update_time",
)
_INSERT_ONE = (
    f"INSERT INTO {_COPY_TABLE} ({', '.join(_COLUMNS)}) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
)


def _jsonb(value: Any) -> bytes:
    """jsonb's binary format: a version byte, then the JSON text; bytes are already that."""
    if isinstance(value, bytes):
        return value
    return b"\x01" + json.dumps(value).encode()


# insert_live sends the data once per call, not once per row; so does the COPY.
_DATA = _jsonb(webhook.DATA)


async def _copy_connection(dsn: str) -> asyncpg.Connection:
    """COPY is binary in asyncpg, so its jsonb codec is binary (the pool's is text)."""
    conn: asyncpg.Connection = await asyncpg.connect(dsn)
    await conn.set_type_codec(
        "jsonb", encoder=_jsonb, decoder=json.loads, schema="pg_catalog", format="binary"
    )
    return conn


def _batches(count: int) -> Iterator[list[domain.NewMessage]]:
    for call in range(count):
        first = call * RECIPIENTS_PER_CALL
        yield [
            domain.NewMessage(ids.new(), webhook.recipient(i))
            for i in range(first, first + RECIPIENTS_PER_CALL)
        ]


def _record(
    workspace_id: uuid.UUID,
    saved: domain.Webhook,
    message: domain.NewMessage,
    now: datetime,
    data: Any = webhook.DATA,
) -> tuple[Any, ...]:
    """A `messages` row as insert_live would write it."""
    return (
        workspace_id,
        message.id,
        uuid.UUID(saved.id),
        saved.version,
        "LIVE",
        "PENDING",
        message.recipient.user_id,
        recipient_json(message.recipient),
        data,
        {},
        LANE,
        now,
        now,
        now,
    )


async def _measure(
    ctx: Context, database: store_db.Database, copy_conn: asyncpg.Connection
) -> Table:
    keys = KeyStore(database)
    caller = await keys.authenticate(await keys.create("bench", domain.Scope.CONSOLE))
    assert caller is not None
    workspace_id = caller.workspace_id
    spec = webhook.spec()
    data_fields = rendering.Renderer().compile(spec).data_fields
    saved = await WebhookStore(database, keyring=keyring()).create(
        workspace_id, spec, data_fields, signing.new_secret()
    )
    store = QueueStore(database)
    async with database.connection() as conn:
        await conn.execute(f"CREATE TABLE {_COPY_TABLE} (LIKE messages INCLUDING ALL)")

    rounds = ctx.pick(2, 3)
    calls = Bound(count=ctx.pick(8, 20), seconds=ctx.pick(1.0, 3.0))
    # Both sides store the same recipients with the same ids, each in its own table.
    live_batches = _batches(rounds * calls.count)
    copy_batches = _batches(rounds * calls.count)

    async def insert_live() -> int:
        batch = next(live_batches)
        await store.insert_live(LiveSend(workspace_id, saved, batch, webhook.DATA, {}, None, LANE))
        return len(batch)

    async def copy() -> int:
        batch = next(copy_batches)
        now = datetime.now(UTC)
        records = [_record(workspace_id, saved, m, now, _DATA) for m in batch]
        await copy_conn.copy_records_to_table(_COPY_TABLE, records=records, columns=_COLUMNS)
        return len(batch)

    live_rate = copy_rate = 0.0
    for _ in range(rounds):
        live_rate = max(live_rate, await async_rate(insert_live, calls))
        copy_rate = max(copy_rate, await async_rate(copy, calls))

    singles = Bound(count=ctx.pick(1_000, 5_000), seconds=ctx.pick(1.0, 3.0))
    counter = iter(range(10**9))

    async def insert_one() -> int:
        message = domain.NewMessage(ids.new(), webhook.recipient(next(counter)))
        async with database.connection() as conn:
            await conn.execute(
                _INSERT_ONE, *_record(workspace_id, saved, message, datetime.now(UTC))
            )
        return 1

    async def insert_live_one() -> int:
        message = domain.NewMessage(ids.new(), webhook.recipient(next(counter)))
        await store.insert_live(
            LiveSend(workspace_id, saved, [message], webhook.DATA, {}, None, LANE)
        )
        return 1

    single_rate = await async_rate(insert_one, singles)
    live_one_rate = await async_rate(insert_live_one, singles)

    table = Table("send: messages stored/s, one call at a time, workers off")
    unit = " msgs/s"
    table.rows += [
        Row(f"insert_live, {RECIPIENTS_PER_CALL:,}/call", live_rate, copy_rate, "COPY", unit),
        Row("COPY, same rows", copy_rate, copy_rate, "COPY", unit),
        Row("insert_live, 1/call", live_one_rate, copy_rate, "COPY", unit, "floor"),
        Row("INSERT 1 row/commit", single_rate, copy_rate, "COPY", unit, "floor"),
    ]
    table.notes.append(
        f"one Send of {RECIPIENTS_PER_CALL:,} commits in "
        f"{1000 * RECIPIENTS_PER_CALL / live_rate:.0f} ms"
    )
    return table


async def run(ctx: Context) -> list[Table]:
    async with ctx.postgres.scratch() as dsn:
        database = await store_db.Database.connect(dsn, max_size=2)
        copy_conn = await _copy_connection(dsn)
        try:
            return [await _measure(ctx, database, copy_conn)]
        finally:
            await copy_conn.close()
            await database.close()
