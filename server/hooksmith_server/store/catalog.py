"""The catalog of saved webhooks: their versions and signing secrets."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hooksmith_server import domain, errors, ids
from hooksmith_server.pagination import Position
from hooksmith_server.store import codec, sealing
from hooksmith_server.store.crypto import Keyring
from hooksmith_server.store.db import Database
from hooksmith_server.store.queries import Queries

# Turns the current spec into the new one and its data fields; raises on bad input.
SpecEdit = Callable[[domain.WebhookSpec], tuple[domain.WebhookSpec, tuple[str, ...]]]

Clock = Callable[[], datetime]
"""The current time, aware and in UTC."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def _webhook(row: Any, sealer: sealing.Sealer, workspace_id: uuid.UUID) -> domain.Webhook:
    return domain.Webhook(
        id=str(row["id"]),
        version=row["version"],
        spec=codec.spec_from_json(
            sealer.open_spec(workspace_id, row["id"], row["version"], row["spec"])
        ),
        data_fields=tuple(row["data_fields"]),
        state=domain.WebhookState(row["state"]),
        signing_secret=(
            sealer.open_secret(workspace_id, row["id"], row["signing_secret"])
            if row["signing_secret"]
            else ""
        ),
        create_time=row["create_time"],
        update_time=row["update_time"],
        created_by_key=row["created_by_key"] or "",
        state_reason=row["state_reason"] or "",
    )


