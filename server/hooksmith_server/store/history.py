"""History: messages and their attempts as the console reads them (retention: `retention.py`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hooksmith_server import domain
from hooksmith_server.pagination import Position
from hooksmith_server.store import codec
from hooksmith_server.store.db import Database
from hooksmith_server.store.queries import Queries

INTERRUPTED = (
    "interrupted: the worker stopped before recording an outcome; "
    "the request may have reached the receiver, and the message was attempted again"
)


def _opt(value: Any, decode: Any) -> Any:
    return decode(value) if value is not None else None


def waiting(destination: str, paused_until: datetime, failures: int, error: str | None) -> str:
    """Why a pending message of a paused destination has not been attempted."""
    return (
        f"waiting: destination {destination} is paused until "
        f"{paused_until.isoformat(timespec='seconds')} after {failures} failed attempts in a "
        f"row (last: {error or 'unknown'}); it is attempted when the destination answers again"
    )


def _message(row: Any, attempts: tuple[domain.AttemptRecord, ...] = ()) -> domain.MessageRecord:
    error = row["last_error"]
    if row["paused_until"] is not None:
        error = waiting(
            row["destination"],
            row["paused_until"],
            row["destination_failures"],
            row["destination_error"],
        )
    return domain.MessageRecord(
        id=row["id"],
        webhook_id=row["webhook_id"],
        webhook_version=row["webhook_version"],
        user_id=row["user_id"],
        kind=domain.MessageKind(row["kind"]),
        status=domain.MessageStatus(row["status"]),
        attempt_count=row["attempt_count"],
        request=_opt(row["last_request"], codec.request_from_json),
        response=_opt(row["last_response"], codec.response_from_json),
        error=error,
        labels=row["labels"],
        create_time=row["create_time"],
        update_time=row["update_time"],
        next_attempt_time=row["next_attempt_time"],
        attempts=attempts,
        purge_time=row["purge_time"],
        captured=row["captured"] or {},
    )


def _attempt(row: Any, in_flight: bool) -> domain.AttemptRecord:
    error = row["error"]
    if row["duration"] is None and not in_flight:
        error = INTERRUPTED
    return domain.AttemptRecord(
        number=row["number"],
        trigger=domain.AttemptTrigger(row["trigger"]),
        start_time=row["start_time"],
        duration=row["duration"],
        request=_opt(row["request"], codec.request_from_json),
        response=_opt(row["response"], codec.response_from_json),
        error=error,
    )


class HistoryStore:
    """Messages as records: look-ups and filtered listings."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._q = Queries("history.sql")

    async def webhook_state(
        self, workspace_id: uuid.UUID, message_id: uuid.UUID
    ) -> domain.WebhookState | None:
        """The state of a message's webhook; None when there is no such message."""
        async with self._db.connection() as conn:
            state = await conn.fetchval(self._q.webhook_state, workspace_id, message_id)
        return domain.WebhookState(state) if state is not None else None

    async def get(
        self, workspace_id: uuid.UUID, message_ids: Sequence[uuid.UUID]
    ) -> list[domain.MessageRecord]:
        """The messages with their attempts, in the order asked (missing ones left out)."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(self._q.get_messages, workspace_id, list(message_ids))
            attempt_rows = await conn.fetch(self._q.get_attempts, workspace_id, list(message_ids))
        heads = {r["id"]: r for r in rows}
        attempts: dict[uuid.UUID, list[domain.AttemptRecord]] = {}
        for a in attempt_rows:
            head = heads[a["message_id"]]
            in_flight = a["number"] == head["attempt_count"] and head["status"] == "PENDING"
            attempts.setdefault(a["message_id"], []).append(_attempt(a, in_flight))
        by_id = {r["id"]: _message(r, tuple(attempts.get(r["id"], ()))) for r in rows}
        return [by_id[i] for i in message_ids if i in by_id]

    async def list(
        self,
        workspace_id: uuid.UUID,
        where: domain.HistoryFilter,
        *,
        limit: int,
        after: Position | None,
    ) -> tuple[list[domain.MessageRecord], Position | None]:
        """A page of messages, newest first, and the position of the next page."""
        # One webhook's history (the console's usual view) has a query of its own, run
        # with its cached generic plan: planning a query over every daily partition costs
        # more than running it. Filtered by user, the plan depends on the user: planned
        # each time, as is every other listing.
        by_webhook = where.webhook_id is not None and where.user_id is None
        async with self._db.transaction() as conn:
            if by_webhook:
                await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            rows = await conn.fetch(
                self._q.list_webhook_history if by_webhook else self._q.list_history,
                workspace_id,
                where.webhook_id,
                [s.value for s in where.statuses],
                where.kind.value if where.kind else None,
                where.user_id,
                where.start_time,
                where.end_time,
                dict(where.labels),
                after.time if after else None,
                after.id if after else None,
                limit + 1,
            )
        page = [_message(r) for r in rows[:limit]]
        if len(rows) > limit:
            last = rows[limit - 1]
            return page, Position(last["create_time"], last["id"])
        return page, None

    async def hourly_counts(
        self, workspace_id: uuid.UUID, now: datetime, hours: int
    ) -> Sequence[domain.HourlyCount]:
        """Messages created in the `hours` hours up to `now`, counted by webhook, status
        and hour, in one grouped query."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(self._q.hourly_counts, workspace_id, now, hours)
        return [
            domain.HourlyCount(
                webhook_id=r["webhook_id"],
                hours_ago=r["hours_ago"],
                status=domain.MessageStatus(r["status"]),
                count=r["n"],
            )
            for r in rows
        ]
