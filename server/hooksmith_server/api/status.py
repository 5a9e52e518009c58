"""The one place where server errors become gRPC statuses."""

from __future__ import annotations

import logging

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from hooksmith_server import errors

log = logging.getLogger(__name__)

CODES: dict[type[errors.HooksmithError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.Aborted: grpc.StatusCode.ABORTED,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}


def code_of(error: errors.HooksmithError) -> grpc.StatusCode:
    for cls in type(error).__mro__:
        if cls in CODES:
            return CODES[cls]
    return grpc.StatusCode.INTERNAL


# Messages may quote what the caller sent. Status and details travel in trailing
# metadata, which clients cap (16 KiB by default): a long quote would turn the
# answer into RESOURCE_EXHAUSTED on the caller's side.
MAX_MESSAGE_CHARS = 1_000
MAX_FIELD_CHARS = 150
MAX_DESCRIPTION_CHARS = 300
MAX_VIOLATIONS = 10


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def to_status(error: errors.HooksmithError) -> grpc.Status:
    """A status with `google.rpc.BadRequest` details for invalid arguments."""
    code = code_of(error)
    proto = status_pb2.Status(code=code.value[0], message=shorten(error.message, MAX_MESSAGE_CHARS))
    if isinstance(error, errors.InvalidArgument) and error.violations:
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=shorten(v.field, MAX_FIELD_CHARS),
                    description=shorten(v.description, MAX_DESCRIPTION_CHARS),
                )
                for v in error.violations[:MAX_VIOLATIONS]
            ]
        )
        detail = any_pb2.Any()
        detail.Pack(bad_request)
        proto.details.append(detail)
    status: grpc.Status = rpc_status.to_status(proto)
    return status


async def abort(
    context: grpc.aio.ServicerContext[object, object], error: errors.HooksmithError
) -> None:
    status = to_status(error)
    await context.abort(status.code, status.details, status.trailing_metadata)
