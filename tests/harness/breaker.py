"""Waiting for a destination's breaker to open, for the tests that count its probes."""

from __future__ import annotations

import time

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.polling import wait_until
from tests.harness.receiver import Receiver
from tests.harness.server import Api


async def opened(
    api: Api, webhook_id: str, receiver: Receiver, *, settle_within: float
) -> tuple[int, float]:
    """Wait until the webhook's destination is paused and the requests made before it
    paused have landed (no request for 0.2 s, within `settle_within` seconds); how many
    requests that was, and when the pause was seen (monotonic, at most a poll after it
    began).

    Outcomes are recorded in batches, so a retry due before the batch that opens the
    breaker commits may go out first: the burst is counted here, not assumed.
    """

    async def paused() -> bool:
        health = (await api.Get(pb.GetRequest(id=webhook_id))).webhook.destination_health
        return health.state == pb.DESTINATION_STATE_PAUSED

    await wait_until(paused, timeout=10.0, every=0.02)
    paused_at = time.monotonic()

    async def quiet() -> bool:
        return time.monotonic() - receiver.received[-1].time >= 0.2

    await wait_until(quiet, timeout=settle_within, every=0.02)
    return len(receiver.received), paused_at
