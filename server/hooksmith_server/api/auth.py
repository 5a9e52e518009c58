"""API-key authentication from `authorization: Bearer <key>` metadata."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from typing import Protocol

from hooksmith_server import domain, errors

Metadata = Iterable[tuple[str, str | bytes]]

KEY_TTL = 1.0
"""Seconds a valid key is trusted without asking the database again (a key revoked in
another process is refused within this time). Unknown keys are never remembered."""
_MAX_REMEMBERED = 10_000


class Keys(Protocol):
    """Where API keys are looked up (the store's `KeyStore`)."""

    async def authenticate(self, key: str) -> domain.Caller | None: ...


class Authenticator:
    """Decides who is calling from the call's metadata."""

    def __init__(self, keys: Keys, *, ttl: float = KEY_TTL) -> None:
        self._keys = keys
        self._ttl = ttl
        # By digest, so no key is kept in the clear past its call.
        self._valid: dict[bytes, tuple[float, domain.Caller]] = {}

    async def authenticate(self, metadata: Metadata | None) -> domain.Caller:
        values = [v for k, v in (metadata or ()) if k.lower() == "authorization"]
        if not values:
            raise errors.Unauthenticated(
                "missing API key: send metadata `authorization: Bearer <key>`"
            )
        if len(values) > 1:
            raise errors.Unauthenticated("send exactly one `authorization` metadata entry")
        value = values[0]
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        scheme, _, key = value.strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise errors.Unauthenticated("the authorization metadata must be `Bearer <key>`")
        key = key.strip()
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        now = time.monotonic()
        remembered = self._valid.get(digest)
        if remembered is not None and remembered[0] > now:
            return remembered[1]
        caller = await self._keys.authenticate(key)
        if caller is None:
            self._valid.pop(digest, None)
            raise errors.Unauthenticated("invalid or revoked API key")
        if len(self._valid) >= _MAX_REMEMBERED:
            self._valid.clear()
        self._valid[digest] = (now + self._ttl, caller)
        return caller
