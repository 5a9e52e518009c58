"""Secrets at rest: what is sealed where, the start-up key check, and re-sealing.

Signing secrets (`signing_secrets.secret`), the values of headers marked secret (in
`webhook_versions.spec`, where a secret header keeps `name` and `secret` and its value
moves from `value` to `sealed`) and the secret of a spec's `auth` (its password, token
or client secret moves to `auth.sealed`) are stored as `crypto` envelopes. Each envelope
is bound to its place: the workspace, webhook, version, header position and name of a
header value; the workspace, webhook, version and method of an auth secret; the
workspace and webhook of a signing secret. The catalog seals on write and
opens on read, so every layer above the store sees plain values. A workspace's alert
signing secret (`alert_settings.signing_secret`) is sealed the same way, bound to its
workspace.

`secret_keys` lists the keys values are sealed with, each with a known text sealed
under it. `check_keys` runs before a process serves: a listed key it lacks, or a key
whose check does not open, stops the start with one clear error rather than letting
garbage reach a receiver. `reseal` seals under the current key whatever is not yet
(values left in plain text by an older version, values under older keys), a batch of
rows per short transaction, so it runs beside live servers.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from hooksmith_server.store import codec, crypto
from hooksmith_server.store.db import Connection, Database
from hooksmith_server.store.queries import Queries

log = logging.getLogger(__name__)

BATCH = 200
"""Rows re-sealed per transaction: each holds its row locks for milliseconds."""

_KEY_CHECK = "hooksmith secret key check"
_q = Queries("sealing.sql")


def _secret_place(workspace_id: uuid.UUID, webhook_id: uuid.UUID) -> str:
    return f"hooksmith/signing-secret/{workspace_id}/{webhook_id}"


def _header_place(
    workspace_id: uuid.UUID, webhook_id: uuid.UUID, version: int, index: int, name: str
) -> str:
    return f"hooksmith/header/{workspace_id}/{webhook_id}/{version}/{index}/{name}"


def _auth_place(workspace_id: uuid.UUID, webhook_id: uuid.UUID, version: int, method: str) -> str:
    return f"hooksmith/auth/{workspace_id}/{webhook_id}/{version}/{method}"


def _auth_what(webhook_id: uuid.UUID, version: int, method: str) -> str:
    field = codec.AUTH_SECRET_FIELDS[method]
    return f"the {field} of the {method} auth of webhook {webhook_id} version {version}"


def _alert_place(workspace_id: uuid.UUID) -> str:
    return f"hooksmith/alert-secret/{workspace_id}"


def _check_place(kid: str) -> str:
    return f"hooksmith/key-check/{kid}"


class Sealer:
    """Seals and opens the secrets of the catalog's rows with one keyring."""

    def __init__(self, keyring: crypto.Keyring) -> None:
        self.keyring = keyring

    async def hold_key(self, conn: Connection) -> None:
        """Call in every transaction that seals: the current key stays listed until it ends.

        `rotate-key` removes a key only when nothing is sealed with it; holding the key's
        row keeps that check from racing a write. A key removed meanwhile is listed again.
        """
        kid = self.keyring.current_id
        while await conn.fetchval(_q.hold_key, kid) is None:
            check = self.keyring.seal(_KEY_CHECK, _check_place(kid))
            await conn.execute(_q.register_key, kid, check)

    def seal_secret(self, workspace_id: uuid.UUID, webhook_id: uuid.UUID, secret: str) -> str:
        return self.keyring.seal(secret, _secret_place(workspace_id, webhook_id))

    def open_secret(self, workspace_id: uuid.UUID, webhook_id: uuid.UUID, stored: str) -> str:
        return self.keyring.open(
            stored,
            _secret_place(workspace_id, webhook_id),
            f"the signing secret of webhook {webhook_id}",
        )

    def seal_alert_secret(self, workspace_id: uuid.UUID, secret: str) -> str:
        return self.keyring.seal(secret, _alert_place(workspace_id))

    def open_alert_secret(self, workspace_id: uuid.UUID, stored: str) -> str:
        what = f"the alert signing secret of workspace {workspace_id}"
        return self.keyring.open(stored, _alert_place(workspace_id), what)

    def seal_spec(
        self,
        workspace_id: uuid.UUID,
        webhook_id: uuid.UUID,
        version: int,
        spec: dict[str, Any],
    ) -> dict[str, Any]:
        """`spec` (as `codec.spec_to_json` made it) with its secret header values sealed."""
        headers = []
        for index, header in enumerate(spec.get("headers", [])):
            if header.get("secret") and "value" in header:
                place = _header_place(workspace_id, webhook_id, version, index, header["name"])
                header = {
                    "name": header["name"],
                    "sealed": self.keyring.seal(header["value"], place),
                    "secret": True,
                }
            headers.append(header)
        sealed = {**spec, "headers": headers}
        auth = spec.get("auth")
        if auth and "sealed" not in auth:
            method = auth["method"]
            field = codec.AUTH_SECRET_FIELDS[method]
            place = _auth_place(workspace_id, webhook_id, version, method)
            kept = {k: v for k, v in auth.items() if k != field}
            sealed["auth"] = {**kept, "sealed": self.keyring.seal(auth[field], place)}
        return sealed

    def open_spec(
        self,
        workspace_id: uuid.UUID,
        webhook_id: uuid.UUID,
        version: int,
        spec: dict[str, Any],
    ) -> dict[str, Any]:
        """`spec` as stored, with its secret header values opened for `codec.spec_from_json`.

        A secret header stored in plain text is refused like a value that does not open.
        """
        headers = []
        for index, header in enumerate(spec.get("headers", [])):
            if header.get("secret"):
                name = header["name"]
                value = self.keyring.open(
                    header.get("sealed", header.get("value", "")),
                    _header_place(workspace_id, webhook_id, version, index, name),
                    f"the value of secret header {name!r} of webhook {webhook_id} "
                    f"version {version}",
                )
                header = {"name": name, "value": value, "secret": True}
            headers.append(header)
        opened = {**spec, "headers": headers}
        auth = spec.get("auth")
        if auth:
            method = auth["method"]
            field = codec.AUTH_SECRET_FIELDS[method]
            value = self.keyring.open(
                auth.get("sealed", auth.get(field, "")),
                _auth_place(workspace_id, webhook_id, version, method),
                _auth_what(webhook_id, version, method),
            )
            kept = {k: v for k, v in auth.items() if k not in ("sealed", field)}
            opened["auth"] = {**kept, field: value}
        return opened


