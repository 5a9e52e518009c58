"""Retention: history past its time goes, a day at a time where it can, row by row where not.

Each sweep makes the daily partitions of the next days (so an insert never lacks one),
drops each day whose messages all finished before the longest retention of any
workspace and none of which is pending, deletes the finished messages of workspaces
with a shorter retention (and any others past theirs that a day kept back), and
deletes idempotency keys older than their own retention, alert events a week after they
were sent (or given up on), and RetryFailed request ids after a day.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from hooksmith_server import errors
from hooksmith_server.store.recovery import REQUEST_RETENTION
from hooksmith_server.store.retention import DAYS_AHEAD, RetentionStore

log = logging.getLogger(__name__)

IDEMPOTENCY_RETENTION = timedelta(days=90)
"""How long an idempotency key is kept by default, whether or not its message is."""
ALERT_RETENTION = timedelta(days=7)
"""How long an alert event is kept after it was sent or given up on."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Swept:
    """What one sweep did."""

    messages: int = 0
    """Messages deleted row by row."""
    partitions: list[date] = field(default_factory=list)
    """Days whose partitions were dropped whole."""
    keys: int = 0
    """Idempotency keys deleted."""
    made: int = 0
    """Days whose partitions were made."""
    alerts: int = 0
    """Alert events deleted, and RetryFailed request ids past their day."""


class Retention:
    """Keeps history within its retention; `run` is the loop the composition root supervises."""

    def __init__(
        self,
        store: RetentionStore,
        retention: timedelta,
        *,
        idempotency_retention: timedelta = IDEMPOTENCY_RETENTION,
        interval: float = 60.0,
        batch: int = 1000,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._store = store
        self._retention = retention
        self._idempotency_retention = idempotency_retention
        self._interval = interval
        self._batch = batch
        self._clock = clock

    async def sweep(self) -> int:
        """One sweep; how many messages it deleted row by row."""
        return (await self.collect()).messages

    async def collect(self) -> Swept:
        """One sweep, and what it did."""
        now = self._clock()
        today = now.astimezone(UTC).date()
        swept = Swept()
        swept.made = await self._store.ensure_partitions(today, today + timedelta(days=DAYS_AHEAD))
        finished_before = now - await self._store.longest_retention(self._retention)
        for day in await self._store.partition_days():
            # Everything in a day was created before its end, and finished after it was made.
            if datetime.combine(day + timedelta(days=1), time(), UTC) > finished_before:
                break
            if await self._store.drop_partition(day, finished_before):
                swept.partitions.append(day)
        while True:
            deleted = await self._store.delete_expired(now, self._retention, self._batch)
            swept.messages += deleted
            if deleted < self._batch:
                break
            await asyncio.sleep(0)
        while True:
            deleted = await self._store.delete_expired_keys(
                now - self._idempotency_retention, self._batch
            )
            swept.keys += deleted
            if deleted < self._batch:
                break
            await asyncio.sleep(0)
        while True:
            deleted = await self._store.delete_finished_alerts(
                now - ALERT_RETENTION, self._batch
            ) + await self._store.delete_old_retry_requests(now - REQUEST_RETENTION, self._batch)
            swept.alerts += deleted
            if deleted < self._batch:
                break
            await asyncio.sleep(0)
        return swept

    async def run(self) -> None:
        while True:
            try:
                swept = await self.collect()
                if swept.partitions:
                    log.info(
                        "retention dropped the messages of %s",
                        ", ".join(day.isoformat() for day in swept.partitions),
                    )
                if swept.messages:
                    log.info("retention deleted %d messages", swept.messages)
                if swept.keys:
                    log.info("retention deleted %d idempotency keys", swept.keys)
            except errors.Unavailable as e:
                log.warning("retention sweep failed: %s", e)
            await asyncio.sleep(self._interval)
