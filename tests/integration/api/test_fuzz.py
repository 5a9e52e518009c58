"""Every RPC driven with random, malformed and undecodable requests: never UNKNOWN or INTERNAL,
never a crash, and health stays SERVING.

The budget is small in `make test`; `make fuzz` runs many more examples
(`HOOKSMITH_FUZZ_EXAMPLES` examples per RPC, 8 unless set).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor, message_factory
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.history import create
from tests.harness.protos import struct
from tests.harness.receiver import StartReceiver
from tests.harness.server import Api, Running

SERVICE = pb.DESCRIPTOR.services_by_name["WebhookService"]
METHODS = [m.name for m in SERVICE.methods]
NEVER = {grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL}
EXAMPLES = int(os.environ.get("HOOKSMITH_FUZZ_EXAMPLES", "8"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
F = descriptor.FieldDescriptor

# Strings that reach parsers: ids, templates, URLs, durations, tokens, field paths.
TRICKY = st.sampled_from(
    [
        "",
        " ",
        "0",
        "-1",
        "\x00",
        "00000000-0000-0000-0000-000000000000",
        "not-a-uuid",
        "{{ userId }}",
        "{{ 1/0 }}",
        "{% for x in range(10**9) %}{% endfor %}",
        "{{ ''.__class__ }}",
        "http://127.0.0.1:1/",
        "https://[::1]/",
        "http://%zz/",
        "url",
        "headers",
        "policy.timeout",
        "spec.name",
        "x" * 5000,
        "é" * 300,
        "☃",
        "\r\nX-Injected: 1",
    ]
)
TEXT = st.one_of(TRICKY, st.text(max_size=40))
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**53), max_value=2**53),
    TEXT,
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=8,
)
INT_RANGES = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1),
    F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    F.TYPE_INT64: (-(2**63), 2**63 - 1),
    F.TYPE_SINT64: (-(2**63), 2**63 - 1),
    F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT32: (0, 2**32 - 1),
    F.TYPE_FIXED32: (0, 2**32 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1),
    F.TYPE_FIXED64: (0, 2**64 - 1),
}


def scalar(field: descriptor.FieldDescriptor, ids: list[str]) -> st.SearchStrategy[Any]:
    if field.type == F.TYPE_STRING:
        if field.name.endswith("id"):
            return st.one_of(st.sampled_from(ids), TEXT)
        return TEXT
    if field.type == F.TYPE_BYTES:
        return st.binary(max_size=40)
    if field.type == F.TYPE_BOOL:
        return st.booleans()
    if field.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return st.floats(allow_nan=True, allow_infinity=True, width=64)
    if field.type == F.TYPE_ENUM:
        # Unknown values too: proto3 enums are open.
        known = [v.number for v in field.enum_type.values]
        return st.one_of(st.sampled_from(known), st.integers(-(2**31), 2**31 - 1))
    low, high = INT_RANGES[field.type]
    return st.one_of(st.integers(low, high), st.integers(-3, 3))


@st.composite
def message_of(
    draw: st.DrawFn, desc: descriptor.Descriptor, ids: list[str], depth: int = 0
) -> Message:
    cls = message_factory.GetMessageClass(desc)
    out = cls()
    name = desc.full_name
    if name == "google.protobuf.Struct":
        out.update(draw(st.dictionaries(TEXT, JSON, max_size=4)))  # type: ignore[attr-defined]
        return out
    if name in ("google.protobuf.Timestamp", "google.protobuf.Duration"):
        out.seconds = draw(st.one_of(st.integers(-(2**40), 2**40), st.integers(-5, 5)))  # type: ignore[attr-defined]
        out.nanos = draw(st.integers(-(2**31), 2**31 - 1))  # type: ignore[attr-defined]
        return out
    for field in desc.fields:
        if not draw(st.booleans()):
            continue
        target = getattr(out, field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key_field = field.message_type.fields_by_name["key"]
            value_field = field.message_type.fields_by_name["value"]
            for _ in range(draw(st.integers(0, 3))):
                key = draw(scalar(key_field, ids))
                if value_field.message_type is None:
                    target[key] = draw(scalar(value_field, ids))
            continue
        if field.message_type is not None:
            if depth >= 4:
                continue
            if field.is_repeated:
                for _ in range(draw(st.integers(0, 3))):
                    target.add().CopyFrom(draw(message_of(field.message_type, ids, depth + 1)))
            else:
                target.CopyFrom(draw(message_of(field.message_type, ids, depth + 1)))
            continue
        if field.is_repeated:
            target.extend(draw(st.lists(scalar(field, ids), max_size=3)))
        else:
            setattr(out, field.name, draw(scalar(field, ids)))
    return out


def request_bytes(method: str, ids: list[str]) -> st.SearchStrategy[bytes]:
    """A random request of the method, serialised; or bytes that are not one at all."""
    desc = SERVICE.methods_by_name[method].input_type
    valid = message_of(desc, ids).map(lambda m: m.SerializeToString())
    return st.one_of(
        valid,
        valid.flatmap(
            lambda raw: st.lists(st.integers(0, 255), min_size=1, max_size=4).map(
                lambda junk: raw[: len(raw) // 2] + bytes(junk) + raw[len(raw) // 2 :]
            )
        ),
        st.binary(max_size=120),
        # A Struct nested past protobuf's recursion limit.
        st.just(b"\x1a\x02\x0a\x00" + b"\x0a\x04\x0a\x02\x2a\x00" * 120),
    )


@pytest.fixture
async def targets(api: Api, start_receiver: StartReceiver) -> list[str]:
    """Ids that exist, so random requests reach past the not-found checks."""
    receiver = await start_receiver()
    webhook = await create(api, receiver.url())
    sent = await api.Send(
        pb.SendRequest(
            webhook_id=webhook.id, recipients=[pb.Recipient(user_id="u")], data=struct(text="x")
        )
    )
    return [webhook.id, sent.message_ids[0]]


STREAM_SECONDS = 1.0
"""How long a streaming call is read before the deadline ends it: a valid request
streams until the caller leaves."""


async def call(server: Running, method: str, body: bytes, key: str | None) -> grpc.StatusCode:
    path = f"/{SERVICE.full_name}/{method}"
    metadata = (("authorization", f"Bearer {key}"),) if key is not None else None
    streaming = SERVICE.methods_by_name[method].server_streaming
    try:
        if streaming:
            stream = server.channel.unary_stream(path)(
                body, metadata=metadata, timeout=STREAM_SECONDS
            )
            async for _ in stream:
                pass
        else:
            await server.channel.unary_unary(path)(body, metadata=metadata, timeout=30)
    except grpc.aio.AioRpcError as e:
        if streaming and e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
            # It streamed until the deadline: the request was taken.
            return grpc.StatusCode.OK
        return e.code()
    return grpc.StatusCode.OK


async def assert_serving(server: Running) -> None:
    stub = health_pb2_grpc.HealthStub(server.channel)
    for service in ("", SERVICE.full_name):
        answer = await stub.Check(health_pb2.HealthCheckRequest(service=service))
        assert answer.status == health_pb2.HealthCheckResponse.SERVING


@pytest.mark.parametrize("method", METHODS)
async def test_random_requests_never_fail_unknown_or_internal(
    server: Running, api: Api, targets: list[str], method: str
) -> None:
    journey = await server.api(scope="journey")
    loop = asyncio.get_running_loop()

    # Hypothesis drives a plain function; it runs in a thread and hands each call to the
    # event loop the server lives on.
    @FUZZ
    @given(
        body=request_bytes(method, targets),
        key=st.sampled_from([api.key, api.key, journey.key, None, "hs_bogus"]),
    )
    def one(body: bytes, key: str | None) -> None:
        code = asyncio.run_coroutine_threadsafe(call(server, method, body, key), loop).result()
        assert code not in NEVER, f"{method} answered {code.name} to {body!r}"

    await asyncio.to_thread(one)
    await assert_serving(server)
    assert server.app.server is not None
