"""`hooksmith-server serve` with no database URL: embedded PostgreSQL, first key, restarts."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith.v1 import webhooks_pb2_grpc as pb_grpc
from tests.harness.network import free_port

pytestmark = pytest.mark.slow


async def serve(data_dir: Path, port: int) -> tuple[asyncio.subprocess.Process, list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSMITH_")}
    env |= {"HOOKSMITH_DATA_DIR": str(data_dir), "HOOKSMITH_LISTEN": f"127.0.0.1:{port}"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hooksmith_server",
        "serve",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    lines: list[str] = []
    assert process.stdout is not None
    while not any("listening on" in line for line in lines):
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line, f"server exited early: {lines}"
        lines.append(line.decode().strip())
    return process, lines


async def stop(process: asyncio.subprocess.Process) -> int:
    process.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(process.wait(), 30)


async def test_first_start_makes_a_key_and_data_survives_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    process, lines = await serve(data_dir, port)
    try:
        key = (data_dir / "api-key").read_text().strip()
        assert key in lines, "the key is printed once on the first start"
        assert oct((data_dir / "api-key").stat().st_mode & 0o777) == "0o600"
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.WebhookServiceStub(channel)
            auth = (("authorization", f"Bearer {key}"),)
            made = await stub.Create(
                pb.CreateRequest(spec=pb.WebhookSpec(name="kept", url="https://x.example.com")),
                metadata=auth,
            )
            health = health_pb2_grpc.HealthStub(channel)
            checked = await health.Check(
                health_pb2.HealthCheckRequest(service="hooksmith.v1.WebhookService")
            )
            assert checked.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        assert await stop(process) == 0

    process, lines = await serve(data_dir, port)
    try:
        assert not any(line.startswith("hks_") for line in lines), "no second key"
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.WebhookServiceStub(channel)
            got = await stub.Get(pb.GetRequest(id=made.webhook.id), metadata=auth)
            assert got.webhook.spec.name == "kept"
    finally:
        assert await stop(process) == 0


async def test_reflection_lists_the_service(tmp_path: Path) -> None:
    port = free_port()
    process, _ = await serve(tmp_path / "data", port)
    try:

        def services() -> list[str]:
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                return list(ProtoReflectionDescriptorDatabase(channel).get_services())

        found = await asyncio.to_thread(services)
        assert "hooksmith.v1.WebhookService" in found
        assert "grpc.health.v1.Health" in found
    finally:
        assert await stop(process) == 0
