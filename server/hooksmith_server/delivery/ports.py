"""What delivery needs from the rest of the server, as protocols.

The composition root hands in the implementations (the store's queue, the version
cache, the aiohttp sender); tests may hand in real alternatives of their own.
Nothing here knows about the database driver.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from hooksmith_server import breaker, domain, rendering
from hooksmith_server.delivery.sender import Exchange


class Subscription(Protocol):
    """A live wake-up feed; `closed` once it broke and must be opened again."""

    @property
    def closed(self) -> bool: ...

    async def close(self) -> None: ...


class Queue(Protocol):
    """Where due messages are claimed and outcomes are written.

    Every method raises `errors.Unavailable` when the database cannot be reached.
    """

    async def claim(
        self,
        limit: int,
        margin: timedelta,
        default_timeout: timedelta,
        *,
        in_flight: Mapping[domain.Lane, int],
        lane_limit: int,
    ) -> list[domain.Claim]: ...

    async def record(self, outcomes: Sequence[domain.Outcome]) -> Sequence[breaker.Change]:
        """Write outcomes; returns the destinations' breakers they opened or closed."""

    async def give_up(self) -> int: ...

    async def interrupt(self, claims: Sequence[domain.Claim]) -> int:
        """Record the claims' attempts as cut short, their messages due again at once.

        Returns how many messages were still waiting on those attempts.
        """

    async def release(self, claims: Sequence[domain.Claim]) -> int:
        """Give back claims whose attempt never began: their messages are due at once,
        their attempt counts as never made. Returns how many were given back."""

    async def next_due(self) -> datetime | None: ...

    async def listen(self, wake: Callable[[], None]) -> Subscription: ...


class Sender(Protocol):
    """Makes one HTTP attempt; never raises except for cancellation."""

    # The timeout is part of the attempt's result, not a deadline around the call.
    async def send(self, request: domain.HttpRequest, *, timeout: float) -> Exchange: ...  # noqa: ASYNC109


class Versions(Protocol):
    """The compiled templates of saved webhook versions."""

    async def load(
        self, workspace_id: uuid.UUID, webhook_id: uuid.UUID, version: int
    ) -> rendering.CompiledWebhook: ...


class SecretStore(Protocol):
    """Where a webhook's current signing secrets are kept."""

    async def active_secrets(
        self, workspace_id: uuid.UUID, webhook_id: uuid.UUID
    ) -> tuple[str, ...]: ...


class AlertOutbox(Protocol):
    """Where alert events wait to be sent. Every method raises `errors.Unavailable` when
    the database cannot be reached."""

    async def claim(self, limit: int, lease: timedelta) -> list[domain.AlertDelivery]: ...

    async def delivered(self, alert: domain.AlertDelivery) -> None:
        """Record this attempt's success (nothing if another attempt has the event now)."""

    async def failed(
        self, alert: domain.AlertDelivery, error: str, retry_at: datetime | None
    ) -> None:
        """Record a failed attempt; due again at `retry_at`, or given up when None."""
