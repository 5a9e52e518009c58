"""Provider credentials at rest: re-sealed by `secrets rotate-key`, bound to their row."""

from __future__ import annotations

import base64
import json

import grpc

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server.store import crypto
from tests.harness.grpc_errors import expect_error
from tests.harness.history import send_one
from tests.harness.protos import seconds
from tests.harness.receiver import StartReceiver
from tests.harness.server import SECRET_KEY, Api, StartServer
from tests.integration.secrets import raw
from tests.integration.secrets.test_keys import run
from tests.integration.secrets.test_rotate import NEW_KEY, b64


def basic(password: str) -> pb.Auth:
    return pb.Auth(basic=pb.BasicAuth(username="acme", password=password))


async def create(api: Api, url: str, auth: pb.Auth) -> pb.Webhook:
    spec = pb.WebhookSpec(
        name="auth", url=url, body="{}", auth=auth, policy=pb.DeliveryPolicy(timeout=seconds(5))
    )
    return (await api.Create(pb.CreateRequest(spec=spec))).webhook


def expected(password: str) -> str:
    return "Basic " + base64.b64encode(f"acme:{password}".encode()).decode()


async def test_rotate_key_reseals_credentials_and_deliveries_carry_them_after(
    start_server: StartServer, start_receiver: StartReceiver, database_url: str
) -> None:
    receiver = await start_receiver()
    before = await start_server()
    api = await before.api()
    hook = await create(api, receiver.url("/basic"), basic("pw_before_rotation"))
    await api.Update(
        pb.UpdateRequest(
            id=hook.id,
            spec=pb.WebhookSpec(name="v2", url=receiver.url("/basic"), auth=basic("pw_v2_1234")),
        )
    )
    bearer = pb.Auth(bearer=pb.BearerAuth(token="tk_rotation_5678"))
    await create(api, receiver.url("/bearer"), bearer)
    await before.app.stop()

    env = {
        "HOOKSMITH_DATABASE_URL": database_url,
        "HOOKSMITH_SECRET_KEY": b64(NEW_KEY),
        "HOOKSMITH_SECRET_KEYS_OLD": b64(SECRET_KEY),
    }
    code, out, err = await run("secrets rotate-key", env)
    assert code == 0, err
    new_id = crypto.key_id(NEW_KEY)
    # Two signing secrets and three credentials (two versions of one webhook, one other).
    assert out.strip().splitlines()[-1] == f"re-encrypted 5 secret value(s) under key {new_id}"
    auths = await raw.auth_secrets(database_url)
    assert len(auths) == 3
    assert all(a["sealed"].startswith(crypto.prefix(new_id)) for a in auths)
    assert await raw.key_ids(database_url) == [new_id]

    after = await start_server(secret_key=NEW_KEY)
    api = await after.api()
    got = await send_one(api, hook)
    assert got.status == pb.MESSAGE_STATUS_SUCCEEDED, got.error
    (request,) = receiver.by_id()[got.id]
    assert request.header("Authorization") == expected("pw_v2_1234")
    first = (await api.Get(pb.GetRequest(id=hook.id, version=1))).webhook
    assert first.spec.auth == basic("pw_before_rotation")


async def test_credentials_copied_from_another_webhook_do_not_open(
    start_server: StartServer, start_receiver: StartReceiver, database_url: str
) -> None:
    receiver = await start_receiver()
    first = await start_server(workers=0)
    api = await first.api()
    donor = await create(api, receiver.url(), basic("pw_donor_1234"))
    victim = await create(api, receiver.url(), basic("pw_victim_5678"))
    await first.app.stop()

    [row] = await raw.fetch(
        database_url, "SELECT spec FROM webhook_versions WHERE webhook_id = $1", donor.id
    )
    donor_auth = json.loads(row["spec"])["auth"]  # jsonb arrives as its text
    await raw.execute(
        database_url,
        "UPDATE webhook_versions SET spec = jsonb_set(spec, '{auth}', $2::jsonb) "
        "WHERE webhook_id = $1",
        victim.id,
        json.dumps(donor_auth),
    )

    second = await start_server()
    api = await second.api()
    error = await expect_error(
        api.Get(pb.GetRequest(id=victim.id)), grpc.StatusCode.FAILED_PRECONDITION
    )
    details = error.details() or ""
    assert f"the password of the basic auth of webhook {victim.id}" in details
    assert "altered or copied from another row" in details
    assert "pw_donor" not in details
    # The webhook the value was taken from still delivers its own.
    got = await send_one(api, donor)
    assert got.status == pb.MESSAGE_STATUS_SUCCEEDED
    (request,) = receiver.by_id()[got.id]
    assert request.header("Authorization") == expected("pw_donor_1234")
