"""Through the API, a server with no allow-list refuses internal targets without connecting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hooksmith.v1 import webhooks_pb2 as pb
from tests.integration.sending.helpers import create, recipients, struct


@pytest.fixture
async def listener() -> AsyncIterator[tuple[int, list[int]]]:
    """A plain TCP listener on loopback that counts connections."""
    connections: list[int] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield port, connections
    server.close()
    await server.wait_closed()


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "2130706433",
        "0x7f000001",
        "0177.0.0.1",
        "127.1",
        "[::ffff:127.0.0.1]",
        "[::1]",
        "169.254.169.254",
        "10.0.0.1",
    ],
)
async def test_internal_targets_fail_without_a_connection(
    start_server, listener: tuple[int, list[int]], host: str
) -> None:
    port, connections = listener
    server = await start_server(egress_allow=())
    api = await server.api()
    webhook = await create(api, f"http://{host}:{port}/hook")
    out = await api.SendTest(
        pb.SendTestRequest(webhook_id=webhook.id, recipients=recipients(1), data=struct(text="x"))
    )
    (message,) = out.messages
    assert message.status == pb.MESSAGE_STATUS_FAILED
    assert "blocked" in message.error
    assert message.attempt_count == 1
    assert connections == []
