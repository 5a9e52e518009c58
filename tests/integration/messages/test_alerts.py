"""Operator alerts: settings, and each event arriving signed at a real receiver."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import uuid
from datetime import timedelta
from typing import Any

import grpc
from aiohttp import web
from standardwebhooks.webhooks import Webhook as Verifier

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.grpc_errors import expect_error, expect_invalid
from tests.harness.history import create, message
from tests.harness.polling import wait_until
from tests.harness.protos import recipients, seconds, struct
from tests.harness.receiver import Received, Receiver
from tests.harness.server import Api, Running, StartServer
from tests.integration.secrets.raw import execute, fetch


class Switch:
    """A receiver's health, flipped by the test: `status` while down, 200 once up."""

    def __init__(self, status: int = 503) -> None:
        self.down = True
        self.status = status

    def answer(self, _: Received, __: int) -> web.Response:
        return web.Response(status=self.status if self.down else 200)


def events(receiver: Receiver, kind: str | None = None) -> list[dict[str, Any]]:
    found = [json.loads(r.body) for r in receiver.received]
    return [e for e in found if kind is None or e["type"] == kind]


def verified(secret: str, receiver: Receiver, kind: str) -> list[dict[str, Any]]:
    """The events of type `kind`, each checked against its Standard Webhooks signature."""
    out = []
    for request in receiver.received:
        event = json.loads(request.body)
        if event["type"] != kind:
            continue
        Verifier(secret).verify(request.body, dict(request.headers))
        assert request.header("webhook-id")
        assert request.header("content-type") == "application/json"
        out.append(event)
    return out


async def set_alerts(api: Api, url: str) -> pb.AlertSettings:
    request = pb.UpdateAlertSettingsRequest(settings=pb.AlertSettings(url=url))
    return (await api.UpdateAlertSettings(request)).settings


async def test_alert_settings_are_set_kept_and_cleared(server: Running, api: Api) -> None:
    assert (await api.GetAlertSettings(pb.GetAlertSettingsRequest())).settings == (
        pb.AlertSettings()
    )
    first = await set_alerts(api, "https://ops.example.com/hooksmith")
    assert first.url == "https://ops.example.com/hooksmith"
    assert first.signing_secret.startswith("whsec_")
    moved = await set_alerts(api, "https://pager.example.com/in")
    assert moved.signing_secret == first.signing_secret, "a later set keeps the secret"
    got = (await api.GetAlertSettings(pb.GetAlertSettingsRequest())).settings
    assert got == moved

    rows = await fetch(server.database_url, "SELECT signing_secret FROM alert_settings")
    assert [r["signing_secret"] for r in rows] != [first.signing_secret]
    assert first.signing_secret.removeprefix("whsec_") not in rows[0]["signing_secret"]

    other = await server.api("globex")
    assert (await other.GetAlertSettings(pb.GetAlertSettingsRequest())).settings.url == ""
    journey = await server.api(scope="journey")
    await expect_error(
        journey.GetAlertSettings(pb.GetAlertSettingsRequest()), grpc.StatusCode.PERMISSION_DENIED
    )
    await expect_error(
        journey.UpdateAlertSettings(pb.UpdateAlertSettingsRequest()),
        grpc.StatusCode.PERMISSION_DENIED,
    )

    for bad in ("ftp://ops.example.com", "ops.example.com/x", "https://", "https://a b.com/"):
        await expect_invalid(
            api.UpdateAlertSettings(
                pb.UpdateAlertSettingsRequest(settings=pb.AlertSettings(url=bad))
            ),
            "settings.url",
        )
    assert (await set_alerts(api, "")) == pb.AlertSettings()
    assert (await api.GetAlertSettings(pb.GetAlertSettingsRequest())).settings.url == ""
    again = await set_alerts(api, "https://ops.example.com/hooksmith")
    assert again.signing_secret != first.signing_secret, "a cleared secret is not reused"


BREAKER = {"breaker_threshold": 3, "breaker_cooldown": timedelta(seconds=1)}


