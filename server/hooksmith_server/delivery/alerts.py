"""The alert worker: sends the outbox's alert events to each workspace's alert URL.

An event is signed like a delivery (Standard Webhooks, with the workspace's alert
signing secret; `webhook-id` is the event's id, the same on every attempt, for the
receiver to drop duplicates), sent through the same sender and SSRF guard, and retried
with a growing delay for `GIVE_UP_AFTER` after the event was made.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime, timedelta

from hooksmith_server import domain, errors
from hooksmith_server.delivery import ports, signing

log = logging.getLogger(__name__)

BATCH = 50
"""Events claimed at a time."""
TIMEOUT = 10.0
"""Seconds one alert request may take."""
LEASE = timedelta(seconds=60)
"""How long a claimed event is this worker's: longer than `TIMEOUT`."""
FIRST_DELAY = timedelta(seconds=5)
MAX_DELAY = timedelta(minutes=30)
GIVE_UP_AFTER = timedelta(hours=24)
"""An event not delivered this long after it was made is given up (and logged)."""


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 5 s, doubling, at most 30 min."""
    delay: timedelta = FIRST_DELAY * (2 ** min(attempts - 1, 20))
    return min(delay, MAX_DELAY)


def request(alert: domain.AlertDelivery, timestamp: int) -> domain.HttpRequest:
    """The signed POST of one alert event."""
    body = json.dumps(alert.payload, separators=(",", ":"), ensure_ascii=False)
    headers = (
        domain.Header("Content-Type", "application/json"),
        *signing.signed_headers([alert.signing_secret], str(alert.id), timestamp, body),
    )
    return domain.HttpRequest("POST", alert.url, headers, body)


class AlertWorker:
    """Claims due alert events and sends them; `run` is the loop the composition root
    supervises beside the dispatcher."""

    def __init__(self, outbox: ports.AlertOutbox, sender: ports.Sender, *, poll: float) -> None:
        self._outbox = outbox
        self._sender = sender
        self._poll = poll

    async def run(self) -> None:
        while True:
            try:
                sent = await self.send_due()
            except errors.Unavailable as e:
                log.warning("sending alerts failed (%s); retrying", e)
                sent = 0
            if sent < BATCH:
                await asyncio.sleep(self._poll)

    async def send_due(self) -> int:
        """Send the events due now, at most `BATCH`; how many were attempted."""
        claimed = await self._outbox.claim(BATCH, LEASE)
        await asyncio.gather(*(self._send(alert) for alert in claimed))
        return len(claimed)

    async def _send(self, alert: domain.AlertDelivery) -> None:
        if not alert.url:
            await self._outbox.failed(alert, "the workspace has no alert URL any more", None)
            return
        exchange = await self._sender.send(request(alert, int(time.time())), timeout=TIMEOUT)
        if exchange.succeeded:
            await self._outbox.delivered(alert)
            return
        error = exchange.error or (
            f"HTTP {exchange.response.status_code}" if exchange.response else "no response"
        )
        retry_at = datetime.now(UTC) + retry_delay(alert.attempts)
        if retry_at - alert.create_time > GIVE_UP_AFTER:
            log.warning(
                "alert %s (%s) of workspace %s not delivered after %d attempts; giving up: %s",
                alert.id,
                alert.type,
                alert.workspace_id,
                alert.attempts,
                error,
            )
            await self._outbox.failed(alert, error, None)
            return
        log.info(
            "alert %s (%s) of workspace %s failed (attempt %d): %s; next at %s",
            alert.id,
            alert.type,
            alert.workspace_id,
            alert.attempts,
            error,
            retry_at.isoformat(timespec="seconds"),
        )
        await self._outbox.failed(alert, error, retry_at)
