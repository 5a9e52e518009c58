"""/metrics on the admin port, scraped after real deliveries and calls."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
from aiohttp import web

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server import errors
from hooksmith_server.app import Application
from hooksmith_server.config import ConfigError, Settings
from tests.harness.history import create, wait_finished
from tests.harness.polling import wait_until
from tests.harness.protos import recipients, struct
from tests.harness.server import StartServer, settings_for_tests
from tests.integration.observability.scrape import scrape, value

ADMIN = "127.0.0.1:0"


async def test_attempts_are_counted_by_outcome_and_status_class(
    start_server: StartServer, start_receiver
) -> None:
    server = await start_server(admin_listen=ADMIN)
    api = await server.api()
    receiver = await start_receiver(
        lambda request, _: web.Response(status=200 if request.path_qs == "/ok" else 500)
    )
    healthy = await create(api, receiver.url("/ok"))
    # One retry, then failed for good: two attempts per message.
    failing = await create(api, receiver.url("/fail"), schedule=(0.05,))
    sent_ok = await api.Send(
        pb.SendRequest(webhook_id=healthy.id, recipients=recipients(3), data=struct(text="x"))
    )
    sent_fail = await api.Send(
        pb.SendRequest(webhook_id=failing.id, recipients=recipients(2), data=struct(text="x"))
    )
    await wait_finished(api, [*sent_ok.message_ids, *sent_fail.message_ids])

    samples = await scrape(server.app.admin_port)
    attempts = "hooksmith_attempts_total"
    assert value(samples, attempts, outcome="succeeded", status_class="2xx") == 3
    assert value(samples, attempts, outcome="retrying", status_class="5xx") == 2
    assert value(samples, attempts, outcome="failed", status_class="5xx") == 2
    assert value(samples, "hooksmith_attempt_duration_seconds_count", outcome="succeeded") == 3
    assert value(samples, "hooksmith_attempt_duration_seconds_count", outcome="failed") == 2
    assert value(samples, "hooksmith_messages_in_flight") == 0
    assert value(samples, "hooksmith_rpcs_total", method="Send", code="OK") == 2
    assert value(samples, "hooksmith_rpcs_total", method="Create", code="OK") == 2
    assert value(samples, "hooksmith_rpc_duration_seconds_count", method="Send") == 2
    assert value(samples, "hooksmith_render_failures_total") == 0
    # Nothing is left in the queue.
    assert value(samples, "hooksmith_queue_depth", state="due") == 0
    assert value(samples, "hooksmith_queue_depth", state="waiting") == 0


async def test_rpcs_are_counted_by_status_code_refusals_included(
    start_server: StartServer,
) -> None:
    server = await start_server(admin_listen=ADMIN)
    api = await server.api()
    missing = "00000000-0000-7000-8000-000000000000"
    for _ in range(2):
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await api.GetMessage(pb.GetMessageRequest(id=missing))
        assert e.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await api.Create(pb.CreateRequest(spec=pb.WebhookSpec(name="no url")))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # Refused by the key check before the servicer sees it.
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await server.stub.List(pb.ListRequest(), metadata=(("authorization", "Bearer nope"),))
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    await api.List(pb.ListRequest())

    samples = await scrape(server.app.admin_port)
    rpcs = "hooksmith_rpcs_total"
    assert value(samples, rpcs, method="GetMessage", code="NOT_FOUND") == 2
    assert value(samples, rpcs, method="Create", code="INVALID_ARGUMENT") == 1
    assert value(samples, rpcs, method="List", code="UNAUTHENTICATED") == 1
    assert value(samples, rpcs, method="List", code="OK") == 1
    assert value(samples, "hooksmith_rpc_duration_seconds_count", method="List") == 2


async def test_queue_depth_and_age_of_the_oldest_due_message(
    start_server: StartServer, start_receiver
) -> None:
    # No workers here: what is sent stays due.
    server = await start_server(admin_listen=ADMIN, workers=0)
    api = await server.api()
    receiver = await start_receiver()
    webhook = await create(api, receiver.url("/ok"))
    await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(5), data=struct(text="x"))
    )
    first = await scrape(server.app.admin_port)
    assert value(first, "hooksmith_queue_depth", state="due") == 5
    assert value(first, "hooksmith_queue_depth", state="waiting") == 0

    async def older() -> bool:
        samples = await scrape(server.app.admin_port)
        age = value(samples, "hooksmith_queue_oldest_due_age_seconds")
        return age > value(first, "hooksmith_queue_oldest_due_age_seconds") and age > 0.2

    await wait_until(older, timeout=10.0)
    assert not receiver.received


async def test_an_open_breaker_shows_as_a_paused_destination(
    start_server: StartServer, start_receiver
) -> None:
    server = await start_server(
        admin_listen=ADMIN, breaker_threshold=3, breaker_cooldown=timedelta(seconds=30)
    )
    api = await server.api()
    receiver = await start_receiver(lambda _, __: web.Response(status=500))
    webhook = await create(api, receiver.url("/sms"), schedule=(0.05,) * 5)
    await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(6), data=struct(text="x"))
    )

    async def paused() -> bool:
        samples = await scrape(server.app.admin_port)
        return value(samples, "hooksmith_destinations_paused") == 1

    await wait_until(paused, timeout=20.0)
    samples = await scrape(server.app.admin_port)
    transitions = "hooksmith_breaker_transitions_total"
    assert value(samples, transitions, change="opened") == 1
    assert value(samples, transitions, change="closed") == 0
    # The paused messages wait for the cool-down.
    depth = "hooksmith_queue_depth"
    assert value(samples, depth, state="due") + value(samples, depth, state="waiting") > 0


async def test_a_render_failure_is_counted(start_server: StartServer, start_receiver) -> None:
    server = await start_server(admin_listen=ADMIN)
    api = await server.api()
    receiver = await start_receiver()
    # A header value with a control character is refused when rendered, never sent.
    webhook = await create(
        api, receiver.url("/ok"), headers=(pb.Header(name="X-Text", value="{{ text }}"),)
    )
    sent = await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(1), data=struct(text="a\nb"))
    )
    await wait_finished(api, list(sent.message_ids))
    samples = await scrape(server.app.admin_port)
    assert value(samples, "hooksmith_render_failures_total") == 1
    assert value(samples, "hooksmith_attempts_total", outcome="failed", status_class="none") == 1
    assert not receiver.received


async def test_the_admin_server_is_off_unless_asked_for(start_server: StartServer) -> None:
    server = await start_server()
    assert server.app.admin is None
    assert server.app.admin_port == 0


async def test_a_taken_admin_port_is_a_clear_error(
    start_server: StartServer, database_url: str
) -> None:
    first = await start_server(admin_listen=ADMIN)
    taken = f"127.0.0.1:{first.app.admin_port}"
    second = Application(settings_for_tests(admin_listen=taken), database_url)
    with pytest.raises(
        errors.Unavailable, match=rf"cannot listen on {taken} \(HOOKSMITH_ADMIN_LISTEN\)"
    ):
        await second.start()
    assert second.database is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("8080", "is not host:port"),
        ("127.0.0.1:http", "is not a port number"),
        ("127.0.0.1:70000", "is not a port number"),
    ],
)
def test_a_bad_admin_address_is_refused_by_name(raw: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=rf"^HOOKSMITH_ADMIN_LISTEN: .*{reason}"):
        Settings.from_env({"HOOKSMITH_ADMIN_LISTEN": raw})
    assert Settings.from_env({"HOOKSMITH_ADMIN_LISTEN": "[::1]:0"}).admin_listen == "[::1]:0"
