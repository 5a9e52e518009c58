"""HOOKSMITH_LOG_FORMAT=json: one object per line, with the ids of what each line is about."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import sys
import uuid
from collections.abc import Iterator

import asyncpg
import pytest
from aiohttp import web

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server.observability import logs
from hooksmith_server.store import embedded
from tests.harness.history import create, wait_none_pending
from tests.harness.protos import recipients, struct
from tests.harness.server import SECRET_KEY_BASE64, StartServer

SECRET = "sk_live_never_logged"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The server's log lines, as `HOOKSMITH_LOG_FORMAT=json` writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.formatter("json"))
    logger = logging.getLogger("hooksmith_server")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def test_a_message_failed_for_good_is_one_json_line_with_its_ids(
    start_server: StartServer, start_receiver, json_lines: io.StringIO
) -> None:
    server = await start_server()
    api = await server.api()
    receiver = await start_receiver(lambda _, __: web.Response(status=400, text=SECRET))
    webhook = await create(
        api,
        receiver.url("/sms"),
        headers=(pb.Header(name="Authorization", value=f"Bearer {SECRET}", secret=True),),
    )
    sent = await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(3), data=struct(text=SECRET))
    )
    await wait_none_pending(api, webhook.id, timeout=20.0)

    text = json_lines.getvalue()
    assert SECRET not in text
    lines = [json.loads(line) for line in text.splitlines()]
    for line in lines:
        assert {"time", "level", "logger", "message"} <= line.keys()
    failed = [line for line in lines if "failed after" in line["message"]]
    assert sorted(line["message_id"] for line in failed) == sorted(sent.message_ids)
    workspace = str(await _workspace_of(server.database_url, webhook.id))
    for line in failed:
        assert line["level"] == "INFO"
        assert line["logger"] == "hooksmith_server.delivery.recorder"
        assert line["webhook_id"] == webhook.id
        assert line["workspace_id"] == workspace
        assert line["message"].endswith("HTTP 400")


def test_extras_and_exceptions_become_fields() -> None:
    record = logging.LogRecord(
        "hooksmith_server.x", logging.WARNING, __file__, 1, "m %s", ("a",), None
    )
    message_id = uuid.uuid4()
    for key, value in logs.ids(message_id=message_id, webhook_id=None, destination="h").items():
        setattr(record, key, value)
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    line = json.loads(logs.formatter("json").format(record))
    assert line["message"] == "m a"
    assert line["level"] == "WARNING"
    assert line["message_id"] == str(message_id)
    assert line["destination"] == "h"
    assert "webhook_id" not in line
    assert "ValueError: boom" in line["exception"]
    assert line["time"].endswith("+00:00")


async def test_the_command_writes_json_lines_when_asked(pg_admin_dsn: str) -> None:
    name = f"hooksmith_logs_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSMITH_")}
        env |= {
            "HOOKSMITH_DATABASE_URL": embedded.with_database(pg_admin_dsn, name),
            "HOOKSMITH_SECRET_KEY": SECRET_KEY_BASE64,
            "HOOKSMITH_LOG_FORMAT": "json",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hooksmith_server",
            "migrate",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    assert process.returncode == 0, stderr.decode()
    lines = [json.loads(line) for line in stderr.decode().splitlines()]
    applied = [line for line in lines if line["message"].startswith("applied migration")]
    assert applied
    assert all(line["logger"] == "hooksmith_server.store.migrations" for line in applied)
    assert b"applied" in stdout


async def test_an_unknown_log_format_is_refused_by_name() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSMITH_")}
    env["HOOKSMITH_LOG_FORMAT"] = "xml"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hooksmith_server",
        "migrate",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert stderr.decode().strip() == (
        "hooksmith-server: HOOKSMITH_LOG_FORMAT: 'xml' is not `text` or `json`"
    )


async def _workspace_of(database_url: str, webhook_id: str) -> uuid.UUID:
    conn = await asyncpg.connect(database_url)
    try:
        workspace: uuid.UUID = await conn.fetchval(
            "SELECT workspace_id FROM webhooks WHERE id = $1", uuid.UUID(webhook_id)
        )
    finally:
        await conn.close()
    return workspace
