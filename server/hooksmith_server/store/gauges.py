"""The queue as `/metrics` shows it: a few bounded counts, read at each scrape."""

from __future__ import annotations

from hooksmith_server.observability.metrics import QueueStats
from hooksmith_server.store.db import Database
from hooksmith_server.store.queries import Queries

MAX_COUNTED = 100_000
"""Each count of pending messages stops here: past it, the gauge reads this number."""
MAX_LANES = 10_000
"""The most lanes looked at for the oldest due message."""


class QueueGaugeStore:
    """Reads `QueueStats`; raises `errors.Unavailable` when the database cannot answer."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._q = Queries("gauges.sql")

    async def read(self) -> QueueStats:
        async with self._db.connection() as conn:
            row = await conn.fetchrow(self._q.queue_stats, MAX_COUNTED, MAX_LANES)
        assert row is not None
        return QueueStats(
            due=row["due"],
            waiting=row["waiting"],
            oldest_due_age=row["oldest_due_age"] or 0.0,
            paused_destinations=row["paused"],
        )
