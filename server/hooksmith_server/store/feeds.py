"""LISTEN feeds of ids: key revocations, finished messages' workspaces."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

import asyncpg

from hooksmith_server import errors
from hooksmith_server.store.db import Database

log = logging.getLogger(__name__)


class Feed:
    """A LISTEN over a connection of its own; the owner closes it."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._closed = asyncio.Event()
        conn.add_termination_listener(lambda _conn: self._closed.set())
        if conn.is_closed():
            self._closed.set()

    @property
    def closed(self) -> bool:
        return self._closed.is_set() or self._conn.is_closed()

    async def wait_closed(self) -> None:
        """Until the connection is gone (closed here, or lost with the database)."""
        await self._closed.wait()

    async def close(self) -> None:
        # At once: nothing is in flight on a LISTEN connection.
        self._conn.terminate()
        self._closed.set()


async def listen_for_ids(
    db: Database, channel: str, what: str, call: Callable[[uuid.UUID], None]
) -> Feed:
    """Call `call` with the id each NOTIFY on `channel` carries, until the feed closes.

    A payload that is no id is logged (as a malformed `what` notice) and ignored.
    """
    conn = await db.connect_once()

    def on_notify(_conn: object, _pid: int, _channel: str, payload: object) -> None:
        try:
            value = uuid.UUID(str(payload))
        except ValueError:
            log.warning("ignored a malformed %s notice: %r", what, payload)
            return
        call(value)

    try:
        await conn.add_listener(channel, on_notify)
    except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError) as e:
        conn.terminate()
        raise errors.Unavailable(f"cannot LISTEN on {channel}: {e}") from e
    except BaseException:
        conn.terminate()
        raise
    return Feed(conn)
