"""`hooksmith outcomes` against a real server that delivered to a real receiver."""

from __future__ import annotations

import json

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.history import create, wait_finished
from tests.harness.outcomes import start_cursor
from tests.harness.protos import recipients, struct
from tests.harness.receiver import StartReceiver
from tests.harness.server import Api, Running
from tests.integration.cli.conftest import Cli


async def test_outcomes_prints_each_finished_message_and_resumes_after_a_cursor(
    cli: Cli, server: Running, api: Api, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    cursor = await start_cursor(server, api)
    sent = await api.Send(
        pb.SendRequest(
            webhook_id=webhook.id,
            recipients=recipients(3),
            data=struct(text="x"),
            labels={"journey": "welcome"},
        )
    )
    await wait_finished(api, list(sent.message_ids))

    table = await cli("outcomes", "--after", cursor, "--label", "journey=welcome", "--limit", "3")
    assert table.code == 0, table.err
    header, *lines = table.out.splitlines()
    assert header.split()[:3] == ["FINISHED", "MESSAGE", "STATUS"]
    assert sorted(line.split()[2] for line in lines) == sorted(sent.message_ids)
    assert all(line.split()[3] == "succeeded" for line in lines)

    # Resuming after the first line's cursor (its last column) prints the other two.
    rest = await cli("--json", "outcomes", "--after", lines[0].split()[-1], "--limit", "2")
    assert rest.code == 0, rest.err
    resumed = [json.loads(line) for line in rest.out.splitlines()]
    assert [o["messageId"] for o in resumed] == [line.split()[2] for line in lines[1:]]


async def test_a_bad_cursor_is_reported(cli: Cli) -> None:
    result = await cli("outcomes", "--after", "nope")
    assert result.code == 1
    assert "after_cursor" in result.err