class WebhookStore:
    """Webhooks, their versions and signing secrets.

    `clock` stamps rows and decides which secrets still sign: a rotation's grace period
    is a day, so tests pass a clock they move rather than wait.
    """

    def __init__(self, db: Database, *, keyring: Keyring, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock
        # Signing secrets and secret header values are sealed here and opened on read.
        self._sealer = sealing.Sealer(keyring)
        self._q = Queries("catalog.sql")

    async def create(
        self,
        workspace_id: uuid.UUID,
        spec: domain.WebhookSpec,
        data_fields: tuple[str, ...],
        secret: str,
        *,
        created_by: uuid.UUID | None = None,
    ) -> domain.Webhook:
        """Save version 1; `created_by` is the id of the API key that saved it."""
        webhook_id = ids.new()
        now = self._clock()
        async with self._db.transaction() as conn:
            await conn.execute(self._q.insert_webhook, workspace_id, webhook_id, now)
            await conn.execute(
                self._q.insert_version,
                workspace_id,
                webhook_id,
                1,
                self._sealer.seal_spec(workspace_id, webhook_id, 1, codec.spec_to_json(spec)),
                list(data_fields),
                now,
                created_by,
            )
            await self._sealer.hold_key(conn)
            sealed = self._sealer.seal_secret(workspace_id, webhook_id, secret)
            await conn.execute(self._q.insert_secret, workspace_id, webhook_id, sealed, now)
            author = await conn.fetchval(self._q.key_prefix, created_by) if created_by else None
        return domain.Webhook(
            id=str(webhook_id),
            version=1,
            spec=spec,
            data_fields=data_fields,
            state=domain.WebhookState.ACTIVE,
            signing_secret=secret,
            create_time=now,
            update_time=now,
            created_by_key=author or "",
        )

    async def get(
        self, workspace_id: uuid.UUID, webhook_id: uuid.UUID, version: int = 0
    ) -> domain.Webhook:
        async with self._db.connection() as conn:
            row = await conn.fetchrow(self._q.get_webhook, workspace_id, webhook_id, version)
        if row is None:
            if version:
                raise errors.NotFound(f"webhook {webhook_id} has no version {version}")
            raise errors.NotFound(f"webhook {webhook_id} not found")
        return _webhook(row, self._sealer, workspace_id)

    async def list(
        self, workspace_id: uuid.UUID, *, limit: int, after: Position | None, show_archived: bool
    ) -> tuple[list[domain.Webhook], Position | None]:
        """One page of at most `limit` webhooks, and the cursor of the next page if any."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(
                self._q.list_webhooks,
                workspace_id,
                show_archived,
                after.time if after else None,
                after.id if after else None,
                limit + 1,
            )
        page = [_webhook(r, self._sealer, workspace_id) for r in rows[:limit]]
        more = len(rows) > limit
        last = rows[limit - 1] if more else None
        return page, Position(last["create_time"], last["id"]) if last else None

    async def update(
        self,
        workspace_id: uuid.UUID,
        webhook_id: uuid.UUID,
        expected_version: int,
        edit: SpecEdit,
        *,
        created_by: uuid.UUID | None = None,
    ) -> domain.Webhook:
        """Save a new version made by `edit` from the latest one (by key `created_by`)."""
        async with self._db.transaction() as conn:
            # The row lock serialises concurrent updates, so versions never collide.
            head = await conn.fetchrow(self._q.lock_webhook, workspace_id, webhook_id)
            if head is None:
                raise errors.NotFound(f"webhook {webhook_id} not found")
            if head["state"] == domain.WebhookState.ARCHIVED:
                raise errors.FailedPrecondition(f"webhook {webhook_id} is archived")
            latest: int = head["latest_version"]
            if expected_version and expected_version != latest:
                raise errors.Aborted(
                    f"webhook {webhook_id} is at version {latest}, not {expected_version}; "
                    "read it again and reapply the change"
                )
            current = await conn.fetchrow(self._q.get_webhook, workspace_id, webhook_id, latest)
            assert current is not None  # the row is locked, and versions are never deleted
            opened = self._sealer.open_spec(workspace_id, webhook_id, latest, current["spec"])
            spec, data_fields = edit(codec.spec_from_json(opened))
            await self._sealer.hold_key(conn)
            now = self._clock()
            await conn.execute(
                self._q.insert_version,
                workspace_id,
                webhook_id,
                latest + 1,
                self._sealer.seal_spec(
                    workspace_id, webhook_id, latest + 1, codec.spec_to_json(spec)
                ),
                list(data_fields),
                now,
                created_by,
            )
            await conn.execute(self._q.bump_version, workspace_id, webhook_id, latest + 1, now)
            if head["state"] == domain.WebhookState.DISABLED:
                await conn.execute(self._q.enable_webhook, workspace_id, webhook_id)
            row = await conn.fetchrow(self._q.get_webhook, workspace_id, webhook_id, 0)
        return _webhook(row, self._sealer, workspace_id)

    async def archive(self, workspace_id: uuid.UUID, webhook_id: uuid.UUID) -> domain.Webhook:
        async with self._db.transaction() as conn:
            head = await conn.fetchrow(self._q.lock_webhook, workspace_id, webhook_id)
            if head is None:
                raise errors.NotFound(f"webhook {webhook_id} not found")
            if head["state"] != domain.WebhookState.ARCHIVED:
                await conn.execute(self._q.archive_webhook, workspace_id, webhook_id, self._clock())
            row = await conn.fetchrow(self._q.get_webhook, workspace_id, webhook_id, 0)
        return _webhook(row, self._sealer, workspace_id)

    async def rotate_secret(
        self, workspace_id: uuid.UUID, webhook_id: uuid.UUID, secret: str, grace: timedelta
    ) -> domain.Webhook:
        """Add `secret` as the current one; older secrets keep signing for `grace`."""
        now = self._clock()
        async with self._db.transaction() as conn:
            head = await conn.fetchrow(self._q.lock_webhook, workspace_id, webhook_id)
            if head is None:
                raise errors.NotFound(f"webhook {webhook_id} not found")
            await conn.execute(self._q.expire_secrets, workspace_id, webhook_id, now + grace)
            await self._sealer.hold_key(conn)
            sealed = self._sealer.seal_secret(workspace_id, webhook_id, secret)
            await conn.execute(self._q.insert_secret, workspace_id, webhook_id, sealed, now)
            row = await conn.fetchrow(self._q.get_webhook, workspace_id, webhook_id, 0)
        return _webhook(row, self._sealer, workspace_id)

    async def active_secrets(
        self, workspace_id: uuid.UUID, webhook_id: uuid.UUID
    ) -> tuple[str, ...]:
        """The secrets to sign with now, newest first."""
        async with self._db.connection() as conn:
            rows = await conn.fetch(self._q.active_secrets, workspace_id, webhook_id, self._clock())
        return tuple(self._sealer.open_secret(workspace_id, webhook_id, r["secret"]) for r in rows)
