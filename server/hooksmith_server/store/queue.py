"""The queue: storing new messages, claiming due ones under a lease, writing outcomes.

A claim is committed before any HTTP request, so no row lock is held while a
receiver answers; a worker that dies loses nothing, since its lease expires and
the message is claimed again. Workers are woken by NOTIFY on `QUEUE_CHANNEL`.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from hooksmith_server import breaker, domain, errors
from hooksmith_server.observability import tracing
from hooksmith_server.store import alerts, codec, destinations, failing
from hooksmith_server.store.db import Database
from hooksmith_server.store.queries import Queries

log = logging.getLogger(__name__)

QUEUE_CHANNEL = "hooksmith_queue"
"""The NOTIFY channel: a message became due (see the `notify` query)."""
MAX_LANES = 10_000
"""The most lanes one claim looks at; past it, lanes wait for the next claim."""
ARCHIVED = "failed: the webhook was archived before this message was delivered; no request was made"
DISABLED = (
    "failed: the webhook is disabled, so no request was made (RetryFailed sends it again "
    "once Update enables the webhook): "
)
"""Followed by the webhook's state_reason (the `claim` query adds it)."""
RATE_HORIZON = timedelta(seconds=1)
"""How far ahead a claim hands out a rate-limited webhook's slots."""
PACING = 0.9
"""Rate-limited webhooks are sent at this share of their limit. Measured: requests leave
up to ~100 ms after their slot when the machine is busy, and at the full rate a single
late one shares a one-second window with one more than the limit allows."""
RATE_LEAD = timedelta(milliseconds=250)
"""A claim's first slot is at least this far ahead, time for the claim to reach its worker."""
PROBE_LEASE = timedelta(seconds=90)
"""How long a claimed probe keeps its destination half-open (past the longest timeout)."""
MAX_INTERRUPTED = 3
"""Attempts that may end without an outcome before a message is failed."""
INTERRUPTED_TEST = (
    "interrupted: the test send stopped before its outcome was recorded; "
    "it is not sent again (use Retry to resend)"
)
CUT = (
    "interrupted: the server shut down during this attempt (its grace period ended); "
    "the request may have reached the receiver, and the message is attempted again at once"
)
GAVE_UP = (
    f"gave up: {MAX_INTERRUPTED + 1} attempts in a row ended without a recorded outcome "
    "(the worker stopped or crashed each time)"
)


class Vanished(Exception):
    """A row read back in the same call was gone."""


@dataclass(frozen=True)
class LiveSend:
    """One Send's messages, ready to be stored."""

    workspace_id: uuid.UUID
    webhook: domain.Webhook
    messages: Sequence[domain.NewMessage]
    data: Mapping[str, Any]
    labels: Mapping[str, str]
    idempotency_key: str | None
    destination: str
    traceparent: str | None = field(default_factory=tracing.current_traceparent)
    """The trace context of the Send being served (its attempts continue the trace)."""


def idempotency_hash(key: str, user_id: str) -> bytes:
    """How an idempotency key is stored: sha256 of the key's UTF-8 length (4 bytes, big
    endian), the key and the user id. Never the key itself. Migration 0011 computes the
    same for keys stored before it."""
    raw_key = key.encode()
    return hashlib.sha256(len(raw_key).to_bytes(4, "big") + raw_key + user_id.encode()).digest()


def recipient_json(recipient: domain.Recipient) -> dict[str, Any]:
    return {
        "user_id": recipient.user_id,
        "tags": dict(recipient.tags),
        "entry_event": dict(recipient.entry_event),
    }


def _recipient(data: Mapping[str, Any]) -> domain.Recipient:
    return domain.Recipient(data["user_id"], data.get("tags", {}), data.get("entry_event", {}))


def _new_row(message: domain.NewMessage) -> dict[str, Any]:
    return {
        "id": str(message.id),
        "user_id": message.recipient.user_id,
        "recipient": recipient_json(message.recipient),
    }


def _claim(row: Any) -> domain.Claim:
    return domain.Claim(
        workspace_id=row["workspace_id"],
        id=row["id"],
        webhook_id=row["webhook_id"],
        webhook_version=row["webhook_version"],
        kind=domain.MessageKind(row["kind"]),
        recipient=_recipient(row["recipient"]),
        data=row["data"],
        destination=row["destination"],
        attempt_number=row["attempt_count"],
        failures=row["failures"],
        manual=row["manual"],
        send_at=row["send_at"],
        traceparent=row["traceparent"],
    )


