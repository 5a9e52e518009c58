"""Requests whose bytes cannot be decoded are INVALID_ARGUMENT, never UNKNOWN."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import struct_pb2

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.grpc_errors import expect_error
from tests.harness.server import Running

# protobuf decodes messages at most 100 levels deep; each Struct level is two.
DEPTH = 60


def varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def too_deep() -> bytes:
    """A RenderRequest whose `data` is nested DEPTH levels deep.

    The Python runtime refuses to build such a message, so its bytes are put together
    by hand: a message followed by another field is the two merged.
    """
    value: Any = "leaf"
    for _ in range(DEPTH):
        value = {"a": value}
    data = struct_pb2.Struct()
    data.update(value)
    encoded = data.SerializeToString()
    number = pb.RenderRequest.DESCRIPTOR.fields_by_name["data"].number
    draft = pb.RenderRequest(draft=pb.WebhookSpec(name="n", url="https://x.example.com"))
    return draft.SerializeToString() + varint(number << 3 | 2) + varint(len(encoded)) + encoded


def raw_call(server: Running, method: str) -> grpc.aio.UnaryUnaryMultiCallable[bytes, bytes]:
    """A call that sends the given bytes as they are, as a client in any language could."""
    return server.channel.unary_unary(
        f"/hooksmith.v1.WebhookService/{method}",
        request_serializer=lambda raw: raw,
        response_deserializer=lambda raw: raw,
    )


async def first_response(
    server: Running, method: str, raw: bytes, metadata: tuple[tuple[str, str], ...] | None
) -> object:
    """The first response of a server-streaming method called with `raw` bytes."""
    stream = server.channel.unary_stream(
        f"/hooksmith.v1.WebhookService/{method}",
        request_serializer=lambda raw: raw,
        response_deserializer=lambda raw: raw,
    )(raw, metadata=metadata, timeout=10)
    return await stream.read()


def bearer(key: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),)


async def test_a_struct_nested_too_deeply_is_invalid_argument(server: Running) -> None:
    api = await server.api()

    error = await expect_error(
        raw_call(server, "Render")(too_deep(), metadata=bearer(api.key)),
        grpc.StatusCode.INVALID_ARGUMENT,
    )

    assert (error.details() or "").startswith("the request could not be decoded: ")


async def test_bytes_that_are_no_message_are_invalid_argument_for_every_method(
    server: Running,
) -> None:
    api = await server.api()
    methods = pb.DESCRIPTOR.services_by_name["WebhookService"].methods
    for method in methods:
        # Field 1, wire type 2 (bytes), claiming 100 bytes that never come.
        if method.server_streaming:
            await expect_error(
                first_response(server, method.name, b"\x0a\x64", bearer(api.key)),
                grpc.StatusCode.INVALID_ARGUMENT,
            )
            continue
        await expect_error(
            raw_call(server, method.name)(b"\x0a\x64", metadata=bearer(api.key)),
            grpc.StatusCode.INVALID_ARGUMENT,
        )


async def test_the_key_is_checked_before_a_streaming_request_is_decoded(server: Running) -> None:
    await expect_error(
        first_response(server, "WatchOutcomes", b"\x0a\x64", None),
        grpc.StatusCode.UNAUTHENTICATED,
    )


async def test_the_key_is_checked_before_the_request_is_decoded(server: Running) -> None:
    await expect_error(raw_call(server, "Render")(too_deep()), grpc.StatusCode.UNAUTHENTICATED)
    journey = await server.api(scope="journey")
    await expect_error(
        raw_call(server, "Create")(b"\x0a\x64", metadata=bearer(journey.key)),
        grpc.StatusCode.PERMISSION_DENIED,
    )


async def test_a_request_within_the_depth_limit_is_served(server: Running) -> None:
    api = await server.api()
    value: Any = "leaf"
    for _ in range(20):
        value = {"a": value}
    data = struct_pb2.Struct()
    data.update(value)
    out = await api.Render(
        pb.RenderRequest(draft=pb.WebhookSpec(name="n", url="https://x.example.com"), data=data)
    )
    assert out.request.url == "https://x.example.com"
