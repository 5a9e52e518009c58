"""An upgrade leaves no plain text behind: values an older version stored are sealed at start."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import asyncpg
from standardwebhooks.webhooks import Webhook as Verifier

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server import domain
from hooksmith_server.delivery import signing
from hooksmith_server.store import codec, crypto, migrations
from tests.harness.history import send_one
from tests.harness.receiver import StartReceiver
from tests.harness.server import SECRET_KEY, StartServer
from tests.integration.secrets import raw

TOKEN = "Bearer sk_live_from_before_the_upgrade"
SEALING_MIGRATION = 7


async def _database_of_the_previous_version(database_url: str) -> None:
    """The schema as it was before secrets were sealed (migrations 1 to 6 only)."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        await conn.execute(
            "CREATE TABLE hooksmith_migrations (version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for migration in migrations.available()[: SEALING_MIGRATION - 1]:
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO hooksmith_migrations (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
    finally:
        await conn.close()


async def _webhook_in_plain_text(database_url: str, url: str, secret: str) -> uuid.UUID:
    """A webhook written as the previous version wrote it: everything in the clear."""
    spec = domain.WebhookSpec(
        name="old",
        url=url,
        body='{"user": "{{ userId }}"}',
        headers=(domain.Header("Authorization", TOKEN, secret=True),),
    )
    workspace, webhook, now = uuid.uuid4(), uuid.uuid4(), datetime.now(UTC)
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute("INSERT INTO workspaces (id, name) VALUES ($1, 'acme')", workspace)
            await conn.execute(
                "INSERT INTO webhooks VALUES ($1, $2, 1, 'ACTIVE', $3, $3)", workspace, webhook, now
            )
            await conn.execute(
                "INSERT INTO webhook_versions (workspace_id, webhook_id, version, spec,"
                " data_fields, create_time) VALUES ($1, $2, 1, $3::jsonb, '{}', $4)",
                workspace,
                webhook,
                json.dumps(codec.spec_to_json(spec)),
                now,
            )
            await conn.execute(
                "INSERT INTO signing_secrets (workspace_id, webhook_id, secret, create_time)"
                " VALUES ($1, $2, $3, $4)",
                workspace,
                webhook,
                secret,
                now,
            )
    finally:
        await conn.close()
    return webhook


async def test_the_first_start_after_the_upgrade_seals_every_plain_value(
    database_url: str, start_server: StartServer, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver()
    await _database_of_the_previous_version(database_url)
    secret = signing.new_secret()
    webhook_id = await _webhook_in_plain_text(database_url, receiver.url(), secret)
    assert TOKEN in await raw.dump(database_url)

    server = await start_server()

    stored = await raw.dump(database_url)
    for value in (TOKEN, "sk_live", secret, secret.removeprefix("whsec_")):
        assert value not in stored
    current = crypto.prefix(crypto.key_id(SECRET_KEY))
    assert all(s.startswith(current) for s in await raw.signing_secrets(database_url))
    [header] = await raw.secret_headers(database_url)
    assert "value" not in header
    assert header["sealed"].startswith(current)
    flag = await raw.fetch(database_url, "SELECT plaintext_left FROM secret_sealing")
    assert flag[0]["plaintext_left"] is False

    api = await server.api("acme")
    webhook = (await api.Get(pb.GetRequest(id=str(webhook_id)))).webhook
    assert webhook.signing_secret == secret
    got = await send_one(api, webhook)
    assert got.status == pb.MESSAGE_STATUS_SUCCEEDED
    (request,) = receiver.by_id()[got.id]
    assert request.header("Authorization") == TOKEN
    Verifier(secret).verify(request.body, dict(request.headers))
