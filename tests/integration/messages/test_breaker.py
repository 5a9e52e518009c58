"""The circuit breaker: a destination that keeps failing is paused, probed, resumed."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta

from aiohttp import web

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.breaker import opened
from tests.harness.history import all_history, create, message, wait_none_pending
from tests.harness.polling import wait_until
from tests.harness.protos import recipients, struct
from tests.harness.receiver import Received, Receiver
from tests.harness.server import StartServer

COOLDOWN = 1.0
BREAKER = {"breaker_threshold": 3, "breaker_cooldown": timedelta(seconds=COOLDOWN)}


class Switch:
    """A receiver's health, flipped by the test: 503 while down."""

    def __init__(self) -> None:
        self.down = True

    def answer(self, _: Received, __: int) -> web.Response:
        return web.Response(status=503 if self.down else 200, text="down" if self.down else "ok")


async def test_a_failing_destination_is_paused_probed_and_resumed(
    start_server: StartServer, start_receiver
) -> None:
    server = await start_server(**BREAKER)
    api = await server.api()
    switch = Switch()
    receiver = await start_receiver(switch.answer)
    webhook = await create(api, receiver.url("/sms"), schedule=(0.1,) * 20)
    sent = await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(10), data=struct(text="x"))
    )

    # The first attempts of all ten fail; the breaker opens and the requests stop.
    await wait_until(lambda: _count(receiver, 10), timeout=10.0)
    burst, paused_at = await opened(api, webhook.id, receiver, settle_within=COOLDOWN / 2)
    await asyncio.sleep(max(0.0, paused_at + COOLDOWN * 0.8 - time.monotonic()))
    assert len(receiver.received) == burst, "nothing is sent while the destination is paused"

    pending = await message(api, sent.message_ids[0])
    assert pending.status == pb.MESSAGE_STATUS_PENDING
    assert re.search(r"paused until \S+ after \d+ failed attempts in a row", pending.error)
    # Waiting is not charged: its attempts are the requests made for it.
    made = [r for r in receiver.received if r.header("webhook-id") == sent.message_ids[0]]
    assert pending.attempt_count == len(made) >= 1

    # The console sees the destination's health on the webhook.
    health = (await api.Get(pb.GetRequest(id=webhook.id))).webhook.destination_health
    assert health.destination == "127.0.0.1"
    assert health.state == pb.DESTINATION_STATE_PAUSED
    assert health.paused_until.ToDatetime(UTC) > datetime.now(UTC) - timedelta(seconds=5)
    assert health.consecutive_failures >= 3
    assert health.last_error == "HTTP 503"
    listed = (await api.List(pb.ListRequest())).webhooks
    assert [w.destination_health.state for w in listed] == [pb.DESTINATION_STATE_PAUSED]

    # Probes, one per cool-down, each cool-down twice the one before.
    await wait_until(lambda: _count(receiver, burst + 2), timeout=10.0)
    first, second = receiver.received[burst : burst + 2]
    between = second.time - first.time
    assert between >= COOLDOWN * 1.6, f"the second probe came {between:.2f} s after the first"

    # No attempt is charged to a message that waited: every attempt is a request made.
    history = await all_history(api, webhook_id=webhook.id)
    assert sum(m.attempt_count for m in history) == len(receiver.received)

    switch.down = False
    await wait_none_pending(api, webhook.id, timeout=30.0)
    history = await all_history(api, webhook_id=webhook.id)
    assert {m.status for m in history} == {pb.MESSAGE_STATUS_SUCCEEDED}
    assert sum(m.attempt_count for m in history) == len(receiver.received)
    health = (await api.Get(pb.GetRequest(id=webhook.id))).webhook.destination_health
    assert health.state == pb.DESTINATION_STATE_HEALTHY
    assert health.consecutive_failures == 0
    assert not health.HasField("paused_until")


async def _count(receiver: Receiver, n: int) -> bool:
    return len(receiver.received) >= n


async def test_two_processes_share_the_breaker_and_probe_once_per_cool_down(
    start_server: StartServer, start_receiver
) -> None:
    first = await start_server(**BREAKER)
    await start_server(**BREAKER)
    api = await first.api()
    switch = Switch()
    receiver = await start_receiver(switch.answer)
    webhook = await create(api, receiver.url("/sms"), schedule=(0.1,) * 20)
    await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(20), data=struct(text="x"))
    )
    await wait_until(lambda: _count(receiver, 20), timeout=10.0)
    burst, paused_at = await opened(api, webhook.id, receiver, settle_within=COOLDOWN / 2)
    # Two cool-downs go by (1 s, then 2 s): each ends in exactly one probe.
    await wait_until(lambda: _count(receiver, burst + 2), timeout=10.0 + COOLDOWN * 3)
    # A second process's probe of the same cool-down would come right behind.
    await asyncio.sleep(0.5)
    probes = receiver.received[burst:]
    assert len(probes) == 2, [round(r.time - paused_at, 2) for r in probes]
    assert probes[1].time - probes[0].time >= COOLDOWN * 1.6

    switch.down = False
    await wait_none_pending(api, webhook.id, timeout=30.0)
    history = await all_history(api, webhook_id=webhook.id)
    assert {m.status for m in history} == {pb.MESSAGE_STATUS_SUCCEEDED}
