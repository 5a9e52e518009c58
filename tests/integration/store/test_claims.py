"""Claims share the batch fairly and read each lane from its index, never the backlog."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import timedelta

import asyncpg

from hooksmith_server import domain, ids
from hooksmith_server.store.catalog import WebhookStore
from hooksmith_server.store.db import Database
from hooksmith_server.store.queue import ARCHIVED, LiveSend, QueueStore, claim_arguments
from tests.harness.catalog import webhook, workspace
from tests.harness.server import keyring

MARGIN = timedelta(seconds=30)
TIMEOUT = timedelta(seconds=10)


async def fill(
    conn: asyncpg.Connection, workspace_id: uuid.UUID, hook: domain.Webhook, lane: str, n: int
) -> None:
    """`n` due messages in one lane, written in one statement."""
    await conn.execute(
        """
        INSERT INTO messages (workspace_id, id, webhook_id, webhook_version, kind, status,
                              user_id, recipient, data, destination, next_attempt_time,
                              create_time, update_time)
        SELECT $1, gen_random_uuid(), $2, 1, 'LIVE', 'PENDING', 'u' || g,
               jsonb_build_object('user_id', 'u' || g), '{}'::jsonb, $3,
               now() - interval '1 hour' + g * interval '1 ms', now(), now()
        FROM generate_series(1, $4) g
        """,
        workspace_id,
        uuid.UUID(hook.id),
        lane,
        n,
    )


async def test_a_claim_shares_its_batch_across_workspaces_then_lanes(database: Database) -> None:
    a = await workspace(database, "a")
    b = await workspace(database, "b")
    hook_a = await webhook(database, a, "https://big.example/x")
    hook_b = await webhook(database, b, "https://small.example/x")
    async with database.connection() as conn:
        await fill(conn, a, hook_a, "big.example", 1000)
        await fill(conn, a, hook_a, "other.example", 10)
        await fill(conn, b, hook_b, "small.example", 1)
    queue = QueueStore(database)

    first = await queue.claim(100, MARGIN, TIMEOUT, in_flight={}, lane_limit=1000)
    taken = Counter(c.destination for c in first)
    # Half the batch for each workspace; a's half split between its two lanes.
    assert taken == {"small.example": 1, "other.example": 10, "big.example": 25}

    # A lane at its limit in this worker takes nothing more; the others go on.
    full = {domain.Lane(a, "big.example"): 40}
    second = await queue.claim(100, MARGIN, TIMEOUT, in_flight=full, lane_limit=40)
    assert second == []
    third = await queue.claim(100, MARGIN, TIMEOUT, in_flight={}, lane_limit=30)
    assert Counter(c.destination for c in third) == {"big.example": 30}


async def test_a_huge_backlog_is_not_read_to_claim_from_it(database: Database) -> None:
    a = await workspace(database, "a")
    b = await workspace(database, "b")
    hook_a = await webhook(database, a, "https://big.example/x")
    hook_b = await webhook(database, b, "https://small.example/x")
    async with database.connection() as conn:
        await fill(conn, a, hook_a, "big.example", 100_000)
        await fill(conn, b, hook_b, "small.example", 1)
        await conn.execute("ANALYZE messages")
    queue = QueueStore(database)

    async with database.connection() as conn:
        transaction = conn.transaction()
        await transaction.start()
        plan = await conn.fetchval(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + queue._q.claim,
            *claim_arguments(200, MARGIN, TIMEOUT, {}, 1000),
        )
        # EXPLAIN ANALYZE runs the claim; its leases are undone.
        await transaction.rollback()
    rows_read = _rows_read_from(json.loads(plan) if isinstance(plan, str) else plan, "messages")
    assert rows_read < 2_000, f"the claim read {rows_read:,} rows of messages"

    claims = await queue.claim(200, MARGIN, TIMEOUT, in_flight={}, lane_limit=1000)
    assert Counter(c.destination for c in claims) == {"small.example": 1, "big.example": 100}
    # The oldest of the big lane first (`fill` makes u1 the oldest).
    big = sorted(int(c.recipient.user_id[1:]) for c in claims if c.destination == "big.example")
    assert big == list(range(1, 101))


def _rows_read_from(plan: object, table: str) -> int:
    """Rows every scan node over `table` or one of its partitions (`<table>_p<day>`,
    `<table>_default`) returned, summed over loops."""
    total = 0
    stack = [plan]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            relation = str(node.get("Relation Name"))
            if (relation == table or relation.startswith(f"{table}_")) and "Scan" in str(
                node.get("Node Type")
            ):
                total += int(node.get("Actual Rows", 0)) * int(node.get("Actual Loops", 1))
                total += int(node.get("Rows Removed by Filter", 0)) * int(
                    node.get("Actual Loops", 1)
                )
            stack.extend(v for v in node.values() if isinstance(v, list | dict))
    return total


async def test_messages_of_an_archived_webhook_are_failed_not_claimed(database: Database) -> None:
    a = await workspace(database, "a")
    hook = await webhook(database, a, "https://gone.example/x")
    queue = QueueStore(database)
    new = [domain.NewMessage(ids.new(), domain.Recipient(f"u{i}")) for i in range(3)]
    await queue.insert_live(LiveSend(a, hook, new, {}, {}, None, "gone.example"))
    await WebhookStore(database, keyring=keyring()).archive(a, uuid.UUID(hook.id))

    assert await queue.claim(10, MARGIN, TIMEOUT, in_flight={}, lane_limit=10) == []
    async with database.connection() as conn:
        rows = await conn.fetch("SELECT status, last_error, attempt_count FROM messages")
    assert [(r["status"], r["last_error"], r["attempt_count"]) for r in rows] == [
        ("FAILED", ARCHIVED, 0)
    ] * 3
