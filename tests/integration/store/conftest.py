from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hooksmith_server.store.db import Database


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A pool on the test's own database."""
    db = await Database.connect(database_url, max_size=4)
    yield db
    await db.close()
