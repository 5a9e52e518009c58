"""Recording outcomes: a write repeated (its commit's result was unknown) or made stale by
a newer attempt moves no message, and so counts no failure twice in an alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hooksmith_server import domain
from hooksmith_server.store.db import Database
from hooksmith_server.store.queue import QueueStore
from tests.harness.catalog import webhook, workspace
from tests.integration.store.test_claims import MARGIN, TIMEOUT, fill


def failed(claim: domain.Claim) -> domain.Outcome:
    return domain.Outcome(
        claim=claim,
        start_time=datetime.now(UTC),
        duration=timedelta(milliseconds=5),
        request=None,
        response=None,
        error="HTTP 400",
        status=domain.MessageStatus.FAILED,
        failures=claim.failures + 1,
        next_attempt_time=None,
    )


async def test_a_replayed_write_counts_no_failure_twice(database: Database) -> None:
    ws = await workspace(database, "acme")
    hook = await webhook(database, ws, "https://sms.example/x")
    async with database.connection() as conn:
        await fill(conn, ws, hook, "sms.example", 3)
        await conn.execute(
            "INSERT INTO alert_settings (workspace_id, url, signing_secret, update_time) "
            "VALUES ($1, 'https://ops.example/alerts', 'sealed', now())",
            ws,
        )
    queue = QueueStore(database)
    claims = await queue.claim(10, MARGIN, TIMEOUT, in_flight={}, lane_limit=10)
    assert len(claims) == 3
    outcomes = [failed(c) for c in claims]

    await queue.record(outcomes)
    await queue.record(outcomes)  # the same batch again, as after an unknown commit
    await queue.record(outcomes[:1])

    async with database.connection() as conn:
        counted = await conn.fetchval("SELECT sum(failed_count) FROM alert_events")
        statuses = await conn.fetch("SELECT status FROM messages")
    assert counted == 3
    assert {r["status"] for r in statuses} == {"FAILED"}
