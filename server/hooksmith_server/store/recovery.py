"""Bulk recovery: RetryFailed's manual attempts, and its answers kept for a repeated call.

A window is re-queued in chunks, each its own short transaction: a transaction that writes
holds back every WatchOutcomes stream until it ends (streams read below the transaction
horizon, store/outcomes.py) and keeps its rows locked, so one that re-queued a month of
failures at once would stall every stream and every recorder touching those rows for as
long as it ran. A request id's row keeps the walk (its window, the last id re-queued, the
count so far), so a repeat after a call died mid-way finishes the rest, and calls with the
same id take turns chunk by chunk.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from hooksmith_server import domain, errors
from hooksmith_server.store.db import Database
from hooksmith_server.store.queries import Queries

REQUEST_RETENTION = timedelta(hours=24)
"""How long a RetryFailed request id answers with its first call's count."""
RETRY_CHUNK = 2_000
"""The most messages one RetryFailed transaction re-queues: long enough to cost little per
message, short enough (tens of milliseconds) that streams and locks wait for one chunk at most."""
_ID_SLACK = timedelta(minutes=1)
_BEFORE_ALL = uuid.UUID(int=0)
"""The cursor of a walk that has not started: every id is after it."""

AfterChunk = Callable[[int], Awaitable[None]]
"""Awaited after each chunk commits, with the count so far."""


def request_hash(request_id: str) -> bytes:
    """How a request id is stored: its sha256, never the id itself."""
    return hashlib.sha256(request_id.encode()).digest()


@dataclass(frozen=True)
class _Walk:
    """Where one call is in its window. With a request id the request's row is the truth,
    read again by every chunk: another call with the same id may have moved it."""

    start: datetime
    end: datetime
    request: bytes | None
    cursor: uuid.UUID | None = None
    retried: int = 0
    done: bool = False


class RecoveryStore:
    """Requeues a webhook's failed messages in bulk."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._q = Queries("recovery.sql")

    async def retry_failed(
        self,
        workspace_id: uuid.UUID,
        webhook_id: uuid.UUID,
        start: datetime,
        end: datetime,
        request_id: str | None,
        *,
        chunk: int = RETRY_CHUNK,
        after_chunk: AfterChunk | None = None,
    ) -> int:
        """Queue a manual attempt of each FAILED live message of the webhook created in
        [start, end), `chunk` messages a transaction, in id order; how many. With
        `request_id`, a repeat within a day returns the first call's count and queues
        nothing, or, while that call's walk is unfinished (it died, or still runs), walks
        the rest of the first call's window and returns the whole count. NotFound or
        FailedPrecondition (archived, disabled) for the webhook, checked once up front."""
        await self._check_webhook(workspace_id, webhook_id)
        digest = request_hash(request_id) if request_id else None
        if digest is not None:
            await self._claim(workspace_id, webhook_id, digest, start, end)
        walk = _Walk(start, end, digest)
        while not walk.done:
            walk = await self._next_chunk(workspace_id, webhook_id, walk, chunk)
            if after_chunk is not None:
                await after_chunk(walk.retried)
        return walk.retried

    async def _check_webhook(self, workspace_id: uuid.UUID, webhook_id: uuid.UUID) -> None:
        async with self._db.connection() as conn:
            state = await conn.fetchval(self._q.webhook_state, workspace_id, webhook_id)
        if state is None:
            raise errors.NotFound(f"webhook {webhook_id} not found")
        if state == domain.WebhookState.ARCHIVED:
            raise errors.FailedPrecondition(
                f"webhook {webhook_id} is archived; its messages are not sent again"
            )
        if state == domain.WebhookState.DISABLED:
            raise errors.FailedPrecondition(
                f"webhook {webhook_id} is disabled; Update it to enable it, then retry"
            )

    async def _claim(
        self,
        workspace_id: uuid.UUID,
        webhook_id: uuid.UUID,
        digest: bytes,
        start: datetime,
        end: datetime,
    ) -> None:
        """Make the request id's row with this call's window, unless a call within the
        last day made it already: the walk is then that call's."""
        async with self._db.transaction() as conn:
            await conn.execute(
                self._q.forget_old_request, workspace_id, webhook_id, digest, REQUEST_RETENTION
            )
            await conn.execute(self._q.claim_request, workspace_id, webhook_id, digest, start, end)

    async def _next_chunk(
        self, workspace_id: uuid.UUID, webhook_id: uuid.UUID, walk: _Walk, limit: int
    ) -> _Walk:
        """Re-queue the next `limit` messages after the cursor in one transaction, and move
        the walk (and its request's row) past them; done once fewer than `limit` were left."""
        async with self._db.transaction() as conn:
            if walk.request is not None:
                row = await conn.fetchrow(
                    self._q.lock_request, workspace_id, webhook_id, walk.request
                )
                if row is None:
                    # Forgotten mid-way (the call outlived the request's day): the rest goes
                    # on without it.
                    walk = replace(walk, request=None)
                elif row["done"]:
                    return replace(walk, retried=row["retried_messages"], done=True)
                else:
                    walk = replace(
                        walk,
                        start=row["window_start"],
                        end=row["window_end"],
                        cursor=row["cursor_id"],
                        retried=row["retried_messages"],
                    )
            found = await conn.fetchrow(
                self._q.retry_chunk,
                workspace_id,
                webhook_id,
                walk.start,
                walk.end,
                walk.start - _ID_SLACK,
                walk.end + _ID_SLACK,
                walk.cursor or _BEFORE_ALL,
                limit,
            )
            assert found is not None  # an aggregate row, always
            retried: int = found["retried"]
            last: uuid.UUID | None = found["last"]
            done = retried < limit
            if walk.request is not None:
                await conn.execute(
                    self._q.advance_request,
                    workspace_id,
                    webhook_id,
                    walk.request,
                    retried,
                    last,
                    done,
                )
            if retried:
                await conn.execute(self._q.notify)
        return replace(walk, cursor=last or walk.cursor, retried=walk.retried + retried, done=done)
