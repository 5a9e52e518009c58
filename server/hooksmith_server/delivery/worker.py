"""Background delivery: the dispatcher that claims due messages, the recorder that
writes outcomes in groups, and the retention sweep.

Correctness lives in the database, not here: a claim is a committed lease, and
anything this process loses by dying is claimed again when its lease expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg

from hooksmith_server import errors
from hooksmith_server.delivery import policy
from hooksmith_server.delivery.deliverer import Deliverer
from hooksmith_server.store import db as store_db
from hooksmith_server.store.messages import QUEUE_CHANNEL, Claim, MessageStore, Outcome

log = logging.getLogger(__name__)

CLAIM_BATCH = 200
RECORD_BATCH = 500
# Outcomes arriving within this window share one commit.
RECORD_LINGER = 0.005


class Recorder:
    """Writes outcomes in batches: one commit for many attempts.

    A delivery slot is freed as soon as its HTTP exchange ends; its outcome waits
    here for the next group commit. The message keeps its lease until then, so an
    outcome lost with the process means a second attempt, never a lost message.
    """

    def __init__(self, store: MessageStore, *, max_pending: int = 4 * RECORD_BATCH) -> None:
        self._store = store
        # Bounded: when the database falls behind, deliveries wait instead of piling up.
        self._queue: asyncio.Queue[Outcome] = asyncio.Queue(maxsize=max_pending)

    async def submit(self, outcome: Outcome) -> None:
        await self._queue.put(outcome)

    async def drain(self) -> None:
        """Returns once every submitted outcome has been written (or given up on)."""
        await self._queue.join()

    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            await asyncio.sleep(RECORD_LINGER)
            while len(batch) < RECORD_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: list[Outcome]) -> None:
        delay = 0.1
        for _ in range(6):
            try:
                await self._store.record(batch)
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

    async def _write_one(self, outcome: Outcome) -> None:
        try:
            await self._store.record([outcome])
            return
        except Exception as e:
            log.exception("recording the outcome of message %s failed", outcome.claim.id)
            error = f"the outcome could not be stored ({type(e).__name__}); {outcome.error or ''}"
        # Keep the decision, drop what could not be stored.
        bare = replace(outcome, request=None, response=None, error=error.rstrip("; "))
        try:
            await self._store.record([bare])
        except Exception:
            log.exception("message %s keeps its lease and will be attempted again", bare.claim.id)


class Dispatcher:
    """Claims due messages and attempts them, at most `concurrency` at a time."""

    def __init__(
        self,
        store: MessageStore,
        deliverer: Deliverer,
        recorder: Recorder,
        *,
        concurrency: int,
        poll_interval: timedelta,
        lease_margin: timedelta,
        listen: Callable[[], Awaitable[asyncpg.Connection]] | None = None,
    ) -> None:
        self._store = store
        self._deliverer = deliverer
        self._recorder = recorder
        self._concurrency = concurrency
        self._poll = poll_interval.total_seconds()
        self._margin = lease_margin
        self._listen = listen
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        listener = await self._start_listening()
        try:
            while not self._stopping:
                free = self._concurrency - len(self._inflight)
                if free <= 0:
                    await self._wait(self._poll)
                    continue
                try:
                    claims = await self._store.claim(
                        min(free, CLAIM_BATCH), self._margin, policy.DEFAULT_TIMEOUT
                    )
                except (errors.Unavailable, asyncpg.PostgresError) as e:
                    log.warning("claiming failed (%s); retrying", e)
                    await self._wait(self._poll)
                    continue
                for claim in claims:
                    task = asyncio.create_task(self._deliver(claim))
                    self._inflight.add(task)
                    task.add_done_callback(self._done)
                if len(claims) < min(free, CLAIM_BATCH):
                    await self._wait(await self._idle_wait())
                    if listener is None or listener.is_closed():
                        listener = await self._start_listening()
        finally:
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.close()

    async def _idle_wait(self) -> float:
        """Until the next message is due, at most one poll interval."""
        try:
            failed = await self._store.give_up()
            if failed:
                log.warning("failed %d interrupted message(s) instead of attempting again", failed)
            due = await self._store.next_due()
        except (errors.Unavailable, asyncpg.PostgresError):
            return self._poll
        if due is None:
            return self._poll
        return max(0.0, min(self._poll, (due - datetime.now(UTC)).total_seconds()))

    async def _wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task failed", exc_info=task.exception())

    async def _deliver(self, claim: Claim) -> None:
        try:
            outcome = await self._deliverer.attempt(claim)
        except errors.Unavailable as e:
            # The lease expires and the message is attempted again.
            log.warning("attempt %d of message %s not made: %s", claim.number, claim.id, e)
            return
        await self._recorder.submit(outcome)

    async def _start_listening(self) -> asyncpg.Connection | None:
        if self._listen is None:
            return None
        try:
            conn = await self._listen()
            await conn.add_listener(QUEUE_CHANNEL, lambda *_: self._wake.set())
        except (errors.Unavailable, asyncpg.PostgresError, OSError) as e:
            log.warning("LISTEN failed (%s); polling every %.1f s", e, self._poll)
            return None
        return conn

    async def stop(self, grace: float) -> None:
        """Stop claiming; give in-flight attempts `grace` seconds, then cancel them."""
        self._stopping = True
        self._wake.set()
        if self._inflight:
            _, pending = await asyncio.wait(set(self._inflight), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)


class Retention:
    """Deletes finished messages older than the retention period, in small batches."""

    def __init__(
        self,
        store: MessageStore,
        retention: timedelta,
        *,
        interval: float = 60.0,
        batch: int = 1000,
    ) -> None:
        self._store = store
        self._retention = retention
        self._interval = interval
        self._batch = batch

    async def sweep(self) -> int:
        before = datetime.now(UTC) - self._retention
        total = 0
        while True:
            deleted = await self._store.delete_expired(before, self._batch)
            total += deleted
            if deleted < self._batch:
                return total
            await asyncio.sleep(0)

    async def run(self) -> None:
        while True:
            try:
                deleted = await self.sweep()
                if deleted:
                    log.info("retention deleted %d messages", deleted)
            except (errors.Unavailable, asyncpg.PostgresError) as e:
                log.warning("retention sweep failed: %s", e)
            await asyncio.sleep(self._interval)


def listen_factory(dsn: str) -> Callable[[], Awaitable[asyncpg.Connection]]:
    async def connect() -> asyncpg.Connection:
        return await store_db.connect_once(dsn)

    return connect
