"""Errors raised by `hooksmith.Client` and `hooksmith.SyncClient` instead of `grpc.RpcError`.

Every class stands for one gRPC status code and derives from `HooksmithError`, so callers
can catch one outcome (`except errors.NotFound`) or all of them (`except HooksmithError`).
The original `grpc.RpcError` stays available as `__cause__`.
"""

from __future__ import annotations

from typing import NamedTuple, cast

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

__all__ = [
    "Aborted",
    "AlreadyExists",
    "Cancelled",
    "DataLoss",
    "DeadlineExceeded",
    "FailedPrecondition",
    "HooksmithError",
    "Internal",
    "InvalidArgument",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
    "Violation",
    "from_rpc_error",
]


class Violation(NamedTuple):
    """One `google.rpc.BadRequest.FieldViolation`; a plain `(field, description)` pair."""

    field: str
    description: str


class HooksmithError(Exception):
    """A call failed with a non-OK gRPC status.

    `code` is the `grpc.StatusCode`; `details` is the status message (what gRPC calls the
    details of a status); `status` is the full `google.rpc.Status` from the
    `grpc-status-details-bin` trailer when the server sent one, with its packed `details`.
    """

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(
        self,
        details: str,
        *,
        code: grpc.StatusCode | None = None,
        status: status_pb2.Status | None = None,
    ) -> None:
        super().__init__(details)
        if code is not None:
            self.code = code
        self.details = details
        self.status = status

    def __str__(self) -> str:
        return f"{self.code.name}: {self.details}"


class Cancelled(HooksmithError):
    code = grpc.StatusCode.CANCELLED


class Unknown(HooksmithError):
    code = grpc.StatusCode.UNKNOWN


class InvalidArgument(HooksmithError):
    """Bad input. `violations` lists the fields the server refused, in its order."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(
        self,
        details: str,
        *,
        code: grpc.StatusCode | None = None,
        status: status_pb2.Status | None = None,
    ) -> None:
        super().__init__(details, code=code, status=status)
        self.violations: list[Violation] = _violations(status)


class DeadlineExceeded(HooksmithError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class NotFound(HooksmithError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(HooksmithError):
    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(HooksmithError):
    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(HooksmithError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(HooksmithError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Aborted(HooksmithError):
    code = grpc.StatusCode.ABORTED


class OutOfRange(HooksmithError):
    code = grpc.StatusCode.OUT_OF_RANGE


class Unimplemented(HooksmithError):
    code = grpc.StatusCode.UNIMPLEMENTED


class Internal(HooksmithError):
    code = grpc.StatusCode.INTERNAL


class Unavailable(HooksmithError):
    code = grpc.StatusCode.UNAVAILABLE


class DataLoss(HooksmithError):
    code = grpc.StatusCode.DATA_LOSS


class Unauthenticated(HooksmithError):
    code = grpc.StatusCode.UNAUTHENTICATED


_BY_CODE: dict[grpc.StatusCode, type[HooksmithError]] = {
    cls.code: cls
    for cls in (
        Cancelled,
        Unknown,
        InvalidArgument,
        DeadlineExceeded,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        ResourceExhausted,
        FailedPrecondition,
        Aborted,
        OutOfRange,
        Unimplemented,
        Internal,
        Unavailable,
        DataLoss,
        Unauthenticated,
    )
}


def from_rpc_error(error: grpc.RpcError) -> HooksmithError:
    """The `HooksmithError` for a failed call (a `grpc.RpcError` that is also a `grpc.Call`,
    as both the blocking and the asyncio stubs raise)."""
    call = cast(grpc.Call, error)
    code = call.code()
    details = call.details() or ""
    cls = _BY_CODE.get(code, HooksmithError)
    return cls(details, code=code, status=_rich_status(call))


def _rich_status(call: grpc.Call) -> status_pb2.Status | None:
    try:
        status: status_pb2.Status | None = rpc_status.from_call(call)
    except ValueError:
        # The trailer disagrees with the status line (a proxy rewrote one of them): the
        # status line is what gRPC acted on, so the error keeps it and drops the trailer
        # rather than failing to report the error at all.
        return None
    return status


def _violations(status: status_pb2.Status | None) -> list[Violation]:
    if status is None:
        return []
    found: list[Violation] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            found.extend(Violation(v.field, v.description) for v in bad_request.field_violations)
    return found
