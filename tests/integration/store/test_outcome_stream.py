"""The outcome stream in the store: every way a message finishes is written, and readers
following a position see each outcome exactly once although transactions commit out of
the order of their ids."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from hooksmith_server import domain, ids
from hooksmith_server.pagination import StreamPosition
from hooksmith_server.store.db import Database
from hooksmith_server.store.outcomes import OutcomeStore
from hooksmith_server.store.retention import RetentionStore
from tests.harness.catalog import webhook, workspace

EVERYTHING = domain.OutcomeFilter(include_test=True)


async def pending(
    conn: asyncpg.Connection, workspace_id: uuid.UUID, hook: domain.Webhook, n: int
) -> list[uuid.UUID]:
    """`n` pending messages (UUIDv7 ids, so they land in today's partition)."""
    made = ids.new_many(n)
    await conn.execute(
        """
        INSERT INTO messages (workspace_id, id, webhook_id, webhook_version, kind, status,
                              user_id, recipient, data, labels, destination,
                              next_attempt_time, create_time, update_time)
        SELECT $1, m.id, $2, 1, 'LIVE', 'PENDING', 'u-' || m.id, '{}'::jsonb, '{}'::jsonb,
               '{"campaign": "spring"}'::jsonb, 'x', now(), now(), now()
        FROM unnest($3::uuid[]) AS m (id)
        """,
        workspace_id,
        uuid.UUID(hook.id),
        made,
    )
    return made


async def finish(
    conn: asyncpg.Connection, message_id: uuid.UUID, status: str = "SUCCEEDED"
) -> None:
    await conn.execute(
        """UPDATE messages SET status = $2, update_time = now(),
                  last_response = '{"status_code": 201}'::jsonb, captured = '{"code": "C1"}'
           WHERE id = $1""",
        message_id,
        status,
    )


async def read_all(
    store: OutcomeStore, workspace_id: uuid.UUID, after: StreamPosition, limit: int = 500
) -> tuple[list[domain.MessageOutcome], StreamPosition]:
    """Every outcome readable after `after`, a page of `limit` at a time (at most 50 pages)."""
    found: list[domain.MessageOutcome] = []
    for _ in range(50):
        page = await store.read(workspace_id, after, EVERYTHING, limit=limit)
        found += page.outcomes
        after = page.next
        if not page.full:
            return found, after
    raise AssertionError("the stream did not end within 50 pages")


async def read_until(
    store: OutcomeStore, workspace_id: uuid.UUID, after: StreamPosition, count: int
) -> tuple[list[domain.MessageOutcome], StreamPosition]:
    """Outcomes after `after` until there are `count` (a transaction of another database
    on the same server may hold the horizon back for a moment); 10 s at most."""
    found: list[domain.MessageOutcome] = []
    deadline = time.monotonic() + 10
    while len(found) < count and time.monotonic() < deadline:
        got, after = await read_all(store, workspace_id, after)
        found += got
        if len(found) < count:
            await asyncio.sleep(0.05)
    return found, after


async def test_an_earlier_transaction_committing_after_a_later_one_is_not_skipped(
    database: Database, database_url: str
) -> None:
    ws = await workspace(database, "acme")
    hook = await webhook(database, ws, "https://x.example/")
    store = OutcomeStore(database)
    early = await asyncpg.connect(database_url)
    late = await asyncpg.connect(database_url)
    try:
        first, second, third = await pending(early, ws, hook, 3)
        start = await store.tail()
        # The early transaction takes its id first and stays open...
        early_tx = early.transaction()
        await early_tx.start()
        await finish(early, first)
        # ...while a later one finishes another message and commits.
        async with late.transaction():
            await finish(late, second)

        seen, position = await read_all(store, ws, start)
        # The later commit is held back: returning it now would move the position past
        # the early transaction's outcome, which would then never be read.
        assert seen == []

        await early_tx.commit()
        async with late.transaction():
            await finish(late, third, "FAILED")
        seen, position = await read_until(store, ws, position, 3)
        # A cursor made after the early commit sees every outcome once, in (xid, seq) order.
        assert [o.message_id for o in seen] == [first, second, third]
        assert [(o.xid, o.seq) for o in seen] == sorted((o.xid, o.seq) for o in seen)
        assert seen[0].status is domain.MessageStatus.SUCCEEDED
        assert seen[0].status_code == 201
        assert seen[0].captured == {"code": "C1"}
        assert seen[0].labels == {"campaign": "spring"}
        assert seen[2].status is domain.MessageStatus.FAILED

        again, _ = await read_all(store, ws, position)
        assert again == []
        # Resuming from the first outcome's position gives the rest, once.
        resumed, _ = await read_until(store, ws, StreamPosition(seen[0].xid, seen[0].seq), 2)
        assert [o.message_id for o in resumed] == [second, third]
    finally:
        await early.close()
        await late.close()


async def test_many_concurrent_committers_are_each_seen_once(
    database: Database, database_url: str
) -> None:
    ws = await workspace(database, "acme")
    hook = await webhook(database, ws, "https://x.example/")
    store = OutcomeStore(database)
    writers = [await asyncpg.connect(database_url) for _ in range(4)]
    try:
        messages = await pending(writers[0], ws, hook, 400)
        position = await store.tail()
        seen: list[uuid.UUID] = []
        # Four writers interleave transactions of five messages each, committing in an
        # order unrelated to when their transactions began; the reader reads in between.
        for round_start in range(0, 400, 20):
            chunk = messages[round_start : round_start + 20]
            open_transactions = []
            for n, writer in enumerate(writers):
                tx = writer.transaction()
                await tx.start()
                for mid in chunk[n * 5 : n * 5 + 5]:
                    await finish(writer, mid)
                open_transactions.append(tx)
            for tx in reversed(open_transactions):
                await tx.commit()
                got, position = await read_all(store, ws, position, limit=3)
                seen += [o.message_id for o in got]
        got, position = await read_until(store, ws, position, 400 - len(seen))
        seen += [o.message_id for o in got]

        assert len(seen) == len(set(seen)) == 400
        assert set(seen) == set(messages)
    finally:
        for writer in writers:
            await writer.close()


async def test_outcomes_of_other_workspaces_and_unwanted_ones_are_left_out(
    database: Database,
) -> None:
    acme = await workspace(database, "acme")
    other = await workspace(database, "other")
    hook = await webhook(database, acme, "https://x.example/")
    other_hook = await webhook(database, other, "https://x.example/")
    store = OutcomeStore(database)
    start = await store.tail()
    async with database.connection() as conn:
        [mine] = await pending(conn, acme, hook, 1)
        [theirs] = await pending(conn, other, other_hook, 1)
        await finish(conn, mine)
        await finish(conn, theirs)

    found, _ = await read_until(store, acme, start, 1)
    assert [o.message_id for o in found] == [mine]
    unwanted = domain.OutcomeFilter(labels={"campaign": "autumn"}, include_test=True)
    skipped = await store.read(acme, start, unwanted, limit=10)
    # Nothing wanted, but the read moved past what it looked at.
    assert skipped.outcomes == []
    assert (skipped.next.xid, skipped.next.seq) > (start.xid, start.seq)


async def test_retention_deletes_outcomes_with_their_messages(database: Database) -> None:
    ws = await workspace(database, "acme")
    hook = await webhook(database, ws, "https://x.example/")
    store = OutcomeStore(database)
    start = await store.tail()
    async with database.connection() as conn:
        [old] = await pending(conn, ws, hook, 1)
        await finish(conn, old)
        await conn.execute(
            "UPDATE messages SET create_time = now() - interval '40 days',"
            " update_time = now() - interval '40 days' WHERE id = $1",
            old,
        )
    deleted = await RetentionStore(database).delete_expired(
        datetime.now(UTC), timedelta(days=30), 100
    )

    assert deleted == 1
    page = await store.read(ws, start, EVERYTHING, limit=10)
    assert page.outcomes == []
