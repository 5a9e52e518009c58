"""The key at start-up: a wrong or missing key stops the start with one clear line."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import signal
import stat
import sys
from pathlib import Path

import grpc
import pytest

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith.v1 import webhooks_pb2_grpc as pb_grpc
from hooksmith_server.app import Application
from hooksmith_server.store import crypto
from tests.harness.network import free_port
from tests.harness.server import SECRET_KEY, StartServer, settings_for_tests
from tests.integration.secrets import raw

OTHER_KEY = b"another key, not the one in use!"
TOKEN = "Bearer sk_live_0123456789"


async def run(command: str, env: dict[str, str]) -> tuple[int, str, str]:
    """`hooksmith-server COMMAND` with only `env` as its HOOKSMITH_* variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSMITH_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hooksmith_server",
        *command.split(),
        env=clean | env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_a_wrong_key_is_a_clear_start_error_and_nothing_stays_open(
    start_server: StartServer, database_url: str
) -> None:
    first = await start_server()
    api = await first.api()
    await api.Create(
        pb.CreateRequest(
            spec=pb.WebhookSpec(
                name="w",
                url="https://example.com",
                headers=[pb.Header(name="Authorization", value=TOKEN, secret=True)],
            )
        )
    )
    wrong = Application(settings_for_tests(secret_key=OTHER_KEY), database_url)
    expected = (
        f"the database holds secrets sealed with key {crypto.key_id(SECRET_KEY)}, which "
        f"neither HOOKSMITH_SECRET_KEY (key {crypto.key_id(OTHER_KEY)}) nor "
        "HOOKSMITH_SECRET_KEYS_OLD holds"
    )
    with pytest.raises(crypto.SecretKeyError, match=re.escape(expected)):
        await wrong.start()
    assert wrong.database is None
    assert wrong.server is None
    assert wrong.dispatcher is None
    assert await raw.key_ids(database_url) == [crypto.key_id(SECRET_KEY)], "not listed"

    # The right key as an old one opens everything, and the new key becomes current.
    rotated = await start_server(secret_key=OTHER_KEY, secret_keys_old=(SECRET_KEY,))
    got = (await (await rotated.api()).List(pb.ListRequest())).webhooks
    assert [h.value for h in got[0].spec.headers] == [TOKEN]


async def test_a_key_check_that_does_not_open_stops_the_start(
    start_server: StartServer, database_url: str
) -> None:
    await start_server()
    # The check value of the one listed key, sealed for another place.
    forged = crypto.Keyring(SECRET_KEY).seal("hooksmith secret key check", "elsewhere")
    await raw.execute(database_url, "UPDATE secret_keys SET key_check = $1", forged)
    again = Application(settings_for_tests(), database_url)
    refused = r"check value of key \w+ in table secret_keys does not open"
    with pytest.raises(crypto.SecretKeyError, match=refused):
        await again.start()
    assert again.database is None


async def test_serve_and_worker_without_a_key_on_an_outside_database_exit_with_one_line(
    database_url: str,
) -> None:
    for command in ("serve", "worker"):
        code, out, err = await run(
            command, {"HOOKSMITH_DATABASE_URL": database_url, "HOOKSMITH_LISTEN": "127.0.0.1:0"}
        )
        assert code == 1, err
        assert err.strip().splitlines() == [
            "hooksmith-server: HOOKSMITH_SECRET_KEY is not set: with HOOKSMITH_DATABASE_URL, "
            "secrets are sealed with a key you keep; make one with `openssl rand -base64 32` "
            "and set HOOKSMITH_SECRET_KEY to it in every process"
        ]
        assert "listening" not in out


async def test_a_malformed_key_exits_with_one_line_naming_the_variable(database_url: str) -> None:
    code, _, err = await run(
        "serve", {"HOOKSMITH_DATABASE_URL": database_url, "HOOKSMITH_SECRET_KEY": "c2hvcnQ="}
    )
    assert code == 2
    assert err.strip().splitlines() == [
        "hooksmith-server: HOOKSMITH_SECRET_KEY: not the base64 of 32 random bytes; "
        "make a key with `openssl rand -base64 32`"
    ]


async def test_serve_with_the_wrong_key_exits_with_one_line(
    start_server: StartServer, database_url: str
) -> None:
    await start_server()
    code, out, err = await run(
        "serve",
        {
            "HOOKSMITH_DATABASE_URL": database_url,
            "HOOKSMITH_LISTEN": f"127.0.0.1:{free_port()}",
            "HOOKSMITH_SECRET_KEY": base64.b64encode(OTHER_KEY).decode(),
        },
    )
    assert code == 1
    [line] = err.strip().splitlines()
    assert line.startswith(
        f"hooksmith-server: the database holds secrets sealed with key {crypto.key_id(SECRET_KEY)}"
    )
    assert "listening" not in out


async def serve_embedded(data_dir: Path, port: int) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSMITH_")}
    env |= {"HOOKSMITH_DATA_DIR": str(data_dir), "HOOKSMITH_LISTEN": f"127.0.0.1:{port}"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hooksmith_server",
        "serve",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    lines: list[str] = []
    while not any("listening on" in line for line in lines):
        line = await asyncio.wait_for(process.stdout.readline(), 120)
        if not line:
            assert process.stderr is not None
            err = await process.stderr.read()
            raise AssertionError(f"server exited early: {lines} {err.decode()}")
        lines.append(line.decode().strip())
    return process


async def stop(process: asyncio.subprocess.Process) -> int:
    process.send_signal(signal.SIGTERM)
    return await asyncio.wait_for(process.wait(), 30)


async def test_the_embedded_key_is_made_once_with_mode_0600_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    key_path = data_dir / "secret-key"
    port = free_port()
    process = await serve_embedded(data_dir, port)
    try:
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
        key = key_path.read_text()
        assert len(base64.b64decode(key.strip(), validate=True)) == 32
        api_key = (data_dir / "api-key").read_text().strip()
        auth = (("authorization", f"Bearer {api_key}"),)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            made = await pb_grpc.WebhookServiceStub(channel).Create(
                pb.CreateRequest(
                    spec=pb.WebhookSpec(
                        name="kept",
                        url="https://example.com",
                        headers=[pb.Header(name="Authorization", value=TOKEN, secret=True)],
                    )
                ),
                metadata=auth,
            )
    finally:
        assert await stop(process) == 0

    process = await serve_embedded(data_dir, port)
    try:
        assert key_path.read_text() == key, "the same key on restart"
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            got = await pb_grpc.WebhookServiceStub(channel).Get(
                pb.GetRequest(id=made.webhook.id), metadata=auth
            )
        assert [h.value for h in got.webhook.spec.headers] == [TOKEN]
        assert got.webhook.signing_secret == made.webhook.signing_secret
    finally:
        assert await stop(process) == 0

    # Another key in the file: the start stops and says where the key is kept.
    key_path.write_text(base64.b64encode(OTHER_KEY).decode() + "\n")
    code, out, err = await run(
        "serve", {"HOOKSMITH_DATA_DIR": str(data_dir), "HOOKSMITH_LISTEN": f"127.0.0.1:{port}"}
    )
    assert code == 1, err
    [line] = err.strip().splitlines()
    assert f"sealed with key {crypto.key_id(base64.b64decode(key))}" in line
    assert f"the embedded database's key is kept in {key_path}" in line
    assert "listening" not in out
