"""The outcome stream in PostgreSQL: how messages finished, in a stable order, once each.

Rows are written by a trigger whenever a message leaves PENDING (migration 0013), and
each finishing transaction NOTIFYs `OUTCOMES_CHANNEL` with its workspace's id. Readers
follow a position (xid, seq) and read only below their snapshot's xmin: transactions
commit out of the order of their ids, and below that horizon none is still running, so
nothing can appear behind a position once it has been passed (see `outcomes.sql`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from hooksmith_server import domain
from hooksmith_server.pagination import StreamPosition
from hooksmith_server.store import feeds
from hooksmith_server.store.db import Database
from hooksmith_server.store.queries import Queries

log = logging.getLogger(__name__)

OUTCOMES_CHANNEL = "hooksmith_outcomes"
"""NOTIFYed with the workspace id by every transaction that finishes a message."""


@dataclass(frozen=True)
class Page:
    """What one read of the stream found."""

    outcomes: list[domain.MessageOutcome]
    """The outcomes the filter wants, in stream order."""
    next: StreamPosition
    """Where the next read starts: past every row this one looked at."""
    full: bool
    """Whether the read stopped at its limit: more may be waiting right behind it."""


def _outcome(row: asyncpg.Record) -> domain.MessageOutcome:
    return domain.MessageOutcome(
        xid=int(row["xid"]),
        seq=row["seq"],
        message_id=row["message_id"],
        webhook_id=row["webhook_id"],
        user_id=row["user_id"],
        labels=row["labels"],
        kind=domain.MessageKind(row["kind"]),
        status=domain.MessageStatus(row["status"]),
        status_code=row["status_code"],
        error=row["error"],
        captured=row["captured"] or {},
        finish_time=row["finish_time"],
    )


class OutcomeStore:
    """Reads the outcome stream and listens for new outcomes."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._q = Queries("outcomes.sql")

    async def tail(self) -> StreamPosition:
        """The position of "now": every outcome committed from here on comes after it
        (so may a few committed just before, by transactions still running at the
        horizon)."""
        async with self._db.connection() as conn:
            horizon: str = await conn.fetchval(self._q.horizon)
        return StreamPosition(int(horizon), 0)

    async def read(
        self,
        workspace_id: uuid.UUID,
        after: StreamPosition,
        where: domain.OutcomeFilter,
        *,
        limit: int,
    ) -> Page:
        """Up to `limit` outcomes after `after` (fewer: those `where` wants)."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(
                self._q.read,
                workspace_id,
                str(after.xid),
                after.seq,
                limit,
                list(where.webhook_ids),
                dict(where.labels),
                where.include_test,
            )
        found = [r for r in rows if r["xid"] is not None]
        if len(found) >= limit:
            last = found[-1]
            position = StreamPosition(int(last["xid"]), last["seq"])
        else:
            # Everything below the horizon was read: the next read starts there.
            horizon = int(rows[0]["horizon"])
            position = max(after, StreamPosition(horizon, 0), key=lambda p: (p.xid, p.seq))
        return Page(
            outcomes=[_outcome(r) for r in found if r["wanted"]],
            next=position,
            full=len(found) >= limit,
        )

    async def listen(self, wake: Callable[[uuid.UUID], None]) -> feeds.Feed:
        """Call `wake` with the workspace id of every outcome NOTIFY until the feed closes."""
        return await feeds.listen_for_ids(self._db, OUTCOMES_CHANNEL, "outcome", wake)
