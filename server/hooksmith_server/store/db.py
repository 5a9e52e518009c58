"""The connection pool, and translation of driver errors at the store boundary.

The `Database` owns its pool: it is created by the composition root, passed to
repositories, and closed by the root at shutdown. Repositories borrow a
connection for one unit of work through `connection()` or `transaction()`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeAlias
from urllib.parse import parse_qs, urlsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from hooksmith_server import errors

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    Connection: TypeAlias = PoolConnectionProxy[asyncpg.Record]
else:
    Connection = PoolConnectionProxy

# Errors that mean "the database is not reachable right now", not "bad request": the
# connection broke (OSError, PostgresConnectionError and its ConnectionDoesNotExistError),
# the driver lost track of a broken connection's state (InterfaceError,
# InternalClientError), the server is starting, stopping or crashed (the
# OperatorInterventionError family: CannotConnectNow, AdminShutdown, CrashShutdown,
# QueryCanceled) or out of a resource (InsufficientResourcesError: disk full, out of
# memory, too many connections).
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.OperatorInterventionError,
    asyncpg.InsufficientResourcesError,
)
# What connecting can end in besides those: a database, role or password the server
# does not know, or a URL that is not one.
_REFUSALS: tuple[type[BaseException], ...] = (
    *UNAVAILABLE_ERRORS,
    asyncpg.InvalidCatalogNameError,
    asyncpg.InvalidAuthorizationSpecificationError,
    ValueError,
)


COMMAND_TIMEOUT = 30.0
"""Seconds one statement may take before it counts as lost (UNAVAILABLE): a connection
that broke without either side noticing must not hold its caller forever. Every query
here is bounded far below it (retention deletes in small batches)."""
ACQUIRE_TIMEOUT = 10.0
"""Seconds a unit of work may wait for a pool connection (a free one, or a new one opened)
before it counts as UNAVAILABLE: no caller, recorder or claim waits on the pool forever."""
RELEASE_TIMEOUT = 5.0
"""Seconds a connection may take to go back to the pool before it is closed instead."""
_PING_ERRORS: tuple[type[BaseException], ...] = (TimeoutError, *UNAVAILABLE_ERRORS)


def describe(error: BaseException) -> str:
    """The first line of a driver error's message, or its type when it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def where(dsn: str) -> str:
    """`host:port/database` of a DSN, without its user or password."""
    try:
        parts = urlsplit(dsn)
        query = parse_qs(parts.query)
        host = parts.hostname or (query.get("host") or ["localhost"])[0]
        port = parts.port or (query.get("port") or ["5432"])[0]
    except ValueError:
        return "the configured database"
    database = parts.path.lstrip("/") or (parts.username or "postgres")
    return f"{host}:{port}/{database}"


def cannot_connect(error: BaseException, dsn: str) -> errors.HooksmithError:
    """One line naming why PostgreSQL at `dsn` cannot be used (never the password)."""
    target = where(dsn)
    if isinstance(error, asyncpg.InvalidCatalogNameError):
        return errors.Unavailable(
            f"cannot use PostgreSQL at {target}: {describe(error)} (create it first)"
        )
    if isinstance(error, asyncpg.InvalidAuthorizationSpecificationError):
        return errors.Unavailable(f"PostgreSQL at {target} refused the login: {describe(error)}")
    if isinstance(error, ValueError) and not isinstance(error, asyncpg.InterfaceError):
        return errors.InvalidArgument(f"the database URL cannot be used: {describe(error)}")
    if isinstance(error, asyncpg.ClientConfigurationError):
        return errors.InvalidArgument(f"the database URL cannot be used: {describe(error)}")
    return errors.Unavailable(f"cannot connect to PostgreSQL at {target}: {describe(error)}")


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to reset: pool connections never change session state.

    No SET, LISTEN or advisory lock is ever taken on a pooled connection (LISTEN and
    migrations use `connect_once`), and asyncpg still rolls back an open transaction.
    Its default reset is a round trip on every release.
    """


class Database:
    """A pool of connections to one PostgreSQL database."""

    def __init__(self, pool: asyncpg.Pool, dsn: str) -> None:
        self.pool = pool
        self._dsn = dsn
        self._probe: asyncpg.Connection | None = None

    @classmethod
    async def connect(cls, dsn: str, *, min_size: int = 0, max_size: int = 10) -> Database:
        """A pool of up to `max_size` connections, opened as they are needed.

        No floor by default: asyncpg would keep reopening it through an outage, logging a
        traceback each time, while the callers' own retries already say what is wrong.
        """
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                init=_init_connection,
                reset=_keep_session,
                command_timeout=COMMAND_TIMEOUT,
            )
        except _REFUSALS as e:
            raise cannot_connect(e, dsn) from e
        return cls(pool, dsn)

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.terminate()
            self._probe = None
        await self.pool.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A connection for reads or single statements (autocommit).

        Once the block has finished, its work stands: a connection that breaks on its
        way back to the pool is closed and logged, never reported as the block's error
        (a committed Send must not answer as failed).
        """
        try:
            conn = await self.pool.acquire(timeout=ACQUIRE_TIMEOUT)
        except UNAVAILABLE_ERRORS as e:
            raise errors.Unavailable(f"database unavailable: {describe(e)}") from e
        try:
            yield conn
        except UNAVAILABLE_ERRORS as e:
            await self._release(conn)
            raise errors.Unavailable(f"database unavailable: {describe(e)}") from e
        except asyncpg.DataError as e:
            await self._release(conn)
            # A value PostgreSQL cannot hold (the API checks the known cases first).
            log.warning("value refused by the database: %s", e)
            raise errors.InvalidArgument(f"a value cannot be stored: {e}") from e
        except BaseException:
            await self._release(conn)
            raise
        await self._release(conn)

    async def _release(self, conn: Connection) -> None:
        """Return `conn` to the pool; a broken one is dropped, never an error of the caller."""
        try:
            # Bounded: a connection left waiting on a cancellation the restarted server
            # never answers would otherwise hold its caller (and its pool slot) forever.
            await self.pool.release(conn, timeout=RELEASE_TIMEOUT)
        except _PING_ERRORS as e:
            # asyncpg has terminated it already; the pool opens a new one when needed.
            log.info("dropped a broken database connection on release: %s", describe(e))

    async def ping(self, within: float) -> None:
        """Raise `errors.Unavailable` unless the database answers within `within` seconds.

        On a connection of its own, kept between pings and opened again when it broke,
        so a pool busy with work does not read as an outage.
        """
        try:
            async with asyncio.timeout(within):
                if self._probe is None or self._probe.is_closed():
                    self._probe = await asyncpg.connect(self._dsn)
                await self._probe.fetchval("SELECT 1")
        except _PING_ERRORS as e:
            if self._probe is not None:
                self._probe.terminate()
                self._probe = None
            reason = describe(e) if not isinstance(e, TimeoutError) else f"no answer in {within} s"
            raise errors.Unavailable(f"database unavailable: {reason}") from e

    async def connect_once(self) -> asyncpg.Connection:
        """A connection of its own, outside the pool (LISTEN); the caller closes it."""
        return await connect_once(self._dsn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A connection inside a transaction, committed when the block exits cleanly."""
        async with self.connection() as conn, conn.transaction():
            yield conn


async def connect_once(dsn: str) -> asyncpg.Connection:
    """A single connection outside the pool (migrations, LISTEN)."""
    try:
        conn: asyncpg.Connection = await asyncpg.connect(dsn)
    except _REFUSALS as e:
        raise cannot_connect(e, dsn) from e
    try:
        await _init_connection(conn)
    except BaseException:
        conn.terminate()
        raise
    return conn
