"""Intake: concurrent Sends share commits; each still gets its own ids, or its own error."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
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


class HeldStore(QueueStore):
    """The real store, with each group's Sends counted and the next commit held on demand."""

    def __init__(self, database: Database) -> None:
        super().__init__(database)
        self.groups: list[int] = []
        self.release = asyncio.Event()
        self.release.set()
        self.entered = asyncio.Event()

    async def insert_sends(self, sends: Sequence[LiveSend]) -> list[list[uuid.UUID]]:
        self.groups.append(len(sends))
        self.entered.set()
        await self.release.wait()
        return await super().insert_sends(sends)


async def test_a_lone_send_never_waits_for_company(database: Database) -> None:
    a = await workspace(database, "a")
    hook = await webhook(database, a, "https://api.example/x")
    store = HeldStore(database)
    # A linger no test could sit out: a Send that found the intake idle must not wait it.
    async with running(Intake(store, linger=60.0)) as intake:
        for i in range(3):
            await asyncio.wait_for(intake.insert_live(one(a, hook, f"u{i}")), timeout=10)
    assert store.groups == [1, 1, 1]


async def test_a_busy_intake_waits_for_more_sends_to_share_a_commit(database: Database) -> None:
    a = await workspace(database, "a")
    hook = await webhook(database, a, "https://api.example/x")
    store = HeldStore(database)
    async with running(Intake(store, linger=1.0)) as intake:
        store.release.clear()
        first = asyncio.create_task(intake.insert_live(one(a, hook, "first")))
        await asyncio.wait_for(store.entered.wait(), timeout=10)
        # Three Sends queue behind the commit in progress; a fourth comes a moment after
        # it ends, while the intake lingers because the three were already waiting.
        queued = [asyncio.create_task(intake.insert_live(one(a, hook, f"q{i}"))) for i in range(3)]
        await asyncio.sleep(0.05)
        store.release.set()
        await first
        await asyncio.sleep(0.05)
        late = await asyncio.wait_for(intake.insert_live(one(a, hook, "late")), timeout=10)
        await asyncio.gather(*queued)
    assert store.groups == [1, 4]
    assert len(late) == 1
