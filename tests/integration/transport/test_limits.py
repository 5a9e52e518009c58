"""The limits of the gRPC port: message size, calls in progress, idle connections,
connections, and clients that ping too often."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta

import grpc
from aiohttp import web

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith.v1 import webhooks_pb2_grpc as pb_grpc
from tests.harness.grpc_errors import expect_error
from tests.harness.polling import wait_until
from tests.harness.protos import recipients, struct
from tests.harness.receiver import Received, StartReceiver
from tests.harness.server import Running, StartServer

# The client preface of HTTP/2 and an empty SETTINGS frame: a connection that is
# established and then says nothing more.
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


async def test_a_request_past_the_message_size_is_resource_exhausted(
    start_server: StartServer,
) -> None:
    small = await start_server(max_message_size=64 * 1024)
    api = await small.api()
    await expect_error(
        api.List(pb.ListRequest(page_token="x" * 100_000)), grpc.StatusCode.RESOURCE_EXHAUSTED
    )
    # Under the limit, the same call is read and judged on its content.
    await expect_error(
        api.List(pb.ListRequest(page_token="x" * 10_000)), grpc.StatusCode.INVALID_ARGUMENT
    )

    default = await start_server()
    api = await default.api()
    await expect_error(
        api.List(pb.ListRequest(page_token="x" * (3 * 1024 * 1024))),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    await expect_error(
        api.List(pb.ListRequest(page_token="x" * (5 * 1024 * 1024))),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    )


async def test_calls_past_the_cap_in_progress_are_resource_exhausted(
    start_server: StartServer, start_receiver: StartReceiver
) -> None:
    release = asyncio.Event()

    async def hold(_: Received, __: int) -> web.StreamResponse:
        await release.wait()
        return web.json_response({"ok": True})

    receiver = await start_receiver(hold)
    running = await start_server(max_concurrent_rpcs=2)
    api = await running.api()
    webhook = (
        await api.Create(pb.CreateRequest(spec=pb.WebhookSpec(name="slow", url=receiver.url())))
    ).webhook
    held = [
        asyncio.create_task(
            api.SendTest(
                pb.SendTestRequest(
                    webhook_id=webhook.id, recipients=recipients(1), data=struct(text="x")
                )
            )
        )
        for _ in range(2)
    ]

    async def both_in_progress() -> bool:
        return len(receiver.received) == 2

    await wait_until(both_in_progress, timeout=20)
    error = await expect_error(api.List(pb.ListRequest()), grpc.StatusCode.RESOURCE_EXHAUSTED)
    assert "limit" in (error.details() or "").lower()

    release.set()
    for task in held:
        sent = await task
        assert sent.messages[0].status == pb.MESSAGE_STATUS_SUCCEEDED
    assert (await api.List(pb.ListRequest())).webhooks[0].id == webhook.id


def open_idle(port: int) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=5)
    conn.sendall(HTTP2_PREFACE)
    return conn


def closed_by_server(conn: socket.socket) -> bool:
    """Whether the server closed the connection: reads (and drops) what it sent until EOF."""
    conn.setblocking(False)
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


async def test_idle_connections_are_closed_after_the_idle_timeout(
    start_server: StartServer,
) -> None:
    running = await start_server(idle_timeout=timedelta(milliseconds=500))
    idle = open_idle(running.app.port)
    try:

        async def closed() -> bool:
            return closed_by_server(idle)

        await wait_until(closed, timeout=15, every=0.1)
    finally:
        idle.close()
    # A connection in use is not idle: the test's own channel keeps calling.
    api = await running.api()
    assert (await api.List(pb.ListRequest())).webhooks == []


# A connection of its own: channels in one process otherwise share connections.
OWN_CONNECTION = [("grpc.use_local_subchannel_pool", 1)]


async def test_connections_past_the_cap_are_refused(start_server: StartServer) -> None:
    running = await start_server(max_connections=3)
    api = await running.api()
    await api.List(pb.ListRequest())  # the harness channel: one connection
    idle = [open_idle(running.app.port) for _ in range(2)]
    try:
        async with grpc.aio.insecure_channel(running.address, options=OWN_CONNECTION) as channel:
            stub = pb_grpc.WebhookServiceStub(channel)
            await expect_error(
                stub.List(
                    pb.ListRequest(),
                    metadata=(("authorization", f"Bearer {api.key}"),),
                    timeout=3,
                ),
                grpc.StatusCode.UNAVAILABLE,
            )
    finally:
        for conn in idle:
            conn.close()

    async def admitted() -> bool:
        async with grpc.aio.insecure_channel(running.address, options=OWN_CONNECTION) as channel:
            stub = pb_grpc.WebhookServiceStub(channel)
            try:
                await stub.List(
                    pb.ListRequest(),
                    metadata=(("authorization", f"Bearer {api.key}"),),
                    timeout=3,
                )
            except grpc.aio.AioRpcError:
                return False
            return True

    await wait_until(admitted, timeout=20, every=0.2)


async def test_a_client_that_pings_too_often_is_sent_away(server: Running) -> None:
    options = [
        ("grpc.keepalive_time_ms", 100),
        ("grpc.keepalive_timeout_ms", 1000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
    ]
    async with grpc.aio.insecure_channel(server.address, options=options) as channel:
        await asyncio.wait_for(channel.channel_ready(), 10)
        assert channel.get_state() == grpc.ChannelConnectivity.READY
        # GOAWAY (too_many_pings) ends the connection: the channel leaves READY.
        await asyncio.wait_for(channel.wait_for_state_change(grpc.ChannelConnectivity.READY), 15)
