"""The recorder: writes attempt outcomes in groups, one commit for many attempts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace

from hooksmith_server import breaker, domain, errors
from hooksmith_server.delivery import ports
from hooksmith_server.observability import logs
from hooksmith_server.observability.metrics import Metrics

log = logging.getLogger(__name__)

RECORD_BATCH = 500
# Outcomes arriving within this window share one commit.
RECORD_LINGER = 0.005
RETRY_FIRST = 0.05
"""Seconds before the first retry of a batch the database could not take."""
RETRY_MAX = 0.5
"""The longest wait between retries: outcomes are stored soon after the database is back."""
WARN_EVERY = 10.0
"""Seconds of one outage between two warnings about the same batch."""


class Recorder:
    """Writes outcomes in batches: one commit for many attempts.

    A delivery slot is freed as soon as its HTTP exchange ends; its outcome waits
    here for the next group commit. The message keeps its lease until then, so an
    outcome lost with the process means a second attempt, never a lost message.
    While the database is unreachable, outcomes are kept and retried until stored;
    the queue is bounded, so deliveries then wait in `submit` instead.
    """

    def __init__(
        self,
        queue: ports.Queue,
        *,
        max_pending: int = 4 * RECORD_BATCH,
        metrics: Metrics | None = None,
    ) -> None:
        self._queue = queue
        self._metrics = metrics if metrics is not None else Metrics()
        # Bounded: when the database falls behind, deliveries wait instead of piling up.
        self._pending: asyncio.Queue[domain.Outcome] = asyncio.Queue(maxsize=max_pending)

    async def submit(self, outcome: domain.Outcome) -> None:
        await self._pending.put(outcome)

    async def drain(self) -> None:
        """Returns once every submitted outcome has been written (or refused by the database)."""
        await self._pending.join()

    async def run(self) -> None:
        while True:
            batch = [await self._pending.get()]
            await asyncio.sleep(RECORD_LINGER)
            while len(batch) < RECORD_BATCH and not self._pending.empty():
                batch.append(self._pending.get_nowait())
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self._pending.task_done()

    async def _write(self, batch: list[domain.Outcome]) -> None:
        try:
            changes = await self._stored(batch)
        except Exception:
            # One outcome the database refuses must not hold back the others.
            log.exception("recording a batch of %d outcomes failed", len(batch))
            for outcome in batch:
                await self._write_one(outcome)
            return
        self._changed(changes)
        log_outcomes(batch)

    async def _stored(self, outcomes: list[domain.Outcome]) -> Sequence[breaker.Change]:
        """Record `outcomes`, waiting out any database outage: an outcome is kept until stored.

        Dropping it would let its lease expire and the message be sent a second time.
        Memory stays bounded: while this waits, `submit` blocks once the queue is full,
        so deliveries wait rather than outcomes pile up (or are lost).
        """
        delay = RETRY_FIRST
        waited = 0.0
        next_warning = 0.0
        while True:
            try:
                return await self._queue.record(outcomes)
            except errors.Unavailable as e:
                if waited >= next_warning:
                    log.warning(
                        "recording %d outcomes failed (%s); keeping them and retrying",
                        len(outcomes),
                        e,
                    )
                    next_warning = waited + WARN_EVERY
                await asyncio.sleep(delay)
                waited += delay
                delay = min(delay * 2, RETRY_MAX)

    async def _write_one(self, outcome: domain.Outcome) -> None:
        try:
            self._changed(await self._stored([outcome]))
            log_outcomes([outcome])
            return
        except Exception as e:
            log.exception(
                "recording the outcome of message %s failed",
                outcome.claim.id,
                extra=logs.claim_ids(outcome.claim),
            )
            error = f"the outcome could not be stored ({type(e).__name__}); {outcome.error or ''}"
        # Keep the decision, drop what could not be stored.
        bare = replace(outcome, request=None, response=None, error=error.rstrip("; "))
        try:
            await self._stored([bare])
        except Exception:
            log.exception(
                "message %s keeps its lease and will be attempted again",
                bare.claim.id,
                extra=logs.claim_ids(bare.claim),
            )

    def _changed(self, changes: Sequence[breaker.Change]) -> None:
        log_changes(changes)
        for change in changes:
            self._metrics.breaker_changed(opened=change.opened)


def log_changes(changes: Sequence[breaker.Change]) -> None:
    """One line per destination whose breaker opened or closed."""
    for change in changes:
        state = change.state
        where = f"destination {change.lane.destination} of workspace {change.lane.workspace_id}"
        extra = logs.ids(workspace_id=change.lane.workspace_id, destination=change.lane.destination)
        if change.opened:
            assert state.paused_until is not None
            log.info(
                "%s paused until %s after %d failed attempts in a row (trip %d); last error: %s",
                where,
                state.paused_until.isoformat(timespec="seconds"),
                state.failures,
                state.trips,
                state.last_error,
                extra=extra,
            )
        else:
            log.info("%s answers again: deliveries resumed", where, extra=extra)


def log_outcomes(outcomes: Sequence[domain.Outcome]) -> None:
    """Every attempt at DEBUG; a message that failed for good at INFO. Never a body."""
    for outcome in outcomes:
        claim = outcome.claim
        if log.isEnabledFor(logging.DEBUG):
            answer = (
                f"HTTP {outcome.response.status_code}"
                if outcome.response is not None
                else outcome.error
            )
            log.debug(
                "attempt %d of message %s (webhook %s, workspace %s): %s in %.0f ms, now %s",
                claim.attempt_number,
                claim.id,
                claim.webhook_id,
                claim.workspace_id,
                answer,
                outcome.duration.total_seconds() * 1000,
                outcome.status.value,
                extra=logs.claim_ids(claim),
            )
        if outcome.status is domain.MessageStatus.FAILED:
            log.info(
                "message %s of webhook %s in workspace %s failed after %d attempt(s): %s",
                claim.id,
                claim.webhook_id,
                claim.workspace_id,
                claim.attempt_number,
                outcome.error,
                extra=logs.claim_ids(claim),
            )
