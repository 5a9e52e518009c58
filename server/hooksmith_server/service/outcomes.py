"""WatchOutcomes: a stream of the workspace's finished messages, from the table.

A stream reads a page of outcomes after its position, hands it on, and reads again;
once caught up it waits for a NOTIFY from any process that finished a message of its
workspace, or `POLL_INTERVAL` at most (an outcome becomes readable only once every
transaction older than it has ended, which no notice announces). Nothing is kept in
memory between reads: a stream that falls behind, or a client that comes back with a
cursor, reads on from the table.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass

from hooksmith_server import domain, errors, ids
from hooksmith_server.pagination import StreamPosition, decode_cursor, encode_cursor
from hooksmith_server.service.messages import check_labels
from hooksmith_server.service.versions import Versions
from hooksmith_server.store.outcomes import OutcomeStore

log = logging.getLogger(__name__)

PAGE_SIZE = 500
"""Outcomes read at a time."""
RESPONSE_BYTES = 1 << 20
"""About the most one response carries: a page of outcomes with large captured values
is sent as several, so a client with gRPC's default 4 MiB limit can read every one."""
_OUTCOME_BYTES = 200
"""What an outcome takes besides its labels, captured values and error, about."""
POLL_INTERVAL = 0.5
"""Seconds a caught-up stream waits for a notice before it reads again anyway."""
MIN_INTERVAL = 0.05
"""Seconds a caught-up stream waits at least before it reads again: notices that come
faster (every record commit sends one) are taken together, so a stream reads at most
20 times a second however busy its workspace is."""
RECONNECT_DELAY = 1.0
"""Seconds between attempts to LISTEN again after the notice feed was lost."""
MAX_WEBHOOK_IDS = 100
STOPPING = "the server is stopping; resume from the last cursor received"


@dataclass(frozen=True)
class Delivered:
    """One outcome as a stream sends it, with the cursor that resumes after it."""

    outcome: domain.MessageOutcome
    cursor: str


class Watch:
    """One caller's stream, positioned; `batches()` follows it until the caller leaves."""

    def __init__(
        self,
        outcomes: Outcomes,
        workspace_id: uuid.UUID,
        where: domain.OutcomeFilter,
        start: StreamPosition,
    ) -> None:
        self._outcomes = outcomes
        self._workspace_id = workspace_id
        self._where = where
        self._position = start

    @property
    def start_cursor(self) -> str:
        """A cursor of where the stream starts: resuming from it misses nothing."""
        return encode_cursor(self._position)

    async def batches(self) -> AsyncIterator[list[Delivered]]:
        """Outcomes in stream order, a page at a time (never an empty one); runs until
        the caller stops iterating, or raises `errors.Unavailable` when the database
        cannot be read or the server stops."""
        outcomes = self._outcomes
        while True:
            if outcomes.stopping:
                raise errors.Unavailable(STOPPING)
            # Registered before the read, so a notice that comes during it is not missed.
            woken = outcomes.register(self._workspace_id)
            try:
                page = await outcomes.store.read(
                    self._workspace_id, self._position, self._where, limit=outcomes.page_size
                )
                self._position = page.next
                for chunk in responses(page.outcomes):
                    yield [Delivered(o, encode_cursor(StreamPosition(o.xid, o.seq))) for o in chunk]
                if page.full:
                    continue
                await outcomes.wait(woken)
            finally:
                outcomes.unregister(self._workspace_id, woken)


def size(outcome: domain.MessageOutcome) -> int:
    """About the bytes `outcome` takes in a response."""
    texts = [*outcome.labels.items(), *outcome.captured.items()]
    return _OUTCOME_BYTES + len(outcome.error or "") + sum(len(k) + len(v) for k, v in texts)


def responses(
    outcomes: Sequence[domain.MessageOutcome], limit: int = RESPONSE_BYTES
) -> list[list[domain.MessageOutcome]]:
    """`outcomes` in order, cut into runs of about `limit` bytes at most (one at least)."""
    chunks: list[list[domain.MessageOutcome]] = []
    filled = limit
    for outcome in outcomes:
        cost = size(outcome)
        if filled + cost > limit:
            chunks.append([])
            filled = 0
        chunks[-1].append(outcome)
        filled += cost
    return chunks


