"""Retention: finished messages are deleted once they are older than the retention period."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from hooksmith_server import errors
from hooksmith_server.store.history import HistoryStore

log = logging.getLogger(__name__)


class Retention:
    """Deletes finished messages older than the retention period, in small batches."""

    def __init__(
        self,
        history: HistoryStore,
        retention: timedelta,
        *,
        interval: float = 60.0,
        batch: int = 1000,
    ) -> None:
        self._history = history
        self._retention = retention
        self._interval = interval
        self._batch = batch

    async def sweep(self) -> int:
        before = datetime.now(UTC) - self._retention
        total = 0
        while True:
            deleted = await self._history.delete_expired(before, self._batch)
            total += deleted
            if deleted < self._batch:
                return total
            await asyncio.sleep(0)

    async def run(self) -> None:
        while True:
            try:
                deleted = await self.sweep()
                if deleted:
                    log.info("retention deleted %d messages", deleted)
            except errors.Unavailable as e:
                log.warning("retention sweep failed: %s", e)
            await asyncio.sleep(self._interval)
