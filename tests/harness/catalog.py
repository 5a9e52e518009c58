"""Workspaces and webhooks made straight in the store, for tests below the API."""

from __future__ import annotations

import uuid

from hooksmith_server import domain
from hooksmith_server.delivery import signing
from hooksmith_server.store.catalog import WebhookStore
from hooksmith_server.store.db import Database
from hooksmith_server.store.keys import KeyStore
from tests.harness.server import keyring


async def workspace(db: Database, name: str) -> uuid.UUID:
    """The id of workspace `name`, made with a console key."""
    keys = KeyStore(db)
    caller = await keys.authenticate(await keys.create(name, domain.Scope.CONSOLE))
    assert caller is not None
    return caller.workspace_id


async def webhook(db: Database, workspace_id: uuid.UUID, url: str) -> domain.Webhook:
    """A saved webhook posting to `url`."""
    spec = domain.WebhookSpec(name="w", url=url)
    return await WebhookStore(db, keyring=keyring()).create(
        workspace_id, spec, (), signing.new_secret()
    )
