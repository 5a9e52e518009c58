"""Messages: the queue (claims with leases), outcomes, and the history."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from hooksmith_server import domain, errors
from hooksmith_server.pagination import Position
from hooksmith_server.store import codec
from hooksmith_server.store.db import Database
from hooksmith_server.store.queries import Queries

QUEUE_CHANNEL = "hooksmith_queue"
# Attempts that may end without an outcome before a message is failed.
MAX_INTERRUPTED = 3
INTERRUPTED_TEST = (
    "interrupted: the test send stopped before its outcome was recorded; "
    "it is not sent again (use Retry to resend)"
)
GAVE_UP = (
    f"gave up: {MAX_INTERRUPTED + 1} attempts in a row ended without a recorded outcome "
    "(the worker stopped or crashed each time)"
)


class _Vanished(Exception):
    """A row read back in the same call was gone."""


@dataclass(frozen=True)
class NewMessage:
    id: uuid.UUID
    recipient: domain.Recipient


@dataclass(frozen=True)
class Claim:
    """A message taken for one attempt, under a lease."""

    workspace_id: uuid.UUID
    id: uuid.UUID
    webhook_id: uuid.UUID
    webhook_version: int
    kind: domain.MessageKind
    recipient: domain.Recipient
    data: Mapping[str, Any]
    number: int
    failures: int
    manual: bool

    @property
    def final(self) -> bool:
        """Test sends and manual retries are attempted once, never retried."""
        return self.manual or self.kind == domain.MessageKind.TEST


@dataclass(frozen=True)
class Outcome:
    """An attempt's result and the message's next state, ready to be written."""

    claim: Claim
    start_time: datetime
    duration: timedelta
    request: domain.HttpRequest | None
    response: domain.HttpResponse | None
    error: str | None
    status: domain.MessageStatus
    failures: int
    next_attempt_time: datetime | None


@dataclass(frozen=True)
class AttemptRecord:
    number: int
    trigger: domain.AttemptTrigger
    start_time: datetime
    duration: timedelta | None
    request: domain.HttpRequest | None
    response: domain.HttpResponse | None
    error: str | None


@dataclass(frozen=True)
class MessageRecord:
    id: uuid.UUID
    webhook_id: uuid.UUID
    webhook_version: int
    user_id: str
    kind: domain.MessageKind
    status: domain.MessageStatus
    attempt_count: int
    request: domain.HttpRequest | None
    response: domain.HttpResponse | None
    error: str | None
    labels: Mapping[str, str]
    create_time: datetime
    update_time: datetime
    next_attempt_time: datetime | None
    attempts: tuple[AttemptRecord, ...] = ()


@dataclass(frozen=True)
class HistoryFilter:
    webhook_id: uuid.UUID | None = None
    statuses: tuple[domain.MessageStatus, ...] = ()
    kind: domain.MessageKind | None = None
    user_id: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


def recipient_json(recipient: domain.Recipient) -> dict[str, Any]:
    return {
        "user_id": recipient.user_id,
        "tags": dict(recipient.tags),
        "entry_event": dict(recipient.entry_event),
    }


def _recipient(data: Mapping[str, Any]) -> domain.Recipient:
    return domain.Recipient(data["user_id"], data.get("tags", {}), data.get("entry_event", {}))


def _new_rows(messages: Sequence[NewMessage]) -> list[dict[str, Any]]:
    return [
        {"id": str(m.id), "user_id": m.recipient.user_id, "recipient": recipient_json(m.recipient)}
        for m in messages
    ]


def _opt(value: Any, decode: Any) -> Any:
    return decode(value) if value is not None else None


def _message(row: Any, attempts: tuple[AttemptRecord, ...] = ()) -> MessageRecord:
    return MessageRecord(
        id=row["id"],
        webhook_id=row["webhook_id"],
        webhook_version=row["webhook_version"],
        user_id=row["user_id"],
        kind=domain.MessageKind(row["kind"]),
        status=domain.MessageStatus(row["status"]),
        attempt_count=row["attempt_count"],
        request=_opt(row["last_request"], codec.request_from_json),
        response=_opt(row["last_response"], codec.response_from_json),
        error=row["last_error"],
        labels=row["labels"],
        create_time=row["create_time"],
        update_time=row["update_time"],
        next_attempt_time=row["next_attempt_time"],
        attempts=attempts,
    )


INTERRUPTED = (
    "interrupted: the worker stopped before recording an outcome; "
    "the request may have reached the receiver, and the message was attempted again"
)


def _attempt(row: Any, in_flight: bool) -> AttemptRecord:
    error = row["error"]
    if row["duration"] is None and not in_flight:
        error = INTERRUPTED
    return AttemptRecord(
        number=row["number"],
        trigger=domain.AttemptTrigger(row["trigger"]),
        start_time=row["start_time"],
        duration=row["duration"],
        request=_opt(row["request"], codec.request_from_json),
        response=_opt(row["response"], codec.response_from_json),
        error=error,
    )


class MessageStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._q = Queries("messages.sql")

    async def insert_live(
        self,
        workspace_id: uuid.UUID,
        webhook: domain.Webhook,
        messages: Sequence[NewMessage],
        data: Mapping[str, Any],
        labels: Mapping[str, str],
        idempotency_key: str | None,
    ) -> list[uuid.UUID]:
        """Store the messages and wake the workers; returns the ids in input order.

        With an idempotency key, a user who already has a message under that key
        gets the existing id, also when another call inserts it concurrently
        (the unique index makes the second insert wait for the first to commit).
        """
        webhook_id = uuid.UUID(webhook.id)
        for attempt in range(1, 4):
            try:
                return await self._insert_live(
                    workspace_id,
                    webhook_id,
                    webhook.version,
                    messages,
                    data,
                    labels,
                    idempotency_key,
                )
            except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError, _Vanished):
                # Rare races with concurrent Sends or retention; the whole call is redone.
                if attempt == 3:
                    raise errors.Aborted("Send conflicted with concurrent changes; retry") from None
        raise AssertionError("unreachable")

    async def _insert_live(
        self,
        workspace_id: uuid.UUID,
        webhook_id: uuid.UUID,
        version: int,
        messages: Sequence[NewMessage],
        data: Mapping[str, Any],
        labels: Mapping[str, str],
        idempotency_key: str | None,
    ) -> list[uuid.UUID]:
        async with self._db.transaction() as conn:
            await conn.execute(
                self._q.insert_live,
                workspace_id,
                webhook_id,
                version,
                dict(data),
                dict(labels),
                idempotency_key,
                _new_rows(messages),
            )
            if idempotency_key is not None:
                rows = await conn.fetch(
                    self._q.find_idempotent,
                    workspace_id,
                    webhook_id,
                    idempotency_key,
                    [m.recipient.user_id for m in messages],
                )
                by_user = {r["user_id"]: r["id"] for r in rows}
                if any(m.recipient.user_id not in by_user for m in messages):
                    # Deleted by retention between the insert and this read.
                    raise _Vanished
                ids = [by_user[m.recipient.user_id] for m in messages]
            else:
                ids = [m.id for m in messages]
            await conn.execute(self._q.notify)
        return ids

    async def insert_test(
        self,
        workspace_id: uuid.UUID,
        webhook: domain.Webhook,
        messages: Sequence[NewMessage],
        data: Mapping[str, Any],
        lease: timedelta,
    ) -> None:
        """Store test messages already claimed for their one attempt."""
        async with self._db.transaction() as conn:
            await conn.execute(
                self._q.insert_claimed_test,
                workspace_id,
                uuid.UUID(webhook.id),
                webhook.version,
                dict(data),
                lease,
                _new_rows(messages),
            )

    async def claim(self, limit: int, margin: timedelta, default_timeout: timedelta) -> list[Claim]:
        async with self._db.transaction() as conn:
            rows = await conn.fetch(
                self._q.claim,
                limit,
                margin.total_seconds(),
                default_timeout.total_seconds(),
                MAX_INTERRUPTED,
            )
        return [
            Claim(
                workspace_id=r["workspace_id"],
                id=r["id"],
                webhook_id=r["webhook_id"],
                webhook_version=r["webhook_version"],
                kind=domain.MessageKind(r["kind"]),
                recipient=_recipient(r["recipient"]),
                data=r["data"],
                number=r["attempt_count"],
                failures=r["failures"],
                manual=r["manual"],
            )
            for r in rows
        ]

    async def give_up(self) -> int:
        """Fail interrupted test sends and messages that keep being interrupted."""
        async with self._db.transaction() as conn:
            status: str = await conn.execute(
                self._q.give_up, MAX_INTERRUPTED, INTERRUPTED_TEST, GAVE_UP
            )
        return int(status.split()[-1])

    async def next_due(self) -> datetime | None:
        async with self._db.connection() as conn:
            due: datetime | None = await conn.fetchval(self._q.next_due)
        return due

    async def record(self, outcomes: Sequence[Outcome]) -> None:
        """Write many outcomes in one transaction (group commit)."""
        attempts = []
        messages = []
        for o in outcomes:
            request = codec.request_to_json(o.request) if o.request else None
            response = codec.response_to_json(o.response) if o.response else None
            attempts.append(
                {
                    "message_id": str(o.claim.id),
                    "number": o.claim.number,
                    "start_time": o.start_time.isoformat(),
                    "duration": o.duration.total_seconds(),
                    "request": request,
                    "response": response,
                    "error": codec.text(o.error) if o.error else None,
                }
            )
            messages.append(
                {
                    "id": str(o.claim.id),
                    "number": o.claim.number,
                    "status": o.status.value,
                    "failures": o.failures,
                    "next_attempt_time": (
                        o.next_attempt_time.isoformat() if o.next_attempt_time else None
                    ),
                    "request": request,
                    "response": response,
                    "error": codec.text(o.error) if o.error else None,
                }
            )
        async with self._db.transaction() as conn:
            await conn.execute(self._q.record_attempts, attempts)
            await conn.execute(self._q.record_messages, messages)
            if any(o.status == domain.MessageStatus.PENDING for o in outcomes):
                await conn.execute(self._q.notify)

    async def requeue(self, workspace_id: uuid.UUID, message_id: uuid.UUID) -> bool:
        """Queue a manual attempt; False when the message is still pending."""
        async with self._db.transaction() as conn:
            requeued = await conn.fetchval(self._q.requeue, workspace_id, message_id)
            if requeued is not None:
                await conn.execute(self._q.notify)
        return requeued is not None

    async def exists(self, workspace_id: uuid.UUID, message_id: uuid.UUID) -> bool:
        async with self._db.connection() as conn:
            status = await conn.fetchval(self._q.message_status, workspace_id, message_id)
        return status is not None

    async def get(
        self, workspace_id: uuid.UUID, message_ids: Sequence[uuid.UUID]
    ) -> list[MessageRecord]:
        """The messages with their attempts, in the order asked (missing ones left out)."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(self._q.get_messages, workspace_id, list(message_ids))
            attempt_rows = await conn.fetch(self._q.get_attempts, workspace_id, list(message_ids))
        heads = {r["id"]: r for r in rows}
        attempts: dict[uuid.UUID, list[AttemptRecord]] = {}
        for a in attempt_rows:
            head = heads[a["message_id"]]
            in_flight = a["number"] == head["attempt_count"] and head["status"] == "PENDING"
            attempts.setdefault(a["message_id"], []).append(_attempt(a, in_flight))
        by_id = {r["id"]: _message(r, tuple(attempts.get(r["id"], ()))) for r in rows}
        return [by_id[i] for i in message_ids if i in by_id]

    async def history(
        self,
        workspace_id: uuid.UUID,
        where: HistoryFilter,
        *,
        limit: int,
        after: Position | None,
    ) -> tuple[list[MessageRecord], Position | None]:
        async with self._db.connection() as conn:
            rows = await conn.fetch(
                self._q.list_history,
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

    async def delete_expired(self, before: datetime, batch: int) -> int:
        async with self._db.transaction() as conn:
            status: str = await conn.execute(self._q.delete_expired, before, batch)
        return int(status.split()[-1])
