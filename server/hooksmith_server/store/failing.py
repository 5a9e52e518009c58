"""Runs of failed attempts per webhook, and disabling a webhook that fails for too long.

The recorder calls `track` in its record transaction: a success ends the webhook's run,
a failure starts one (`webhooks.failing_since`), and an active webhook whose run has
lasted its policy's `disable_after` is DISABLED with a reason, and a `webhook.disabled`
alert is written beside it. Only webhooks whose run changes are written.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from hooksmith_server import domain
from hooksmith_server.observability import logs
from hooksmith_server.store import alerts, codec
from hooksmith_server.store.db import Connection
from hooksmith_server.store.queries import Queries

log = logging.getLogger(__name__)

_q = Queries("failing.sql")


@dataclass
class _Run:
    answered: bool = False
    failing_from: datetime | None = None
    last_error: str = ""


def duration_text(value: timedelta) -> str:
    """`72h`, `90m` or `45s`: a policy's duration as an operator writes it."""
    seconds = int(value.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def disabled_reason(failing_since: datetime, disable_after: timedelta, last_error: str) -> str:
    return (
        f"every attempt failed since {failing_since.isoformat(timespec='seconds')} "
        f"(disable_after {duration_text(disable_after)}); last error: {last_error or 'unknown'}"
    )


def _runs(outcomes: Sequence[domain.Outcome]) -> dict[tuple[uuid.UUID, uuid.UUID], _Run]:
    runs: dict[tuple[uuid.UUID, uuid.UUID], _Run] = {}
    for outcome in outcomes:
        if outcome.status is domain.MessageStatus.SKIPPED:
            continue  # no request was made: it says nothing of the receiver
        run = runs.setdefault((outcome.claim.workspace_id, outcome.claim.webhook_id), _Run())
        if outcome.status is domain.MessageStatus.SUCCEEDED:
            run.answered, run.failing_from = True, None
        else:
            if run.failing_from is None:
                run.failing_from = outcome.start_time
            run.last_error = outcome.error or run.last_error
    return runs


async def track(conn: Connection, outcomes: Sequence[domain.Outcome]) -> list[alerts.Event]:
    """Update the runs of the batch's webhooks, disable those past their `disable_after`;
    returns their `webhook.disabled` events for the caller to write."""
    runs = _runs(outcomes)
    if not runs:
        return []
    await conn.execute(
        _q.track_runs,
        [
            {
                "workspace_id": str(workspace_id),
                "webhook_id": str(webhook_id),
                "answered": run.answered,
                "failing_from": run.failing_from.isoformat() if run.failing_from else None,
            }
            for (workspace_id, webhook_id), run in runs.items()
        ],
    )
    failing = [key for key, run in runs.items() if run.failing_from is not None]
    if not failing:
        return []
    due = await conn.fetch(
        _q.due_to_disable,
        [{"workspace_id": str(w), "webhook_id": str(h)} for w, h in failing],
    )
    if not due:
        return []
    events = []
    rows = []
    for row in due:
        after = timedelta(seconds=row["disable_after"])
        last_error = runs[(row["workspace_id"], row["id"])].last_error
        reason = codec.text(disabled_reason(row["failing_since"], after, last_error))
        rows.append(
            {
                "workspace_id": str(row["workspace_id"]),
                "webhook_id": str(row["id"]),
                "reason": reason,
            }
        )
        events.append(
            alerts.Event(
                row["workspace_id"],
                alerts.DISABLED,
                {
                    "reason": reason,
                    "failing_since": row["failing_since"].isoformat(),
                    "disable_after": duration_text(after),
                    "last_error": last_error,
                },
                webhook_id=row["id"],
            )
        )
    await conn.execute(_q.disable, rows)
    for disabled in rows:
        log.warning(
            "webhook %s of workspace %s disabled: %s",
            disabled["webhook_id"],
            disabled["workspace_id"],
            disabled["reason"],
            extra=logs.ids(
                workspace_id=disabled["workspace_id"], webhook_id=disabled["webhook_id"]
            ),
        )
    return events
