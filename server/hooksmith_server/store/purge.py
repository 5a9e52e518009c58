"""Erasing a user's personal data from history (PurgeUser)."""

from __future__ import annotations

import uuid

from hooksmith_server.store.db import Database
from hooksmith_server.store.queries import Queries

PURGED_PENDING = (
    "purged: the user's data was erased before this message was delivered; it is not sent"
)


class PurgeStore:
    """Removes the requests, responses, recipients and data of one user's messages."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._q = Queries("purge.sql")

    async def purge_user(self, workspace_id: uuid.UUID, user_id: str) -> int:
        """Purge every message of `user_id` in the workspace not purged yet; how many."""
        async with self._db.transaction() as conn:
            await conn.execute(self._q.lock_messages, workspace_id, user_id)
            purged = await conn.fetch(self._q.purge_messages, workspace_id, user_id, PURGED_PENDING)
            ids = [row["id"] for row in purged]
            await conn.execute(self._q.purge_attempts, workspace_id, ids)
            await conn.execute(self._q.purge_outcomes, workspace_id, ids)
            await conn.execute(self._q.purge_alert_samples, workspace_id, ids)
        return len(ids)
