"""The alert signing secret at rest: sealed, re-sealed by `secrets rotate-key`."""

from __future__ import annotations

import base64

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server.store import crypto
from tests.harness.server import SECRET_KEY, Running, StartServer
from tests.integration.secrets import raw
from tests.integration.secrets.test_keys import run

NEW_KEY = b"the key after the rotation, 2nd!"


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


async def stored_secrets(database_url: str) -> list[str]:
    rows = await raw.fetch(database_url, "SELECT signing_secret FROM alert_settings")
    return [r["signing_secret"] for r in rows]


async def test_the_alert_signing_secret_is_never_stored_in_plain_text(server: Running) -> None:
    api = await server.api()
    request = pb.UpdateAlertSettingsRequest(
        settings=pb.AlertSettings(url="https://ops.example.com/alerts")
    )
    secret = (await api.UpdateAlertSettings(request)).settings.signing_secret
    assert secret.startswith("whsec_")

    stored = await raw.dump(server.database_url)
    assert "https://ops.example.com/alerts" in stored, "the dump holds the settings row"
    assert secret not in stored
    assert secret.removeprefix("whsec_") not in stored
    current = crypto.prefix(crypto.key_id(SECRET_KEY))
    assert [s[: len(current)] for s in await stored_secrets(server.database_url)] == [current]


async def test_rotate_key_reseals_the_alert_secret(
    start_server: StartServer, database_url: str
) -> None:
    before = await start_server()
    api = await before.api()
    request = pb.UpdateAlertSettingsRequest(
        settings=pb.AlertSettings(url="https://ops.example.com/alerts")
    )
    secret = (await api.UpdateAlertSettings(request)).settings.signing_secret
    await before.app.stop()

    env = {
        "HOOKSMITH_DATABASE_URL": database_url,
        "HOOKSMITH_SECRET_KEY": b64(NEW_KEY),
        "HOOKSMITH_SECRET_KEYS_OLD": b64(SECRET_KEY),
    }
    code, out, err = await run("secrets rotate-key", env)
    assert code == 0, err
    new_id, old_id = crypto.key_id(NEW_KEY), crypto.key_id(SECRET_KEY)
    assert f"key {old_id} seals nothing any more" in out
    assert [s.startswith(crypto.prefix(new_id)) for s in await stored_secrets(database_url)] == [
        True
    ]
    assert await raw.key_ids(database_url) == [new_id]

    # A server with the new key alone opens it: the same secret as before.
    after = await start_server(secret_key=NEW_KEY)
    api = await after.api()
    got = (await api.GetAlertSettings(pb.GetAlertSettingsRequest())).settings
    assert got.signing_secret == secret
