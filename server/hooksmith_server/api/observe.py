"""Every call of the service timed, counted by status code, and traced.

An interceptor, first in line, so calls refused before they reach the servicer
(a missing key, too many calls in progress) are counted too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from hooksmith_server.observability.metrics import Metrics
from hooksmith_server.observability.tracing import Span, Tracing

Continuation = Callable[
    [grpc.HandlerCallDetails], Awaitable["grpc.RpcMethodHandler[Any, Any] | None"]
]
Context = grpc.aio.ServicerContext[Any, Any]


def code_name(context: Context) -> str:
    """The name of the status code a call ended with (`NOT_FOUND`, ...)."""
    code: Any = context.code()
    if isinstance(code, grpc.StatusCode):
        return code.name
    for known in grpc.StatusCode:
        if known.value[0] == code:
            return known.name
    return "UNKNOWN"


class Observe(grpc.aio.ServerInterceptor):
    """Metrics and a span for every call of `service` (others, like health, pass)."""

    def __init__(self, metrics: Metrics, tracing: Tracing, service: str) -> None:
        self._metrics = metrics
        self._tracing = tracing
        self._prefix = f"/{service}/"

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        start = time.perf_counter()
        handler = await continuation(handler_call_details)
        name = handler_call_details.method
        if handler is None or not name.startswith(self._prefix):
            return handler
        method = name[len(self._prefix) :]
        metadata = handler_call_details.invocation_metadata
        if handler.unary_unary is not None:
            # Typed for the synchronous server; on grpc.aio the behaviours are coroutines.
            unary: Any = handler.unary_unary

            async def unary_unary(request: Any, context: Context) -> Any:
                return await self._observed(
                    method, metadata, start, context, unary(request, context)
                )

            return grpc.unary_unary_rpc_method_handler(
                unary_unary,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            streaming: Any = handler.unary_stream

            async def unary_stream(request: Any, context: Context) -> AsyncIterator[Any]:
                async for response in self._observed_stream(
                    method, metadata, start, context, streaming(request, context)
                ):
                    yield response

            return grpc.unary_stream_rpc_method_handler(
                unary_stream,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_unary is not None:
            streamed: Any = handler.stream_unary

            async def stream_unary(requests: AsyncIterator[Any], context: Context) -> Any:
                return await self._observed(
                    method, metadata, start, context, streamed(requests, context)
                )

            return grpc.stream_unary_rpc_method_handler(
                stream_unary,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler

    async def _observed(
        self,
        method: str,
        metadata: Any,
        start: float,
        context: Context,
        call: Awaitable[Any],
    ) -> Any:
        code = "UNKNOWN"
        with self._tracing.rpc(method, metadata) as span:
            try:
                response = await call
                code = "OK"
                return response
            except asyncio.CancelledError:
                code = "CANCELLED"
                raise
            except BaseException:
                code = code_name(context)
                raise
            finally:
                self._ended(span, method, code, start)

    async def _observed_stream(
        self,
        method: str,
        metadata: Any,
        start: float,
        context: Context,
        responses: AsyncIterator[Any],
    ) -> AsyncIterator[Any]:
        """A server stream, timed and counted once it ends (however long it ran)."""
        code = "UNKNOWN"
        with self._tracing.rpc(method, metadata) as span:
            try:
                async for response in responses:
                    yield response
                code = "OK"
            except (asyncio.CancelledError, GeneratorExit):
                code = "CANCELLED"
                raise
            except BaseException:
                code = code_name(context)
                raise
            finally:
                self._ended(span, method, code, start)

    def _ended(self, span: Span, method: str, code: str, start: float) -> None:
        span.set("rpc.grpc.status_code", code)
        if code != "OK":
            span.error(code)
        self._metrics.rpc(method, code, time.perf_counter() - start)
