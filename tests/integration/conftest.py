"""Fixtures shared by the integration tests of the sender and of the message API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.harness.network import Listener, listening


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    """A TCP listener on 127.0.0.1 that counts connections and closes each at once."""
    async with listening() as counter:
        yield counter
