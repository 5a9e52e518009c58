"""Senders as the delivery workers build them, and a loopback port with nothing on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hooksmith_server.config import parse_networks
from hooksmith_server.delivery import egress
from hooksmith_server.delivery.sender import HttpSender
from tests.harness.network import free_port


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    return free_port()


async def _sender(allow: str) -> AsyncIterator[HttpSender]:
    guard = egress.EgressGuard(parse_networks(allow))
    session = HttpSender.create_session(guard)
    try:
        yield HttpSender(session, guard)
    finally:
        await session.close()


@pytest.fixture
async def sender() -> AsyncIterator[HttpSender]:
    """A sender whose allow-list admits loopback, so it can reach the test receivers."""
    async for s in _sender("127.0.0.0/8, ::1/128"):
        yield s


@pytest.fixture
async def strict_sender() -> AsyncIterator[HttpSender]:
    """A sender with an empty allow-list, as in production."""
    async for s in _sender(""):
        yield s
