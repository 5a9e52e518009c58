"""Shared fixtures: a real PostgreSQL (embedded unless HOOKSMITH_TEST_DATABASE_URL is set),
one freshly migrated database per test cloned from a template, real gRPC servers over it,
and real HTTP receivers. The servers and receivers themselves are in `tests.harness`."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from hooksmith_server.app import migrate
from hooksmith_server.store import embedded
from tests.harness.receiver import StartReceiver, receivers
from tests.harness.server import Api, Running, StartServer, servers


@pytest.fixture(scope="session")
def pg_admin_dsn(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A DSN on a server where tests may create databases."""
    url = os.environ.get("HOOKSMITH_TEST_DATABASE_URL")
    if url:
        return url
    return embedded.start(Path(tmp_path_factory.mktemp("embedded")))


async def _admin(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def template_db(pg_admin_dsn: str) -> AsyncIterator[str]:
    """A migrated database that each test's database is cloned from."""
    name = f"hooksmith_tmpl_{os.getpid()}"
    await _admin(pg_admin_dsn, f'DROP DATABASE IF EXISTS "{name}"')
    await _admin(pg_admin_dsn, f'CREATE DATABASE "{name}"')
    await migrate(embedded.with_database(pg_admin_dsn, name))
    yield name
    await _admin(pg_admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def database_url(pg_admin_dsn: str, template_db: str) -> AsyncIterator[str]:
    """A DSN of a fresh, migrated database of this test's own."""
    name = f"hooksmith_t_{uuid.uuid4().hex[:12]}"
    await _admin(pg_admin_dsn, f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    yield embedded.with_database(pg_admin_dsn, name)
    await _admin(pg_admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def start_server(database_url: str) -> AsyncIterator[StartServer]:
    """Start servers with custom settings; all are stopped after the test."""
    async with servers(database_url) as start:
        yield start


@pytest.fixture
async def server(start_server: StartServer) -> Running:
    return await start_server()


@pytest.fixture
async def api(server: Running) -> Api:
    """A console-scope client of workspace `acme`."""
    return await server.api()


@pytest.fixture
async def start_receiver() -> AsyncIterator[StartReceiver]:
    """Start loopback receivers answering by a behaviour or by `routes` `{path: handler}`;
    every request is recorded first, and all are released and stopped after the test."""
    async with receivers() as start:
        yield start
