"""Worker processes share one breaker: a paused destination is probed once per cool-down."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiohttp import web

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.breaker import opened
from tests.harness.history import all_history, create, wait_none_pending
from tests.harness.polling import wait_until
from tests.harness.protos import recipients, struct
from tests.harness.receiver import Received, Receiver, StartReceiver
from tests.harness.server import StartServer
from tests.harness.workers import stop, worker

pytestmark = pytest.mark.slow

COOLDOWN = 1.0


async def test_two_worker_processes_probe_a_paused_destination_once_per_cool_down(
    start_server: StartServer, start_receiver: StartReceiver, database_url: str, tmp_path: Path
) -> None:
    server = await start_server(workers=0)
    api = await server.api()
    down = True

    def answer(_: Received, __: int) -> web.Response:
        return web.Response(status=503 if down else 200)

    receiver: Receiver = await start_receiver(answer)
    webhook = await create(api, receiver.url("/sms"), schedule=(0.1,) * 20)
    settings = {"breaker_threshold": "3", "breaker_cooldown": f"{COOLDOWN}s"}
    workers = [worker(database_url, tmp_path / f"worker-{i}.log", **settings) for i in range(2)]
    try:
        await api.Send(
            pb.SendRequest(webhook_id=webhook.id, recipients=recipients(20), data=struct(text="x"))
        )

        async def burst_over() -> bool:
            return len(receiver.received) >= 20

        await wait_until(burst_over, timeout=30.0)
        burst, paused_at = await opened(api, webhook.id, receiver, settle_within=COOLDOWN / 2)
        # Two cool-downs (1 s, then 2 s) each end in exactly one probe, from either process.
        await asyncio.sleep(max(0.0, paused_at + COOLDOWN * 3 + 0.6 - time.monotonic()))
        probes = [r.time - paused_at for r in receiver.received[burst:]]
        assert len(probes) == 2, probes
        assert probes[1] - probes[0] >= COOLDOWN * 1.6

        down = False
        await wait_none_pending(api, webhook.id, timeout=30.0)
    finally:
        stop(workers)
    history = await all_history(api, webhook_id=webhook.id)
    assert {m.status for m in history} == {pb.MESSAGE_STATUS_SUCCEEDED}
    assert sum(m.attempt_count for m in history) == len(receiver.received)
    logs = "".join((tmp_path / f"worker-{i}.log").read_text() for i in range(2))
    assert "Traceback" not in logs
