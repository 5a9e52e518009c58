"""API keys and workspaces: creating, authenticating, listing and revoking keys.

A revocation commits with a NOTIFY on `REVOKED_CHANNEL`, so every process that caches
keys (`api/auth.Authenticator`) drops the key the moment the revocation is visible.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from hooksmith_server import domain, errors, ids
from hooksmith_server.store import feeds
from hooksmith_server.store.db import Database
from hooksmith_server.store.queries import Queries

log = logging.getLogger(__name__)

KEY_PREFIX = "hks_"
PREFIX_LENGTH = 12
"""Characters of a key kept in the clear to tell keys apart: `hks_` and 48 random bits.
(Keys made before key revocation existed keep 8.)"""
REVOKED_CHANNEL = "hooksmith_key_revoked"


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def digest_matches(stored: bytes, digest: bytes) -> bool:
    """Whether a stored key hash is `digest`, compared in constant time.

    The look-up already found the row by this digest; comparing again with
    `hmac.compare_digest` keeps the decision itself free of a byte-by-byte comparison
    whose time depends on where the two first differ.
    """
    return hmac.compare_digest(stored, digest)


@dataclass(frozen=True)
class KeyInfo:
    """One API key as `keys list` shows it: never the key itself."""

    id: uuid.UUID
    workspace: str
    scope: domain.Scope
    prefix: str
    create_time: datetime
    last_use_time: datetime | None
    revoke_time: datetime | None


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
                self._q.insert_key,
                ids.new(),
                workspace_id,
                hash_key(key),
                key[:PREFIX_LENGTH],
                scope.value,
            )
        return key

    async def authenticate(self, key: str) -> domain.Caller | None:
        """The caller an active key stands for, or None; notes the key's use (once a minute).

        The key is found by its SHA-256 in a unique index, and the stored hash is compared
        with the computed one in constant time: no comparison ever runs on the key itself,
        so how long a look-up takes tells nothing about any stored key.
        """
        digest = hash_key(key)
        async with self._db.connection() as conn:
            row = await conn.fetchrow(self._q.find_key, digest)
        if row is None or not digest_matches(bytes(row["key_hash"]), digest):
            return None
        return domain.Caller(
            row["workspace_id"], row["workspace_name"], domain.Scope(row["scope"]), row["id"]
        )

    async def any_keys(self) -> bool:
        async with self._db.connection() as conn:
            count: int = await conn.fetchval(self._q.count_keys)
        return count > 0

    async def list_keys(self, *, include_revoked: bool = False) -> list[KeyInfo]:
        """Every active key (and the revoked ones if asked), by workspace, oldest first."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(self._q.list_keys, include_revoked)
        return [
            KeyInfo(
                id=r["id"],
                workspace=r["workspace_name"],
                scope=domain.Scope(r["scope"]),
                prefix=r["prefix"],
                create_time=r["create_time"],
                last_use_time=r["last_use_time"],
                revoke_time=r["revoke_time"],
            )
            for r in rows
        ]

    async def revoke(self, prefix_or_key: str) -> KeyInfo:
        """Revoke the one active key with this prefix (or this whole key); returns it.

        NotFound when no active key matches; FailedPrecondition when several share the
        prefix (the whole key then tells which).
        """
        text = prefix_or_key.strip()
        if not text:
            raise errors.InvalidArgument.field("PREFIX", "must not be empty")
        async with self._db.transaction() as conn:
            rows = await conn.fetch(self._q.keys_by_prefix, text, hash_key(text))
            if not rows:
                raise errors.NotFound(f"no active API key has the prefix {text!r}")
            if len(rows) > 1:
                raise errors.FailedPrecondition(
                    f"{len(rows)} active keys have the prefix {text!r}; "
                    "pass the whole key to revoke one of them"
                )
            [row] = rows
            await conn.execute(self._q.revoke_key, row["id"])
            await conn.execute(self._q.notify_revoked, str(row["id"]))
        [info] = [k for k in await self.list_keys(include_revoked=True) if k.id == row["id"]]
        return info

    async def watch_revocations(self, revoked: Callable[[uuid.UUID], None]) -> feeds.Feed:
        """Call `revoked` with the id of every key revoked from now on, in any process,
        until the feed closes (`closed` tells; the database restarting closes it)."""
        return await feeds.listen_for_ids(self._db, REVOKED_CHANNEL, "key revocation", revoked)
