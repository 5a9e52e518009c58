"""API keys and workspaces."""

from __future__ import annotations

import hashlib
import secrets

from hooksmith_server import domain, ids
from hooksmith_server.store.db import Database
from hooksmith_server.store.queries import Queries

KEY_PREFIX = "hks_"


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


class KeyStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._q = Queries("keys.sql")

    async def create(self, workspace: str, scope: domain.Scope) -> str:
        """Make a key for `workspace` (created if new); returns the key, shown only now."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        async with self._db.transaction() as conn:
            workspace_id = await conn.fetchval(self._q.ensure_workspace, ids.new(), workspace)
            await conn.execute(
                self._q.insert_key, ids.new(), workspace_id, hash_key(key), key[:8], scope.value
            )
        return key

    async def authenticate(self, key: str) -> domain.Caller | None:
        async with self._db.connection() as conn:
            row = await conn.fetchrow(self._q.find_key, hash_key(key))
        if row is None:
            return None
        return domain.Caller(row["workspace_id"], row["workspace_name"], domain.Scope(row["scope"]))

    async def any_keys(self) -> bool:
        async with self._db.connection() as conn:
            count: int = await conn.fetchval(self._q.count_keys)
        return count > 0
