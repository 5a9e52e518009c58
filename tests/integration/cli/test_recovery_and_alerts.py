"""`hooksmith retry-failed` and `hooksmith alerts` against a real server and receiver."""

from __future__ import annotations

from aiohttp import web

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.history import create, message, wait_finished
from tests.harness.protos import recipients, struct
from tests.harness.receiver import Received, StartReceiver
from tests.harness.server import Api
from tests.integration.cli.conftest import Cli


async def test_retry_failed_queues_the_failed_messages_of_the_window(
    cli: Cli, api: Api, start_receiver: StartReceiver
) -> None:
    down = [True]

    def answer(_: Received, __: int) -> web.Response:
        return web.Response(status=400 if down[0] else 200)

    receiver = await start_receiver(answer)
    webhook = await create(api, receiver.url())
    sent = await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(2), data=struct(text="x"))
    )
    ids = list(sent.message_ids)
    await wait_finished(api, ids)
    down[0] = False

    done = await cli("retry-failed", webhook.id, "--since", "10m", "--request-id", "r-1")
    assert done.code == 0, done.err
    assert done.out.startswith(
        f"queued a manual attempt of 2 failed message(s) of webhook {webhook.id}"
    )
    await wait_finished(api, ids)
    assert {(await message(api, m)).status for m in ids} == {pb.MESSAGE_STATUS_SUCCEEDED}
    again = await cli("--json", "retry-failed", webhook.id, "--since", "10m", "--request-id", "r-1")
    assert int(again.json()["retriedMessages"]) == 2
    assert len(receiver.received) == 4

    missing = await cli("retry-failed", webhook.id)
    assert missing.code == 2
    assert "--since" in missing.err


async def test_alerts_get_and_set(cli: Cli) -> None:
    empty = await cli("alerts", "get")
    assert empty.out == "no alert URL: the workspace records no alerts\n"
    made = await cli("alerts", "set", "https://ops.example.com/alerts")
    assert made.code == 0, made.err
    assert made.out.startswith("alerts go to https://ops.example.com/alerts, signed with whsec_")
    shown = (await cli("--json", "alerts", "get")).json()
    assert shown["url"] == "https://ops.example.com/alerts"
    assert shown["signingSecret"] in made.out
    bad = await cli("alerts", "set", "ops.example.com")
    assert bad.code == 1
    assert "settings.url" in bad.err
    cleared = await cli("alerts", "set", "")
    assert cleared.out == "alert URL cleared: the workspace records no alerts\n"
