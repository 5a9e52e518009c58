"""WatchOutcomes streams opened straight on a test server's stub."""

from __future__ import annotations

import grpc

from hooksmith.v1 import webhooks_pb2 as pb
from tests.harness.server import Api, Running

START_CURSOR = "hooksmith-start-cursor"
"""The initial-metadata key that carries a stream's start position."""

Call = grpc.aio.UnaryStreamCall[pb.WatchOutcomesRequest, pb.WatchOutcomesResponse]


async def watch(server: Running, api: Api, request: pb.WatchOutcomesRequest) -> Call:
    """A stream, positioned: its start is fixed once the initial metadata arrives."""
    call: Call = server.stub.WatchOutcomes(
        request, metadata=(("authorization", f"Bearer {api.key}"),), timeout=180
    )
    metadata = dict(await call.initial_metadata())
    assert metadata.get(START_CURSOR)
    return call


async def start_cursor(server: Running, api: Api) -> str:
    """A cursor of "now", as a stream's initial metadata gives it."""
    call = await watch(server, api, pb.WatchOutcomesRequest())
    cursor = dict(await call.initial_metadata())[START_CURSOR]
    call.cancel()
    return str(cursor)
