"""Traces: a span per RPC and per delivery attempt, when OpenTelemetry is installed and on.

The `otel` extra (`pip install 'hooksmith-server[otel]'`) brings the OpenTelemetry
SDK; the standard `OTEL_*` variables turn it on (`OTEL_TRACES_EXPORTER`,
`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME`, ...). Without them, or without
the extra, no OpenTelemetry module is imported and no span is made.

Either way the caller's W3C trace context (`traceparent` in the call's metadata) is
kept while the call runs (`current_traceparent`): a Send stores it on each message
it makes, so every later attempt, in whichever process, continues the caller's trace.
With tracing on, what is stored is the Send span's own context, a child of the caller's.
"""

from __future__ import annotations

import importlib.util
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from hooksmith_server import domain

log = logging.getLogger(__name__)

AttributeValue = str | int | float | bool

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_current: ContextVar[str | None] = ContextVar("hooksmith_traceparent", default=None)

# Any of these set means the operator asked for traces (the SDK reads the rest itself).
_SWITCHES = (
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SERVICE_NAME",
)


def current_traceparent() -> str | None:
    """The trace context of the call being served, for what it stores; None outside one."""
    return _current.get()


def parse_traceparent(value: str | bytes | None) -> str | None:
    """A valid W3C `traceparent` value, normalised; None for anything else.

    A malformed header from a caller is ignored (as the W3C spec asks), never an error.
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    value = value.strip().lower()
    m = _TRACEPARENT.match(value)
    if m is None or m.group(1) == "ff" or set(m.group(2)) == {"0"} or set(m.group(3)) == {"0"}:
        return None
    return value


def traceparent_of(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    """The caller's `traceparent` from a call's metadata."""
    for key, value in metadata or ():
        if key.lower() == "traceparent":
            return parse_traceparent(value)
    return None


class Span(Protocol):
    """What the server does with a span: add attributes, mark it failed."""

    def set(self, key: str, value: AttributeValue) -> None: ...

    def error(self, description: str) -> None: ...


class _NoSpan:
    def set(self, key: str, value: AttributeValue) -> None:
        pass

    def error(self, description: str) -> None:
        pass


NO_SPAN: Span = _NoSpan()


class Tracer(Protocol):
    """The OpenTelemetry side (`observability.otel`), loaded only when tracing is on."""

    def rpc(
        self, method: str, traceparent: str | None
    ) -> AbstractContextManager[tuple[Span, str | None]]: ...

    def attempt(
        self, traceparent: str | None, attributes: Mapping[str, AttributeValue]
    ) -> AbstractContextManager[Span]: ...

    def shutdown(self) -> None: ...


class Tracing:
    """Spans for RPCs and attempts; without a tracer, only the caller's context is kept."""

    def __init__(self, tracer: Tracer | None = None) -> None:
        self._tracer = tracer

    @property
    def enabled(self) -> bool:
        return self._tracer is not None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Tracing:
        """On when an `OTEL_*` variable asks for traces and the `otel` extra is installed.

        Raises `errors.InvalidArgument` naming the variable when the exporter asked
        for cannot be made.
        """
        if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            return cls()
        if not any(env.get(name) for name in _SWITCHES):
            return cls()
        if env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
            return cls()
        if importlib.util.find_spec("opentelemetry") is None or (
            importlib.util.find_spec("opentelemetry.sdk") is None
        ):
            log.warning(
                "OTEL_* variables are set but OpenTelemetry is not installed "
                "(pip install 'hooksmith-server[otel]'): no traces are made"
            )
            return cls()
        from hooksmith_server.observability import otel

        return cls(otel.OtelTracer(otel.provider_from_env(env), owned=True))

    @classmethod
    def for_provider(cls, provider: Any) -> Tracing:
        """Tracing into an OpenTelemetry SDK `TracerProvider` the caller made and owns."""
        from hooksmith_server.observability import otel

        return cls(otel.OtelTracer(provider, owned=False))

    @contextmanager
    def rpc(
        self, method: str, metadata: Iterable[tuple[str, str | bytes]] | None
    ) -> Iterator[Span]:
        """Around one call: its span (when on), and its trace context made current."""
        caller = traceparent_of(metadata)
        if self._tracer is None:
            token = _current.set(caller)
            try:
                yield NO_SPAN
            finally:
                _current.reset(token)
            return
        with self._tracer.rpc(method, caller) as (span, own):
            token = _current.set(own or caller)
            try:
                yield span
            finally:
                _current.reset(token)

    @contextmanager
    def attempt(self, claim: domain.Claim) -> Iterator[Span]:
        """Around one attempt: a span continuing the trace of the Send that made it."""
        if self._tracer is None:
            yield NO_SPAN
            return
        attributes: dict[str, AttributeValue] = {
            "hooksmith.workspace_id": str(claim.workspace_id),
            "hooksmith.webhook_id": str(claim.webhook_id),
            "hooksmith.webhook_version": claim.webhook_version,
            "hooksmith.message_id": str(claim.id),
            "hooksmith.message_kind": claim.kind.value,
            "hooksmith.attempt": claim.attempt_number,
            "hooksmith.destination": claim.destination,
        }
        with self._tracer.attempt(claim.traceparent, attributes) as span:
            yield span

    def shutdown(self) -> None:
        """Flush and stop an exporter this object made (not a provider handed in)."""
        if self._tracer is not None:
            self._tracer.shutdown()