class Subscription:
    """A LISTEN on the queue channel over a connection of its own; the owner closes it."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    @property
    def closed(self) -> bool:
        """Whether the connection is gone (the database restarted, say): listen again."""
        return self._conn.is_closed()

    async def close(self) -> None:
        # At once, not a graceful close that a shutdown's cancellation could cut short
        # and leave the connection open: nothing is in flight on a LISTEN connection.
        self._conn.terminate()


def claim_arguments(
    limit: int,
    margin: timedelta,
    default_timeout: timedelta,
    in_flight: Mapping[domain.Lane, int],
    lane_limit: int,
) -> tuple[Any, ...]:
    """The `claim` query's parameters, $1 to $14 in order."""
    return (
        limit,
        margin.total_seconds(),
        default_timeout.total_seconds(),
        MAX_INTERRUPTED,
        [f"{lane.workspace_id} {lane.destination}" for lane in in_flight],
        list(in_flight.values()),
        lane_limit,
        MAX_LANES,
        ARCHIVED,
        PROBE_LEASE.total_seconds(),
        RATE_HORIZON.total_seconds(),
        RATE_LEAD.total_seconds(),
        PACING,
        DISABLED,
    )


def _attempts(claims: Sequence[domain.Claim]) -> list[dict[str, Any]]:
    """The claims' attempts, as the `interrupt` and `release` queries read them."""
    return [
        {"workspace_id": str(c.workspace_id), "message_id": str(c.id), "number": c.attempt_number}
        for c in claims
    ]


