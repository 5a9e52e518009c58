"""Retention in PostgreSQL: daily partitions made ahead and dropped whole, row deletes
for what a partition drop cannot take yet, idempotency keys past their time, and each
workspace's own retention.

Messages and attempts are partitioned by the message id, a UUIDv7 whose first 48 bits
are its creation time, one partition a UTC day (migration 0011). A day is dropped once
nothing in it is pending and every message in it finished before the longest retention
of any workspace; rows of workspaces with a shorter retention, and rows held up in a day
that cannot be dropped yet, are deleted one by one.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import asyncpg

from hooksmith_server import errors
from hooksmith_server.store.db import Database
from hooksmith_server.store.queries import Queries

DAYS_AHEAD = 3
"""Daily partitions are made this many days past today, by every migrate and every sweep."""
LOCK_TIMEOUT = "1s"
"""How long making or dropping a partition waits for its table lock before giving up
until the next sweep (it locks messages and attempts whole, so traffic waits meanwhile)."""


class RetentionStore:
    """Partitions, expired rows and keys, and per-workspace retention."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._q = Queries("retention.sql")

    async def ensure_partitions(self, first: date, last: date) -> int:
        """Make the daily partitions of `first`..`last` that are missing; how many were made.

        0 when another process holds the tables for longer than `LOCK_TIMEOUT`.
        """
        try:
            async with self._db.transaction() as conn:
                await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                made: int = await conn.fetchval(self._q.ensure_partitions, first, last)
        except asyncpg.LockNotAvailableError:
            return 0
        return made

    async def partition_days(self) -> list[date]:
        """The days that have a partition, oldest first."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(self._q.partition_days)
        return [r["day"] for r in rows]

    async def drop_partition(self, day: date, finished_before: datetime) -> bool:
        """Drop `day`'s messages and attempts if nothing in it is pending and all of it
        finished before `finished_before`; whether it was dropped."""
        try:
            async with self._db.transaction() as conn:
                await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                dropped: bool = await conn.fetchval(self._q.drop_partition, day, finished_before)
        except asyncpg.LockNotAvailableError:
            return False
        return dropped

    async def longest_retention(self, default: timedelta) -> timedelta:
        """The longest retention of any workspace, at least `default`."""
        async with self._db.connection() as conn:
            longest: timedelta = await conn.fetchval(self._q.longest_retention, default)
        return longest

    async def delete_expired(self, now: datetime, default: timedelta, batch: int) -> int:
        """Delete up to `batch` finished messages past their workspace's retention (with
        their attempts); how many went."""
        async with self._db.transaction() as conn:
            deleted: int = await conn.fetchval(self._q.delete_expired, now, default, batch)
        return deleted

    async def delete_expired_keys(self, before: datetime, batch: int) -> int:
        """Delete up to `batch` idempotency keys made before `before`; how many went."""
        async with self._db.transaction() as conn:
            status: str = await conn.execute(self._q.delete_expired_keys, before, batch)
        return int(status.split()[-1])

    async def delete_finished_alerts(self, before: datetime, batch: int) -> int:
        """Delete up to `batch` alert events sent or given up on before `before`."""
        async with self._db.transaction() as conn:
            status: str = await conn.execute(self._q.delete_finished_alerts, before, batch)
        return int(status.split()[-1])

    async def delete_old_retry_requests(self, before: datetime, batch: int) -> int:
        """Delete up to `batch` RetryFailed request ids first seen before `before`."""
        async with self._db.transaction() as conn:
            status: str = await conn.execute(self._q.delete_old_retry_requests, before, batch)
        return int(status.split()[-1])

    async def set_workspace_retention(self, workspace: str, retention: timedelta | None) -> None:
        """Give workspace `workspace` (by name) its own retention; None returns it to the
        default. NotFound when there is no such workspace."""
        if retention is not None and retention <= timedelta(0):
            raise errors.InvalidArgument.field("retention", "must be more than 0")
        async with self._db.transaction() as conn:
            found: uuid.UUID | None = await conn.fetchval(
                self._q.set_workspace_retention, workspace, retention
            )
        if found is None:
            raise errors.NotFound(f"workspace {workspace!r} does not exist")
