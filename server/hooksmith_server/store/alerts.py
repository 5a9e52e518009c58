"""Operator alerts: each workspace's alert settings, and the outbox of alert events.

An event is written in the transaction of what caused it (an outcome's record, a
breaker that opened or closed, a webhook disabled), so no event is lost on a crash, and
only for a workspace that has an alert URL. The delivery workers claim due events with
a lease (`claim`), so several processes never send one at the same time.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hooksmith_server import breaker, domain, ids
from hooksmith_server.store import codec, sealing
from hooksmith_server.store.crypto import Keyring
from hooksmith_server.store.db import Connection, Database
from hooksmith_server.store.queries import Queries

PAUSED = "destination.paused"
RESUMED = "destination.resumed"
MESSAGES_FAILED = "webhook.messages_failed"
DISABLED = "webhook.disabled"

WINDOW = timedelta(minutes=10)
"""Messages of a webhook that fail for good within this long share one alert."""

_q = Queries("alerts.sql")


@dataclass(frozen=True)
class Event:
    """An alert event about to be written to the outbox."""

    workspace_id: uuid.UUID
    type: str
    data: Mapping[str, Any]
    webhook_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Failures:
    """Messages of one webhook that failed for good in one batch of outcomes."""

    workspace_id: uuid.UUID
    webhook_id: uuid.UUID
    count: int
    sample_error: str
    sample_message_id: uuid.UUID


def exhausted(outcomes: Sequence[domain.Outcome]) -> list[Failures]:
    """Live messages of a batch that failed for good, counted per webhook (test sends are
    not counted: their caller sees the outcome)."""
    found: dict[tuple[uuid.UUID, uuid.UUID], Failures] = {}
    for o in outcomes:
        if o.status is not domain.MessageStatus.FAILED:
            continue
        if o.claim.kind is not domain.MessageKind.LIVE:
            continue
        key = (o.claim.workspace_id, o.claim.webhook_id)
        seen = found.get(key)
        count = (seen.count if seen else 0) + 1
        found[key] = Failures(key[0], key[1], count, o.error or "", o.claim.id)
    return list(found.values())


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def breaker_events(changes: Sequence[breaker.Change]) -> list[Event]:
    """`destination.paused` when a closed breaker opens (not again on each failed probe),
    `destination.resumed` when it closes."""
    events = []
    for change in changes:
        lane, state = change.lane, change.state
        if change.opened and state.trips == 1:
            data: dict[str, Any] = {
                "destination": lane.destination,
                "paused_until": _time(state.paused_until),
                "consecutive_failures": state.failures,
                "last_error": state.last_error or "",
            }
            events.append(Event(lane.workspace_id, PAUSED, data))
        elif not change.opened:
            events.append(Event(lane.workspace_id, RESUMED, {"destination": lane.destination}))
    return events


async def add_events(conn: Connection, events: Sequence[Event]) -> None:
    """Write `events` in the caller's transaction (for workspaces with an alert URL)."""
    if not events:
        return
    rows = [
        {
            "id": str(ids.new()),
            "workspace_id": str(e.workspace_id),
            "type": e.type,
            "webhook_id": str(e.webhook_id) if e.webhook_id is not None else None,
            "data": dict(e.data),
        }
        for e in events
    ]
    await conn.execute(_q.add_events, rows)


async def add_failures(conn: Connection, failures: Sequence[Failures], window: timedelta) -> None:
    """Count messages that failed for good into their webhooks' open events, in the
    caller's transaction; a webhook without one opens one, sent once `window` is over."""
    if not failures:
        return
    rows = [
        {
            "id": str(ids.new()),
            "workspace_id": str(f.workspace_id),
            "webhook_id": str(f.webhook_id),
            "count": f.count,
            "sample_error": codec.text(f.sample_error),
            "sample_message_id": str(f.sample_message_id),
        }
        for f in failures
    ]
    await conn.execute(_q.add_failures, rows, window.total_seconds())


def _payload(row: Any) -> dict[str, Any]:
    data: dict[str, Any] = dict(row["data"])
    if row["webhook_id"] is not None:
        data = {
            "webhook_id": str(row["webhook_id"]),
            "webhook_name": row["webhook_name"] or "",
            **data,
        }
    if row["type"] == MESSAGES_FAILED:
        data.update(
            failed_messages=row["failed_count"],
            window_start=_time(row["window_start"]),
            window_end=_time(row["window_end"]),
            sample_error=row["sample_error"] or "",
            sample_message_id=str(row["sample_message_id"]),
        )
    return {
        "type": row["type"],
        "timestamp": _time(row["create_time"]),
        "workspace_id": str(row["workspace_id"]),
        "data": data,
    }


class AlertStore:
    """The alert settings of each workspace, and the outbox the alert worker sends from."""

    def __init__(self, db: Database, *, keyring: Keyring) -> None:
        self._db = db
        self._sealer = sealing.Sealer(keyring)

    async def settings(self, workspace_id: uuid.UUID) -> domain.AlertSettings:
        """The workspace's settings; empty when it has none."""
        async with self._db.connection() as conn:
            row = await conn.fetchrow(_q.get_settings, workspace_id)
        if row is None:
            return domain.AlertSettings()
        return domain.AlertSettings(
            row["url"], self._sealer.open_alert_secret(workspace_id, row["signing_secret"])
        )

    async def update(
        self, workspace_id: uuid.UUID, url: str, new_secret: str
    ) -> domain.AlertSettings:
        """Set the URL; `new_secret` becomes the signing secret only if there is none yet.
        An empty URL clears the settings (the secret too) and drops unsent alerts."""
        async with self._db.transaction() as conn:
            if not url:
                await conn.execute(_q.clear_settings, workspace_id)
                await conn.execute(_q.drop_unsent, workspace_id)
                return domain.AlertSettings()
            await self._sealer.hold_key(conn)
            sealed = self._sealer.seal_alert_secret(workspace_id, new_secret)
            row = await conn.fetchrow(_q.set_settings, workspace_id, url, sealed)
        assert row is not None  # an upsert returns its row
        return domain.AlertSettings(
            row["url"], self._sealer.open_alert_secret(workspace_id, row["signing_secret"])
        )

    async def claim(self, limit: int, lease: timedelta) -> list[domain.AlertDelivery]:
        """Up to `limit` due events, each leased for `lease`."""
        async with self._db.transaction() as conn:
            rows = await conn.fetch(_q.claim, limit, lease.total_seconds())
        return [
            domain.AlertDelivery(
                id=r["id"],
                workspace_id=r["workspace_id"],
                type=r["type"],
                payload=_payload(r),
                url=r["url"] or "",
                signing_secret=(
                    self._sealer.open_alert_secret(r["workspace_id"], r["signing_secret"])
                    if r["signing_secret"]
                    else ""
                ),
                attempts=r["attempts"],
                create_time=r["create_time"],
            )
            for r in rows
        ]

    async def delivered(self, alert: domain.AlertDelivery) -> None:
        async with self._db.connection() as conn:
            await conn.execute(_q.delivered, alert.id, alert.attempts)

    async def failed(
        self, alert: domain.AlertDelivery, error: str, retry_at: datetime | None
    ) -> None:
        """Record a failed attempt; the event is due again at `retry_at`, or given up."""
        async with self._db.connection() as conn:
            await conn.execute(_q.failed, alert.id, alert.attempts, codec.text(error), retry_at)
