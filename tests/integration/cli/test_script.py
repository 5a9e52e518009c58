"""The installed `hooksmith` script in a real subprocess: target and key from the
environment, JSON for scripts, and `history --follow` watching until interrupted."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.history import create
from tests.harness.protos import struct
from tests.harness.receiver import StartReceiver
from tests.harness.server import Api
from tests.integration.cli.conftest import SCRIPT, Cli


async def run(cli: Cli, *argv: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        str(SCRIPT),
        *argv,
        env=cli.env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_installed_script_creates_and_gets(cli: Cli, api: Api, tmp_path: Path) -> None:
    (tmp_path / "sms.yaml").write_text("name: SMS\nurl: https://sms.example.com\nbody: '{}'\n")

    code, out, err = await run(
        cli, "webhooks", "create", "-f", str(tmp_path / "sms.yaml"), "--json"
    )
    made = json.loads(out)
    got_code, got, _ = await run(cli, "--json", "webhooks", "get", made["id"])

    assert code == 0, err
    assert got_code == 0
    spec = json.loads(got)["spec"]
    assert (spec["name"], spec["url"], spec["body"]) == ("SMS", "https://sms.example.com", "{}")
    assert spec["headers"] == []  # every field is present, defaults included
    stored = (await api.Get(pb.GetRequest(id=made["id"]))).webhook
    assert stored.spec.name == "SMS"


async def test_the_script_reports_an_error_on_one_line(cli: Cli) -> None:
    code, out, err = await run(cli, "webhooks", "get", "not-an-id")

    assert code == 1
    assert out == ""
    assert err == "error: InvalidArgument: id: 'not-an-id' is not a valid id\n"


async def test_help_lists_every_command(cli: Cli) -> None:
    code, out, _ = await run(cli, "--help")

    assert code == 0
    for command in ("webhooks", "render", "send-test", "send", "history", "message", "retry"):
        assert f"    {command} " in out


async def test_history_follow_prints_new_messages_until_interrupted(
    cli: Cli, api: Api, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver()
    webhook = await create(api, receiver.url("/{{ userId }}"))
    await api.Send(
        pb.SendRequest(
            webhook_id=webhook.id, recipients=[pb.Recipient(user_id="old")], data=struct(text="x")
        )
    )
    process = await asyncio.create_subprocess_exec(
        str(SCRIPT),
        "history",
        "--follow",
        "--json",
        "--interval",
        "0.2",
        "--webhook",
        webhook.id,
        env=cli.env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        first = json.loads(await asyncio.wait_for(process.stdout.readline(), 30))
        await api.Send(
            pb.SendRequest(
                webhook_id=webhook.id,
                recipients=[pb.Recipient(user_id="new")],
                data=struct(text="x"),
            )
        )
        later = []
        while not any(
            m["userId"] == "new" and m["status"] == "MESSAGE_STATUS_SUCCEEDED" for m in later
        ):
            later.append(json.loads(await asyncio.wait_for(process.stdout.readline(), 30)))
    finally:
        process.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(process.wait(), 30)

    assert first["userId"] == "old"
    new = [(m["userId"], m["status"]) for m in later if m["userId"] == "new"]
    assert new[-1] == ("new", "MESSAGE_STATUS_SUCCEEDED")
    assert len(new) == len(set(new))
    assert code == 0
