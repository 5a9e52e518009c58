"""The dispatcher: claims due messages and attempts them, a bounded number at a time.

Correctness lives in the database, not here: a claim is a committed lease, and
anything this process loses by dying is claimed again when its lease expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from hooksmith_server import domain, errors
from hooksmith_server.delivery import policy, ports
from hooksmith_server.delivery.deliverer import Deliverer
from hooksmith_server.delivery.recorder import Recorder
from hooksmith_server.observability import logs
from hooksmith_server.observability.metrics import Metrics

log = logging.getLogger(__name__)

CLAIM_BATCH = 200
# A rate-limited message whose turn is this far off means the webhook is at its limit.
_AT_LIMIT = 0.5
# At most one "at its rate limit" line per webhook this often.
_LIMIT_LOG_EVERY = 60.0


class Dispatcher:
    """Claims due messages and attempts them, at most `concurrency` at a time.

    At most `lane_limit` of them go to one lane (a destination of a workspace): an
    attempt in flight cannot be taken back, so the slots a slow or silent receiver
    may hold are bounded, and the rest stay free for every other destination.
    """

    def __init__(
        self,
        queue: ports.Queue,
        deliverer: Deliverer,
        recorder: Recorder,
        *,
        concurrency: int,
        lane_limit: int,
        poll_interval: timedelta,
        lease_margin: timedelta,
        metrics: Metrics | None = None,
    ) -> None:
        self._queue = queue
        self._deliverer = deliverer
        self._recorder = recorder
        self._concurrency = concurrency
        self._lane_limit = lane_limit
        self._poll = poll_interval.total_seconds()
        self._margin = lease_margin
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        # Claims waiting for their rate limit's turn, by message id: a shutdown gives
        # them back untried.
        self._waiting: dict[uuid.UUID, domain.Claim] = {}
        # Claims whose attempt began and has not ended yet: what a shutdown cuts.
        self._attempting: dict[uuid.UUID, domain.Claim] = {}
        self._lanes: Counter[domain.Lane] = Counter()
        self._limit_logged: dict[uuid.UUID, float] = {}
        self._stopping = False
        self._metrics = metrics if metrics is not None else Metrics()

    async def run(self) -> None:
        subscription = await self._subscribe()
        try:
            while not self._stopping:
                free = self._concurrency - len(self._inflight)
                if free <= 0:
                    await self._wait(self._poll)
                    continue
                try:
                    claims = await self._queue.claim(
                        min(free, CLAIM_BATCH),
                        self._margin,
                        policy.DEFAULT_TIMEOUT,
                        in_flight=dict(self._lanes),
                        lane_limit=self._lane_limit,
                    )
                except errors.Unavailable as e:
                    log.warning("claiming failed (%s); retrying", e)
                    await self._wait(self._poll)
                    continue
                for claim in claims:
                    self._lanes[claim.lane] += 1
                    self._waiting[claim.id] = claim
                    task = asyncio.create_task(self._deliver(claim))
                    self._inflight.add(task)
                    task.add_done_callback(functools.partial(self._done, claim.lane))
                self._metrics.in_flight.set(len(self._inflight))
                # A claim shares the batch between lanes and may come back short while
                # one lane still has due messages: only an empty claim means idle.
                if not claims:
                    await self._wait(await self._idle_wait())
                    if subscription is None or subscription.closed:
                        subscription = await self._subscribe()
        finally:
            if subscription is not None:
                await subscription.close()

    async def _idle_wait(self) -> float:
        """After an empty claim: until the next message is due, at most one poll interval.

        A message already due that the claim did not take waits for something to change:
        its lane is full here, paused by its breaker, or past its rate limit's slots. A
        finished attempt, a NOTIFY or the poll interval wakes the dispatcher, never a
        loop of claims that take nothing.
        """
        try:
            failed = await self._queue.give_up()
            if failed:
                log.warning("failed %d interrupted message(s) instead of attempting again", failed)
            due = await self._queue.next_due()
        except errors.Unavailable:
            return self._poll
        if due is None:
            return self._poll
        until = (due - datetime.now(UTC)).total_seconds()
        return min(self._poll, until) if until > 0 else self._poll

    async def _wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    def _done(self, lane: domain.Lane, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._metrics.in_flight.set(len(self._inflight))
        self._lanes[lane] -= 1
        if self._lanes[lane] <= 0:
            del self._lanes[lane]
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())

    async def _deliver(self, claim: domain.Claim) -> None:
        if claim.send_at is not None:
            # A rate-limited webhook's turn: the claim gave this message its slot.
            wait = (claim.send_at - datetime.now(UTC)).total_seconds()
            if wait > _AT_LIMIT:
                self._log_at_limit(claim)
            self._metrics.rate_limited(max(0.0, wait))
            await asyncio.sleep(max(0.0, wait))
        self._attempting[claim.id] = self._waiting.pop(claim.id)
        try:
            outcome = await self._deliverer.attempt(claim)
        except asyncio.CancelledError:
            # Cut by `stop`: the claim stays in `_attempting` to be recorded as interrupted.
            raise
        except errors.Unavailable as e:
            self._attempting.pop(claim.id, None)
            # The lease expires and the message is attempted again.
            log.warning(
                "attempt %d of message %s not made: %s",
                claim.attempt_number,
                claim.id,
                e,
                extra=logs.claim_ids(claim),
            )
            return
        except BaseException:
            self._attempting.pop(claim.id, None)
            raise
        self._attempting.pop(claim.id, None)
        await self._recorder.submit(outcome)

    def _log_at_limit(self, claim: domain.Claim) -> None:
        now = asyncio.get_running_loop().time()
        if now - self._limit_logged.get(claim.webhook_id, -_LIMIT_LOG_EVERY) >= _LIMIT_LOG_EVERY:
            self._limit_logged[claim.webhook_id] = now
            log.info(
                "webhook %s of workspace %s is at its rate limit; messages wait for their turn",
                claim.webhook_id,
                claim.workspace_id,
                extra=logs.ids(workspace_id=claim.workspace_id, webhook_id=claim.webhook_id),
            )

    async def _subscribe(self) -> ports.Subscription | None:
        try:
            return await self._queue.listen(self._wake.set)
        except errors.Unavailable as e:
            log.warning("LISTEN failed (%s); polling every %.1f s", e, self._poll)
            return None

    async def stop(self, grace: float) -> None:
        """Stop claiming; give in-flight attempts `grace` seconds, then cut them.

        A cut attempt is logged and recorded as interrupted, and its message is due
        again at once: after a restart it is attempted without waiting for its lease. A
        claim still waiting for its rate limit's turn made no request: it is given back
        untried.
        """
        self._stopping = True
        self._wake.set()
        if not self._inflight:
            return
        _, pending = await asyncio.wait(set(self._inflight), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
        untried = list(self._waiting.values())
        self._waiting.clear()
        if untried:
            await self._release(untried)
        cut = list(self._attempting.values())
        self._attempting.clear()
        if cut:
            await self._interrupt(cut, grace)

    async def _release(self, untried: list[domain.Claim]) -> None:
        log.info(
            "%d message(s) waiting for their rate limit's turn at shutdown were given back untried",
            len(untried),
        )
        try:
            await self._queue.release(untried)
        except errors.Unavailable as e:
            log.warning(
                "giving back %d untried claim(s) failed (%s); they are attempted when "
                "their leases end",
                len(untried),
                e,
            )

    async def _interrupt(self, cut: list[domain.Claim], grace: float) -> None:
        log.warning(
            "shutdown grace of %.1f s ended with %d attempt(s) in flight; they were cut and "
            "are attempted again at once after a restart",
            grace,
            len(cut),
        )
        for claim in cut:
            log.info(
                "cut attempt %d of message %s (webhook %s, workspace %s, destination %s)",
                claim.attempt_number,
                claim.id,
                claim.webhook_id,
                claim.workspace_id,
                claim.destination,
            )
        try:
            await self._queue.interrupt(cut)
        except errors.Unavailable as e:
            log.warning(
                "recording %d cut attempt(s) failed (%s); they are attempted again when "
                "their leases end",
                len(cut),
                e,
            )
