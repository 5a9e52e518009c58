"""`hooksmith.v1.WebhookService`: authenticate, convert, call the use case, convert back."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith.v1 import webhooks_pb2_grpc as pb_grpc
from hooksmith_server import domain, errors
from hooksmith_server.api import convert, status
from hooksmith_server.api.auth import Authenticator
from hooksmith_server.store.keys import Caller
from hooksmith_server.webhooks import Webhooks

log = logging.getLogger(__name__)

Req = TypeVar("Req")
Resp = TypeVar("Resp")
Context = grpc.aio.ServicerContext[Any, Any]
Impl = Callable[[Any, Caller, Req, Context], Awaitable[Resp]]
Handler = Callable[[Any, Req, Context], Awaitable[Resp]]


def rpc(*scopes: domain.Scope) -> Callable[[Impl[Req, Resp]], Handler[Req, Resp]]:
    """Authenticate, check the key's scope, and map every error to a status, in one place."""

    def decorate(impl: Impl[Req, Resp]) -> Handler[Req, Resp]:
        @functools.wraps(impl)
        async def handler(self: WebhookServicer, request: Req, context: Context) -> Resp:
            try:
                caller = await self.auth.authenticate(context.invocation_metadata())
                if caller.scope not in scopes:
                    raise errors.PermissionDenied(
                        f"a {caller.scope.value} key may not call {impl.__name__}"
                    )
                return await impl(self, caller, request, context)
            except errors.HooksmithError as e:
                error: errors.HooksmithError = e
            except Exception:
                log.exception("%s failed", impl.__name__)
                await context.abort(grpc.StatusCode.INTERNAL, "internal error")
                raise  # unreachable: abort raises
            await status.abort(context, error)
            raise AssertionError("unreachable: abort raises")

        return handler

    return decorate


CONSOLE = domain.Scope.CONSOLE
JOURNEY = domain.Scope.JOURNEY


class WebhookServicer(pb_grpc.WebhookServiceServicer):
    def __init__(self, auth: Authenticator, webhooks: Webhooks) -> None:
        self.auth = auth
        self.webhooks = webhooks

    @rpc(CONSOLE)
    async def Create(
        self, caller: Caller, request: pb.CreateRequest, context: Context
    ) -> pb.CreateResponse:
        webhook = await self.webhooks.create(caller, convert.spec(request.spec))
        return pb.CreateResponse(webhook=convert.webhook_pb(webhook))

    @rpc(CONSOLE, JOURNEY)
    async def Get(self, caller: Caller, request: pb.GetRequest, context: Context) -> pb.GetResponse:
        webhook = await self.webhooks.get(caller, request.id, request.version)
        return pb.GetResponse(webhook=convert.webhook_pb(webhook))

    @rpc(CONSOLE, JOURNEY)
    async def List(
        self, caller: Caller, request: pb.ListRequest, context: Context
    ) -> pb.ListResponse:
        page, token = await self.webhooks.list(
            caller,
            page_size=request.page_size,
            page_token=request.page_token,
            show_archived=request.show_archived,
        )
        return pb.ListResponse(
            webhooks=[convert.webhook_pb(w) for w in page], next_page_token=token
        )

    @rpc(CONSOLE)
    async def Update(
        self, caller: Caller, request: pb.UpdateRequest, context: Context
    ) -> pb.UpdateResponse:
        webhook = await self.webhooks.update(
            caller,
            request.id,
            convert.spec(request.spec),
            list(request.update_mask.paths),
            request.expected_version,
        )
        return pb.UpdateResponse(webhook=convert.webhook_pb(webhook))

    @rpc(CONSOLE)
    async def Delete(
        self, caller: Caller, request: pb.DeleteRequest, context: Context
    ) -> pb.DeleteResponse:
        webhook = await self.webhooks.delete(caller, request.id)
        return pb.DeleteResponse(webhook=convert.webhook_pb(webhook))

    @rpc(CONSOLE, JOURNEY)
    async def Render(
        self, caller: Caller, request: pb.RenderRequest, context: Context
    ) -> pb.RenderResponse:
        source = request.WhichOneof("source")
        preview = await self.webhooks.preview(
            caller,
            webhook_id=request.webhook_id if source == "webhook_id" else None,
            draft=convert.spec(request.draft, "draft") if source == "draft" else None,
            version=request.version,
            recipient=convert.recipient(request.recipient),
            data=convert.struct(request.data),
        )
        return pb.RenderResponse(
            request=convert.request_pb(preview.request),
            missing_variables=list(preview.missing_variables),
            data_fields=list(preview.data_fields),
        )

    @rpc(CONSOLE)
    async def RotateSecret(
        self, caller: Caller, request: pb.RotateSecretRequest, context: Context
    ) -> pb.RotateSecretResponse:
        webhook = await self.webhooks.rotate_secret(caller, request.id)
        return pb.RotateSecretResponse(webhook=convert.webhook_pb(webhook))

    # Delivery is declared in the contract and built next; until then these say so.
    async def _unimplemented(self, name: str, context: Context) -> Any:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{name} is not available yet")

    async def SendTest(self, request: pb.SendTestRequest, context: Context) -> Any:
        return await self._unimplemented("SendTest", context)

    async def Send(self, request: pb.SendRequest, context: Context) -> Any:
        return await self._unimplemented("Send", context)

    async def ListHistory(self, request: pb.ListHistoryRequest, context: Context) -> Any:
        return await self._unimplemented("ListHistory", context)

    async def GetMessage(self, request: pb.GetMessageRequest, context: Context) -> Any:
        return await self._unimplemented("GetMessage", context)

    async def Retry(self, request: pb.RetryRequest, context: Context) -> Any:
        return await self._unimplemented("Retry", context)
