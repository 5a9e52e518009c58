"""The recorder keeps an outcome until the database takes it, and while it waits, deliveries
wait in `submit` (bounded memory) rather than outcomes being dropped."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hooksmith_server import breaker, domain, errors
from hooksmith_server.delivery import ports
from hooksmith_server.delivery.recorder import Recorder
from tests.harness.polling import wait_until

FAILURES = 8
"""Refused writes before the database is back: more than the six tries once given."""


class OutageQueue:
    """A queue (ports.Queue) whose database refuses the first writes, then stores them."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.stored: list[domain.Outcome] = []

    async def record(self, outcomes: Sequence[domain.Outcome]) -> Sequence[breaker.Change]:
        self.calls += 1
        if self.calls <= self.failures:
            raise errors.Unavailable("database unavailable: connection refused")
        self.stored += outcomes
        return []

    async def claim(
        self,
        limit: int,
        margin: timedelta,
        default_timeout: timedelta,
        *,
        in_flight: Mapping[domain.Lane, int],
        lane_limit: int,
    ) -> list[domain.Claim]:
        return []

    async def give_up(self) -> int:
        return 0

    async def interrupt(self, claims: Sequence[domain.Claim]) -> int:
        return 0

    async def release(self, claims: Sequence[domain.Claim]) -> int:
        return 0

    async def next_due(self) -> datetime | None:
        return None

    async def listen(self, wake: Callable[[], None]) -> ports.Subscription:
        raise errors.Unavailable("no LISTEN here")


def outcome(n: int) -> domain.Outcome:
    claim = domain.Claim(
        workspace_id=uuid.uuid4(),
        id=uuid.uuid4(),
        webhook_id=uuid.uuid4(),
        webhook_version=1,
        kind=domain.MessageKind.LIVE,
        recipient=domain.Recipient(f"u-{n}"),
        data={},
        destination="example.com",
        attempt_number=1,
        failures=0,
        manual=False,
    )
    return domain.Outcome(
        claim=claim,
        start_time=datetime.now(UTC),
        duration=timedelta(milliseconds=5),
        request=None,
        response=None,
        error=None,
        status=domain.MessageStatus.SUCCEEDED,
        failures=0,
        next_attempt_time=None,
    )


async def test_outcomes_are_kept_through_an_outage_and_submit_waits_meanwhile() -> None:
    queue = OutageQueue(FAILURES)
    recorder = Recorder(queue, max_pending=2)
    runner = asyncio.create_task(recorder.run())
    try:
        first = outcome(0)
        await recorder.submit(first)

        async def writing() -> bool:
            return queue.calls >= 1

        await wait_until(writing, timeout=5, every=0.01)
        # The batch being written holds one; two more fill the queue; the next waits.
        await recorder.submit(outcome(1))
        await recorder.submit(outcome(2))
        blocked = asyncio.create_task(recorder.submit(outcome(3)))
        await asyncio.sleep(0)
        assert not blocked.done(), "submit did not wait while the database was away"

        await asyncio.wait_for(blocked, 30)
        await asyncio.wait_for(recorder.drain(), 30)
        assert queue.calls > FAILURES
        assert [o.claim.recipient.user_id for o in queue.stored] == ["u-0", "u-1", "u-2", "u-3"]
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


class PoisonQueue(OutageQueue):
    """A database that is up, but times out on every write holding one outcome's response."""

    def __init__(self, poison: uuid.UUID) -> None:
        super().__init__(failures=0)
        self.poison = poison

    async def record(self, outcomes: Sequence[domain.Outcome]) -> Sequence[breaker.Change]:
        self.calls += 1
        if any(o.claim.id == self.poison and o.response is not None for o in outcomes):
            raise errors.Unavailable("database unavailable: canceling statement due to timeout")
        self.stored += outcomes
        return []


def answered(n: int) -> domain.Outcome:
    response = domain.HttpResponse(status_code=200, headers=(), body="{}", body_truncated=False)
    return replace(outcome(n), response=response)


async def test_an_outcome_refused_every_time_holds_back_only_itself() -> None:
    batch = [answered(n) for n in range(40)]
    poison = batch[17]
    queue = PoisonQueue(poison.claim.id)
    recorder = Recorder(queue)
    runner = asyncio.create_task(recorder.run())
    try:
        for o in batch:
            await recorder.submit(o)
        await asyncio.wait_for(recorder.drain(), 30)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)

    assert [o.claim.id for o in queue.stored] == [o.claim.id for o in batch]
    stored = {o.claim.id: o for o in queue.stored}
    assert all(stored[o.claim.id].response is not None for o in batch if o is not poison)
    kept = stored[poison.claim.id]
    assert kept.response is None
    assert kept.status is domain.MessageStatus.SUCCEEDED
    assert kept.error is not None
    assert "could not be stored" in kept.error
    # Split in halves, not retried one by one: far fewer writes than outcomes.
    assert queue.calls < len(batch)
