"""Scratch databases on a PostgreSQL server: a given one, or an embedded one in a temp dir."""

from __future__ import annotations

import asyncio
import atexit
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from hooksmith_server.app import migrate
from hooksmith_server.store import embedded


async def _admin(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class Postgres:
    """A server where the benchmarks may create and drop databases.

    With `url` (HOOKSMITH_TEST_DATABASE_URL or HOOKSMITH_DATABASE_URL) that server is
    used; otherwise an embedded PostgreSQL is started in a temp dir on first use and
    stopped, and its dir removed, when the process exits.
    """

    def __init__(self, url: str | None) -> None:
        self._url = url
        self._admin_dsn: str | None = None
        self.embedded = url is None

    async def admin_dsn(self) -> str:
        if self._admin_dsn is None:
            if self._url is not None:
                self._admin_dsn = self._url
            else:
                data_dir = tempfile.mkdtemp(prefix="hooksmith-bench-")
                # atexit runs handlers last-in first-out: registered before the server
                # registers its own stop, this removal runs after the server has stopped.
                atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
                self._admin_dsn = await asyncio.to_thread(embedded.start, Path(data_dir))
        return self._admin_dsn

    @asynccontextmanager
    async def scratch(self) -> AsyncIterator[str]:
        """A DSN of a new, migrated database, dropped afterwards."""
        admin = await self.admin_dsn()
        name = f"hooksmith_bench_{uuid.uuid4().hex[:12]}"
        # CREATE DATABASE takes no parameters; the name is made here, never user input.
        await _admin(admin, f'CREATE DATABASE "{name}"')
        try:
            dsn = embedded.with_database(admin, name)
            await migrate(dsn)
            yield dsn
        finally:
            await _admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
