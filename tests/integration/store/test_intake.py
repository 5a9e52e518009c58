"""Intake: concurrent Sends share commits; each still gets its own ids, or its own error."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg

from hooksmith_server import domain, ids
from hooksmith_server.store.db import Database
from hooksmith_server.store.intake import Intake
from hooksmith_server.store.queue import LiveSend, QueueStore
from tests.harness.catalog import webhook, workspace


@contextlib.asynccontextmanager
async def running(intake: Intake) -> AsyncIterator[Intake]:
    task = asyncio.create_task(intake.run())
    try:
        yield intake
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def one(
    workspace_id: uuid.UUID, hook: domain.Webhook, user: str, key: str | None = None
) -> LiveSend:
    message = domain.NewMessage(ids.new(), domain.Recipient(user))
    return LiveSend(workspace_id, hook, [message], {}, {}, key, "api.example")


async def commits(db: Database) -> int:
    async with db.connection() as conn:
        value: int = await conn.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
    return value


async def test_concurrent_sends_share_commits(database: Database) -> None:
    a = await workspace(database, "a")
    hook = await webhook(database, a, "https://api.example/x")
    async with running(Intake(QueueStore(database))) as intake:
        before = await commits(database)
        results = await asyncio.gather(
            *(intake.insert_live(one(a, hook, f"u{i}")) for i in range(200))
        )
        after = await commits(database)
    assert len({i for ids_ in results for i in ids_}) == 200
    async with database.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM messages") == 200
    # Statistics are flushed lazily, so this bounds rather than counts: far fewer than 200.
    assert after - before < 100


async def test_the_same_idempotency_key_in_one_group_gets_one_message(database: Database) -> None:
    a = await workspace(database, "a")
    hook = await webhook(database, a, "https://api.example/x")
    async with running(Intake(QueueStore(database))) as intake:
        results = await asyncio.gather(
            *(intake.insert_live(one(a, hook, "same-user", key="step-1")) for _ in range(20))
        )
    assert len({tuple(r) for r in results}) == 1
    async with database.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM messages") == 1


async def test_one_bad_send_fails_alone(database: Database) -> None:
    a = await workspace(database, "a")
    hook = await webhook(database, a, "https://api.example/x")
    missing = replace(hook, id=str(uuid.uuid4()))
    async with running(Intake(QueueStore(database))) as intake:
        results = await asyncio.gather(
            *(intake.insert_live(one(a, hook, f"u{i}")) for i in range(10)),
            intake.insert_live(one(a, missing, "nobody")),
            return_exceptions=True,
        )
    assert isinstance(results[-1], asyncpg.ForeignKeyViolationError)
    assert all(isinstance(r, list) and len(r) == 1 for r in results[:-1])
    async with database.connection() as conn:
        assert await conn.fetchval("SELECT count(*) FROM messages") == 10
