"""A stand-in `WebhookService` on loopback whose methods fail UNAVAILABLE a set number of
times before answering, recording every call and its metadata: what a client retries, and
with which key, is then visible."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith.v1 import webhooks_pb2_grpc as pb_grpc


@dataclass
class FakeService(pb_grpc.WebhookServiceServicer):
    failures: Counter[str] = field(default_factory=Counter)
    """Method name -> how many more calls fail UNAVAILABLE."""
    calls: Counter[str] = field(default_factory=Counter)
    keys: list[str] = field(default_factory=list)
    port: int = 0

    async def _answer(self, method: str, context: Any, response: Any) -> Any:
        self.calls[method] += 1
        self.keys.extend(v for k, v in context.invocation_metadata() if k == "authorization")
        if self.failures[method] > 0:
            self.failures[method] -= 1
            await context.abort(grpc.StatusCode.UNAVAILABLE, "try again")
        return response

    async def Get(self, request: pb.GetRequest, context: Any) -> pb.GetResponse:
        webhook = pb.Webhook(id=request.id, version=1)
        return await self._answer("Get", context, pb.GetResponse(webhook=webhook))

    async def Create(self, request: pb.CreateRequest, context: Any) -> pb.CreateResponse:
        webhook = pb.Webhook(id="wh_1", version=1, spec=request.spec)
        return await self._answer("Create", context, pb.CreateResponse(webhook=webhook))

    async def Send(self, request: pb.SendRequest, context: Any) -> pb.SendResponse:
        ids = [f"msg_{r.user_id}" for r in request.recipients]
        return await self._answer("Send", context, pb.SendResponse(message_ids=ids))


@asynccontextmanager
async def serving(
    credentials: grpc.ServerCredentials | None = None,
) -> AsyncIterator[FakeService]:
    service = FakeService()
    server = grpc.aio.server()
    pb_grpc.add_WebhookServiceServicer_to_server(service, server)
    if credentials is None:
        service.port = server.add_insecure_port("127.0.0.1:0")
    else:
        service.port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    try:
        yield service
    finally:
        await server.stop(None)
