"""`serve` against an outside database that has no API key says how to make one."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from tests.harness.network import free_port
from tests.harness.server import SECRET_KEY_BASE64

HINT = "hooksmith-server keys create --workspace NAME"


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSMITH_")}
    return env | {
        "HOOKSMITH_DATABASE_URL": database_url,
        "HOOKSMITH_LISTEN": f"127.0.0.1:{free_port()}",
        "HOOKSMITH_SECRET_KEY": SECRET_KEY_BASE64,
    }


async def _start_up_lines(database_url: str) -> list[str]:
    """What `serve` prints up to "listening on"; the server is then stopped."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hooksmith_server",
        "serve",
        env=_env(database_url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        while not any("listening on" in line for line in lines):
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            assert line, f"server exited early: {lines}"
            lines.append(line.decode().rstrip())
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    return lines


async def _create_key(database_url: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hooksmith_server",
        "keys",
        "create",
        "--workspace",
        "ops",
        env=_env(database_url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    return stdout.decode().strip().splitlines()[-1]


async def test_a_database_without_keys_gets_the_command_that_makes_one(database_url: str) -> None:
    lines = await _start_up_lines(database_url)
    assert any(line.strip() == HINT for line in lines), lines
    # No key is made for an outside database: that is the operator's call.
    assert not any(line.startswith("hks_") for line in lines)

    key = await _create_key(database_url)
    assert key.startswith("hks_")
    lines = await _start_up_lines(database_url)
    assert not any(HINT in line for line in lines), lines
