"""Starting a server that cannot listen: a clear error, and nothing left open."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server import errors
from hooksmith_server.app import Application
from tests.harness.server import SECRET_KEY_BASE64, StartServer, settings_for_tests


async def test_a_taken_port_is_refused_and_the_failed_start_closes_what_it_opened(
    start_server: StartServer, database_url: str
) -> None:
    first = await start_server()
    second = Application(settings_for_tests(listen=first.address), database_url)
    taken = rf"cannot listen on {first.address}: Address already in use"
    with pytest.raises(errors.Unavailable, match=taken):
        await second.start()
    # The pool, the HTTP session and the delivery tasks of the failed start are gone.
    assert second.database is None
    assert second.session is None
    assert second.dispatcher is None
    assert second._tasks == []
    # The first server still answers every call (a shared port would split them).
    api = await first.api()
    for _ in range(20):
        await api.List(pb.ListRequest())


async def test_serve_on_a_taken_port_exits_with_one_line(
    start_server: StartServer, database_url: str
) -> None:
    first = await start_server()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSMITH_")}
    env |= {
        "HOOKSMITH_DATABASE_URL": database_url,
        "HOOKSMITH_LISTEN": first.address,
        "HOOKSMITH_SECRET_KEY": SECRET_KEY_BASE64,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hooksmith_server",
        "serve",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    lines = stderr.decode().strip().splitlines()
    assert lines == [
        f"hooksmith-server: cannot listen on {first.address}: Address already in use"
    ], stderr.decode()
    assert b"listening" not in stdout
