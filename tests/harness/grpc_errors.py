"""Reading gRPC errors the way a caller would: status code and BadRequest violations."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2


def violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    """field -> description from the `google.rpc.BadRequest` detail."""
    found: dict[str, str] = {}
    for key, value in error.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                found.update({v.field: v.description for v in bad.field_violations})
    return found


async def expect_error(call: Awaitable[Any], code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    error = caught.value
    assert error.code() == code, f"expected {code}, got {error.code()}: {error.details()}"
    return error


async def expect_invalid(call: Awaitable[Any], field: str, *fragments: str) -> str:
    """The call fails INVALID_ARGUMENT with a violation on `field`; returns its description."""
    error = await expect_error(call, grpc.StatusCode.INVALID_ARGUMENT)
    found = violations(error)
    assert field in found, f"no violation on {field!r}; got {found}"
    for fragment in fragments:
        assert fragment in found[field], f"{fragment!r} not in {found[field]!r}"
    return found[field]
