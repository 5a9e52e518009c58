"""History that can grow: daily partitions made ahead and dropped whole, idempotency keys
that outlive their messages (hashed), and a retention per workspace."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from hooksmith_server import domain, errors, ids
from hooksmith_server.service.retention import Retention
from hooksmith_server.store import migrations
from hooksmith_server.store.db import Database
from hooksmith_server.store.queue import LiveSend, QueueStore, idempotency_hash
from hooksmith_server.store.retention import DAYS_AHEAD, RetentionStore
from tests.harness.catalog import webhook, workspace

RETENTION = timedelta(days=30)


def id_at(when: datetime) -> uuid.UUID:
    """A UUIDv7 made at `when`, as `ids.new` makes them now."""
    ms = int(when.timestamp() * 1000)
    random = int.from_bytes(os.urandom(10), "big")
    return uuid.UUID(
        int=ms << 80 | 0x7 << 76 | (random >> 68) << 64 | 0b10 << 62 | random & ((1 << 62) - 1)
    )


def today() -> date:
    return datetime.now(UTC).date()


def partition(day: date) -> str:
    return f"messages_p{day:%Y%m%d}"


def send(
    workspace_id: uuid.UUID, hook: domain.Webhook, users: list[str], key: str | None = None
) -> LiveSend:
    new = [domain.NewMessage(ids.new(), domain.Recipient(user)) for user in users]
    return LiveSend(workspace_id, hook, new, {"text": "x"}, {}, key, "api.example")


async def fetchval(db: Database, query: str, *args: object) -> object:
    async with db.connection() as conn:
        return await conn.fetchval(query, *args)


async def message_ids(db: Database) -> set[uuid.UUID]:
    async with db.connection() as conn:
        return {r["id"] for r in await conn.fetch("SELECT id FROM messages")}


async def execute(db: Database, query: str, *args: object) -> None:
    async with db.connection() as conn:
        await conn.execute(query, *args)


async def finish(db: Database, message_ids: list[uuid.UUID], when: datetime) -> None:
    """The messages succeeded at `when` (made then too, if that is earlier)."""
    await execute(
        db,
        "UPDATE messages SET status = 'SUCCEEDED', next_attempt_time = NULL,"
        " update_time = $2, create_time = least(create_time, $2) WHERE id = ANY($1::uuid[])",
        message_ids,
        when,
    )


async def insert_old(
    db: Database, workspace_id: uuid.UUID, hook: domain.Webhook, when: datetime, n: int
) -> list[uuid.UUID]:
    """`n` messages made and finished at `when`, each with one attempt."""
    made = [id_at(when) for _ in range(n)]
    async with db.connection() as conn:
        await conn.execute(
            """
            INSERT INTO messages (workspace_id, id, webhook_id, webhook_version, kind, status,
                                  user_id, recipient, data, destination, create_time,
                                  update_time, attempt_count)
            SELECT $1, id, $2, 1, 'LIVE', 'SUCCEEDED', 'u', '{"user_id": "u"}', '{}',
                   'api.example', $3, $3, 1
            FROM unnest($4::uuid[]) AS id
            """,
            workspace_id,
            uuid.UUID(hook.id),
            when,
            made,
        )
        await conn.execute(
            "INSERT INTO attempts (workspace_id, message_id, number, trigger, start_time)"
            " SELECT $1, id, 1, 'SCHEDULED', $2 FROM unnest($3::uuid[]) AS id",
            workspace_id,
            when,
            made,
        )
    return made


async def test_migrate_makes_today_and_the_days_ahead_and_rows_land_by_their_day(
    database: Database,
) -> None:
    store = RetentionStore(database)
    days = await store.partition_days()
    assert [today() + timedelta(days=n) for n in range(DAYS_AHEAD + 1)] == days[-DAYS_AHEAD - 1 :]

    a = await workspace(database, "a")
    hook = await webhook(database, a, "https://api.example/x")
    [message] = await QueueStore(database).insert_live(send(a, hook, ["u1"]))
    assert await fetchval(
        database, "SELECT tableoid::regclass::text FROM messages WHERE id = $1", message
    ) == partition(today())

    # A sweep whose clock says it is ten days later makes the days ahead of then.
    later = datetime.now(UTC) + timedelta(days=10)
    swept = await Retention(store, RETENTION, clock=lambda: later).collect()
    assert swept.made == DAYS_AHEAD + 1
    days = await store.partition_days()
    assert all(later.date() + timedelta(days=n) in days for n in range(DAYS_AHEAD + 1))
    # Nothing was made twice, and an old id with no day of its own lands in DEFAULT.
    assert await Retention(store, RETENTION, clock=lambda: later).collect() == type(swept)()
    [old] = await insert_old(database, a, hook, datetime.now(UTC) - timedelta(days=400), 1)
    assert (
        await fetchval(database, "SELECT tableoid::regclass::text FROM messages WHERE id = $1", old)
        == "messages_default"
    )


async def test_a_finished_old_day_is_dropped_whole_and_a_day_with_a_pending_message_is_kept(
    database: Database,
) -> None:
    store = RetentionStore(database)
    queue = QueueStore(database)
    a = await workspace(database, "a")
    hook = await webhook(database, a, "https://api.example/x")
    now = datetime.now(UTC)
    yesterday = today() - timedelta(days=1)
    await store.ensure_partitions(yesterday, yesterday)
    old = await insert_old(database, a, hook, now - timedelta(days=1), 50)
    assert await fetchval(
        database, "SELECT count(*) FROM attempts WHERE message_id = ANY($1::uuid[])", old
    ) == len(old)
    fresh = await queue.insert_live(send(a, hook, ["p", "f1", "f2"]))
    pending, finished = fresh[0], fresh[1:]
    await finish(database, finished, now)

    # Forty days on, both days are past a 30-day retention: yesterday goes whole; today
    # holds a pending message, so only today's finished rows are deleted, one by one.
    later = now + timedelta(days=40)
    swept = await Retention(store, RETENTION, clock=lambda: later).collect()
    assert yesterday in swept.partitions
    assert today() not in swept.partitions
    assert swept.messages == len(finished)
    days = await store.partition_days()
    assert yesterday not in days
    assert today() in days
    assert await fetchval(database, "SELECT to_regclass($1) IS NULL", partition(yesterday))
    assert await fetchval(
        database, "SELECT to_regclass($1) IS NULL", f"attempts_p{yesterday:%Y%m%d}"
    )
    assert await fetchval(database, "SELECT array_agg(id) FROM messages") == [pending]

    # Once its last message finishes, and that is past retention too, today goes as well.
    await finish(database, [pending], now)
    swept = await Retention(store, RETENTION, clock=lambda: later).collect()
    assert today() in swept.partitions
    assert await fetchval(database, "SELECT count(*) FROM messages") == 0


async def test_a_day_whose_last_message_finished_recently_waits_for_it(
    database: Database,
) -> None:
    store = RetentionStore(database)
    a = await workspace(database, "a")
    hook = await webhook(database, a, "https://api.example/x")
    long_ago = today() - timedelta(days=45)
    await store.ensure_partitions(long_ago, long_ago)
    now = datetime.now(UTC)
    old = await insert_old(database, a, hook, now - timedelta(days=45), 3)
    # Retried by hand last week: made 45 days ago, finished 7 days ago.
    await execute(
        database,
        "UPDATE messages SET update_time = $2 WHERE id = $1",
        old[0],
        now - timedelta(days=7),
    )

    swept = await Retention(store, RETENTION).collect()
    assert swept.partitions == []
    assert swept.messages == 2
    assert long_ago in await store.partition_days()
    assert await fetchval(database, "SELECT array_agg(id) FROM messages") == [old[0]]


async def test_a_workspace_with_a_shorter_retention_loses_its_rows_and_a_longer_one_holds_the_day(
    database: Database,
) -> None:
    store = RetentionStore(database)
    short = await workspace(database, "short")
    usual = await workspace(database, "usual")
    long = await workspace(database, "long")
    hooks = {w: await webhook(database, w, "https://api.example/x") for w in (short, usual, long)}
    await store.set_workspace_retention("short", timedelta(days=7))
    await store.set_workspace_retention("long", timedelta(days=60))
    now = datetime.now(UTC)
    ten_days_ago = now - timedelta(days=10)
    forty_days_ago = now - timedelta(days=40)
    for day in (ten_days_ago.date(), forty_days_ago.date()):
        await store.ensure_partitions(day, day)
    made = {
        (w, age): await insert_old(database, w, hooks[w], when, 2)
        for w in (short, usual, long)
        for age, when in (("10d", ten_days_ago), ("40d", forty_days_ago))
    }

    swept = await Retention(store, RETENTION).collect()
    # The 40-day-old day is past 7 and 30 days but not 60: it stays, and the rows of the
    # workspaces with shorter retentions in it are deleted one by one.
    assert swept.partitions == []
    kept = await message_ids(database)
    assert kept == {*made[(usual, "10d")], *made[(long, "10d")], *made[(long, "40d")]}
    assert await fetchval(database, "SELECT count(*) FROM attempts") == len(kept)

    # Back to the default: the long workspace's 40-day-old rows go, and with them the day.
    await store.set_workspace_retention("long", None)
    swept = await Retention(store, RETENTION).collect()
    assert swept.partitions == [forty_days_ago.date()]
    kept = await message_ids(database)
    assert kept == {*made[(usual, "10d")], *made[(long, "10d")]}


async def test_set_retention_names_what_is_wrong(database: Database) -> None:
    store = RetentionStore(database)
    with pytest.raises(errors.NotFound, match="'nowhere'"):
        await store.set_workspace_retention("nowhere", timedelta(days=7))
    await workspace(database, "a")
    with pytest.raises(errors.InvalidArgument, match="more than 0"):
        await store.set_workspace_retention("a", timedelta(0))


async def test_workspaces_set_retention_command(database: Database, database_url: str) -> None:
    await workspace(database, "shop")
    env = {**os.environ, "HOOKSMITH_DATABASE_URL": database_url}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hooksmith_server", "workspaces", "set-retention", *args],
            env=env,
            capture_output=True,
            text=True,
        )

    done = await asyncio.to_thread(run, "shop", "7d")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Workspace 'shop' keeps finished messages for 7d."
    assert await fetchval(
        database, "SELECT history_retention FROM workspaces WHERE name = 'shop'"
    ) == timedelta(days=7)

    done = await asyncio.to_thread(run, "shop", "default")
    assert done.returncode == 0, done.stderr
    assert (
        await fetchval(database, "SELECT history_retention FROM workspaces WHERE name = 'shop'")
        is None
    )

    for args, message in (
        (("nowhere", "7d"), "workspace 'nowhere' does not exist"),
        (("shop", "a week"), "'a week' is not a duration"),
        (("shop", "0d"), "must be more than 0"),
    ):
        done = await asyncio.to_thread(run, *args)
        assert done.returncode == 1
        assert message in done.stderr, done.stderr


async def test_a_repeated_send_after_its_message_was_removed_gets_the_same_id_and_no_message(
    database: Database,
) -> None:
    store = RetentionStore(database)
    queue = QueueStore(database)
    a = await workspace(database, "a")
    hook = await webhook(database, a, "https://api.example/x")
    first = await queue.insert_live(send(a, hook, ["u-1", "u-2"], key="run-7:step-2"))
    await finish(database, first, datetime.now(UTC) - timedelta(days=31))
    assert await Retention(store, RETENTION).sweep() == 2
    assert await fetchval(database, "SELECT count(*) FROM messages") == 0

    again = await queue.insert_live(send(a, hook, ["u-2", "u-1", "u-3"], key="run-7:step-2"))
    assert again[:2] == [first[1], first[0]]
    # Only the user the key had not seen gets a message: nothing is sent twice.
    assert await fetchval(database, "SELECT array_agg(id) FROM messages") == [again[2]]

    # After HOOKSMITH_IDEMPOTENCY_RETENTION the key is gone, and the same Send is new.
    later = datetime.now(UTC) + timedelta(days=91)
    swept = await Retention(
        store, RETENTION, idempotency_retention=timedelta(days=90), clock=lambda: later
    ).collect()
    assert swept.keys == 3
    third = await queue.insert_live(send(a, hook, ["u-1"], key="run-7:step-2"))
    assert third[0] not in first


async def test_idempotency_keys_are_stored_hashed_never_in_clear(database: Database) -> None:
    queue = QueueStore(database)
    a = await workspace(database, "a")
    hook = await webhook(database, a, "https://api.example/x")
    key = "journey-4f1c:step-9:secret-looking-key"
    [message] = await queue.insert_live(send(a, hook, ["user-42"], key=key))

    row = await fetchval(database, "SELECT to_jsonb(k) FROM idempotency_keys k")
    assert isinstance(row, dict)
    raw = key.encode()
    expected = hashlib.sha256(len(raw).to_bytes(4, "big") + raw + b"user-42").hexdigest()
    assert row["key_hash"] == "\\x" + expected
    assert idempotency_hash(key, "user-42").hex() == expected
    assert row["message_id"] == str(message)
    # Nowhere in the messages or the keys is the key itself.
    for table in ("messages", "idempotency_keys", "attempts"):
        found = await fetchval(
            database, f"SELECT count(*) FROM {table} t WHERE t::text LIKE '%' || $1 || '%'", key
        )
        assert found == 0, table


async def test_migration_0011_moves_existing_rows_and_hashes_their_keys(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        await conn.execute(
            "CREATE TABLE hooksmith_migrations (version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        before = [m for m in migrations.available() if m.version < 11]
        for m in before:
            await conn.execute(m.sql)
            await conn.execute(
                "INSERT INTO hooksmith_migrations (version, name) VALUES ($1, $2)",
                m.version,
                m.name,
            )
        workspace_id, webhook_id = uuid.uuid4(), uuid.uuid4()
        await conn.execute("INSERT INTO workspaces (id, name) VALUES ($1, 'w')", workspace_id)
        await conn.execute(
            "INSERT INTO webhooks (workspace_id, id, latest_version, state, create_time,"
            " update_time) VALUES ($1, $2, 1, 'ACTIVE', now(), now())",
            workspace_id,
            webhook_id,
        )
        now = datetime.now(UTC)
        made = [id_at(now - timedelta(days=d)) for d in (0, 3, 3)] + [uuid.uuid4()]
        for n, message_id in enumerate(made):
            await conn.execute(
                """INSERT INTO messages (workspace_id, id, webhook_id, webhook_version, kind,
                       status, user_id, recipient, data, idempotency_key, destination,
                       create_time, update_time, traceparent)
                   VALUES ($1, $2, $3, 1, 'LIVE', 'SUCCEEDED', $4, '{}', '{}', $5, 'd', now(),
                           now(), 'tp')""",
                workspace_id,
                message_id,
                webhook_id,
                f"u{n}",
                "k" if n < 2 else None,
            )
            await conn.execute(
                "INSERT INTO attempts (workspace_id, message_id, number, trigger, start_time)"
                " VALUES ($1, $2, 1, 'SCHEDULED', now())",
                workspace_id,
                message_id,
            )

        applied = await migrations.apply(conn)

        assert 11 in [m.version for m in applied]
        rows = await conn.fetch("SELECT id, tableoid::regclass::text AS part FROM messages")
        where = {r["id"]: r["part"] for r in rows}
        assert where == {
            made[0]: partition(now.date()),
            made[1]: partition((now - timedelta(days=3)).date()),
            made[2]: partition((now - timedelta(days=3)).date()),
            made[3]: "messages_default",
        }
        assert await conn.fetchval("SELECT count(*) FROM attempts") == 4
        assert await conn.fetchval("SELECT count(*) FROM messages WHERE traceparent = 'tp'") == 4
        keys = await conn.fetch("SELECT key_hash, message_id FROM idempotency_keys ORDER BY 2")
        assert sorted((bytes(r["key_hash"]), r["message_id"]) for r in keys) == sorted(
            (idempotency_hash("k", f"u{n}"), made[n]) for n in range(2)
        )
        column = await conn.fetchval(
            "SELECT count(*) FROM information_schema.columns"
            " WHERE table_name = 'messages' AND column_name = 'idempotency_key'"
        )
        assert column == 0
        # Every index of the old table is on the new one.
        indexes = {
            r["indexname"]
            for r in await conn.fetch(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'messages'"
            )
        }
        assert {
            "messages_pkey",
            "messages_lanes",
            "messages_leased",
            "messages_history",
            "messages_by_webhook",
            "messages_by_user",
            "messages_finished",
            "messages_labels",
        } <= indexes
    finally:
        await conn.close()
