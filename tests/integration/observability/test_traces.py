"""OpenTelemetry: a span per RPC and per attempt, the caller's trace carried from Send on."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import pytest
from aiohttp import web
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith.v1 import webhooks_pb2_grpc as pb_grpc
from hooksmith_server.app import Application
from hooksmith_server.observability.tracing import Tracing
from tests.harness.history import create, wait_finished
from tests.harness.polling import wait_until
from tests.harness.protos import recipients, struct
from tests.harness.server import Running, StartServer, settings_for_tests

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{CALLER_SPAN}-01"

Start = Callable[..., Awaitable[Running]]


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
async def start_traced(database_url: str, exporter: InMemorySpanExporter) -> AsyncIterator[Start]:
    """Starts servers whose spans go to `exporter`."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    started: list[Running] = []

    async def start(*, serve_grpc: bool = True, **overrides: Any) -> Running:
        app = Application(
            settings_for_tests(**overrides),
            database_url,
            serve_grpc=serve_grpc,
            tracing=Tracing.for_provider(provider),
        )
        await app.start()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.port}")
        running = Running(app, channel, pb_grpc.WebhookServiceStub(channel), database_url)
        started.append(running)
        return running

    try:
        yield start
    finally:
        for running in started:
            await running.channel.close()
            await running.app.stop()
        provider.shutdown()


async def _send(server: Running, key: str, webhook: pb.Webhook, n: int) -> list[str]:
    sent = await server.stub.Send(
        pb.SendRequest(webhook_id=webhook.id, recipients=recipients(n), data=struct(text="x")),
        metadata=(("authorization", f"Bearer {key}"), ("traceparent", TRACEPARENT)),
    )
    return list(sent.message_ids)


def _attempts(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == "hooksmith.attempt"]


async def test_each_attempt_continues_the_trace_of_the_send_that_made_it(
    start_traced: Start, start_receiver, exporter: InMemorySpanExporter
) -> None:
    server = await start_traced()
    api = await server.api()
    receiver = await start_receiver()
    webhook = await create(api, receiver.url("/ok"))
    ids = await _send(server, api.key, webhook, 2)
    await wait_finished(api, ids)

    async def attempted() -> bool:
        return len(_attempts(exporter)) == 2

    await wait_until(attempted, timeout=10.0)
    spans = exporter.get_finished_spans()
    send = [s for s in spans if s.name == "hooksmith.v1.WebhookService/Send"]
    assert len(send) == 1
    assert send[0].kind == SpanKind.SERVER
    assert f"{send[0].context.trace_id:032x}" == TRACE_ID
    assert send[0].parent is not None
    assert f"{send[0].parent.span_id:016x}" == CALLER_SPAN
    assert send[0].attributes is not None
    assert send[0].attributes["rpc.grpc.status_code"] == "OK"
    for attempt in _attempts(exporter):
        assert attempt.context.trace_id == send[0].context.trace_id
        assert attempt.parent is not None
        assert attempt.parent.span_id == send[0].context.span_id
        assert attempt.attributes is not None
        assert attempt.attributes["hooksmith.message_id"] in ids
        assert attempt.attributes["hooksmith.webhook_id"] == webhook.id
        assert attempt.attributes["hooksmith.outcome"] == "succeeded"
        assert attempt.attributes["http.response.status_code"] == 200
    # Calls without a caller's context start traces of their own.
    create_span = next(s for s in spans if s.name.endswith("/Create"))
    assert f"{create_span.context.trace_id:032x}" != TRACE_ID


async def test_a_failed_call_and_a_failed_attempt_are_error_spans(
    start_traced: Start, start_receiver, exporter: InMemorySpanExporter
) -> None:
    server = await start_traced()
    api = await server.api()
    # Not retried: a 4xx other than 408 and 429 fails the message at once.
    receiver = await start_receiver(lambda _, __: web.Response(status=400))
    webhook = await create(api, receiver.url("/refuses"))
    ids = await _send(server, api.key, webhook, 1)
    await wait_finished(api, ids)
    with pytest.raises(grpc.aio.AioRpcError):
        await api.GetMessage(pb.GetMessageRequest(id="00000000-0000-7000-8000-000000000000"))

    async def attempted() -> bool:
        return len(_attempts(exporter)) == 1

    await wait_until(attempted, timeout=10.0)
    attempt = _attempts(exporter)[0]
    assert attempt.status.status_code == StatusCode.ERROR
    assert attempt.attributes is not None
    assert attempt.attributes["http.response.status_code"] == 400
    assert attempt.attributes["hooksmith.outcome"] == "failed"
    # wait_finished polls GetMessage too: those calls are OK spans.
    gets = [s for s in exporter.get_finished_spans() if s.name.endswith("/GetMessage")]
    refused = [s for s in gets if s.status.status_code == StatusCode.ERROR]
    assert len(refused) == 1
    assert refused[0].attributes is not None
    assert refused[0].attributes["rpc.grpc.status_code"] == "NOT_FOUND"
    assert all(s.attributes and s.attributes["rpc.grpc.status_code"] == "OK" for s in gets[:-1])


async def test_the_callers_context_is_stored_by_a_server_without_tracing(
    start_server: StartServer, start_traced: Start, start_receiver, exporter: InMemorySpanExporter
) -> None:
    # Sent through a server without tracing and without workers; delivered by a worker
    # with tracing: the attempt is a child of the caller's span itself.
    front = await start_server(workers=0)
    api = await front.api()
    receiver = await start_receiver()
    webhook = await create(api, receiver.url("/ok"))
    ids = await _send(front, api.key, webhook, 1)
    await start_traced(serve_grpc=False)
    await wait_finished(api, ids)

    async def attempted() -> bool:
        return len(_attempts(exporter)) == 1

    await wait_until(attempted, timeout=10.0)
    attempt = _attempts(exporter)[0]
    assert f"{attempt.context.trace_id:032x}" == TRACE_ID
    assert attempt.parent is not None
    assert f"{attempt.parent.span_id:016x}" == CALLER_SPAN
    assert not [s for s in exporter.get_finished_spans() if "WebhookService" in s.name]


async def test_without_otel_variables_nothing_of_opentelemetry_is_imported() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    code = (
        "import sys\n"
        "from hooksmith_server import app\n"
        "from hooksmith_server.observability.tracing import Tracing\n"
        "import os\n"
        "assert not Tracing.from_env(os.environ).enabled\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    assert stdout.decode().strip() == "[]"


def test_otel_variables_turn_tracing_on_and_a_bad_exporter_is_named() -> None:
    assert not Tracing.from_env({}).enabled
    assert not Tracing.from_env({"OTEL_SERVICE_NAME": "x", "OTEL_SDK_DISABLED": "true"}).enabled
    assert not Tracing.from_env({"OTEL_TRACES_EXPORTER": "none"}).enabled
    console = Tracing.from_env({"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "hs"})
    assert console.enabled
    console.shutdown()
    from hooksmith_server import errors

    with pytest.raises(errors.InvalidArgument) as e:
        Tracing.from_env({"OTEL_TRACES_EXPORTER": "zipkin"})
    assert e.value.violations[0].field == "OTEL_TRACES_EXPORTER"
