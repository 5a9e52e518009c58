"""The OpenTelemetry side of `tracing`; imported only when tracing is on."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from hooksmith_server import __version__, errors

SERVICE = "hooksmith.v1.WebhookService"
_PROPAGATOR = TraceContextTextMapPropagator()

AttributeValue = str | int | float | bool


class OtelSpan:
    def __init__(self, span: trace.Span) -> None:
        self._span = span

    def set(self, key: str, value: AttributeValue) -> None:
        self._span.set_attribute(key, value)

    def error(self, description: str) -> None:
        self._span.set_status(Status(StatusCode.ERROR, description))


def _parent(traceparent: str | None) -> Context | None:
    """The context to start a span in: the one `traceparent` names, else the current one."""
    if traceparent is None:
        return None
    return _PROPAGATOR.extract({"traceparent": traceparent})


class OtelTracer:
    """Spans from one `TracerProvider`; `owned` means shut it down with the server."""

    def __init__(self, provider: TracerProvider, *, owned: bool) -> None:
        self._provider = provider
        self._owned = owned
        self._tracer = provider.get_tracer("hooksmith_server", __version__)

    @contextmanager
    def rpc(self, method: str, traceparent: str | None) -> Iterator[tuple[OtelSpan, str | None]]:
        with self._tracer.start_as_current_span(
            f"{SERVICE}/{method}",
            context=_parent(traceparent),
            kind=SpanKind.SERVER,
            attributes={"rpc.system": "grpc", "rpc.service": SERVICE, "rpc.method": method},
        ) as span:
            carrier: dict[str, str] = {}
            _PROPAGATOR.inject(carrier)
            yield OtelSpan(span), carrier.get("traceparent")

    @contextmanager
    def attempt(
        self, traceparent: str | None, attributes: Mapping[str, AttributeValue]
    ) -> Iterator[OtelSpan]:
        with self._tracer.start_as_current_span(
            "hooksmith.attempt",
            context=_parent(traceparent),
            kind=SpanKind.CLIENT,
            attributes=dict(attributes),
        ) as span:
            yield OtelSpan(span)

    def shutdown(self) -> None:
        if self._owned:
            self._owned = False
            self._provider.shutdown()


def provider_from_env(env: Mapping[str, str]) -> TracerProvider:
    """A provider exporting as `OTEL_TRACES_EXPORTER` says (`otlp`, the default, or
    `console`); the SDK reads the sampler and the exporter's endpoint itself."""
    service = env.get("OTEL_SERVICE_NAME") or "hooksmith-server"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "otlp").split(",")]
    for name in filter(None, names):
        provider.add_span_processor(BatchSpanProcessor(_exporter(name, env)))
    return provider


def _exporter(name: str, env: Mapping[str, str]) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter()
    if name != "otlp":
        raise errors.InvalidArgument.field(
            "OTEL_TRACES_EXPORTER", f"{name!r} is not supported: use otlp, console or none"
        )
    for variable in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = env.get(variable, "").strip()
        if protocol and protocol != "http/protobuf":
            raise errors.InvalidArgument.field(
                variable, f"{protocol!r} is not supported: the OTLP exporter sends http/protobuf"
            )
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        raise errors.InvalidArgument.field(
            "OTEL_TRACES_EXPORTER",
            "otlp needs the opentelemetry-exporter-otlp-proto-http package "
            "(pip install 'hooksmith-server[otel]')",
        ) from None
    exporter: SpanExporter = OTLPSpanExporter()
    return exporter