async def check_keys(db: Database, keyring: crypto.Keyring, *, hint: str = "") -> None:
    """Refuse to go on unless `keyring` opens every key the database lists; then list
    the current key. Raises `crypto.SecretKeyError` naming the missing keys by id.

    `hint` ends the error (where the key of this installation is kept).
    """
    async with db.connection() as conn:
        rows = await conn.fetch(_q.key_rows)
    missing = [r["key_id"] for r in rows if r["key_id"] not in keyring.ids]
    if missing:
        ids = ", ".join(missing)
        raise crypto.SecretKeyError(
            f"the database holds secrets sealed with key {ids}, which neither "
            f"HOOKSMITH_SECRET_KEY (key {keyring.current_id}) nor HOOKSMITH_SECRET_KEYS_OLD "
            f"holds: start with the key they were sealed with{hint}"
        )
    for row in rows:
        keyring.open(
            row["key_check"],
            _check_place(row["key_id"]),
            f"the check value of key {row['key_id']} in table secret_keys",
        )
    async with db.transaction() as conn:
        await Sealer(keyring).hold_key(conn)


async def seal_plaintext(db: Database, keyring: crypto.Keyring) -> int:
    """Seal the values an older version left in plain text, once after the upgrade."""
    async with db.connection() as conn:
        left = await conn.fetchval(_q.plaintext_left)
    if not left:
        return 0
    sealed = await reseal(db, keyring, only_plaintext=True)
    async with db.connection() as conn:
        await conn.execute(_q.plaintext_sealed)
    if sealed:
        log.info("sealed %d secret value(s) stored in plain text by an older version", sealed)
    return sealed


async def reseal(db: Database, keyring: crypto.Keyring, *, only_plaintext: bool = False) -> int:
    """Seal under the current key every value that is not yet; returns how many.

    With `only_plaintext`, values already sealed (under any key) are left as they are.
    """
    keep = crypto.prefix() if only_plaintext else crypto.prefix(keyring.current_id)
    sealer = Sealer(keyring)
    secrets = await _in_batches(db, sealer, _q.secrets_to_seal, keep, _reseal_secrets)
    versions = await _in_batches(db, sealer, _q.versions_to_seal, keep, _reseal_versions)
    return secrets + versions + await _reseal_alert_secrets(db, sealer, keep)


Batch = Callable[[Connection, Sealer, list[Any]], Awaitable[int]]


