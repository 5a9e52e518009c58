"""API-key authentication from `authorization: Bearer <key>` metadata."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from hooksmith_server import domain, errors

Metadata = Iterable[tuple[str, str | bytes]]


class Keys(Protocol):
    """Where API keys are looked up (the store's `KeyStore`)."""

    async def authenticate(self, key: str) -> domain.Caller | None: ...


class Authenticator:
    """Decides who is calling from the call's metadata."""

    def __init__(self, keys: Keys) -> None:
        self._keys = keys

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
        caller = await self._keys.authenticate(key.strip())
        if caller is None:
            raise errors.Unauthenticated("invalid or revoked API key")
        return caller
