"""Through the API, a server with no allow-list refuses internal targets without connecting."""

from __future__ import annotations

import pytest

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.history import create
from tests.harness.network import Listener
from tests.harness.protos import recipients, struct


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
    start_server, listener: Listener, host: str
) -> None:
    server = await start_server(egress_allow=())
    api = await server.api()
    webhook = await create(api, f"http://{host}:{listener.port}/hook")
    out = await api.SendTest(
        pb.SendTestRequest(webhook_id=webhook.id, recipients=recipients(1), data=struct(text="x"))
    )
    (message,) = out.messages
    assert message.status == pb.MESSAGE_STATUS_FAILED
    assert "blocked" in message.error
    assert message.attempt_count == 1
    assert listener.connections == 0
