"""What the end-to-end benchmarks share: server processes, a gRPC client, progress.

Server processes are `python -m hooksmith_server serve` or `worker` on a scratch
database, their output in a temp file. Each is killed when its block exits, whatever
happened in it, and by the kernel if this process dies first (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench import deliver
from bench.secret_key import SECRET_KEY_BASE64, keyring
from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith.v1 import webhooks_pb2_grpc as pb_grpc
from hooksmith_server import domain
from hooksmith_server.app import Application
from hooksmith_server.config import Settings
from hooksmith_server.store import db as store_db
from hooksmith_server.store.keys import KeyStore

_START_TIMEOUT = 60.0
_STOP_TIMEOUT = 15.0
_PR_SET_PDEATHSIG = 1

_PROGRESS = """
SELECT count(*) AS total,
       count(*) FILTER (WHERE status = 'PENDING') AS pending,
       count(*) FILTER (WHERE status = 'SUCCEEDED') AS succeeded,
       count(*) FILTER (WHERE status = 'FAILED') AS failed,
       coalesce(sum(attempt_count), 0) AS attempts
FROM messages WHERE webhook_id = $1
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the benchmark process dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class ServerProcess:
    """A running `hooksmith_server` process."""

    command: str
    popen: subprocess.Popen[bytes]
    output: Path
    port: int | None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_lines(self) -> list[str]:
        try:
            return self.output.read_text(errors="replace").splitlines()
        except OSError:
            return []

    def problems(self) -> list[str]:
        """Lines it logged at WARNING or above (and tracebacks)."""
        return [
            line
            for line in self.log_lines()
            if " WARNING " in line or " ERROR " in line or line.startswith("Traceback")
        ]

    def rss_mb(self) -> float | None:
        """Resident set size from /proc, in MB (None once it has exited)."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return None


def _spawn(command: str, variables: dict[str, str]) -> tuple[subprocess.Popen[bytes], Path]:
    """Started here, in the event loop's thread: PR_SET_PDEATHSIG watches the forking thread."""
    fd, name = tempfile.mkstemp(prefix=f"hooksmith-bench-{command}-", suffix=".log")
    with os.fdopen(fd, "wb") as out:
        popen = subprocess.Popen(
            [sys.executable, "-m", "hooksmith_server", command],
            env=variables,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
    return popen, Path(name)


def _stop(server: ServerProcess) -> None:
    if server.popen.poll() is None:
        server.popen.send_signal(signal.SIGTERM)
        try:
            server.popen.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            server.popen.kill()
            server.popen.wait(_STOP_TIMEOUT)
    with contextlib.suppress(OSError):
        server.output.unlink()


@contextlib.asynccontextmanager
async def server_process(
    command: str, dsn: str, env: Mapping[str, str] | None = None
) -> AsyncIterator[ServerProcess]:
    """`python -m hooksmith_server COMMAND` (serve or worker) on `dsn`, ready when yielded.

    `serve` listens on a free port of 127.0.0.1 (`.port`). Deliveries may go to
    127.0.0.0/8 only. `env` adds or overrides `HOOKSMITH_*` variables.
    """
    port = free_port() if command == "serve" else None
    variables = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSMITH_")} | {
        "HOOKSMITH_DATABASE_URL": dsn,
        "HOOKSMITH_LISTEN": f"127.0.0.1:{port or free_port()}",
        "HOOKSMITH_EGRESS_ALLOW": "127.0.0.0/8",
        "HOOKSMITH_SHUTDOWN_GRACE": "2s",
        "HOOKSMITH_SECRET_KEY": SECRET_KEY_BASE64,
        **(env or {}),
    }
    popen, output = _spawn(command, variables)
    server = ServerProcess(command, popen, output, port)
    try:
        ready = "listening on" if command == "serve" else "worker delivering"
        deadline = time.monotonic() + _START_TIMEOUT
        while not any(ready in line for line in server.log_lines()):
            if popen.poll() is not None:
                tail = "\n".join(server.log_lines()[-20:])
                raise RuntimeError(f"{command} exited with {popen.returncode}:\n{tail}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command} did not start within {_START_TIMEOUT:.0f} s")
            await asyncio.sleep(0.05)
        yield server
    finally:
        await asyncio.to_thread(_stop, server)


