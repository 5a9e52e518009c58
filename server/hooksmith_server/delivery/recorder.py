"""The recorder: writes attempt outcomes in groups, one commit for many attempts."""

from __future__ import annotations

import asyncio
import contextlib
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
"""Seconds between two warnings while outcomes cannot be stored."""
SPLIT_AFTER = 3
"""Refused tries of one batch before it is split in halves. A refusal that is not an
outage (a statement timeout, a value the driver cannot send) comes back every time: split
down to one outcome, it holds back only that outcome, which is then stored without its
request and response if those are what the database refuses. Through an outage every
outcome is still kept whole, since the full outcome is always tried first."""


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
        self._next_warning = 0.0

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

    async def _stored(self, outcomes: Sequence[domain.Outcome]) -> Sequence[breaker.Change]:
        """Record `outcomes`, waiting out any database outage: an outcome is kept until stored.

        Dropping it would let its lease expire and the message be sent a second time.
        Memory stays bounded: while this waits, `submit` blocks once the queue is full,
        so deliveries wait rather than outcomes pile up (or are lost).
        """
        delay = RETRY_FIRST
        tries = 0
        while True:
            try:
                return await self._queue.record(outcomes)
            except errors.Unavailable as e:
                tries += 1
                self._warn(len(outcomes), e)
                if tries >= SPLIT_AFTER:
                    if len(outcomes) > 1:
                        half = len(outcomes) // 2
                        first = await self._stored(outcomes[:half])
                        return [*first, *await self._stored(outcomes[half:])]
                    if (bare := _bare(outcomes[0], e)) is not None:
                        with contextlib.suppress(errors.Unavailable):
                            return await self._queue.record([bare])
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    def _warn(self, count: int, error: errors.Unavailable) -> None:
        now = asyncio.get_running_loop().time()
        if now >= self._next_warning:
            self._next_warning = now + WARN_EVERY
            log.warning(
                "recording %d outcomes failed (%s); keeping them and retrying", count, error
            )

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


def _bare(outcome: domain.Outcome, error: BaseException) -> domain.Outcome | None:
    """`outcome` without its request and response, saying why; None if it has neither."""
    if outcome.request is None and outcome.response is None:
        return None
    why = f"the request and response could not be stored ({error})"
    return replace(
        outcome,
        request=None,
        response=None,
        error=f"{why}; {outcome.error}" if outcome.error else why,
    )


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
