"""Sending and history: the use cases behind Send, SendTest, ListHistory, GetMessage, Retry."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from hooksmith_server import domain, errors, ids, pagination, rendering
from hooksmith_server.delivery import policy, recorder
from hooksmith_server.delivery.deliverer import Deliverer
from hooksmith_server.service import webhooks
from hooksmith_server.service.versions import Versions
from hooksmith_server.store.history import HistoryStore
from hooksmith_server.store.intake import Intake
from hooksmith_server.store.purge import PurgeStore
from hooksmith_server.store.queue import LiveSend, QueueStore
from hooksmith_server.store.recovery import RecoveryStore

MAX_SEND_RECIPIENTS = 1_000
MAX_TEST_RECIPIENTS = 20
MAX_LABELS = 20
MAX_LABEL_KEY_CHARS = 64
MAX_LABEL_VALUE_CHARS = 256
MAX_IDEMPOTENCY_KEY_CHARS = 256
MAX_USER_ID_CHARS = 256
MAX_COUNT_HOURS = 24 * 31
MAX_RETRY_WINDOW = timedelta(days=31)
"""The longest window one RetryFailed call re-queues."""
MAX_REQUEST_ID_CHARS = 256


def check_recipients(recipients: Sequence[domain.Recipient], limit: int) -> None:
    if not recipients:
        raise errors.InvalidArgument.field("recipients", "at least one recipient is required")
    if len(recipients) > limit:
        raise errors.InvalidArgument.field(
            "recipients", f"at most {limit:,} recipients per call, got {len(recipients):,}"
        )
    for i, r in enumerate(recipients):
        if len(r.user_id) > MAX_USER_ID_CHARS:
            raise errors.InvalidArgument.field(
                f"recipients[{i}].user_id", f"must be at most {MAX_USER_ID_CHARS} characters"
            )


def check_labels(labels: Mapping[str, str], field: str = "labels") -> None:
    if len(labels) > MAX_LABELS:
        raise errors.InvalidArgument.field(field, f"at most {MAX_LABELS} labels")
    for key, value in labels.items():
        if not key or len(key) > MAX_LABEL_KEY_CHARS:
            raise errors.InvalidArgument.field(
                f"{field}[{key!r}]", f"keys must be 1 to {MAX_LABEL_KEY_CHARS} characters"
            )
        if len(value) > MAX_LABEL_VALUE_CHARS:
            raise errors.InvalidArgument.field(
                f"{field}[{key!r}]", f"values must be at most {MAX_LABEL_VALUE_CHARS} characters"
            )


class Messages:
    """The message use cases behind Send, SendTest, ListHistory, GetMessage, Retry and
    RetryFailed."""

    def __init__(
        self,
        versions: Versions,
        queue: QueueStore,
        intake: Intake,
        history: HistoryStore,
        deliverer: Deliverer,
        *,
        lease_margin: timedelta,
        purges: PurgeStore,
        recovery: RecoveryStore,
    ) -> None:
        self._versions = versions
        self._queue = queue
        self._intake = intake
        self._history = history
        self._deliverer = deliverer
        self._lease_margin = lease_margin
        self._purges = purges
        self._recovery = recovery

    async def _sendable(
        self,
        caller: domain.Caller,
        webhook_id: str,
        data: Mapping[str, Any],
        *,
        fresh: bool = False,
    ) -> tuple[domain.Webhook, rendering.CompiledWebhook]:
        webhook_uuid = ids.parse(webhook_id, "webhook_id")
        webhook = await self._versions.current(caller.workspace_id, webhook_uuid, fresh=fresh)
        if webhook.state == domain.WebhookState.ARCHIVED:
            raise errors.FailedPrecondition(f"webhook {webhook.id} is archived and cannot be sent")
        if webhook.state == domain.WebhookState.DISABLED:
            raise errors.FailedPrecondition(
                f"webhook {webhook.id} is disabled: {webhook.state_reason}; "
                "Update it to enable it again"
            )
        compiled = self._versions.compiled(caller.workspace_id, webhook)
        compiled.check_data(data)
        return webhook, compiled

    async def send(
        self,
        caller: domain.Caller,
        webhook_id: str,
        recipients: Sequence[domain.Recipient],
        data: Mapping[str, Any],
        *,
        idempotency_key: str,
        labels: Mapping[str, str],
    ) -> list[uuid.UUID]:
        """Store one message per recipient; returns once they are committed."""
        check_recipients(recipients, MAX_SEND_RECIPIENTS)
        check_labels(labels)
        if len(idempotency_key) > MAX_IDEMPOTENCY_KEY_CHARS:
            raise errors.InvalidArgument.field(
                "idempotency_key", f"must be at most {MAX_IDEMPOTENCY_KEY_CHARS} characters"
            )
        webhook, _ = await self._sendable(caller, webhook_id, data)
        send = LiveSend(
            workspace_id=caller.workspace_id,
            webhook=webhook,
            messages=[
                domain.NewMessage(i, r)
                for i, r in zip(ids.new_many(len(recipients)), recipients, strict=True)
            ],
            data=data,
            labels=labels,
            idempotency_key=idempotency_key or None,
            destination=webhooks.destination(webhook),
        )
        return await self._intake.insert_live(send)

    async def send_test(
        self,
        caller: domain.Caller,
        webhook_id: str,
        recipients: Sequence[domain.Recipient],
        data: Mapping[str, Any],
    ) -> list[domain.MessageRecord]:
        """Attempt now, once per recipient; returns the recorded messages."""
        check_recipients(recipients, MAX_TEST_RECIPIENTS)
        # The console tests what it just saved, maybe through another process: no cache.
        webhook, compiled = await self._sendable(caller, webhook_id, data, fresh=True)
        new = [domain.NewMessage(ids.new(), r) for r in recipients]
        lease = policy.timeout(compiled.spec.policy) + self._lease_margin
        lane = webhooks.destination(webhook)
        await self._queue.insert_test(caller.workspace_id, webhook, new, data, lease, lane)
        claims = [
            domain.Claim(
                workspace_id=caller.workspace_id,
                id=m.id,
                webhook_id=uuid.UUID(webhook.id),
                webhook_version=webhook.version,
                kind=domain.MessageKind.TEST,
                recipient=m.recipient,
                data=data,
                destination=lane,
                attempt_number=1,
                failures=0,
                manual=False,
            )
            for m in new
        ]
        outcomes = await asyncio.gather(*(self._deliverer.attempt(c) for c in claims))
        recorder.log_changes(await self._queue.record(outcomes))
        recorder.log_outcomes(outcomes)
        return await self._history.get(caller.workspace_id, [m.id for m in new])

    async def get(self, caller: domain.Caller, message_id: str) -> domain.MessageRecord:
        mid = ids.parse(message_id, "id")
        found = await self._history.get(caller.workspace_id, [mid])
        if not found:
            raise errors.NotFound(f"message {mid} not found")
        return found[0]

    async def retry(self, caller: domain.Caller, message_id: str) -> domain.MessageRecord:
        mid = ids.parse(message_id, "message_id")
        if not await self._queue.requeue(caller.workspace_id, mid):
            webhook_state = await self._history.webhook_state(caller.workspace_id, mid)
            if webhook_state is None:
                raise errors.NotFound(f"message {mid} not found")
            found = await self._history.get(caller.workspace_id, [mid])
            if found and found[0].purge_time is not None:
                raise errors.FailedPrecondition(
                    f"message {mid} was purged (PurgeUser); its recipient and data are gone"
                )
            if webhook_state is domain.WebhookState.ARCHIVED:
                raise errors.FailedPrecondition(
                    f"the webhook of message {mid} is archived; its messages are not sent again"
                )
            if webhook_state is domain.WebhookState.DISABLED:
                raise errors.FailedPrecondition(
                    f"the webhook of message {mid} is disabled; Update it to enable it, then retry"
                )
            raise errors.FailedPrecondition(
                f"message {mid} is still pending; Retry applies to finished messages"
            )
        return (await self._history.get(caller.workspace_id, [mid]))[0]

    async def retry_failed(
        self,
        caller: domain.Caller,
        webhook_id: str,
        start_time: datetime | None,
        end_time: datetime | None,
        request_id: str,
    ) -> int:
        """A manual attempt of every FAILED live message of the webhook created in
        [start_time, end_time), in chunks of short transactions; how many. A repeated
        `request_id` (within a day) is the same call: it returns the first call's count
        and queues nothing, or first finishes what that call left undone."""
        webhook_uuid = ids.parse(webhook_id, "webhook_id")
        if start_time is None:
            raise errors.InvalidArgument.field("start_time", "is required")
        if end_time is None:
            raise errors.InvalidArgument.field("end_time", "is required")
        if start_time >= end_time:
            raise errors.InvalidArgument.field("end_time", "must be after start_time")
        if end_time - start_time > MAX_RETRY_WINDOW:
            raise errors.InvalidArgument.field(
                "end_time", "must be at most 31 days after start_time"
            )
        if len(request_id) > MAX_REQUEST_ID_CHARS:
            raise errors.InvalidArgument.field(
                "request_id", f"must be at most {MAX_REQUEST_ID_CHARS} characters"
            )
        return await self._recovery.retry_failed(
            caller.workspace_id, webhook_uuid, start_time, end_time, request_id or None
        )

    async def hourly_counts(
        self, caller: domain.Caller, *, now: datetime, hours: int = 24
    ) -> Sequence[domain.HourlyCount]:
        """The caller's messages created in the `hours` hours up to `now`, counted by
        webhook, status and hour (0 is the hour up to `now`)."""
        if not (1 <= hours <= MAX_COUNT_HOURS):
            raise errors.InvalidArgument.field(
                "hours", f"must be between 1 and {MAX_COUNT_HOURS}, got {hours}"
            )
        if now.utcoffset() is None:
            raise errors.InvalidArgument.field("now", "must carry a time zone")
        return await self._history.hourly_counts(caller.workspace_id, now, hours)

    async def purge_user(self, caller: domain.Caller, user_id: str) -> int:
        """Erase the user's requests, responses, recipients and data; how many messages."""
        if not user_id:
            raise errors.InvalidArgument.field("user_id", "is required")
        if len(user_id) > MAX_USER_ID_CHARS:
            raise errors.InvalidArgument.field(
                "user_id", f"must be at most {MAX_USER_ID_CHARS} characters"
            )
        return await self._purges.purge_user(caller.workspace_id, user_id)

    async def history(
        self,
        caller: domain.Caller,
        *,
        webhook_id: str,
        statuses: Sequence[domain.MessageStatus],
        kind: domain.MessageKind | None,
        user_id: str,
        start_time: datetime | None,
        end_time: datetime | None,
        labels: Mapping[str, str],
        page_size: int,
        page_token: str,
    ) -> tuple[list[domain.MessageRecord], str]:
        check_labels(labels)
        where = domain.HistoryFilter(
            webhook_id=ids.parse(webhook_id, "webhook_id") if webhook_id else None,
            statuses=tuple(statuses),
            kind=kind,
            user_id=user_id or None,
            start_time=start_time,
            end_time=end_time,
            labels=labels,
        )
        page, nxt = await self._history.list(
            caller.workspace_id,
            where,
            limit=pagination.page_size(page_size),
            after=pagination.decode(page_token),
        )
        return page, pagination.encode(nxt)