async def test_a_paused_and_resumed_destination_is_alerted_once_each(
    start_server: StartServer, start_receiver
) -> None:
    server = await start_server(**BREAKER)
    api = await server.api()
    alerts = await start_receiver()
    settings = await set_alerts(api, alerts.url("/alerts"))
    switch = Switch()
    receiver = await start_receiver(switch.answer)
    webhook = await create(api, receiver.url("/sms"), schedule=(0.1,) * 20)
    await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(10), data=struct(text="x"))
    )

    await wait_until(lambda: _has(alerts, "destination.paused"), timeout=20.0)
    # Failed probes pause it again, for longer, without another alert.
    await wait_until(lambda: _count(receiver, 12), timeout=20.0)
    switch.down = False
    await wait_until(lambda: _has(alerts, "destination.resumed"), timeout=30.0)

    paused = verified(settings.signing_secret, alerts, "destination.paused")
    assert len(paused) == 1
    data = paused[0]["data"]
    assert data["destination"] == "127.0.0.1"
    assert data["consecutive_failures"] >= 3
    assert data["last_error"] == "HTTP 503"
    assert data["paused_until"]
    assert paused[0]["timestamp"]
    resumed = verified(settings.signing_secret, alerts, "destination.resumed")
    assert [r["data"] for r in resumed] == [{"destination": "127.0.0.1"}]
    ids = [r.header("webhook-id") for r in alerts.received]
    assert len(set(ids)) == len(ids)


async def test_messages_that_fail_for_good_are_alerted_once_per_window_with_their_count(
    start_server: StartServer, start_receiver
) -> None:
    server = await start_server(alert_window=timedelta(seconds=3))
    api = await server.api()
    alerts = await start_receiver()
    settings = await set_alerts(api, alerts.url())
    receiver = await start_receiver(Switch(400).answer)
    webhook = await create(api, receiver.url())
    other = await server.api("globex")
    quiet = await create(other, receiver.url("/quiet"))
    await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(40), data=struct(text="x"))
    )
    # A workspace without an alert URL records nothing.
    await other.Send(
        pb.SendRequest(webhook_id=quiet.id, recipients=recipients(5), data=struct(text="x"))
    )

    await wait_until(lambda: _has(alerts, "webhook.messages_failed"), timeout=20.0)
    await asyncio.sleep(1.0)
    failed = verified(settings.signing_secret, alerts, "webhook.messages_failed")
    assert len(failed) == 1
    data = failed[0]["data"]
    assert data["webhook_id"] == webhook.id
    assert data["webhook_name"] == "test"
    assert data["failed_messages"] == 40
    assert data["sample_error"] == "HTTP 400"
    assert data["window_start"] < data["window_end"]
    sample = await message(api, data["sample_message_id"])
    assert sample.status == pb.MESSAGE_STATUS_FAILED
    rows = await fetch(server.database_url, "SELECT workspace_id, type FROM alert_events")
    assert len(rows) == 1

    # The next failures open a new window: one more event, with their count alone.
    await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(3), data=struct(text="x"))
    )
    await wait_until(lambda: _count_events(alerts, "webhook.messages_failed", 2), timeout=20.0)
    second = verified(settings.signing_secret, alerts, "webhook.messages_failed")[1]
    assert second["data"]["failed_messages"] == 3


