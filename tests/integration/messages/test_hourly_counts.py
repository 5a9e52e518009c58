"""The console's 24-hour counts: one grouped query over a workspace's recent messages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from aiohttp import web

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server import domain
from hooksmith_server.store.history import HistoryStore
from tests.harness.history import create
from tests.harness.server import Running, StartServer


async def _tests(server: Running, workspace: str, url: str, users: int) -> pb.Webhook:
    api = await server.api(workspace)
    hook = await create(api, url, body='{"user": "{{ userId }}"}')
    await api.SendTest(
        pb.SendTestRequest(
            webhook_id=hook.id, recipients=[pb.Recipient(user_id=f"u-{i}") for i in range(users)]
        )
    )
    return hook


async def test_counts_are_grouped_by_webhook_status_and_hour_per_workspace(
    start_server: StartServer, start_receiver
) -> None:
    server = await start_server()
    receiver = await start_receiver(
        lambda request, _: web.Response(status=200 if request.path_qs == "/ok" else 500)
    )
    ok = await _tests(server, "acme", receiver.url("/ok"), 3)
    bad = await _tests(server, "acme", receiver.url("/bad"), 2)
    await _tests(server, "other", receiver.url("/ok"), 4)
    acme = (await server.api("acme")).key
    assert server.app.authenticator is not None
    caller = await server.app.authenticator.authenticate([("authorization", f"Bearer {acme}")])
    assert server.app.database is not None
    history = HistoryStore(server.app.database)

    now = datetime.now(UTC) + timedelta(seconds=1)
    counts = await history.hourly_counts(caller.workspace_id, now, 24)
    assert sorted((c.webhook_id, c.hours_ago, c.status, c.count) for c in counts) == sorted(
        [
            (uuid.UUID(ok.id), 0, domain.MessageStatus.SUCCEEDED, 3),
            (uuid.UUID(bad.id), 0, domain.MessageStatus.FAILED, 2),
        ]
    )
    # Seen from two and a half hours later they are in the third hour back; from a day
    # and more later, outside the window.
    later = await history.hourly_counts(caller.workspace_id, now + timedelta(hours=2.5), 24)
    assert {c.hours_ago for c in later} == {2}
    assert await history.hourly_counts(caller.workspace_id, now + timedelta(hours=25), 24) == []
