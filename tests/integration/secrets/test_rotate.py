"""`hooksmith-server secrets rotate-key`: re-seals everything while a server runs."""

from __future__ import annotations

import asyncio
import base64

from standardwebhooks.webhooks import Webhook as Verifier

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server.store import crypto
from tests.harness.history import create, wait_finished
from tests.harness.history import message as get_message
from tests.harness.protos import recipients, struct
from tests.harness.receiver import StartReceiver
from tests.harness.server import SECRET_KEY, StartServer
from tests.integration.secrets import raw
from tests.integration.secrets.test_keys import run

NEW_KEY = b"the key after the rotation, 2nd!"


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def token(i: int) -> str:
    return f"Bearer sk_live_rotation_{i}"


async def test_rotate_key_while_a_server_runs_reseals_everything_and_deliveries_go_on(
    start_server: StartServer, start_receiver: StartReceiver, database_url: str
) -> None:
    receiver = await start_receiver()
    before = await start_server()
    api = await before.api()
    hooks = [
        await create(
            api,
            receiver.url(f"/{i}"),
            headers=(pb.Header(name="Authorization", value=token(i), secret=True),),
        )
        for i in range(3)
    ]
    # One more version and one more signing secret: 3 + 1 header values, 3 + 1 secrets.
    await api.Update(
        pb.UpdateRequest(id=hooks[0].id, spec=pb.WebhookSpec(name="v2", url=receiver.url("/0")))
    )
    await api.Update(
        pb.UpdateRequest(
            id=hooks[0].id,
            spec=pb.WebhookSpec(
                name="v3",
                url=receiver.url("/0"),
                body='{"text": "{{ text }}"}',
                headers=[pb.Header(name="Authorization", value=token(0), secret=True)],
            ),
        )
    )
    await api.RotateSecret(pb.RotateSecretRequest(id=hooks[1].id))
    await before.app.stop()

    # Every process restarted with the new key, the old one still listed as old.
    server = await start_server(secret_key=NEW_KEY, secret_keys_old=(SECRET_KEY,))
    api = await server.api()

    async def send_rounds(rounds: int) -> list[str]:
        ids: list[str] = []
        for _ in range(rounds):
            for hook in hooks:
                sent = await api.Send(
                    pb.SendRequest(
                        webhook_id=hook.id, recipients=recipients(2), data=struct(text="x")
                    )
                )
                ids += sent.message_ids
        return ids

    sending = asyncio.create_task(send_rounds(15))
    env = {
        "HOOKSMITH_DATABASE_URL": database_url,
        "HOOKSMITH_SECRET_KEY": b64(NEW_KEY),
        "HOOKSMITH_SECRET_KEYS_OLD": b64(SECRET_KEY),
    }
    code, out, err = await run("secrets rotate-key", env)
    message_ids = await sending
    assert code == 0, err
    new_id, old_id = crypto.key_id(NEW_KEY), crypto.key_id(SECRET_KEY)
    assert out.strip().splitlines() == [
        f"key {old_id} seals nothing any more: remove it from HOOKSMITH_SECRET_KEYS_OLD",
        f"re-encrypted 8 secret value(s) under key {new_id}",
    ]

    current = crypto.prefix(new_id)
    secrets = await raw.signing_secrets(database_url)
    assert len(secrets) == 4
    assert all(s.startswith(current) for s in secrets)
    headers = await raw.secret_headers(database_url)
    assert len(headers) == 4
    assert all(h["sealed"].startswith(current) for h in headers)
    assert await raw.key_ids(database_url) == [new_id]

    # Every message sent during the rotation went out with the right values and signature.
    await wait_finished(api, message_ids)
    for mid in message_ids:
        assert (await get_message(api, mid)).status == pb.MESSAGE_STATUS_SUCCEEDED
    current_secrets = {
        hook.id: (await api.Get(pb.GetRequest(id=hook.id))).webhook.signing_secret for hook in hooks
    }
    by_path = {f"/{i}": hook for i, hook in enumerate(hooks)}
    assert len(receiver.received) == len(message_ids)
    for request in receiver.received:
        hook = by_path[request.path_qs]
        assert request.header("Authorization") == token(hooks.index(hook))
        Verifier(current_secrets[hook.id]).verify(request.body, dict(request.headers))

    # The old key can go: a server with the new key alone starts and delivers.
    await server.app.stop()
    after = await start_server(secret_key=NEW_KEY)
    api = await after.api()
    ids = await send_rounds(1)
    await wait_finished(api, ids)
    for mid in ids:
        assert (await get_message(api, mid)).status == pb.MESSAGE_STATUS_SUCCEEDED

    # A second run has nothing left to do.
    code, out, err = await run("secrets rotate-key", env | {"HOOKSMITH_SECRET_KEYS_OLD": ""})
    assert code == 0, err
    assert out.strip().splitlines() == [f"re-encrypted 0 secret value(s) under key {new_id}"]


async def test_rotate_key_without_the_key_values_are_sealed_with_exits_with_one_line(
    start_server: StartServer, database_url: str
) -> None:
    await start_server()
    code, out, err = await run(
        "secrets rotate-key",
        {"HOOKSMITH_DATABASE_URL": database_url, "HOOKSMITH_SECRET_KEY": b64(NEW_KEY)},
    )
    assert code == 1
    [line] = err.strip().splitlines()
    assert line.startswith(
        f"hooksmith-server: the database holds secrets sealed with key {crypto.key_id(SECRET_KEY)}"
    )
    assert "re-encrypted" not in out
    assert await raw.key_ids(database_url) == [crypto.key_id(SECRET_KEY)]