async def test_a_webhook_failing_past_disable_after_is_disabled_alerted_and_recovered(
    server: Running, api: Api, start_receiver
) -> None:
    alerts = await start_receiver()
    settings = await set_alerts(api, alerts.url())
    switch = Switch(500)
    receiver = await start_receiver(switch.answer)
    spec = pb.WebhookSpec(
        name="sms",
        url=receiver.url(),
        body='{"text": "{{ text }}"}',
        policy=pb.DeliveryPolicy(retry_schedule=[seconds(1.0)] * 3),
    )
    spec.policy.disable_after.FromTimedelta(timedelta(hours=1))
    webhook = (await api.Create(pb.CreateRequest(spec=spec))).webhook
    assert webhook.spec.policy.disable_after.ToTimedelta() == timedelta(hours=1)

    first = await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(1), data=struct(text="x"))
    )
    await wait_until(lambda: _count(receiver, 1), timeout=10.0)

    async def failing_since() -> Any:
        rows = await fetch(
            server.database_url,
            "SELECT failing_since FROM webhooks WHERE id = $1",
            uuid.UUID(webhook.id),
        )
        return rows[0]["failing_since"]

    await wait_until(lambda: _is_set(failing_since), timeout=10.0)
    # The run began two hours ago, as far as the server knows.
    await execute(
        server.database_url,
        "UPDATE webhooks SET failing_since = now() - interval '2 hours' WHERE id = $1",
        uuid.UUID(webhook.id),
    )
    second = await api.Send(
        pb.SendRequest(
            webhook_id=webhook.id, recipients=recipients(1, "later"), data=struct(text="x")
        )
    )

    async def disabled() -> bool:
        got = (await api.Get(pb.GetRequest(id=webhook.id))).webhook
        return got.state == pb.WEBHOOK_STATE_DISABLED

    await wait_until(disabled, timeout=15.0)
    got = (await api.Get(pb.GetRequest(id=webhook.id))).webhook
    assert "every attempt failed since" in got.state_reason
    assert "(disable_after 1h)" in got.state_reason
    assert got.state_reason.endswith("last error: HTTP 500")
    listed = (await api.List(pb.ListRequest())).webhooks
    assert [w.state for w in listed] == [pb.WEBHOOK_STATE_DISABLED]

    await wait_until(lambda: _has(alerts, "webhook.disabled"), timeout=15.0)
    event = verified(settings.signing_secret, alerts, "webhook.disabled")[0]
    assert event["data"]["webhook_id"] == webhook.id
    assert event["data"]["reason"] == got.state_reason
    assert event["data"]["disable_after"] == "1h"

    # Pending messages are failed at their next claim, without a request.
    ids = [first.message_ids[0], second.message_ids[0]]
    for mid in ids:

        async def failed(mid: str = mid) -> bool:
            return (await message(api, mid)).status == pb.MESSAGE_STATUS_FAILED

        await wait_until(failed, timeout=15.0)
        m = await message(api, mid)
        assert m.error.startswith("failed: the webhook is disabled, so no request was made")
        assert got.state_reason in m.error
    requests = len(receiver.received)

    await asyncio.sleep(1.1)  # past the process's cache of the webhook's head
    error = await expect_error(
        api.Send(
            pb.SendRequest(webhook_id=webhook.id, recipients=recipients(1), data=struct(text="x"))
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert "disabled" in (error.details() or "")
    assert got.state_reason in (error.details() or "")
    await expect_error(
        api.SendTest(
            pb.SendTestRequest(
                webhook_id=webhook.id, recipients=recipients(1), data=struct(text="x")
            )
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert len(receiver.received) == requests

    # Update enables it again; RetryFailed recovers what the disabled webhook failed.
    switch.down = False
    updated = (
        await api.Update(
            pb.UpdateRequest(
                id=webhook.id,
                spec=pb.WebhookSpec(description="fixed"),
                update_mask={"paths": ["description"]},
            )
        )
    ).webhook
    assert updated.state == pb.WEBHOOK_STATE_ACTIVE
    assert updated.state_reason == ""
    assert await failing_since() is None
    first_created = (await message(api, ids[0])).create_time
    end = (await message(api, ids[1])).create_time
    end.FromNanoseconds(end.ToNanoseconds() + 1_000_000)
    retried = await api.RetryFailed(
        pb.RetryFailedRequest(webhook_id=webhook.id, start_time=first_created, end_time=end)
    )
    assert retried.retried_messages == 2
    for mid in ids:

        async def succeeded(mid: str = mid) -> bool:
            return (await message(api, mid)).status == pb.MESSAGE_STATUS_SUCCEEDED

        await wait_until(succeeded, timeout=15.0)


async def test_disable_after_is_checked(api: Api) -> None:
    for value in (timedelta(minutes=59), timedelta(days=91)):
        spec = pb.WebhookSpec(name="x", url="https://example.com/")
        spec.policy.disable_after.FromTimedelta(value)
        await expect_invalid(
            api.Create(pb.CreateRequest(spec=spec)),
            "spec.policy.disable_after",
            "at least 1 hour and at most 90 days",
        )
    spec = pb.WebhookSpec(name="x", url="https://example.com/")
    spec.policy.disable_after.FromTimedelta(timedelta(hours=72))
    webhook = (await api.Create(pb.CreateRequest(spec=spec))).webhook
    patch = pb.WebhookSpec()
    updated = (
        await api.Update(
            pb.UpdateRequest(
                id=webhook.id, spec=patch, update_mask={"paths": ["policy.disable_after"]}
            )
        )
    ).webhook
    assert not updated.spec.policy.HasField("disable_after")


async def test_an_alert_url_the_egress_guard_refuses_gets_nothing(
    start_server: StartServer, start_receiver
) -> None:
    # Only the webhook's receiver is allowed; the alert URL is a private address that is not.
    server = await start_server(
        alert_window=timedelta(seconds=1),
        egress_allow=(ipaddress.ip_network("127.0.0.1/32"),),
    )
    api = await server.api()
    alerts = await start_receiver()
    await set_alerts(api, f"http://127.0.0.2:{alerts.port}/alerts")
    receiver = await start_receiver(Switch(400).answer)
    webhook = await create(api, receiver.url())
    await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(2), data=struct(text="x"))
    )

    async def refused() -> bool:
        rows = await fetch(server.database_url, "SELECT attempts, last_error FROM alert_events")
        return bool(rows) and rows[0]["attempts"] >= 1 and rows[0]["last_error"] is not None

    await wait_until(refused, timeout=20.0)
    rows = await fetch(
        server.database_url, "SELECT last_error, next_attempt_time FROM alert_events"
    )
    assert "egress to 127.0.0.2" in rows[0]["last_error"]
    assert "blocked" in rows[0]["last_error"]
    assert rows[0]["next_attempt_time"] is not None, "retried later, not dropped"
    assert alerts.received == []


async def _is_set(read: Any) -> bool:
    return await read() is not None


async def _has(receiver: Receiver, kind: str) -> bool:
    return bool(events(receiver, kind))


async def _count_events(receiver: Receiver, kind: str, n: int) -> bool:
    return len(events(receiver, kind)) >= n


async def _count(receiver: Receiver, n: int) -> bool:
    return len(receiver.received) >= n


async def _workspace_id(server: Running) -> Any:
    rows = await fetch(server.database_url, "SELECT workspace_id FROM alert_settings")
    return rows[0]["workspace_id"]


INSERT_EVENTS = """
INSERT INTO alert_events (id, workspace_id, type, data, create_time, next_attempt_time)
SELECT gen_random_uuid(), $1, 'destination.resumed',
       jsonb_build_object('destination', 'host-' || n), now() - $3::interval, now()
FROM generate_series(1, $2) AS n
"""


async def test_two_processes_send_each_event_once(
    start_server: StartServer, start_receiver
) -> None:
    first = await start_server()
    second = await start_server()
    api = await first.api()
    alerts = await start_receiver()
    settings = await set_alerts(api, alerts.url())
    await execute(first.database_url, INSERT_EVENTS, await _workspace_id(first), 300, timedelta(0))

    await wait_until(lambda: _count(alerts, 300), timeout=30.0)
    await asyncio.sleep(1.0)
    ids = [r.header("webhook-id") for r in alerts.received]
    assert len(ids) == 300
    assert len(set(ids)) == 300
    sent = verified(settings.signing_secret, alerts, "destination.resumed")
    assert sorted(e["data"]["destination"] for e in sent) == sorted(
        f"host-{n}" for n in range(1, 301)
    )
    rows = await fetch(
        second.database_url, "SELECT count(*) AS n FROM alert_events WHERE finish_time IS NULL"
    )
    assert rows[0]["n"] == 0


async def test_a_failing_alert_url_is_retried_later_and_given_up_after_a_day(
    server: Running, api: Api, start_receiver
) -> None:
    alerts = await start_receiver(Switch(500).answer)
    await set_alerts(api, alerts.url())
    workspace_id = await _workspace_id(server)
    await execute(server.database_url, INSERT_EVENTS, workspace_id, 1, timedelta(0))
    await execute(server.database_url, INSERT_EVENTS, workspace_id, 1, timedelta(hours=25))

    async def both_tried() -> bool:
        rows = await fetch(server.database_url, "SELECT attempts FROM alert_events")
        return all(r["attempts"] == 1 for r in rows) and len(alerts.received) == 2

    await wait_until(both_tried, timeout=15.0)
    await asyncio.sleep(0.5)
    rows = await fetch(
        server.database_url,
        "SELECT create_time < now() - interval '1 day' AS old, last_error, attempts,"
        " next_attempt_time - now() AS wait, finish_time FROM alert_events ORDER BY old",
    )
    fresh, old = rows
    assert fresh["last_error"] == "HTTP 500"
    assert timedelta(seconds=2) < fresh["wait"] <= timedelta(seconds=5)
    assert fresh["finish_time"] is None
    assert old["last_error"] == "HTTP 500"
    assert old["wait"] is None, "given up: not attempted again"
    assert old["finish_time"] is not None
    assert len(alerts.received) == 2


async def test_purge_user_erases_a_sample_error_an_alert_quotes(
    server: Running, api: Api, start_receiver
) -> None:
    await set_alerts(api, (await start_receiver()).url())
    receiver = await start_receiver(Switch(400).answer)
    webhook = await create(api, receiver.url())
    sent = await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(1), data=struct(text="x"))
    )
    [failed_id] = sent.message_ids

    async def alert_open() -> bool:
        return bool(await fetch(server.database_url, "SELECT 1 FROM alert_events"))

    # The window is the default 10 minutes: the event waits, quoting the message's error.
    await wait_until(alert_open, timeout=20.0)
    query = "SELECT sample_error, sample_message_id::text AS mid, failed_count FROM alert_events"
    [before] = await fetch(server.database_url, query)
    assert (before["sample_error"], before["mid"]) == ("HTTP 400", failed_id)

    user = (await message(api, failed_id)).user_id
    assert (await api.PurgeUser(pb.PurgeUserRequest(user_id=user))).purged_messages == 1
    [after] = await fetch(server.database_url, query)
    assert after["sample_error"] is None
    assert after["failed_count"] == before["failed_count"] == 1
