"""`hooksmith purge-user` against a real server that delivered to a real receiver."""

from __future__ import annotations

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.history import create, message, wait_finished
from tests.harness.protos import struct
from tests.harness.receiver import StartReceiver
from tests.harness.server import Api, Running
from tests.integration.cli.conftest import Cli

PHONE = "+821012345678"


async def send_to(api: Api, webhook: pb.Webhook, user_id: str) -> str:
    sent = await api.Send(
        pb.SendRequest(
            webhook_id=webhook.id,
            recipients=[pb.Recipient(user_id=user_id, tags=struct(phone_number=PHONE))],
            data=struct(text="Your code is 1234"),
        )
    )
    return str(sent.message_ids[0])


async def test_purge_user_erases_that_users_history_and_says_how_much(
    cli: Cli, api: Api, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver()
    webhook = await create(
        api, receiver.url(), body='{"to": "{{ tags.phone_number }}", "text": "{{ text }}"}'
    )
    mine = [await send_to(api, webhook, "u-1") for _ in range(2)]
    other = await send_to(api, webhook, "u-2")
    await wait_finished(api, [*mine, other])

    purged = await cli("purge-user", "u-1")

    assert purged.code == 0, purged.err
    assert purged.out == "purged the personal data of user u-1 from 2 message(s)\n"
    for mid in mine:
        got = await message(api, mid)
        assert got.HasField("purge_time")
        assert not got.HasField("request")
        assert got.status == pb.MESSAGE_STATUS_SUCCEEDED, "the message itself stays"
    kept = await message(api, other)
    assert not kept.HasField("purge_time")
    assert PHONE in kept.request.body

    # Again, for a script: nothing new to purge, in the protobuf JSON form.
    again = (await cli("purge-user", "u-1", "--json")).json()
    assert int(again["purgedMessages"]) == 0
    other_user = (await cli("--json", "purge-user", "u-2")).json()
    assert int(other_user["purgedMessages"]) == 1
    assert (await message(api, other)).HasField("purge_time")


async def test_purge_user_needs_a_console_key(
    server: Running, api: Api, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    sent = await api.Send(
        pb.SendRequest(
            webhook_id=webhook.id,
            recipients=[pb.Recipient(user_id="u-1")],
            data=struct(text="x"),
        )
    )
    await wait_finished(api, list(sent.message_ids))
    journey = await server.api(scope="journey")

    refused = await Cli(server.address, journey.key)("purge-user", "u-1")

    assert refused.code == 1
    assert refused.out == ""
    assert refused.err.startswith("error: PermissionDenied: ")
    assert len(refused.err.splitlines()) == 1
    assert not (await message(api, sent.message_ids[0])).HasField("purge_time")


async def test_purge_user_refuses_an_empty_user_id(cli: Cli) -> None:
    refused = await cli("purge-user", "")

    assert refused.code == 1
    assert refused.err.startswith("error: InvalidArgument: ")
    assert "user_id" in refused.err


async def test_purge_user_without_a_user_is_a_usage_error(cli: Cli) -> None:
    refused = await cli("purge-user")

    assert refused.code == 2
    assert "USER_ID" in refused.err