async def _in_batches(db: Database, sealer: Sealer, query: str, keep: str, work: Batch) -> int:
    done = 0
    after: tuple[Any, Any, Any] = (None, None, None)
    while True:
        async with db.transaction() as conn:
            rows = await conn.fetch(query, keep, *after, BATCH)
            if not rows:
                return done
            await sealer.hold_key(conn)
            done += await work(conn, sealer, rows)
        last = rows[-1]
        after = (last[0], last[1], last[2])


async def _reseal_secrets(conn: Connection, sealer: Sealer, rows: list[Any]) -> int:
    updates = []
    for r in rows:
        stored: str = r["secret"]
        if crypto.envelope_key_id(stored) is None:
            plain = stored  # left by a version before secrets were sealed
        else:
            plain = sealer.open_secret(r["workspace_id"], r["webhook_id"], stored)
        sealed = sealer.seal_secret(r["workspace_id"], r["webhook_id"], plain)
        updates.append((r["workspace_id"], r["webhook_id"], r["create_time"], sealed))
    await conn.executemany(_q.update_secret, updates)
    return len(updates)


async def _reseal_versions(conn: Connection, sealer: Sealer, rows: list[Any]) -> int:
    current = crypto.prefix(sealer.keyring.current_id)
    count = 0
    updates = []
    for r in rows:
        ws, hook, version = r["workspace_id"], r["webhook_id"], r["version"]
        spec: dict[str, Any] = r["spec"]
        headers = []
        for index, h in enumerate(spec.get("headers", [])):
            if h.get("secret") and not h.get("sealed", "").startswith(current):
                place = _header_place(ws, hook, version, index, h["name"])
                if "sealed" in h:
                    what = f"the value of secret header {h['name']!r} of webhook {hook}"
                    plain = sealer.keyring.open(h["sealed"], place, f"{what} version {version}")
                else:
                    plain = h["value"]  # left by a version before secrets were sealed
                h = {"name": h["name"], "sealed": sealer.keyring.seal(plain, place), "secret": True}
                count += 1
            headers.append(h)
        resealed = {**spec, "headers": headers}
        auth = spec.get("auth")
        if auth and not auth.get("sealed", "").startswith(current):
            method = auth["method"]
            field = codec.AUTH_SECRET_FIELDS[method]
            place = _auth_place(ws, hook, version, method)
            if "sealed" in auth:
                plain = sealer.keyring.open(
                    auth["sealed"], place, _auth_what(hook, version, method)
                )
            else:
                plain = auth[field]  # written in plain text
            kept = {k: v for k, v in auth.items() if k not in ("sealed", field)}
            resealed["auth"] = {**kept, "sealed": sealer.keyring.seal(plain, place)}
            count += 1
        updates.append((ws, hook, version, resealed))
    await conn.executemany(_q.update_spec, updates)
    return count


async def _reseal_alert_secrets(db: Database, sealer: Sealer, keep: str) -> int:
    """Alert signing secrets not sealed under an envelope starting with `keep`."""
    done = 0
    after: uuid.UUID | None = None
    while True:
        async with db.transaction() as conn:
            rows = await conn.fetch(_q.alert_secrets_to_seal, keep, after, BATCH)
            if not rows:
                return done
            await sealer.hold_key(conn)
            updates = []
            for r in rows:
                stored: str = r["signing_secret"]
                plain = sealer.open_alert_secret(r["workspace_id"], stored)
                updates.append(
                    (r["workspace_id"], sealer.seal_alert_secret(r["workspace_id"], plain))
                )
            await conn.executemany(_q.update_alert_secret, updates)
            done += len(updates)
        after = rows[-1]["workspace_id"]


@dataclass
class Rotation:
    """What `rotate` did."""

    key_id: str
    resealed: int
    retired: list[str] = field(default_factory=list)
    still_used: dict[str, int] = field(default_factory=dict)


async def rotate(db: Database, keyring: crypto.Keyring, *, hint: str = "") -> Rotation:
    """Seal everything under the current key, then drop the keys nothing uses any more.

    A key some value is still sealed with (a process still sealing with it wrote it
    meanwhile) is kept and reported in `still_used`.
    """
    await check_keys(db, keyring, hint=hint)
    done = Rotation(keyring.current_id, await reseal(db, keyring))
    async with db.connection() as conn:
        rows = await conn.fetch(_q.key_rows)
    for row in rows:
        kid = row["key_id"]
        if kid == keyring.current_id:
            continue
        async with db.transaction() as conn:
            await conn.fetchval(_q.lock_key, kid)
            left: int = await conn.fetchval(_q.count_sealed_with, crypto.prefix(kid))
            if left:
                done.still_used[kid] = left
            else:
                await conn.execute(_q.delete_key, kid)
                done.retired.append(kid)
    return done
