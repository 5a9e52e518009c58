"""PostgreSQL killed and started again five times under a running server, 5,000 messages in
flight: no INTERNAL answer, every message SUCCEEDED, every request the receiver saw has its
outcome stored (no outcome dropped, so nothing is sent twice), health follows the database."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from aiohttp import web
from grpc_health.v1 import health_pb2, health_pb2_grpc

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith.v1 import webhooks_pb2_grpc as pb_grpc
from tests.harness.history import create
from tests.harness.network import free_port
from tests.harness.polling import wait_until
from tests.harness.postgres import StoppablePostgres, fetch
from tests.harness.protos import recipients, struct
from tests.harness.receiver import Received, Receiver, StartReceiver
from tests.harness.server import Api

pytestmark = pytest.mark.slow

SENDS = 50
PER_SEND = 100
CYCLES = 5
SENT_DURING_OUTAGES = 10
"""Of the Sends, how many are made while the database is down (retried with their key)."""
RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}


@pytest.fixture
async def postgres(tmp_path: Path) -> AsyncIterator[StoppablePostgres]:
    pg = StoppablePostgres(tmp_path / "pg")
    await asyncio.to_thread(pg.start)
    try:
        yield pg
    finally:
        if not pg.running:
            await pg.restart()
        await pg.stop()


@pytest.fixture
async def receiver(start_receiver: StartReceiver) -> Receiver:
    async def slow_ok(_: Received, __: int) -> web.Response:
        # Slow enough that deliveries are in flight at every kill.
        await asyncio.sleep(0.05)
        return web.Response(text="ok")

    return await start_receiver(slow_ok)


def server_env(database_url: str, port: int) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("HOOKSMITH_")},
        "HOOKSMITH_DATABASE_URL": database_url,
        "HOOKSMITH_LISTEN": f"127.0.0.1:{port}",
        "HOOKSMITH_EGRESS_ALLOW": "127.0.0.0/8",
        "HOOKSMITH_WORKERS": "16",
        # Leases (2 s timeout + 5 s) outlast each outage: an outcome kept by the recorder
        # is stored before its lease ends, so no message is claimed again meanwhile.
        "HOOKSMITH_LEASE_MARGIN": "5s",
        "HOOKSMITH_POLL_INTERVAL": "200ms",
        "HOOKSMITH_BREAKER_THRESHOLD": "0",
        "HOOKSMITH_LOG_LEVEL": "WARNING",
        "HOOKSMITH_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(),
    }


def start_server(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hooksmith_server", "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


class Caller:
    """Sends with idempotency keys, repeating on UNAVAILABLE; notes every status seen."""

    def __init__(self, api: Api, webhook_id: str) -> None:
        self.api = api
        self.webhook_id = webhook_id
        self.codes: Counter[grpc.StatusCode] = Counter()
        self.ids: dict[int, list[str]] = {}

    async def send(self, n: int) -> None:
        request = pb.SendRequest(
            webhook_id=self.webhook_id,
            recipients=recipients(PER_SEND, f"s{n}"),
            data=struct(text="x"),
            idempotency_key=f"run-1:step-{n}",
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                sent = await self.api.Send(request)
            except grpc.aio.AioRpcError as e:
                self.codes[e.code()] += 1
                if e.code() not in RETRYABLE or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
                continue
            self.codes[grpc.StatusCode.OK] += 1
            assert len(sent.message_ids) == PER_SEND
            if n in self.ids:
                assert list(sent.message_ids) == self.ids[n], "a repeated key gave new ids"
            self.ids[n] = list(sent.message_ids)
            return


async def health_is(channel: grpc.aio.Channel, wanted: int) -> bool:
    stub = health_pb2_grpc.HealthStub(channel)
    try:
        answer = await stub.Check(
            health_pb2.HealthCheckRequest(service="hooksmith.v1.WebhookService"), timeout=2
        )
    except grpc.aio.AioRpcError:
        return False
    return bool(answer.status == wanted)


async def test_five_database_kills_under_load_lose_and_repeat_nothing(
    postgres: StoppablePostgres, receiver: Receiver, tmp_path: Path
) -> None:
    dsn = await postgres.database("hooksmith")
    port = free_port()
    env = server_env(dsn, port)
    log = tmp_path / "server.log"
    created = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "hooksmith_server", "keys", "create", "--workspace", "acme"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = created.stdout.strip().splitlines()[-1]
    process = start_server(env, log)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        api = Api(pb_grpc.WebhookServiceStub(channel), key)

        async def serving() -> bool:
            assert process.poll() is None, log.read_text()
            return await health_is(channel, health_pb2.HealthCheckResponse.SERVING)

        await wait_until(serving, timeout=60)
        webhook = await create(api, receiver.url(), timeout=2.0, schedule=(0.2,) * 5)
        caller = Caller(api, webhook.id)
        before = SENDS - SENT_DURING_OUTAGES
        await asyncio.gather(*(caller.send(n) for n in range(before)))

        late: list[asyncio.Task[None]] = []
        for cycle in range(CYCLES):
            reached = len(receiver.received)

            async def delivering(reached: int = reached) -> bool:
                return len(receiver.received) >= reached + 100

            await wait_until(delivering, timeout=30, every=0.01)
            await postgres.kill()
            # Sends made while the database is down answer UNAVAILABLE until it is back.
            for n in range(2):
                late.append(asyncio.create_task(caller.send(before + 2 * cycle + n)))

            async def not_serving() -> bool:
                return await health_is(channel, health_pb2.HealthCheckResponse.NOT_SERVING)

            await wait_until(not_serving, timeout=10)
            await postgres.restart()
            await wait_until(serving, timeout=15)
        await asyncio.gather(*late)

        async def all_finished() -> bool:
            rows = await fetch(dsn, "SELECT count(*) FROM messages WHERE status = 'PENDING'")
            return int(rows[0][0]) == 0

        # A bound, not a speed target: on a busy machine the backlog the outages left
        # drains at well under the receiver's pace.
        await wait_until(all_finished, timeout=180, every=0.5)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, 20)
        except subprocess.TimeoutExpired:
            process.kill()
        await channel.close()

    server_log = log.read_text(errors="replace")
    assert grpc.StatusCode.INTERNAL not in caller.codes, server_log[-3000:]
    assert grpc.StatusCode.UNKNOWN not in caller.codes, server_log[-3000:]
    assert caller.codes[grpc.StatusCode.UNAVAILABLE] > 0, "no Send met the outage"
    assert "Traceback" not in server_log, server_log[-3000:]

    statuses = await fetch(dsn, "SELECT status, count(*) FROM messages GROUP BY status")
    assert {r["status"]: r["count"] for r in statuses} == {"SUCCEEDED": SENDS * PER_SEND}
    sent_ids = {i for ids in caller.ids.values() for i in ids}
    assert len(sent_ids) == SENDS * PER_SEND

    # Every request the receiver saw is an attempt whose outcome was stored, and every
    # stored outcome is a request the receiver saw: none was dropped and made again.
    recorded = {
        str(r["message_id"]): r["n"]
        for r in await fetch(
            dsn,
            "SELECT message_id, count(*) AS n FROM attempts "
            "WHERE duration IS NOT NULL GROUP BY message_id",
        )
    }
    seen = {mid: len(requests) for mid, requests in receiver.by_id().items()}
    assert set(seen) == sent_ids, "some message never reached the receiver"
    mismatched = {
        mid: (seen[mid], recorded.get(mid, 0)) for mid in seen if seen[mid] != recorded.get(mid, 0)
    }
    assert not mismatched, f"received vs recorded attempts differ: {list(mismatched.items())[:10]}"
