"""Registering `hooksmith.v1.WebhookService` on a gRPC server, decoding requests ourselves.

The generated `add_WebhookServiceServicer_to_server` decodes with `FromString`; bytes
it cannot decode (a `Struct` nested past protobuf's depth limit, invalid UTF-8) fail
inside gRPC and the caller sees UNKNOWN. Here a request that cannot be decoded becomes
an `Undecodable`, which the servicer answers with INVALID_ARGUMENT.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.message import DecodeError, Message

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith.v1 import webhooks_pb2_grpc as pb_grpc

SERVICE = pb.DESCRIPTOR.services_by_name["WebhookService"]


@dataclass(frozen=True)
class Undecodable:
    """A request whose bytes could not be decoded, and why."""

    reason: str


def _deserializer(message_class: type[Message]) -> Callable[[bytes], Message | Undecodable]:
    def deserialize(data: bytes) -> Message | Undecodable:
        try:
            return message_class.FromString(data)
        except (DecodeError, RecursionError) as exc:
            return Undecodable(str(exc) or type(exc).__name__)

    return deserialize


def add_to_server(servicer: pb_grpc.WebhookServiceServicer, server: grpc.aio.Server) -> None:
    """Register every method of WebhookService on `server`, before it starts."""
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in SERVICE.methods:
        if method.client_streaming:
            raise TypeError(f"{method.full_name} takes a stream; no handler is made for one here")
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        make = (
            grpc.unary_stream_rpc_method_handler
            if method.server_streaming
            else grpc.unary_unary_rpc_method_handler
        )
        handlers[method.name] = make(
            getattr(servicer, method.name),
            request_deserializer=_deserializer(request_class),
            response_serializer=response_class.SerializeToString,
        )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE.full_name, handlers),)
    )
    server.add_registered_method_handlers(SERVICE.full_name, handlers)
