"""Migrations: applied once, in order, even when many processes start together."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import asyncpg
import pytest

from hooksmith_server.app import migrate
from hooksmith_server.store import migrations


async def test_concurrent_migrators_apply_each_migration_once(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        # Start from an empty schema, as a brand-new database would be.
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()

    results = await asyncio.gather(*(migrate(database_url) for _ in range(4)))

    applied = sorted(len(r) for r in results)
    assert applied == [0, 0, 0, len(migrations.available())]
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT version FROM hooksmith_migrations ORDER BY version")
    finally:
        await conn.close()
    assert [r["version"] for r in rows] == [m.version for m in migrations.available()]


async def test_migrate_command_reports_what_it_did(database_url: str) -> None:
    env = {**os.environ, "HOOKSMITH_DATABASE_URL": database_url}

    def run() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "hooksmith_server", "migrate"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    assert await asyncio.to_thread(run) == "database is up to date"


async def test_a_database_ahead_of_the_code_is_refused(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("INSERT INTO hooksmith_migrations (version, name) VALUES (999, 'x')")
        with pytest.raises(RuntimeError, match="999"):
            await migrations.apply(conn)
    finally:
        await conn.close()
