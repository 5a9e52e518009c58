"""A server killed with SIGKILL mid-delivery loses nothing once started again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from aiohttp import web

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith.v1 import webhooks_pb2_grpc as pb_grpc
from tests.harness.history import all_history, create
from tests.harness.network import free_port
from tests.harness.polling import wait_until
from tests.harness.protos import recipients, struct
from tests.harness.receiver import Received, Receiver, StartReceiver
from tests.harness.server import SECRET_KEY_BASE64, Api

pytestmark = pytest.mark.slow


def server_env(database_url: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "HOOKSMITH_DATABASE_URL": database_url,
        "HOOKSMITH_LISTEN": f"127.0.0.1:{port}",
        "HOOKSMITH_EGRESS_ALLOW": "127.0.0.0/8",
        "HOOKSMITH_WORKERS": "48",
        "HOOKSMITH_LEASE_MARGIN": "1s",
        "HOOKSMITH_POLL_INTERVAL": "200ms",
        "HOOKSMITH_LOG_LEVEL": "WARNING",
        "HOOKSMITH_SECRET_KEY": SECRET_KEY_BASE64,
    }


def start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hooksmith_server", "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def wait_serving(stub: pb_grpc.WebhookServiceStub, key: str) -> None:
    async def up() -> bool:
        try:
            await stub.List(pb.ListRequest(), metadata=(("authorization", f"Bearer {key}"),))
        except grpc.aio.AioRpcError:
            return False
        return True

    await wait_until(up, timeout=30)


@pytest.fixture
async def receiver(start_receiver: StartReceiver) -> Receiver:
    async def slow_ok(_: Received, __: int) -> web.Response:
        # Slow enough that many deliveries are in flight when the server dies.
        await asyncio.sleep(0.05)
        return web.Response(text="ok")

    return await start_receiver(slow_ok)


async def test_sigkill_mid_delivery_loses_no_message(
    database_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    port = free_port()
    env = server_env(database_url, port)
    created = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "hooksmith_server", "keys", "create", "--workspace", "acme"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = created.stdout.strip().splitlines()[-1]

    process = start(env, log)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        stub = pb_grpc.WebhookServiceStub(channel)
        await wait_serving(stub, key)
        api = Api(stub, key)
        webhook = await create(api, receiver.url(), timeout=2.0, schedule=(0.1,) * 5)
        ids: list[str] = []
        for batch in range(2):
            sent = await api.Send(
                pb.SendRequest(
                    webhook_id=webhook.id,
                    recipients=recipients(1000, f"b{batch}"),
                    data=struct(text="x"),
                )
            )
            ids += sent.message_ids

        async def some_delivered() -> bool:
            return len(receiver.received) >= 300

        await wait_until(some_delivered, timeout=60, every=0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        delivered_before_kill = len(receiver.by_id())
        assert delivered_before_kill < 2000, "everything was delivered before the kill"

        process = start(env, log)
        await wait_serving(stub, key)

        async def all_done() -> bool:
            page = await api.ListHistory(
                pb.ListHistoryRequest(
                    webhook_id=webhook.id, statuses=[pb.MESSAGE_STATUS_PENDING], page_size=1
                )
            )
            return not page.messages

        await wait_until(all_done, timeout=120, every=0.5)
        history = {m.id: m for m in await all_history(api, webhook_id=webhook.id)}
        interrupted = [m for m in history.values() if m.attempt_count > 1]
        assert interrupted, "the kill interrupted no delivery"
        sample = (await api.GetMessage(pb.GetMessageRequest(id=interrupted[0].id))).message
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        await channel.close()

    assert set(history) == set(ids)
    assert {m.status for m in history.values()} == {pb.MESSAGE_STATUS_SUCCEEDED}
    seen = receiver.by_id()
    assert set(seen) == set(ids), "some message never reached the receiver"
    duplicated = [mid for mid, requests in seen.items() if len(requests) > 1]
    for mid, requests in seen.items():
        # Every request the receiver saw is an attempt in history.
        assert len(requests) <= history[mid].attempt_count, mid
    for mid in duplicated:
        assert history[mid].attempt_count >= len(seen[mid])
    assert "interrupted" in sample.attempts[0].error
    assert sample.attempts[-1].response.status_code == 200
