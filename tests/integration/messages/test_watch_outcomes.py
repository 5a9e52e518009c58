"""WatchOutcomes: the journey engine's view of how messages finished, from the table, in
one order, each outcome once, resumable from a cursor, across processes."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from datetime import timedelta

import asyncpg
import grpc
from aiohttp import web

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.grpc_errors import expect_error, expect_invalid
from tests.harness.history import create, wait_finished
from tests.harness.outcomes import START_CURSOR, Call, watch
from tests.harness.polling import wait_until
from tests.harness.protos import recipients, struct
from tests.harness.receiver import Received, StartReceiver
from tests.harness.server import Api, Running, StartServer
from tests.integration.observability.scrape import scrape, value


async def take(call: Call, count: int, *, timeout: float = 90.0) -> list[pb.Outcome]:
    """Outcomes from `call` until at least `count` arrived (whole responses are kept)."""
    got: list[pb.Outcome] = []
    async with asyncio.timeout(timeout):
        while len(got) < count:
            response = await call.read()
            assert response is not grpc.aio.EOF, "the stream ended"
            assert isinstance(response, pb.WatchOutcomesResponse)
            assert response.outcomes, "an empty response was sent"
            got += response.outcomes
    return got


async def table_order(server: Running, message_ids: set[str]) -> list[str]:
    conn = await asyncpg.connect(server.database_url)
    try:
        rows = await conn.fetch("SELECT message_id FROM outcomes ORDER BY xid, seq")
    finally:
        await conn.close()
    return [str(r["message_id"]) for r in rows if str(r["message_id"]) in message_ids]


async def test_a_journey_resumes_from_its_cursor_and_sees_every_outcome_once(
    server: Running, start_receiver: StartReceiver
) -> None:
    api = await server.api(scope="journey")
    console = await server.api()
    receiver = await start_receiver()
    webhook = await create(console, receiver.url("/push"))
    first = await watch(server, api, pb.WatchOutcomesRequest())

    sent = await api.Send(
        pb.SendRequest(
            webhook_id=webhook.id,
            recipients=recipients(1000),
            data=struct(text="hi"),
            labels={"journey": "spring"},
        )
    )
    sent_ids = set(sent.message_ids)

    # The engine reads half, then its connection drops.
    before = await take(first, 500)
    first.cancel()
    second = await watch(server, api, pb.WatchOutcomesRequest(after_cursor=before[-1].cursor))
    after = await take(second, 1000 - len(before))
    second.cancel()

    received = [o.message_id for o in before + after]
    assert len(received) == 1000
    assert set(received) == sent_ids
    assert received == await table_order(server, sent_ids)
    for outcome in before + after:
        assert outcome.status == pb.MESSAGE_STATUS_SUCCEEDED
        assert outcome.status_code == 200
        assert outcome.webhook_id == webhook.id
        assert outcome.user_id.startswith("user-")
        assert dict(outcome.labels) == {"journey": "spring"}
        assert outcome.kind == pb.MESSAGE_KIND_LIVE
        assert outcome.HasField("finish_time")
    assert len({o.cursor for o in before + after}) == 1000


async def test_two_processes_recording_at_once_give_each_outcome_once(
    start_server: StartServer, start_receiver: StartReceiver
) -> None:
    one = await start_server()
    two = await start_server()
    api_one = await one.api()
    api_two = await two.api()
    receiver = await start_receiver()
    webhook = await create(api_one, receiver.url())
    stream = await watch(two, api_two, pb.WatchOutcomesRequest())

    sends = await asyncio.gather(
        *(
            api.Send(
                pb.SendRequest(
                    webhook_id=webhook.id,
                    recipients=recipients(150, f"p{n}"),
                    data=struct(text="x"),
                )
            )
            for n, api in enumerate((api_one, api_two, api_one, api_two))
        )
    )
    sent_ids = {i for s in sends for i in s.message_ids}

    got = await take(stream, 600)
    stream.cancel()

    assert len(got) == 600
    assert {o.message_id for o in got} == sent_ids
    assert [o.message_id for o in got] == await table_order(one, sent_ids)


async def test_filters_by_webhook_labels_and_kind(
    server: Running, api: Api, start_receiver: StartReceiver
) -> None:
    receiver = await start_receiver()
    a = await create(api, receiver.url("/a"))
    b = await create(api, receiver.url("/b"))
    step_one = await watch(
        server, api, pb.WatchOutcomesRequest(webhook_ids=[a.id], labels={"step": "1"})
    )
    everything_of_a = await watch(
        server, api, pb.WatchOutcomesRequest(webhook_ids=[a.id], include_test=True)
    )

    async def send(webhook: pb.Webhook, n: int, step: str) -> list[str]:
        sent = await api.Send(
            pb.SendRequest(
                webhook_id=webhook.id,
                recipients=recipients(n, f"{step}-{webhook.id[:4]}"),
                data=struct(text="x"),
                labels={"step": step, "campaign": "c"},
            )
        )
        return list(sent.message_ids)

    wanted = await send(a, 3, "1")
    other_step = await send(a, 2, "2")
    other_webhook = await send(b, 2, "1")
    test = await api.SendTest(
        pb.SendTestRequest(webhook_id=a.id, recipients=recipients(1), data=struct(text="x"))
    )
    await wait_finished(api, wanted + other_step + other_webhook)
    # Sent after everything above finished, so it comes after all of it in the stream.
    marker = await send(a, 1, "1")

    got = await take(step_one, 4, timeout=30)
    assert sorted(o.message_id for o in got[:3]) == sorted(wanted)
    assert [o.message_id for o in got[3:]] == marker

    all_of_a = await take(everything_of_a, 7, timeout=30)
    assert {o.message_id for o in all_of_a} == {
        *wanted,
        *other_step,
        test.messages[0].id,
        *marker,
    }
    [test_outcome] = [o for o in all_of_a if o.kind == pb.MESSAGE_KIND_TEST]
    assert test_outcome.message_id == test.messages[0].id
    step_one.cancel()
    everything_of_a.cancel()


async def test_failed_and_skipped_messages_are_outcomes_too(
    server: Running, api: Api, start_receiver: StartReceiver
) -> None:
    def fail(_: Received, __: int) -> web.StreamResponse:
        return web.json_response({"error": "no"}, status=400)

    failing = await start_receiver(fail)
    failed_hook = await create(api, failing.url())
    skipping = await create(
        api,
        failing.url(),
        body='{"to": "{% if not tags.phone %}{% skip \'no phone number\' %}{% endif %}"}',
    )
    stream = await watch(server, api, pb.WatchOutcomesRequest())

    failed = await api.Send(
        pb.SendRequest(webhook_id=failed_hook.id, recipients=recipients(1), data=struct(text="x"))
    )
    skipped = await api.Send(
        pb.SendRequest(webhook_id=skipping.id, recipients=recipients(1), data=struct())
    )

    got = {o.message_id: o for o in await take(stream, 2, timeout=30)}
    stream.cancel()
    failed_outcome = got[failed.message_ids[0]]
    assert failed_outcome.status == pb.MESSAGE_STATUS_FAILED
    assert failed_outcome.status_code == 400
    assert failed_outcome.error == "HTTP 400"
    skipped_outcome = got[skipped.message_ids[0]]
    assert skipped_outcome.status == pb.MESSAGE_STATUS_SKIPPED
    assert skipped_outcome.error == "no phone number"
    assert skipped_outcome.status_code == 0


async def test_captured_values_are_streamed_and_purge_user_erases_them(
    server: Running, api: Api, start_receiver: StartReceiver
) -> None:
    def coupon(_: Received, __: int) -> web.StreamResponse:
        return web.Response(text=json.dumps({"code": "C-42"}), content_type="application/json")

    receiver = await start_receiver(coupon)
    spec = pb.WebhookSpec(
        name="coupons",
        url=receiver.url(),
        body="{}",
        capture=[pb.Capture(name="coupon_code", pointer="/code")],
    )
    webhook = (await api.Create(pb.CreateRequest(spec=spec))).webhook
    stream = await watch(server, api, pb.WatchOutcomesRequest())
    start = dict(await stream.initial_metadata())[START_CURSOR]
    sent = await api.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=[pb.Recipient(user_id="ana")])
    )

    [outcome] = await take(stream, 1, timeout=30)
    stream.cancel()
    assert outcome.message_id == sent.message_ids[0]
    assert dict(outcome.captured) == {"coupon_code": "C-42"}

    await api.PurgeUser(pb.PurgeUserRequest(user_id="ana"))
    replay = await watch(server, api, pb.WatchOutcomesRequest(after_cursor=start))
    [again] = await take(replay, 1, timeout=30)
    replay.cancel()
    assert again.message_id == outcome.message_id
    assert dict(again.captured) == {}


async def test_bad_requests_are_refused_before_the_stream_starts(server: Running, api: Api) -> None:
    def call(request: pb.WatchOutcomesRequest, key: str | None = api.key) -> Call:
        metadata = (("authorization", f"Bearer {key}"),) if key else None
        stream: Call = server.stub.WatchOutcomes(request, metadata=metadata, timeout=10)
        return stream

    async def first(stream: Call) -> object:
        return await stream.read()

    await expect_invalid(
        first(call(pb.WatchOutcomesRequest(after_cursor="not-a-cursor"))),
        "after_cursor",
        "WatchOutcomes",
    )
    ahead = base64.urlsafe_b64encode(b'{"x":9000000000000000000,"s":1}').decode()
    await expect_invalid(
        first(call(pb.WatchOutcomesRequest(after_cursor=ahead))), "after_cursor", "ahead"
    )
    await expect_invalid(
        first(call(pb.WatchOutcomesRequest(webhook_ids=["nope"]))), "webhook_ids[0]"
    )
    await expect_error(
        first(call(pb.WatchOutcomesRequest(webhook_ids=[str(uuid.uuid4())]))),
        grpc.StatusCode.NOT_FOUND,
    )
    await expect_invalid(first(call(pb.WatchOutcomesRequest(labels={"": "x"}))), "labels['']")
    await expect_error(
        first(call(pb.WatchOutcomesRequest(), key=None)), grpc.StatusCode.UNAUTHENTICATED
    )
    await expect_error(
        first(call(pb.WatchOutcomesRequest(), key="hks_bogus")), grpc.StatusCode.UNAUTHENTICATED
    )


async def test_a_workspace_sees_only_its_own_outcomes(
    server: Running, api: Api, start_receiver: StartReceiver
) -> None:
    other = await server.api("small-shop", scope="journey")
    other_console = await server.api("small-shop")
    receiver = await start_receiver()
    mine = await create(api, receiver.url("/acme"))
    theirs = await create(other_console, receiver.url("/shop"))
    stream = await watch(server, other, pb.WatchOutcomesRequest())

    sent = await api.Send(
        pb.SendRequest(webhook_id=mine.id, recipients=recipients(5), data=struct(text="x"))
    )
    await wait_finished(api, list(sent.message_ids))
    marker = await other.Send(
        pb.SendRequest(webhook_id=theirs.id, recipients=recipients(1), data=struct(text="x"))
    )

    got = await take(stream, 1, timeout=30)
    stream.cancel()
    assert [o.message_id for o in got] == list(marker.message_ids)


async def test_a_stopping_server_ends_its_streams_unavailable(
    start_server: StartServer,
) -> None:
    running = await start_server(shutdown_grace=timedelta(seconds=20))
    api = await running.api()
    stream = await watch(running, api, pb.WatchOutcomesRequest())

    began = time.monotonic()
    await running.app.stop()

    await expect_error(stream.read(), grpc.StatusCode.UNAVAILABLE)
    # Told to end at once, not held until the grace period ran out.
    assert time.monotonic() - began < 10


async def test_streams_are_counted_by_how_they_ended(start_server: StartServer) -> None:
    running = await start_server(admin_listen="127.0.0.1:0")
    api = await running.api()
    stream = await watch(running, api, pb.WatchOutcomesRequest())
    stream.cancel()
    await expect_error(
        running.stub.WatchOutcomes(
            pb.WatchOutcomesRequest(after_cursor="x"),
            metadata=(("authorization", f"Bearer {api.key}"),),
        ).read(),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    await expect_error(
        running.stub.WatchOutcomes(pb.WatchOutcomesRequest()).read(),
        grpc.StatusCode.UNAUTHENTICATED,
    )

    async def counted() -> bool:
        samples = await scrape(running.app.admin_port)
        return (
            value(samples, "hooksmith_rpcs_total", method="WatchOutcomes", code="CANCELLED") == 1
            and value(
                samples, "hooksmith_rpcs_total", method="WatchOutcomes", code="INVALID_ARGUMENT"
            )
            == 1
            and value(
                samples, "hooksmith_rpcs_total", method="WatchOutcomes", code="UNAUTHENTICATED"
            )
            == 1
        )

    await wait_until(counted, timeout=10)
