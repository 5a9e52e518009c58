"""The connection pool, and translation of driver errors at the store boundary.

The `Database` owns its pool: it is created by the composition root, passed to
repositories, and closed by the root at shutdown. Repositories borrow a
connection for one unit of work through `connection()` or `transaction()`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from hooksmith_server import errors

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    Connection: TypeAlias = PoolConnectionProxy[asyncpg.Record]
else:
    Connection = PoolConnectionProxy

# Errors that mean "the database is not reachable right now", not "bad request".
_UNAVAILABLE = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
)


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

    @classmethod
    async def connect(cls, dsn: str, *, min_size: int = 1, max_size: int = 10) -> Database:
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                init=_init_connection,
                reset=_keep_session,
            )
        except _UNAVAILABLE as e:
            raise errors.Unavailable(f"cannot connect to PostgreSQL: {e}") from e
        return cls(pool, dsn)

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A connection for reads or single statements (autocommit)."""
        try:
            async with self.pool.acquire() as conn:
                yield conn
        except _UNAVAILABLE as e:
            raise errors.Unavailable(f"database unavailable: {e}") from e
        except asyncpg.DataError as e:
            # A value PostgreSQL cannot hold (the API checks the known cases first).
            log.warning("value refused by the database: %s", e)
            raise errors.InvalidArgument(f"a value cannot be stored: {e}") from e

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
    except _UNAVAILABLE as e:
        raise errors.Unavailable(f"cannot connect to PostgreSQL: {e}") from e
    try:
        await _init_connection(conn)
    except BaseException:
        conn.terminate()
        raise
    return conn