class Outcomes:
    """The WatchOutcomes use case, and this process's one LISTEN for outcome notices."""

    def __init__(
        self,
        store: OutcomeStore,
        versions: Versions,
        *,
        page_size: int = PAGE_SIZE,
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        self.store = store
        self._versions = versions
        self.page_size = page_size
        self._poll_interval = poll_interval
        self._waiting: dict[uuid.UUID, set[asyncio.Event]] = {}
        self._stopping = asyncio.Event()

    async def open(
        self,
        caller: domain.Caller,
        *,
        webhook_ids: Sequence[str],
        labels: Mapping[str, str],
        after_cursor: str,
        include_test: bool,
    ) -> Watch:
        """A stream of the caller's workspace, checked and positioned: after
        `after_cursor`, or at the current tail when it is empty. Webhooks must exist in
        the workspace (NotFound otherwise)."""
        if len(webhook_ids) > MAX_WEBHOOK_IDS:
            raise errors.InvalidArgument.field(
                "webhook_ids", f"at most {MAX_WEBHOOK_IDS} webhooks, got {len(webhook_ids)}"
            )
        wanted = tuple(
            dict.fromkeys(ids.parse(w, f"webhook_ids[{i}]") for i, w in enumerate(webhook_ids))
        )
        check_labels(labels)
        start = decode_cursor(after_cursor) if after_cursor else None
        for webhook_id in wanted:
            await self._versions.current(caller.workspace_id, webhook_id)
        tail = await self.store.tail()
        if start is None:
            start = tail
        elif start.xid > tail.xid:
            # Every cursor given out lies below the horizon, and the horizon only grows: a
            # cursor beyond it was made by another database, and would wait forever.
            raise errors.InvalidArgument.field(
                "after_cursor", "is ahead of this database: it was not returned by this server"
            )
        where = domain.OutcomeFilter(wanted, dict(labels), include_test)
        return Watch(self, caller.workspace_id, where, start)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def stop(self) -> None:
        """End every stream (UNAVAILABLE: resume elsewhere) before the server stops."""
        self._stopping.set()
        for events in self._waiting.values():
            for event in events:
                event.set()

    def register(self, workspace_id: uuid.UUID) -> asyncio.Event:
        event = asyncio.Event()
        self._waiting.setdefault(workspace_id, set()).add(event)
        return event

    def unregister(self, workspace_id: uuid.UUID, event: asyncio.Event) -> None:
        events = self._waiting.get(workspace_id)
        if events is not None:
            events.discard(event)
            if not events:
                del self._waiting[workspace_id]

    async def wait(self, woken: asyncio.Event) -> None:
        """Until a notice for the stream's workspace, the server stopping, or the poll
        interval, whichever comes first; `MIN_INTERVAL` at least."""
        started = asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout(self._poll_interval):
                await woken.wait()
        except TimeoutError:
            return
        rest = MIN_INTERVAL - (asyncio.get_running_loop().time() - started)
        if rest > 0 and not self.stopping:
            await asyncio.sleep(rest)

    def woke(self, workspace_id: uuid.UUID) -> None:
        """A message of `workspace_id` finished (called by the notice feed)."""
        for event in self._waiting.get(workspace_id, ()):
            event.set()

    async def follow(self) -> None:
        """Keep the notice feed open while this runs (a background task). Without it,
        streams still see every outcome, within `POLL_INTERVAL`."""
        while True:
            try:
                feed = await self.store.listen(self.woke)
            except errors.Unavailable as e:
                log.warning("%s; outcome streams poll until it is back", e)
                await asyncio.sleep(RECONNECT_DELAY)
                continue
            try:
                await feed.wait_closed()
            finally:
                await feed.close()
            log.warning("the outcome notice feed was lost; outcome streams poll meanwhile")
            await asyncio.sleep(RECONNECT_DELAY)
