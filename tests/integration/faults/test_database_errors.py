"""Driver and connection errors become UNAVAILABLE, and a database that cannot be used at
start-up is one line naming the cause, never a traceback."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import grpc
import pytest

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server import errors
from hooksmith_server.store import embedded
from hooksmith_server.store.db import Database
from tests.harness.network import free_port
from tests.harness.server import Api, Running


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.InternalClientError("cannot switch to state 15; another operation is in progress"),
        asyncpg.InterfaceError("cannot call Transaction.__aexit__(): the connection is closed"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CrashShutdownError("terminating connection because of crash of another server"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.DiskFullError("could not extend file: No space left on device"),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_every_transient_driver_error_is_unavailable(
    database_url: str, error: Exception
) -> None:
    db = await Database.connect(database_url, max_size=2)
    try:
        with pytest.raises(errors.Unavailable):
            async with db.connection():
                raise error
        # The pool is still usable afterwards.
        async with db.connection() as conn:
            assert await conn.fetchval("SELECT 1") == 1
    finally:
        await db.close()


async def test_connections_killed_under_the_server_answer_unavailable_then_work(
    server: Running, api: Api, pg_admin_dsn: str
) -> None:
    webhook = (
        await api.Create(pb.CreateRequest(spec=pb.WebhookSpec(name="w", url="http://x")))
    ).webhook
    name = urlsplit(server.database_url).path.lstrip("/")
    admin = await asyncpg.connect(pg_admin_dsn)
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await admin.close()
    assert killed > 0
    codes = set()
    for _ in range(12):
        try:
            await api.Get(pb.GetRequest(id=webhook.id))
            codes.add(grpc.StatusCode.OK)
        except grpc.aio.AioRpcError as e:
            codes.add(e.code())
    assert codes <= {grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE}, codes
    assert grpc.StatusCode.OK in codes


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSMITH_")}
    return subprocess.run(
        [sys.executable, "-m", "hooksmith_server", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


async def test_a_missing_database_is_named(pg_admin_dsn: str) -> None:
    dsn = embedded.with_database(pg_admin_dsn, "hooksmith_no_such_database")
    result = await asyncio.to_thread(run_cli, {"HOOKSMITH_DATABASE_URL": dsn}, "migrate")
    line = one_line(result)
    assert "hooksmith_no_such_database" in line
    assert "does not exist" in line


async def test_an_unreachable_host_is_named() -> None:
    port = free_port()
    dsn = f"postgresql://hooksmith:secret-password@127.0.0.1:{port}/hooksmith"
    result = await asyncio.to_thread(run_cli, {"HOOKSMITH_DATABASE_URL": dsn}, "migrate")
    line = one_line(result)
    assert f"127.0.0.1:{port}/hooksmith" in line
    assert "cannot connect" in line
    assert "secret-password" not in line


async def test_a_data_directory_of_another_postgresql_version_is_named(tmp_path: Path) -> None:
    pgdata = tmp_path / "data" / "postgres"
    pgdata.mkdir(parents=True)
    (pgdata / "PG_VERSION").write_text("9\n")
    result = await asyncio.to_thread(
        run_cli, {"HOOKSMITH_DATA_DIR": str(tmp_path / "data")}, "migrate"
    )
    line = one_line(result)
    assert "PostgreSQL 9" in line
    assert "pg_upgrade" in line
