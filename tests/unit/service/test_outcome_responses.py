"""A page of outcomes goes out as responses of about 1 MiB at most, in order."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any, cast

from hooksmith_server import domain
from hooksmith_server.service import outcomes


def outcome(seq: int, captured_bytes: int) -> domain.MessageOutcome:
    return domain.MessageOutcome(
        xid=1,
        seq=seq,
        message_id=uuid.uuid4(),
        webhook_id=uuid.uuid4(),
        user_id=f"u-{seq}",
        labels={"journey": "welcome"},
        kind=domain.MessageKind.LIVE,
        status=domain.MessageStatus.SUCCEEDED,
        status_code=200,
        error=None,
        captured={f"value_{i}": "x" * 1000 for i in range(captured_bytes // 1000)},
        finish_time=datetime.now(UTC),
    )


def test_a_page_of_large_outcomes_is_cut_under_the_limit_and_kept_in_order() -> None:
    # 500 outcomes of 20 captured values of 1 KiB: ~10 MiB, past gRPC's default 4 MiB.
    page = [outcome(n, 20_000) for n in range(500)]
    cut = outcomes.responses(page)
    assert len(cut) > 1
    assert [o.seq for chunk in cut for o in chunk] == list(range(500))
    for chunk in cut:
        assert sum(outcomes.size(o) for o in chunk) <= outcomes.RESPONSE_BYTES


def test_small_outcomes_share_one_response_and_a_huge_one_goes_alone() -> None:
    assert [len(c) for c in outcomes.responses([outcome(n, 0) for n in range(500)])] == [500]
    assert outcomes.responses([]) == []
    huge = outcome(0, 2 * outcomes.RESPONSE_BYTES)
    assert [len(c) for c in outcomes.responses([outcome(1, 0), huge, outcome(2, 0)])] == [1, 1, 1]


async def test_a_caught_up_stream_takes_fast_notices_together() -> None:
    watch = outcomes.Outcomes(cast(Any, None), cast(Any, None), poll_interval=0.5)
    workspace_id = uuid.uuid4()
    woken = watch.register(workspace_id)

    async def notices() -> None:
        # A busy workspace: a notice every millisecond.
        for _ in range(2_000):
            watch.woke(workspace_id)
            await asyncio.sleep(0.001)

    noisy = asyncio.create_task(notices())
    started = time.monotonic()
    try:
        for _ in range(10):
            await watch.wait(woken)
            woken.clear()
    finally:
        noisy.cancel()
    # Ten reads' waits, each at least MIN_INTERVAL, not ten milliseconds.
    assert time.monotonic() - started >= 10 * outcomes.MIN_INTERVAL * 0.9
