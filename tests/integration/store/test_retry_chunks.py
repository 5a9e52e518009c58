"""RetryFailed in the store: a window re-queued in chunks, each its own transaction, and
a request id's walk that a repeat finishes and concurrent calls share."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from hooksmith_server import domain, ids
from hooksmith_server.store.db import Database
from hooksmith_server.store.outcomes import OutcomeStore
from hooksmith_server.store.recovery import RecoveryStore, request_hash
from tests.harness.catalog import webhook, workspace

HOUR = timedelta(hours=1)


def made_in_order(count: int) -> list[uuid.UUID]:
    """`count` message ids in the order a walk takes them."""
    return sorted(ids.new_many(count))


async def failed_now(
    database: Database, count: int
) -> tuple[uuid.UUID, domain.Webhook, datetime, list[uuid.UUID]]:
    """A webhook of a new workspace with `count` failed live messages created now; the
    workspace, the webhook, now, and the messages in the order a walk takes them."""
    ws = await workspace(database, "acme")
    hook = await webhook(database, ws, "https://a.example/")
    now = datetime.now(UTC)
    messages = made_in_order(count)
    await insert(database, ws, hook.id, messages, created=now)
    return ws, hook, now, messages


class Stop(Exception):
    """Ends a call between two chunks, as a process dying there would."""


async def insert(
    db: Database,
    workspace_id: uuid.UUID,
    webhook_id: str,
    message_ids: list[uuid.UUID],
    *,
    status: str = "FAILED",
    kind: str = "LIVE",
    created: datetime | None = None,
    purged: bool = False,
) -> None:
    """Messages as the recorder leaves them (UUIDv7 ids: today's partition), created at
    `created` (now by default)."""
    async with db.connection() as conn:
        await conn.execute(
            """
            INSERT INTO messages (workspace_id, id, webhook_id, webhook_version, kind, status,
                                  user_id, recipient, data, destination, next_attempt_time,
                                  create_time, update_time, purge_time)
            SELECT $1, m.id, $2, 1, $4, $5, 'u-' || m.id, '{}'::jsonb, '{}'::jsonb, 'x',
                   CASE WHEN $5 = 'PENDING' THEN now() END, coalesce($6, now()), now(),
                   CASE WHEN $7 THEN now() END
            FROM unnest($3::uuid[]) AS m (id)
            """,
            workspace_id,
            uuid.UUID(webhook_id),
            message_ids,
            kind,
            status,
            created,
            purged,
        )


async def statuses(db: Database, message_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    async with db.connection() as conn:
        rows = await conn.fetch(
            "SELECT id, status FROM messages WHERE id = ANY($1::uuid[])", message_ids
        )
    return {r["id"]: r["status"] for r in rows}


async def status_set(db: Database, message_ids: list[uuid.UUID]) -> set[str]:
    return set((await statuses(db, message_ids)).values())


async def fail_again(db: Database, webhook_id: str) -> int:
    """Every re-queued message of the webhook fails again at once: only a walk that keeps
    its place leaves them alone."""
    async with db.connection() as conn:
        done: str = await conn.execute(
            "UPDATE messages SET status = 'FAILED', manual = false, next_attempt_time = NULL"
            " WHERE webhook_id = $1 AND status = 'PENDING'",
            uuid.UUID(webhook_id),
        )
    return int(done.split()[-1])


async def test_chunks_requeue_each_message_of_the_window_once_and_nothing_else(
    database: Database,
) -> None:
    ws = await workspace(database, "acme")
    hook = await webhook(database, ws, "https://a.example/")
    other = await webhook(database, ws, "https://b.example/")
    elsewhere_ws = await workspace(database, "other")
    elsewhere = await webhook(database, elsewhere_ws, "https://c.example/")
    now = datetime.now(UTC)
    # The ids interleave, so every chunk's range has messages it must leave alone.
    made = made_in_order(240 * 2)
    inside, skipped_ids = made[0::2], made[1::2]
    await insert(database, ws, hook.id, inside, created=now)
    left_alone = {
        "before": skipped_ids[0:20],
        "after": skipped_ids[20:40],
        "test": skipped_ids[40:60],
        "purged": skipped_ids[60:80],
        "succeeded": skipped_ids[80:100],
        "pending": skipped_ids[100:120],
        "skipped": skipped_ids[120:140],
        "other webhook": skipped_ids[140:190],
        "other workspace": skipped_ids[190:240],
    }
    await insert(database, ws, hook.id, left_alone["before"], created=now - 2 * HOUR)
    await insert(database, ws, hook.id, left_alone["after"], created=now + 2 * HOUR)
    await insert(database, ws, hook.id, left_alone["test"], kind="TEST", created=now)
    await insert(database, ws, hook.id, left_alone["purged"], purged=True, created=now)
    await insert(database, ws, hook.id, left_alone["succeeded"], status="SUCCEEDED")
    await insert(database, ws, hook.id, left_alone["pending"], status="PENDING")
    await insert(database, ws, hook.id, left_alone["skipped"], status="SKIPPED")
    await insert(database, ws, other.id, left_alone["other webhook"], created=now)
    await insert(database, elsewhere_ws, elsewhere.id, left_alone["other workspace"])
    before = await statuses(database, skipped_ids)
    progress: list[int] = []

    async def seen(retried: int) -> None:
        progress.append(retried)

    retried = await RecoveryStore(database).retry_failed(
        ws, uuid.UUID(hook.id), now - HOUR, now + HOUR, None, chunk=40, after_chunk=seen
    )

    assert retried == 240
    # Six full chunks, then one that finds nothing left and ends the walk.
    assert progress == [40, 80, 120, 160, 200, 240, 240]
    async with database.connection() as conn:
        rows = await conn.fetch(
            "SELECT status, manual, next_attempt_time, locked_until FROM messages"
            " WHERE id = ANY($1::uuid[])",
            inside,
        )
    assert len(rows) == 240
    assert all(r["status"] == "PENDING" and r["manual"] for r in rows)
    assert all(r["next_attempt_time"] is not None and r["locked_until"] is None for r in rows)
    assert await statuses(database, skipped_ids) == before
    # A repeat without a request id re-queues what is failed then: nothing.
    assert (
        await RecoveryStore(database).retry_failed(
            ws, uuid.UUID(hook.id), now - HOUR, now + HOUR, None, chunk=40
        )
        == 0
    )


async def test_a_repeat_finishes_an_interrupted_call_from_where_it_stopped(
    database: Database,
) -> None:
    ws, hook, now, messages = await failed_now(database, 230)
    store = RecoveryStore(database)
    chunks = 0

    async def die_after_two(_: int) -> None:
        nonlocal chunks
        chunks += 1
        if chunks == 2:
            raise Stop

    with pytest.raises(Stop):
        await store.retry_failed(
            ws,
            uuid.UUID(hook.id),
            now - HOUR,
            now + HOUR,
            "night-1",
            chunk=50,
            after_chunk=die_after_two,
        )
    # Two chunks committed; the first hundred fail again before the repeat.
    assert await status_set(database, messages[:100]) == {"PENDING"}
    assert await status_set(database, messages[100:]) == {"FAILED"}
    assert await fail_again(database, hook.id) == 100

    # The repeat walks the first call's window (its own would re-queue nothing) from the
    # cursor: the hundred behind it are not queued twice by one call.
    later = now + 3 * HOUR
    repeated = await store.retry_failed(
        ws, uuid.UUID(hook.id), later, later + HOUR, "night-1", chunk=50
    )
    assert repeated == 230
    assert await status_set(database, messages[:100]) == {"FAILED"}
    assert await status_set(database, messages[100:]) == {"PENDING"}

    # Done: a repeat answers the total and queues nothing.
    assert await fail_again(database, hook.id) == 130
    again = await store.retry_failed(
        ws, uuid.UUID(hook.id), now - HOUR, now + HOUR, "night-1", chunk=50
    )
    assert again == 230
    assert await status_set(database, messages) == {"FAILED"}
    # Another id is another call.
    assert (
        await store.retry_failed(ws, uuid.UUID(hook.id), now - HOUR, now + HOUR, "night-2") == 230
    )


async def test_concurrent_calls_with_one_request_id_share_the_walk(database: Database) -> None:
    ws, hook, now, messages = await failed_now(database, 1000)
    store = RecoveryStore(database)
    chunks: dict[str, list[int]] = {"a": [], "b": []}

    async def caller(name: str) -> int:
        async def after_chunk(retried: int) -> None:
            chunks[name].append(retried)
            # What either call re-queued fails again at once: a call that lost its place
            # in the shared walk would queue it a second time, and count it twice.
            await fail_again(database, hook.id)

        return await store.retry_failed(
            ws,
            uuid.UUID(hook.id),
            now - HOUR,
            now + HOUR,
            "together",
            chunk=20,
            after_chunk=after_chunk,
        )

    first, second = await asyncio.gather(caller("a"), caller("b"))

    assert first == second == 1000
    # They took turns: each ran chunks of the one walk.
    assert len(chunks["a"]) >= 2
    assert len(chunks["b"]) >= 2
    assert sorted(chunks["a"] + chunks["b"])[-1] == 1000
    assert await status_set(database, messages) == {"FAILED"}
    async with database.connection() as conn:
        row = await conn.fetchrow(
            "SELECT retried_messages, done FROM retry_requests WHERE request_hash = $1",
            request_hash("together"),
        )
    assert row is not None
    assert (row["retried_messages"], row["done"]) == (1000, True)


async def test_a_request_id_of_the_previous_version_answers_its_count(
    database: Database,
) -> None:
    ws, hook, now, messages = await failed_now(database, 10)
    async with database.connection() as conn:
        # As the previous version wrote it: no window, no cursor, no done.
        await conn.execute(
            "INSERT INTO retry_requests (workspace_id, webhook_id, request_hash,"
            " retried_messages, create_time) VALUES ($1, $2, $3, 7, now())",
            ws,
            uuid.UUID(hook.id),
            request_hash("old"),
        )
        # And one first seen more than a day ago: forgotten, so the id is new again.
        await conn.execute(
            "INSERT INTO retry_requests (workspace_id, webhook_id, request_hash,"
            " retried_messages, create_time) VALUES ($1, $2, $3, 3, now() - interval '25 hours')",
            ws,
            uuid.UUID(hook.id),
            request_hash("stale"),
        )
    store = RecoveryStore(database)

    assert await store.retry_failed(ws, uuid.UUID(hook.id), now - HOUR, now + HOUR, "old") == 7
    assert await status_set(database, messages) == {"FAILED"}
    assert await store.retry_failed(ws, uuid.UUID(hook.id), now - HOUR, now + HOUR, "stale") == 10
    assert await status_set(database, messages) == {"PENDING"}


async def test_outcomes_are_readable_between_chunks(database: Database) -> None:
    ws = await workspace(database, "acme")
    hook = await webhook(database, ws, "https://a.example/")
    busy = await webhook(database, ws, "https://b.example/")
    now = datetime.now(UTC)
    await insert(database, ws, hook.id, made_in_order(100), created=now)
    [finishing] = made_in_order(1)
    await insert(database, ws, busy.id, [finishing], status="PENDING")
    outcomes = OutcomeStore(database)
    position = await outcomes.tail()
    read_mid_way: list[tuple[int, list[uuid.UUID]]] = []

    async def after_chunk(retried: int) -> None:
        if read_mid_way:
            return
        # Another webhook's message finishes while the call is between its chunks.
        async with database.connection() as conn:
            await conn.execute(
                "UPDATE messages SET status = 'SUCCEEDED', update_time = now() WHERE id = $1",
                finishing,
            )
        found: list[uuid.UUID] = []
        deadline = time.monotonic() + 10
        while not found and time.monotonic() < deadline:
            page = await outcomes.read(
                ws, position, domain.OutcomeFilter(include_test=True), limit=10
            )
            found = [o.message_id for o in page.outcomes]
            if not found:
                await asyncio.sleep(0.05)
        read_mid_way.append((retried, found))

    retried = await RecoveryStore(database).retry_failed(
        ws, uuid.UUID(hook.id), now - HOUR, now + HOUR, "stream", chunk=10, after_chunk=after_chunk
    )

    assert retried == 100
    # Its outcome was read after the first chunk, nine chunks before the call ended: no
    # transaction of the call stayed open behind it to hold the streams' horizon back.
    assert read_mid_way == [(10, [finishing])]