async def new_key(dsn: str) -> str:
    """A console API key of workspace `bench` on the database of `dsn`."""
    database = await store_db.Database.connect(dsn, max_size=2)
    try:
        return await KeyStore(database).create("bench", domain.Scope.CONSOLE)
    finally:
        await database.close()


class Client:
    """The generated stubs with a key, on a channel to 127.0.0.1:port."""

    def __init__(self, port: int, key: str) -> None:
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        self.stub = pb_grpc.WebhookServiceStub(self.channel)
        self.health = health_pb2_grpc.HealthStub(self.channel)
        self.metadata = (("authorization", f"Bearer {key}"),)

    async def close(self) -> None:
        await self.channel.close()

    async def ready(self) -> None:
        """Wait until the health service says SERVING (at most a minute)."""
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            try:
                answer = await self.health.Check(health_pb2.HealthCheckRequest(), timeout=2)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.05)

    async def create(self, spec: pb.WebhookSpec) -> str:
        created = await self.stub.Create(pb.CreateRequest(spec=spec), metadata=self.metadata)
        webhook_id: str = created.webhook.id
        return webhook_id

    async def send_all(self, requests: Iterable[pb.SendRequest]) -> None:
        for request in requests:
            await self.stub.Send(request, metadata=self.metadata)


@contextlib.asynccontextmanager
async def in_process(dsn: str, settings: Settings) -> AsyncIterator[Client]:
    """A started `Application` on `dsn` and a client with a console key; both closed after."""
    async with contextlib.AsyncExitStack() as stack:
        app = Application(settings, dsn, keyring=keyring())
        # Stopped however far it got: stop() closes only what start() opened.
        stack.push_async_callback(app.stop)
        await app.start()
        assert app.database is not None
        key = await KeyStore(app.database).create("bench", domain.Scope.CONSOLE)
        client = Client(app.port, key)
        stack.push_async_callback(client.close)
        yield client


def sms_spec(base: str) -> pb.WebhookSpec:
    """The benchmarks' SMS webhook (bench/webhook.py), sending to `base`."""
    return deliver._spec(base)


def sms_sends(webhook_id: str, calls: int) -> list[pb.SendRequest]:
    """`calls` Sends of 1,000 SMS recipients each."""
    return deliver._sends(webhook_id, calls)


@dataclass(frozen=True)
class Progress:
    total: int
    pending: int
    succeeded: int
    failed: int
    attempts: int


async def progress(conn: asyncpg.Connection, webhook_id: str) -> Progress:
    row = await conn.fetchrow(_PROGRESS, uuid.UUID(webhook_id))
    assert row is not None
    return Progress(row["total"], row["pending"], row["succeeded"], row["failed"], row["attempts"])


async def wait_done(
    conn: asyncpg.Connection, webhook_id: str, total: int, deadline: float, poll: float = 0.025
) -> Progress:
    """Poll until all `total` messages exist and none is pending, or until `deadline`."""
    while True:
        now = await progress(conn, webhook_id)
        if (now.total >= total and now.pending == 0) or time.perf_counter() > deadline:
            return now
        await asyncio.sleep(poll)


async def failures(conn: asyncpg.Connection, webhook_id: str) -> list[str]:
    """Why this webhook's FAILED messages failed: `N × last_error (attempts)` per reason."""
    rows = await conn.fetch(
        "SELECT last_error, attempt_count, count(*) AS n FROM messages "
        "WHERE webhook_id = $1 AND status = 'FAILED' GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 5",
        uuid.UUID(webhook_id),
    )
    return [f"{r['n']} × {r['last_error']!r} ({r['attempt_count']} attempts)" for r in rows]


async def server_version(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        version: str = await conn.fetchval("SELECT version()")
        return version
    finally:
        await conn.close()
