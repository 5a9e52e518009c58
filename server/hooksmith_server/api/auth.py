"""API-key authentication from `authorization: Bearer <key>` metadata.

`KeyCheck`, a server interceptor, authenticates every call of the service from its
metadata alone, before gRPC reads the request: a call without a valid key is refused
without its body ever being received, so a burst of large unauthenticated calls holds
no memory. The servicer then finds the caller in `CALLER`.

Valid keys are remembered for a while (by digest, never in the clear), but only while
the revocation feed is open: a key revoked in any process is dropped from every cache
as soon as the revocation commits, and while the feed is down nothing is cached at all.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from typing import Any, Protocol

import grpc

from hooksmith_server import domain, errors
from hooksmith_server.api import status

log = logging.getLogger(__name__)

Metadata = Iterable[tuple[str, str | bytes]]

KEY_TTL = 5.0
"""Seconds a valid key is trusted without asking the database again while the revocation
feed is open. Revocation does not wait for it (the feed drops the key at once); it bounds
how long a revoked key could still pass should the feed's connection die without either
side noticing (a dropped idle connection behind a NAT, a pooler that does not pass
LISTEN), at a cost of one look-up per key every few seconds."""
RECONNECT_DELAY = 1.0
"""Seconds between attempts to open the revocation feed again after it was lost."""
_MAX_REMEMBERED = 10_000

CALLER: ContextVar[domain.Caller | None] = ContextVar("hooksmith_caller", default=None)
"""The caller `KeyCheck` authenticated for the call in progress (None without it)."""


class Keys(Protocol):
    """Where API keys are looked up (the store's `KeyStore`)."""

    async def authenticate(self, key: str) -> domain.Caller | None: ...


class RevocationFeed(Protocol):
    """An open subscription to key revocations."""

    async def wait_closed(self) -> None: ...

    async def close(self) -> None: ...


class Revocations(Protocol):
    """Where revocations are announced (the store's `KeyStore`)."""

    async def watch_revocations(self, revoked: Callable[[uuid.UUID], None]) -> RevocationFeed: ...


class Authenticator:
    """Decides who is calling from the call's metadata."""

    def __init__(self, keys: Keys, *, ttl: float = KEY_TTL) -> None:
        self._keys = keys
        self._ttl = ttl
        # By digest, so no key is kept in the clear past its call.
        self._valid: dict[bytes, tuple[float, domain.Caller]] = {}
        self._live = False
        """Whether the revocation feed is open; nothing is remembered while it is not."""
        self._generation = 0
        """Bumped on every revocation and feed change: a look-up that started before one
        may have read a key that is revoked now, so its answer is used but not kept."""

    @property
    def caching(self) -> bool:
        """Whether valid keys are being remembered (the revocation feed is open)."""
        return self._live

    async def follow(self, revocations: Revocations) -> None:
        """Keep the revocation feed open for as long as this runs (a background task)."""
        while True:
            try:
                feed = await revocations.watch_revocations(self.revoked)
            except errors.Unavailable as e:
                log.warning("%s; keys are looked up on every call until it is back", e)
                await asyncio.sleep(RECONNECT_DELAY)
                continue
            self._forget_all()  # anything revoked while the feed was down
            self._live = True
            try:
                await feed.wait_closed()
            finally:
                self._live = False
                self._forget_all()
                await feed.close()
            log.warning("the key revocation feed was lost; keys are looked up on every call")
            await asyncio.sleep(RECONNECT_DELAY)

    def revoked(self, key_id: uuid.UUID) -> None:
        """Forget the key at once (called by the revocation feed)."""
        self._generation += 1
        for digest in [d for d, (_, c) in self._valid.items() if c.key_id == key_id]:
            del self._valid[digest]

    def _forget_all(self) -> None:
        self._generation += 1
        self._valid.clear()

    async def caller(self, metadata: Metadata | None) -> domain.Caller:
        """The caller `KeyCheck` found for this call, or, without it, authenticate now."""
        known = CALLER.get()
        return known if known is not None else await self.authenticate(metadata)

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
        if remembered is not None and remembered[0] > now and self._live:
            return remembered[1]
        generation = self._generation
        caller = await self._keys.authenticate(key)
        if caller is None:
            self._valid.pop(digest, None)
            raise errors.Unauthenticated("invalid or revoked API key")
        if self._live and generation == self._generation:
            if len(self._valid) >= _MAX_REMEMBERED:
                self._valid.clear()
            self._valid[digest] = (now + self._ttl, caller)
        return caller


Continuation = Callable[
    [grpc.HandlerCallDetails], Awaitable["grpc.RpcMethodHandler[Any, Any] | None"]
]


class KeyCheck(grpc.aio.ServerInterceptor):
    """Authenticates every call of `service` before its request is read.

    gRPC runs interceptors with the call's method and metadata only; the request is
    received afterwards, by the handler returned here. A refused call gets a handler that
    answers UNAUTHENTICATED without reading the request at all, so its bytes are never
    taken off the connection into memory. Other services (health, reflection) pass.
    """

    def __init__(self, auth: Authenticator, service: str) -> None:
        self._auth = auth
        self._prefix = f"/{service}/"

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        if not handler_call_details.method.startswith(self._prefix):
            return await continuation(handler_call_details)
        try:
            caller = await self._auth.authenticate(handler_call_details.invocation_metadata)
        except errors.HooksmithError as e:
            return _refusal(e)
        # Read back by the servicer: the handler runs in this same task after this returns.
        CALLER.set(caller)
        return await continuation(handler_call_details)


def _refusal(error: errors.HooksmithError) -> grpc.RpcMethodHandler[Any, Any]:
    # A request-streaming handler: gRPC reads nothing until the handler asks, and this
    # one never asks.
    async def refuse(_requests: object, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        await status.abort(context, error)

    return grpc.stream_unary_rpc_method_handler(refuse)
