"""A `hooksmith.Client` of a real server, authenticated with a console key of `acme`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hooksmith import Client
from tests.harness.server import Api, Running


@pytest.fixture
async def client(server: Running, api: Api) -> AsyncIterator[Client]:
    async with Client(server.address, api.key) as client:
        yield client
