"""The examples run as written, as their own processes, against a real server, and
deliver to a real receiver on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from aiohttp import web

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.history import all_history
from tests.harness.receiver import Received, StartReceiver
from tests.harness.server import Api, Running

EXAMPLES = Path(__file__).parents[2] / "examples"


async def run(server: Running, api: Api, script: str, *argv: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSMITH_")}
    env |= {"HOOKSMITH_TARGET": server.address, "HOOKSMITH_API_KEY": api.key}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLES / script),
        *argv,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_journey_engine_fires_a_step_once_per_user(
    server: Running, api: Api, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver()
    url = receiver.url("/journey/{{ userId }}")

    first = await run(server, api, "journey_engine.py", "--url", url, "--run-id", "run-7")
    webhook_id = first.splitlines()[0].removeprefix("created webhook ")
    # The engine restarts and runs the same step of the same run against that webhook.
    again = await run(
        server, api, "journey_engine.py", "--webhook-id", webhook_id, "--run-id", "run-7"
    )

    lines = first.splitlines()
    assert lines[1] == "step run-7:step-2 queued 5 messages"
    assert lines[2] == "step fired again: the same 5 messages, nothing sent twice"
    assert lines[3] == "succeeded 5"
    assert again.splitlines()[-1] == "succeeded 5"
    assert sorted(r.path_qs for r in receiver.received) == [
        f"/journey/user-{i}" for i in range(1, 6)
    ]
    assert json.loads(receiver.received[0].body)["text"] == "Welcome aboard"
    assert len({r.header("webhook-id") for r in receiver.received}) == 5
    history = await all_history(api, webhook_id=webhook_id)
    assert len(history) == 5
    assert {m.labels["journey_run"] for m in history} == {"run-7"}


async def test_console_backend_previews_saves_tests_and_retries_the_failed(
    server: Running, api: Api, start_receiver: StartReceiver
) -> None:
    def first_try_of_u3_fails(request: Received, seen: int) -> web.StreamResponse:
        if request.path_qs == "/console/u-3" and seen == 1:
            return web.json_response({"error": "unknown user"}, status=400)
        return web.json_response({"ok": True})

    receiver = await start_receiver(first_try_of_u3_fails)

    out = await run(
        server, api, "console_backend.py", "--url", receiver.url("/console/{{ userId }}")
    )

    lines = out.splitlines()
    assert lines[0] == "preview of the draft:"
    assert lines[1] == f"  POST {receiver.url('/console/u-42')}"
    assert lines[3] == "  data fields: []; empty: []"
    assert lines[7] == "  data fields: ['coupon']; empty: ['tags.city']"
    assert lines[8].startswith("saved webhook ")
    assert lines[9] == "test send to u-42: succeeded (HTTP 200)"
    assert "failed messages: 1" in lines
    assert "  u-3: 1 attempts, last HTTP 400" in lines
    assert lines[-3:] == ["u-1: succeeded", "u-2: succeeded", "u-3: succeeded"]
    paths = sorted(r.path_qs for r in receiver.received)
    assert paths == [
        "/console/u-1",
        "/console/u-2",
        "/console/u-3",
        "/console/u-3",
        "/console/u-42",
    ]
    webhook_id = lines[8].split()[2]
    retried = await all_history(api, webhook_id=webhook_id, user_id="u-3")
    assert retried[0].status == pb.MESSAGE_STATUS_SUCCEEDED
    assert retried[0].attempt_count == 2
