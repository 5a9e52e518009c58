"""`hooksmith.auth` with both clients against a real server: specs carry credentials, as
dicts or protos, and a delivery sends them."""

from __future__ import annotations

import asyncio

import hooksmith
from hooksmith import Client, SyncClient
from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.receiver import StartReceiver
from tests.harness.server import Running


async def test_a_dict_spec_takes_an_auth_helper_and_the_request_carries_it(
    client: Client, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver()
    made = await client.create(
        {
            "name": "bearer",
            "url": receiver.url("/hook"),
            "body": "{}",
            "auth": hooksmith.auth.bearer("sk_live_client_42"),
        }
    )
    assert made.spec.auth == pb.Auth(bearer=pb.BearerAuth(token="sk_live_client_42"))

    [result] = (await client.send_test(made.id, recipients=[{"user_id": "u1"}])).messages

    assert result.status == pb.MESSAGE_STATUS_SUCCEEDED, result.error
    assert receiver.received[0].header("Authorization") == "Bearer sk_live_client_42"
    # A dict in the JSON form works as well.
    basic = await client.update(
        made.id, {"auth": {"basic": {"username": "u", "password": "p"}}}, update_mask=["auth"]
    )
    assert basic.spec.auth == hooksmith.auth.basic("u", "p")


async def test_the_sync_client_saves_oauth2_credentials(server: Running) -> None:
    key = (await server.api()).key
    auth = hooksmith.auth.oauth2_client_credentials(
        "https://auth.example.com/token",
        "client",
        "cs_live_sync",
        scopes=["a", "b"],
        audience="https://api.example.com",
    )

    def scenario() -> tuple[pb.Auth, pb.Auth]:
        with SyncClient(server.address, key) as client:
            made = client.create(
                pb.WebhookSpec(name="oauth", url="https://api.example.com/x", auth=auth)
            )
            return made.spec.auth, client.get(made.id).spec.auth

    made, got = await asyncio.to_thread(scenario)
    assert made == got == auth
    assert list(got.oauth2_client_credentials.scopes) == ["a", "b"]
