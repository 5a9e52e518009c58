"""Bulk recovery: RetryFailed's manual attempts, and its answers kept for a repeated call."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

from hooksmith_server import domain, errors
from hooksmith_server.store.db import Database
from hooksmith_server.store.queries import Queries

REQUEST_RETENTION = timedelta(hours=24)
"""How long a RetryFailed request id answers with its first call's count."""
_ID_SLACK = timedelta(minutes=1)


def request_hash(request_id: str) -> bytes:
    """How a request id is stored: its sha256, never the id itself."""
    return hashlib.sha256(request_id.encode()).digest()


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
    ) -> int:
        """Queue a manual attempt of each FAILED live message of the webhook created in
        [start, end); how many. With `request_id`, a repeat within a day returns the first
        call's count and queues nothing. NotFound or FailedPrecondition (archived,
        disabled) for the webhook."""
        digest = request_hash(request_id) if request_id else None
        async with self._db.transaction() as conn:
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
            if digest is not None:
                await conn.execute(
                    self._q.forget_old_request,
                    workspace_id,
                    webhook_id,
                    digest,
                    REQUEST_RETENTION,
                )
                first = await conn.fetchval(self._q.claim_request, workspace_id, webhook_id, digest)
                if first is None:
                    answer: int = await conn.fetchval(
                        self._q.request_answer, workspace_id, webhook_id, digest
                    )
                    return answer
            retried: int = await conn.fetchval(
                self._q.retry_failed,
                workspace_id,
                webhook_id,
                start,
                end,
                start - _ID_SLACK,
                end + _ID_SLACK,
            )
            if digest is not None:
                await conn.execute(self._q.save_answer, workspace_id, webhook_id, digest, retried)
            if retried:
                await conn.execute(self._q.notify)
        return retried
