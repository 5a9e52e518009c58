"""Fair lanes: one receiver, workspace or campaign cannot hold back the others."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import grpc
from aiohttp import web

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server.store.queue import ARCHIVED
from tests.harness import timing_receiver
from tests.harness.grpc_errors import expect_error
from tests.harness.history import all_history, create, message, wait_none_pending
from tests.harness.polling import wait_until
from tests.harness.protos import recipients, struct
from tests.harness.receiver import Receiver
from tests.harness.server import Api, Running, StartServer
from tests.harness.workers import stop


@dataclass
class Silent:
    """A listener that accepts connections and never answers."""

    url: str
    held: list[asyncio.StreamWriter] = field(default_factory=list)

    async def holding(self, count: int) -> None:
        """Until `count` connections are open and waiting for an answer."""

        async def enough() -> bool:
            return len(self.held) >= count

        await wait_until(enough, timeout=30.0, every=0.02)


@asynccontextmanager
async def silent_receiver(host: str = "127.0.0.2") -> AsyncIterator[Silent]:
    silent = Silent("")

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent.held.append(writer)

    server = await asyncio.start_server(hold, host, 0, backlog=4096)
    silent.url = f"http://{host}:{server.sockets[0].getsockname()[1]}"
    try:
        yield silent
    finally:
        server.close()
        for writer in silent.held:
            writer.close()


async def send_all(api: Api, webhook: pb.Webhook, count: int, prefix: str) -> list[str]:
    ids: list[str] = []
    for start in range(0, count, 1000):
        users = recipients(min(1000, count - start), f"{prefix}-{start}")
        sent = await api.Send(
            pb.SendRequest(webhook_id=webhook.id, recipients=users, data=struct(text="x"))
        )
        ids += sent.message_ids
    return ids


async def delivered_in(api: Api, receiver: Receiver, webhook: pb.Webhook, count: int) -> float:
    """Seconds from the first Send until the receiver has every message of `webhook`."""
    started = time.monotonic()
    ids = set(await send_all(api, webhook, count, webhook.id[:8]))

    async def arrived() -> bool:
        got = {r.header("webhook-id") for r in receiver.received}
        return ids <= got

    await wait_until(arrived, timeout=60.0, every=0.02)
    return time.monotonic() - started


async def test_a_healthy_webhook_keeps_its_pace_beside_a_receiver_that_never_answers(
    server: Running, api: Api, start_receiver
) -> None:
    healthy = await start_receiver()
    alone = await delivered_in(api, healthy, await create(api, healthy.url("/alone")), 300)

    async with silent_receiver() as silent:
        stuck = await create(api, silent.url + "/never", timeout=10.0)
        await send_all(api, stuck, 1000, "stuck")
        # The silent lane holds all the room it may before the healthy messages are sent.
        await silent.holding(server.app.settings.lane_limit)
        beside = await delivered_in(api, healthy, await create(api, healthy.url("/beside")), 300)

    assert beside <= alone * 1.2 + 0.5, f"{beside:.2f} s beside vs {alone:.2f} s alone"


async def test_one_message_of_another_workspace_passes_a_campaign(
    server: Running, start_receiver, tmp_path: Path
) -> None:
    # The campaign's receiver answers 20,000 requests in 50 ms each from a process of its
    # own, as a provider would: answering them is not the server's work.
    process, port = timing_receiver.start(tmp_path / "campaign", delay=0.05)
    try:
        campaign_api = await server.api("campaigns")
        campaign = await create(campaign_api, f"http://127.0.0.1:{port}/campaign")
        await send_all(campaign_api, campaign, 20_000, "fan")
        assert await arrivals(port) < 20_000, "the campaign is still being delivered"

        other_api = await server.api("small-shop")
        other_receiver = await start_receiver()
        other = await create(other_api, other_receiver.url("/coupon"))
        started = time.monotonic()
        await other_api.Send(
            pb.SendRequest(webhook_id=other.id, recipients=recipients(1), data=struct(text="x"))
        )
        await wait_until(lambda: _has(other_receiver, 1), timeout=30.0, every=0.01)
        waited = time.monotonic() - started
        assert waited <= 1.0, f"{waited:.2f} s"
        assert await arrivals(port) < 20_000, "it did not wait for the campaign"
    finally:
        stop([process])


async def arrivals(port: int) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{timing_receiver.COUNT_PATH}") as response,
    ):
        count: int = await response.json()
        return count


async def _has(receiver: Receiver, count: int) -> bool:
    return len(receiver.received) >= count


async def test_archiving_stops_pending_retries_and_refuses_retry(api: Api, start_receiver) -> None:
    receiver = await start_receiver(lambda _, __: web.Response(status=500))
    webhook = await create(api, receiver.url(), schedule=(1.5, 1.5, 1.5))
    sent = await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(5), data=struct(text="x"))
    )
    await wait_until(lambda: _has(receiver, 5), timeout=10.0)
    await api.Delete(pb.DeleteRequest(id=webhook.id))

    await wait_none_pending(api, webhook.id, timeout=10.0)
    await asyncio.sleep(1.0)
    assert len(receiver.received) == 5, "no retry after the webhook was archived"
    history = await all_history(api, webhook_id=webhook.id)
    assert {m.status for m in history} == {pb.MESSAGE_STATUS_FAILED}
    assert {m.error for m in history} == {ARCHIVED}
    assert {m.attempt_count for m in history} == {1}

    error = await expect_error(
        api.Retry(pb.RetryRequest(message_id=sent.message_ids[0])),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert "archived" in (error.details() or "")
    assert (await message(api, sent.message_ids[0])).status == pb.MESSAGE_STATUS_FAILED
    assert len(receiver.received) == 5


async def test_lanes_share_a_worker_whose_slots_are_few(
    start_server: StartServer, start_receiver
) -> None:
    """With 4 slots, 2 a destination: a silent receiver holds 2, the healthy one the rest."""
    server = await start_server(workers=4, host_concurrency=2)
    api = await server.api()
    healthy = await start_receiver()
    async with silent_receiver() as silent:
        stuck = await create(api, silent.url + "/never", timeout=10.0)
        await send_all(api, stuck, 50, "stuck")
        await silent.holding(2)
        webhook = await create(api, healthy.url("/ok"))
        took = await delivered_in(api, healthy, webhook, 40)
    assert took < 5.0, "the silent receiver's 10 s timeouts did not hold the healthy lane"
