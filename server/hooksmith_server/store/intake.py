"""Intake: concurrent Sends share one transaction (group commit).

A commit costs a WAL flush, and one commit per Send caps intake near a thousand
Sends a second. Sends queue here while the previous group commits; each group is
one insert, one idempotency look-up and one NOTIFY. An idle intake commits a lone Send
at once. A busy one, where Sends are already queued behind the group's first, waits
`LINGER` for more to join: the process is then bound by its CPU, and each group costs
a pool checkout, an encoding and a round trip whatever its size, so fewer and larger
groups take more Sends a second.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field

from hooksmith_server import errors
from hooksmith_server.store.queue import LiveSend, QueueStore

log = logging.getLogger(__name__)

MAX_GROUP_ROWS = 5_000
"""Recipients in one group commit at most; a larger Send commits on its own."""
LINGER = 0.005
"""Seconds a group waits for more Sends when others are queued behind its first. At 64
Sends of one recipient in flight, groups grew from ~2 Sends to ~10 and Sends/s by a
fifth (`docs/performance.md`); a Send that finds the intake idle never waits."""


@dataclass
class _Waiting:
    send: LiveSend
    done: asyncio.Future[list[uuid.UUID]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Intake:
    """Group commit of Sends; `run` is the loop the composition root supervises."""

    def __init__(self, queue: QueueStore, *, linger: float = LINGER) -> None:
        self._queue = queue
        self._linger = linger
        self._waiting: asyncio.Queue[_Waiting] = asyncio.Queue()

    async def insert_live(self, send: LiveSend) -> list[uuid.UUID]:
        """Store the Send's messages with whatever else is waiting; their ids, in order."""
        if len(send.messages) >= MAX_GROUP_ROWS:
            return await self._queue.insert_live(send)
        waiting = _Waiting(send)
        self._waiting.put_nowait(waiting)
        return await waiting.done

    async def run(self) -> None:
        while True:
            group = [await self._waiting.get()]
            if self._linger > 0 and not self._waiting.empty():
                # Behind already: let the Sends arriving meanwhile share this commit.
                await asyncio.sleep(self._linger)
            rows = len(group[0].send.messages)
            while not self._waiting.empty():
                nxt = self._waiting.get_nowait()
                group.append(nxt)
                rows += len(nxt.send.messages)
                if rows >= MAX_GROUP_ROWS:
                    break
            await self._commit(group)

    async def _commit(self, group: list[_Waiting]) -> None:
        try:
            results = await self._queue.insert_sends([w.send for w in group])
        except errors.Unavailable as e:
            # The connection broke: the group may or may not have committed, so no Send
            # is redone here (its new rows could be stored twice). Each caller gets
            # UNAVAILABLE; repeating a Send with its idempotency key returns the same ids.
            for waiting in group:
                if not waiting.done.done():
                    waiting.done.set_exception(errors.Unavailable(e.message))
            return
        except Exception as e:
            # One Send's bad value or a race must not fail the others: each on its own.
            if len(group) > 1:
                log.debug("a group of %d Sends failed (%s); committing each alone", len(group), e)
            await asyncio.gather(*(self._alone(w) for w in group))
            return
        for waiting, ids in zip(group, results, strict=True):
            if not waiting.done.done():
                waiting.done.set_result(ids)

    async def _alone(self, waiting: _Waiting) -> None:
        try:
            ids = await self._queue.insert_live(waiting.send)
        except Exception as e:
            if not waiting.done.done():
                waiting.done.set_exception(e)
            return
        if not waiting.done.done():
            waiting.done.set_result(ids)
