"""The recorder: writes attempt outcomes in groups, one commit for many attempts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace

from hooksmith_server import breaker, domain, errors
from hooksmith_server.delivery import ports

log = logging.getLogger(__name__)

RECORD_BATCH = 500
# Outcomes arriving within this window share one commit.
RECORD_LINGER = 0.005


class Recorder:
    """Writes outcomes in batches: one commit for many attempts.

    A delivery slot is freed as soon as its HTTP exchange ends; its outcome waits
    here for the next group commit. The message keeps its lease until then, so an
    outcome lost with the process means a second attempt, never a lost message.
    """

    def __init__(self, queue: ports.Queue, *, max_pending: int = 4 * RECORD_BATCH) -> None:
        self._queue = queue
        # Bounded: when the database falls behind, deliveries wait instead of piling up.
        self._pending: asyncio.Queue[domain.Outcome] = asyncio.Queue(maxsize=max_pending)

    async def submit(self, outcome: domain.Outcome) -> None:
        await self._pending.put(outcome)

    async def drain(self) -> None:
        """Returns once every submitted outcome has been written (or given up on)."""
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
        delay = 0.1
        for _ in range(6):
            try:
                log_changes(await self._queue.record(batch))
                log_outcomes(batch)
                return
            except errors.Unavailable as e:
                log.warning("recording %d outcomes failed (%s); retrying", len(batch), e)
                await asyncio.sleep(delay)
                delay *= 2
            except Exception:
                # One outcome the database refuses must not hold back the others.
                log.exception("recording a batch of %d outcomes failed", len(batch))
                for outcome in batch:
                    await self._write_one(outcome)
                return
        # The leases will expire and the messages be attempted again: late, never lost.
        log.error("giving up recording %d outcomes; they will be attempted again", len(batch))

    async def _write_one(self, outcome: domain.Outcome) -> None:
        try:
            log_changes(await self._queue.record([outcome]))
            log_outcomes([outcome])
            return
        except Exception as e:
            log.exception("recording the outcome of message %s failed", outcome.claim.id)
            error = f"the outcome could not be stored ({type(e).__name__}); {outcome.error or ''}"
        # Keep the decision, drop what could not be stored.
        bare = replace(outcome, request=None, response=None, error=error.rstrip("; "))
        try:
            await self._queue.record([bare])
        except Exception:
            log.exception("message %s keeps its lease and will be attempted again", bare.claim.id)


def log_changes(changes: Sequence[breaker.Change]) -> None:
    """One line per destination whose breaker opened or closed."""
    for change in changes:
        state = change.state
        where = f"destination {change.lane.destination} of workspace {change.lane.workspace_id}"
        if change.opened:
            assert state.paused_until is not None
            log.info(
                "%s paused until %s after %d failed attempts in a row (trip %d); last error: %s",
                where,
                state.paused_until.isoformat(timespec="seconds"),
                state.failures,
                state.trips,
                state.last_error,
            )
        else:
            log.info("%s answers again: deliveries resumed", where)


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
            )
        if outcome.status is domain.MessageStatus.FAILED:
            log.info(
                "message %s of webhook %s in workspace %s failed after %d attempt(s): %s",
                claim.id,
                claim.webhook_id,
                claim.workspace_id,
                claim.attempt_number,
                outcome.error,
            )