class QueueStore:
    """Messages as work: insert, claim, record outcomes (and breakers), requeue."""

    def __init__(
        self,
        db: Database,
        breakers: breaker.Policy | None = None,
        *,
        alert_window: timedelta = alerts.WINDOW,
    ) -> None:
        self._db = db
        self._breakers = breakers or breaker.Policy()
        self._alert_window = alert_window
        self._q = Queries("queue.sql")
        self._destinations = destinations.DestinationStore(db)

    async def insert_live(self, send: LiveSend) -> list[uuid.UUID]:
        """Store one Send's messages and wake the workers; returns the ids in input order.

        With an idempotency key, a user who already has a message under that key
        gets the existing id (also when retention has removed that message since), also
        when another call inserts it concurrently (the key's row makes the second insert
        wait for the first to commit).
        """
        for attempt in range(1, 4):
            try:
                return (await self.insert_sends([send]))[0]
            except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError, Vanished):
                # Rare races with concurrent Sends or retention; the whole call is redone.
                if attempt == 3:
                    raise errors.Aborted("Send conflicted with concurrent changes; retry") from None
        raise AssertionError("unreachable")

    async def insert_sends(self, sends: Sequence[LiveSend]) -> list[list[uuid.UUID]]:
        """Store the messages of several Sends in one transaction; their ids, per Send.

        Raises the driver's deadlock or serialization error, or `Vanished`, for the
        caller to redo the work.
        """
        rows = []
        heads = []
        keyed = []
        for n, send in enumerate(sends):
            heads.append(
                {
                    "send": n,
                    "workspace_id": str(send.workspace_id),
                    "webhook_id": send.webhook.id,
                    "webhook_version": send.webhook.version,
                    "data": dict(send.data),
                    "labels": dict(send.labels),
                    "destination": send.destination,
                    "traceparent": send.traceparent,
                }
            )
            for m in send.messages:
                key_hash = (
                    idempotency_hash(send.idempotency_key, m.recipient.user_id).hex()
                    if send.idempotency_key is not None
                    else None
                )
                rows.append({"send": n, **_new_row(m), "key_hash": key_hash})
                if key_hash is not None:
                    keyed.append(
                        {
                            "send": n,
                            "workspace_id": str(send.workspace_id),
                            "webhook_id": send.webhook.id,
                            "key_hash": key_hash,
                            "user_id": m.recipient.user_id,
                        }
                    )
        found: dict[tuple[int, str], uuid.UUID] = {}
        if not keyed:
            async with self._db.connection() as conn:
                await conn.execute(self._q.insert_live_and_notify, rows, heads)
            return [[m.id for m in send.messages] for send in sends]
        async with self._db.transaction() as conn:
            await conn.execute(self._q.insert_live, rows, heads)
            for r in await conn.fetch(self._q.find_idempotent, keyed):
                found[(r["send"], r["user_id"])] = r["id"]
            await conn.execute(self._q.notify)
        ids = []
        for n, send in enumerate(sends):
            if send.idempotency_key is None:
                ids.append([m.id for m in send.messages])
                continue
            keys = [(n, m.recipient.user_id) for m in send.messages]
            if any(key not in found for key in keys):
                # The key expired (HOOKSMITH_IDEMPOTENCY_RETENTION) between the insert and
                # this read.
                raise Vanished
            ids.append([found[key] for key in keys])
        return ids

    async def insert_test(
        self,
        workspace_id: uuid.UUID,
        webhook: domain.Webhook,
        messages: Sequence[domain.NewMessage],
        data: Mapping[str, Any],
        lease: timedelta,
        destination: str,
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
                [_new_row(m) for m in messages],
                destination,
            )

    async def claim(
        self,
        limit: int,
        margin: timedelta,
        default_timeout: timedelta,
        *,
        in_flight: Mapping[domain.Lane, int],
        lane_limit: int,
    ) -> list[domain.Claim]:
        """Up to `limit` due messages, shared fairly across workspaces and their lanes.

        Each is leased for its timeout plus `margin`. A lane with `lane_limit` attempts
        in flight (`in_flight`, this worker's count) gets no more. Messages of archived
        webhooks are failed instead of claimed.
        """
        arguments = claim_arguments(limit, margin, default_timeout, in_flight, lane_limit)
        async with self._db.transaction() as conn:
            rows = await conn.fetch(self._q.claim, *arguments)
        return [_claim(r) for r in rows]

    async def give_up(self) -> int:
        """Fail interrupted test sends and messages that keep being interrupted."""
        async with self._db.transaction() as conn:
            status: str = await conn.execute(
                self._q.give_up, MAX_INTERRUPTED, INTERRUPTED_TEST, GAVE_UP
            )
        return int(status.split()[-1])

    async def interrupt(self, claims: Sequence[domain.Claim]) -> int:
        """Record the claims' attempts as cut at shutdown; their messages are due at once.

        The lease stays set, so the next claim counts the attempt as interrupted (and a
        message cut again and again is still failed after `MAX_INTERRUPTED`).
        """
        async with self._db.transaction() as conn:
            status: str = await conn.execute(self._q.interrupt, _attempts(claims), CUT)
            await conn.execute(self._q.notify)
        return int(status.split()[-1])

    async def release(self, claims: Sequence[domain.Claim]) -> int:
        """Give back claims whose attempt never began: not tried, due again at once."""
        async with self._db.transaction() as conn:
            status: str = await conn.execute(self._q.release, _attempts(claims))
            await conn.execute(self._q.notify)
        return int(status.split()[-1])

    async def next_due(self) -> datetime | None:
        async with self._db.connection() as conn:
            due: datetime | None = await conn.fetchval(self._q.next_due, MAX_LANES)
        return due

    async def record(self, outcomes: Sequence[domain.Outcome]) -> list[breaker.Change]:
        """Write many outcomes in one transaction (group commit), breakers included.

        Returns the breakers the batch opened or closed.
        """
        rows = []
        for o in outcomes:
            rows.append(
                {
                    "message_id": str(o.claim.id),
                    "number": o.claim.attempt_number,
                    "start_time": o.start_time.isoformat(),
                    "duration": o.duration.total_seconds(),
                    "request": codec.request_to_json(o.request) if o.request else None,
                    "response": codec.response_to_json(o.response) if o.response else None,
                    "error": codec.text(o.error) if o.error else None,
                    "status": o.status.value,
                    "failures": o.failures,
                    "next_attempt_time": (
                        o.next_attempt_time.isoformat() if o.next_attempt_time else None
                    ),
                    "captured": (
                        {name: codec.text(value) for name, value in o.captured.items()}
                        if o.captured
                        else None
                    ),
                }
            )
        reports = breaker.reports(outcomes) if self._breakers.threshold > 0 else {}
        async with self._db.transaction() as conn:
            moved = {row["id"] for row in await conn.fetch(self._q.record, rows)}
            changes = (
                await self._destinations.record(conn, self._breakers, reports) if reports else []
            )
            # Alerts and failure runs in the same transaction: none is lost with the process.
            # Only messages this write failed count: a stale or replayed outcome moved none.
            failed = [o for o in outcomes if o.claim.id in moved]
            await alerts.add_failures(conn, alerts.exhausted(failed), self._alert_window)
            await alerts.add_events(
                conn, alerts.breaker_events(changes) + await failing.track(conn, outcomes)
            )
            if any(o.status == domain.MessageStatus.PENDING for o in outcomes) or any(
                not change.opened for change in changes
            ):
                await conn.execute(self._q.notify)
        return changes

    async def requeue(self, workspace_id: uuid.UUID, message_id: uuid.UUID) -> bool:
        """Queue a manual attempt; False when the message is still pending (or absent)."""
        async with self._db.transaction() as conn:
            requeued = await conn.fetchval(self._q.requeue, workspace_id, message_id)
            if requeued is not None:
                await conn.execute(self._q.notify)
        return requeued is not None

    async def listen(self, wake: Callable[[], None]) -> Subscription:
        """Call `wake` on every NOTIFY of the queue channel until the subscription closes."""
        conn = await self._db.connect_once()
        try:
            await conn.add_listener(QUEUE_CHANNEL, lambda *_: wake())
        except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as e:
            conn.terminate()
            raise errors.Unavailable(f"cannot LISTEN on {QUEUE_CHANNEL}: {e}") from e
        except BaseException:
            # Cancelled at shutdown: the connection is ours alone to close.
            conn.terminate()
            raise
        return Subscription(conn)
