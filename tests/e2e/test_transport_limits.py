"""A real `serve` process under a burst of large unauthenticated calls and under thousands
of idle connections: bounded memory, and room for a new caller."""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import pytest

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith.v1 import webhooks_pb2_grpc as pb_grpc
from tests.harness.network import free_port
from tests.harness.polling import wait_until
from tests.harness.protos import struct
from tests.harness.server import SECRET_KEY_BASE64

pytestmark = pytest.mark.slow

HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
MiB = 1024 * 1024


def status_kib(pid: int, field: str) -> int:
    """A `VmRSS`/`VmHWM`-style line of /proc/<pid>/status, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def low_file_limit() -> None:
    """In the server process before exec: the common default soft limit of 1,024 files."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))


@asynccontextmanager
async def serving(
    database_url: str, **settings: str
) -> AsyncIterator[tuple[asyncio.subprocess.Process, int]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSMITH_")}
    env |= {
        "HOOKSMITH_DATABASE_URL": database_url,
        "HOOKSMITH_LISTEN": f"127.0.0.1:{port}",
        "HOOKSMITH_SECRET_KEY": SECRET_KEY_BASE64,
        "HOOKSMITH_WORKERS": "0",
        "HOOKSMITH_LOG_LEVEL": "WARNING",
    }
    env |= {f"HOOKSMITH_{name.upper()}": value for name, value in settings.items()}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hooksmith_server",
        "serve",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        preexec_fn=low_file_limit,
    )
    try:
        assert process.stdout is not None
        while True:
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            assert line, "the server exited before listening"
            if b"listening on" in line:
                break
        yield process, port
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def new_key(database_url: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSMITH_")}
    env["HOOKSMITH_DATABASE_URL"] = database_url
    env["HOOKSMITH_SECRET_KEY"] = SECRET_KEY_BASE64
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hooksmith_server",
        "keys",
        "create",
        "--workspace",
        "acme",
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0
    return out.decode().strip().splitlines()[-1]


async def test_a_burst_of_large_calls_with_an_invalid_key_keeps_memory_bounded(
    database_url: str,
) -> None:
    key = await new_key(database_url)
    async with serving(database_url) as (process, port):
        before = status_kib(process.pid, "VmRSS")
        # 3.9 MiB each: under the 4 MiB message limit, so only the key can refuse them.
        body = pb.SendRequest(
            webhook_id="00000000-0000-0000-0000-000000000000",
            data=struct(blob="a" * int(3.9 * MiB)),
        ).SerializeToString()
        assert 3.8 * MiB < len(body) < 4 * MiB
        channels = [grpc.aio.insecure_channel(f"127.0.0.1:{port}") for _ in range(8)]
        try:
            calls = [
                channels[i % len(channels)].unary_unary(
                    "/hooksmith.v1.WebhookService/Send",
                    request_serializer=None,
                    response_deserializer=None,
                )(body, metadata=(("authorization", "Bearer hks_wrong"),), timeout=60)
                for i in range(200)
            ]
            results = await asyncio.gather(*calls, return_exceptions=True)
        finally:
            for channel in channels:
                await channel.close()
        codes = [r.code() if isinstance(r, grpc.aio.AioRpcError) else r for r in results]
        assert set(codes) <= {
            grpc.StatusCode.UNAUTHENTICATED,
            grpc.StatusCode.RESOURCE_EXHAUSTED,
        }, set(codes)
        assert codes.count(grpc.StatusCode.UNAUTHENTICATED) > 0
        peak = status_kib(process.pid, "VmHWM")
        after = status_kib(process.pid, "VmRSS")
        print(f"RSS before {before} KiB, peak {peak} KiB, after {after} KiB")
        assert peak * 1024 < 250 * 1000 * 1000, f"peak RSS {peak} KiB"

        # And the server still answers a caller with a valid key.
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.WebhookServiceStub(channel)
            listed = await stub.List(
                pb.ListRequest(), metadata=(("authorization", f"Bearer {key}"),), timeout=10
            )
            assert list(listed.webhooks) == []


def raise_own_file_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"this test needs {needed} open files; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def closed_by_server(conn: socket.socket) -> bool:
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


async def test_two_thousand_idle_connections_do_not_stop_a_new_caller(
    database_url: str,
) -> None:
    raise_own_file_limit(4096)
    key = await new_key(database_url)
    # The server starts with a soft limit of 1,024 files, fewer than the connections.
    async with serving(database_url, idle_timeout="3s") as (process, port):
        idle: list[socket.socket] = []
        try:
            for _ in range(2000):
                conn = socket.create_connection(("127.0.0.1", port), timeout=10)
                conn.sendall(HTTP2_PREFACE)
                conn.setblocking(False)
                idle.append(conn)

            async def all_accepted() -> bool:
                return open_files(process.pid) > 2000

            await wait_until(all_accepted, timeout=30, every=0.2)

            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = pb_grpc.WebhookServiceStub(channel)
                listed = await stub.List(
                    pb.ListRequest(), metadata=(("authorization", f"Bearer {key}"),), timeout=10
                )
                assert list(listed.webhooks) == []

            # Idle for longer than HOOKSMITH_IDLE_TIMEOUT: the server closes every one.
            open_ones = set(range(len(idle)))

            async def all_closed() -> bool:
                for i in list(open_ones):
                    if closed_by_server(idle[i]):
                        open_ones.discard(i)
                return not open_ones

            await wait_until(all_closed, timeout=60, every=0.5)
            assert open_files(process.pid) < 500
        finally:
            for conn in idle:
                conn.close()
