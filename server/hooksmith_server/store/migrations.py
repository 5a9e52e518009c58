"""Numbered `.sql` migrations applied in order under an advisory lock.

Files are `migrations/NNNN_name.sql`. Each runs in its own transaction and is
recorded in `hooksmith_migrations`; the advisory lock lets many processes start
at once against one database and still apply each migration exactly once.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

from hooksmith_server.store.retention import DAYS_AHEAD

log = logging.getLogger(__name__)

# An arbitrary constant: the advisory lock key that serialises migrators.
_LOCK_KEY = 0x686F6F6B  # "hook"
_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    """Every migration shipped with the package, in order."""
    folder = resources.files(__package__).joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        m = _FILE.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1, 2, 3, ... without gaps: {versions}")
    return found


async def apply(conn: asyncpg.Connection) -> list[Migration]:
    """Apply the migrations this database lacks; returns those applied."""
    applied: list[Migration] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS hooksmith_migrations (
                   version    integer PRIMARY KEY,
                   name       text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM hooksmith_migrations")}
        shipped = available()
        unknown = done - {m.version for m in shipped}
        if unknown:
            raise RuntimeError(
                f"the database has migrations this version does not know: {sorted(unknown)}; "
                "is an older server running against a newer database?"
            )
        for migration in shipped:
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO hooksmith_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            log.info("applied migration %04d_%s", migration.version, migration.name)
            applied.append(migration)
        await _ensure_partitions(conn)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    return applied


async def _ensure_partitions(conn: asyncpg.Connection) -> None:
    """Today's daily partitions of messages and attempts and those of the days ahead
    (retention makes them too; a server that has been stopped for days starts with its own)."""
    if await conn.fetchval("SELECT to_regproc('hooksmith_ensure_partitions') IS NOT NULL"):
        await conn.execute(
            "SELECT hooksmith_ensure_partitions(today, today + $1::int)"
            " FROM (SELECT (now() AT TIME ZONE 'UTC')::date AS today) t",
            DAYS_AHEAD,
        )
