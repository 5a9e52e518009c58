"""Destinations: the circuit breaker state of each lane, shared by every process."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from hooksmith_server import breaker, domain
from hooksmith_server.store import codec
from hooksmith_server.store.db import Connection, Database
from hooksmith_server.store.queries import Queries


class DestinationStore:
    """Each destination's breaker: updated with outcomes, read by the console."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._q = Queries("destinations.sql")

    async def record(
        self,
        conn: Connection,
        policy: breaker.Policy,
        reports: Mapping[domain.Lane, breaker.Report],
    ) -> list[breaker.Change]:
        """Apply a batch's reports to the stored breakers, in the caller's transaction."""
        if all(report.answered and not report.failures for report in reports.values()):
            # The common case, every destination answering: one statement, writing only
            # rows that were not healthy already.
            closed = await conn.fetch(self._q.close, _keys(reports))
            return [
                breaker.Change(
                    domain.Lane(r["workspace_id"], r["destination"]),
                    opened=False,
                    state=breaker.State(last_error=r["last_error"]),
                )
                for r in closed
                if r["paused_until"] is not None
            ]
        keys = _keys(reports)
        # Rows first, then locks in one order: recorders of several processes never deadlock.
        await conn.execute(self._q.ensure, keys)
        before = {
            domain.Lane(r["workspace_id"], r["destination"]): breaker.State(
                failures=r["failures"],
                trips=r["trips"],
                paused_until=r["paused_until"],
                probing=r["probing"],
                last_error=r["last_error"],
            )
            for r in await conn.fetch(self._q.lock, keys)
        }
        now = datetime.now(UTC)
        after = {
            lane: breaker.apply(policy, before[lane], report, now)
            for lane, report in reports.items()
        }
        await conn.execute(
            self._q.save,
            [
                {
                    "workspace_id": str(lane.workspace_id),
                    "destination": lane.destination,
                    "failures": state.failures,
                    "trips": state.trips,
                    "paused_until": state.paused_until.isoformat() if state.paused_until else None,
                    "probing": state.probing,
                    "last_error": codec.text(state.last_error) if state.last_error else None,
                }
                for lane, state in after.items()
            ],
        )
        return breaker.changes(before, after)

    async def health(
        self, workspace_id: uuid.UUID, names: Sequence[str]
    ) -> dict[str, domain.DestinationHealth]:
        """The health of each named destination of the workspace (healthy if unknown)."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(self._q.health, workspace_id, list(set(names)))
        found = {
            r["destination"]: domain.DestinationHealth(
                r["destination"], r["failures"], r["paused_until"], r["last_error"]
            )
            for r in rows
        }
        return {name: found.get(name, domain.DestinationHealth(name)) for name in names}


def _keys(lanes: Iterable[domain.Lane]) -> list[dict[str, str]]:
    """The lanes as JSON, in the one order every caller locks them in."""
    return [
        {"workspace_id": str(lane.workspace_id), "destination": lane.destination}
        for lane in sorted(lanes, key=lambda lane: (lane.workspace_id, lane.destination))
    ]
