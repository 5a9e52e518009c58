"""`hooksmith.v1.WebhookService`: authenticate, convert, call the use case, convert back."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith.v1 import webhooks_pb2_grpc as pb_grpc
from hooksmith_server import domain, errors
from hooksmith_server.api import convert, status, storable
from hooksmith_server.api.auth import Authenticator
from hooksmith_server.api.registration import Undecodable
from hooksmith_server.service.alerts import Alerts
from hooksmith_server.service.messages import Messages
from hooksmith_server.service.outcomes import Outcomes
from hooksmith_server.service.webhooks import Webhooks

log = logging.getLogger(__name__)

Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp")
Context = grpc.aio.ServicerContext[Any, Any]
Impl = Callable[[Any, domain.Caller, Req, Context], Awaitable[Resp]]
Handler = Callable[[Any, Req | Undecodable, Context], Awaitable[Resp]]


async def _admitted(
    servicer: WebhookServicer,
    request: Req | Undecodable,
    context: Context,
    method: str,
    scopes: tuple[domain.Scope, ...],
) -> tuple[domain.Caller, Req]:
    """The caller and its request, once the key, its scope and the request pass; raises
    HooksmithError."""
    caller = await servicer.auth.caller(context.invocation_metadata())
    if caller.scope not in scopes:
        raise errors.PermissionDenied(f"a {caller.scope.value} key may not call {method}")
    # After authentication, like every other check of the request: a caller without a
    # valid key learns nothing from what it sends.
    if isinstance(request, Undecodable):
        raise errors.InvalidArgument(f"the request could not be decoded: {request.reason}")
    storable.check_request(request)
    return caller, request


def rpc(*scopes: domain.Scope) -> Callable[[Impl[Req, Resp]], Handler[Req, Resp]]:
    """Authenticate, check the key's scope, and map every error to a status, in one place."""

    def decorate(impl: Impl[Req, Resp]) -> Handler[Req, Resp]:
        @functools.wraps(impl)
        async def handler(
            self: WebhookServicer, request: Req | Undecodable, context: Context
        ) -> Resp:
            try:
                caller, checked = await _admitted(self, request, context, impl.__name__, scopes)
                return await impl(self, caller, checked, context)
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


StreamImpl = Callable[[Any, domain.Caller, Req, Context], AsyncIterator[Resp]]
StreamHandler = Callable[[Any, Req | Undecodable, Context], AsyncIterator[Resp]]


def rpc_stream(
    *scopes: domain.Scope,
) -> Callable[[StreamImpl[Req, Resp]], StreamHandler[Req, Resp]]:
    """`rpc` for a server-streaming method: the same checks before the first response,
    and every error, before or during the stream, mapped to a status in one place."""

    def decorate(impl: StreamImpl[Req, Resp]) -> StreamHandler[Req, Resp]:
        @functools.wraps(impl)
        async def handler(
            self: WebhookServicer, request: Req | Undecodable, context: Context
        ) -> AsyncIterator[Resp]:
            try:
                caller, checked = await _admitted(self, request, context, impl.__name__, scopes)
                async for response in impl(self, caller, checked, context):
                    yield response
                return
            except errors.HooksmithError as e:
                error: errors.HooksmithError = e
            except Exception:
                log.exception("%s failed", impl.__name__)
                await context.abort(grpc.StatusCode.INTERNAL, "internal error")
                raise  # unreachable: abort raises
            await status.abort(context, error)

        return handler

    return decorate


CONSOLE = domain.Scope.CONSOLE
JOURNEY = domain.Scope.JOURNEY
START_CURSOR_METADATA = "hooksmith-start-cursor"
"""WatchOutcomes' initial metadata: a cursor of where the stream starts, sent once it is
positioned (resuming from it misses nothing, even before the first outcome arrives)."""


class WebhookServicer(pb_grpc.WebhookServiceServicer):
    def __init__(
        self,
        auth: Authenticator,
        webhooks: Webhooks,
        messages: Messages,
        alerts: Alerts,
        outcomes: Outcomes,
    ) -> None:
        self.auth = auth
        self.webhooks = webhooks
        self.messages = messages
        self.alerts = alerts
        self.outcomes = outcomes

    @rpc(CONSOLE)
    async def Create(
        self, caller: domain.Caller, request: pb.CreateRequest, context: Context
    ) -> pb.CreateResponse:
        webhook = await self.webhooks.create(caller, convert.spec(request.spec))
        return pb.CreateResponse(webhook=convert.webhook_pb(webhook))

    @rpc(CONSOLE, JOURNEY)
    async def Get(
        self, caller: domain.Caller, request: pb.GetRequest, context: Context
    ) -> pb.GetResponse:
        webhook = await self.webhooks.get(caller, request.id, request.version)
        return pb.GetResponse(webhook=convert.webhook_pb(webhook))

    @rpc(CONSOLE, JOURNEY)
    async def List(
        self, caller: domain.Caller, request: pb.ListRequest, context: Context
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
        self, caller: domain.Caller, request: pb.UpdateRequest, context: Context
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
        self, caller: domain.Caller, request: pb.DeleteRequest, context: Context
    ) -> pb.DeleteResponse:
        webhook = await self.webhooks.delete(caller, request.id)
        return pb.DeleteResponse(webhook=convert.webhook_pb(webhook))

    @rpc(CONSOLE, JOURNEY)
    async def Render(
        self, caller: domain.Caller, request: pb.RenderRequest, context: Context
    ) -> pb.RenderResponse:
        source = request.WhichOneof("source")
        preview = await self.webhooks.preview(
            caller,
            webhook_id=request.webhook_id if source == "webhook_id" else None,
            draft=convert.spec(request.draft, "draft") if source == "draft" else None,
            version=request.version,
            recipient=convert.recipient(request.recipient, "recipient"),
            data=convert.struct(request.data, "data"),
        )
        return pb.RenderResponse(
            request=convert.request_pb(preview.request),
            missing_variables=list(preview.missing_variables),
            data_fields=list(preview.data_fields),
            skipped=preview.skip_reason is not None,
            skip_reason=preview.skip_reason or "",
        )

    @rpc(CONSOLE)
    async def RotateSecret(
        self, caller: domain.Caller, request: pb.RotateSecretRequest, context: Context
    ) -> pb.RotateSecretResponse:
        webhook = await self.webhooks.rotate_secret(caller, request.id)
        return pb.RotateSecretResponse(webhook=convert.webhook_pb(webhook))

    @rpc(CONSOLE)
    async def SendTest(
        self, caller: domain.Caller, request: pb.SendTestRequest, context: Context
    ) -> pb.SendTestResponse:
        recipients, data = convert.caller_data(request.recipients, request.data)
        sent = await self.messages.send_test(caller, request.webhook_id, recipients, data)
        return pb.SendTestResponse(messages=[convert.message_pb(m) for m in sent])

    @rpc(CONSOLE, JOURNEY)
    async def Send(
        self, caller: domain.Caller, request: pb.SendRequest, context: Context
    ) -> pb.SendResponse:
        recipients, data = convert.caller_data(request.recipients, request.data)
        message_ids = await self.messages.send(
            caller,
            request.webhook_id,
            recipients,
            data,
            idempotency_key=request.idempotency_key,
            labels=dict(request.labels),
        )
        return pb.SendResponse(message_ids=[str(i) for i in message_ids])

    @rpc(CONSOLE)
    async def ListHistory(
        self, caller: domain.Caller, request: pb.ListHistoryRequest, context: Context
    ) -> pb.ListHistoryResponse:
        page, token = await self.messages.history(
            caller,
            webhook_id=request.webhook_id,
            statuses=[
                convert.enum_value(convert.STATUSES, s, "statuses") for s in request.statuses
            ],
            kind=(
                convert.enum_value(convert.KINDS, request.kind, "kind")
                if request.kind != pb.MESSAGE_KIND_UNSPECIFIED
                else None
            ),
            user_id=request.user_id,
            start_time=(
                convert.timestamp(request.start_time, "start_time")
                if request.HasField("start_time")
                else None
            ),
            end_time=(
                convert.timestamp(request.end_time, "end_time")
                if request.HasField("end_time")
                else None
            ),
            labels=dict(request.labels),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListHistoryResponse(
            messages=[convert.message_pb(m) for m in page], next_page_token=token
        )

    @rpc(CONSOLE)
    async def GetMessage(
        self, caller: domain.Caller, request: pb.GetMessageRequest, context: Context
    ) -> pb.GetMessageResponse:
        message = await self.messages.get(caller, request.id)
        return pb.GetMessageResponse(message=convert.message_pb(message))

    @rpc(CONSOLE)
    async def PurgeUser(
        self, caller: domain.Caller, request: pb.PurgeUserRequest, context: Context
    ) -> pb.PurgeUserResponse:
        purged = await self.messages.purge_user(caller, request.user_id)
        return pb.PurgeUserResponse(purged_messages=purged)

    @rpc_stream(CONSOLE, JOURNEY)
    async def WatchOutcomes(
        self, caller: domain.Caller, request: pb.WatchOutcomesRequest, context: Context
    ) -> AsyncIterator[pb.WatchOutcomesResponse]:
        watch = await self.outcomes.open(
            caller,
            webhook_ids=list(request.webhook_ids),
            labels=dict(request.labels),
            after_cursor=request.after_cursor,
            include_test=request.include_test,
        )
        await context.send_initial_metadata(((START_CURSOR_METADATA, watch.start_cursor),))
        async for batch in watch.batches():
            yield pb.WatchOutcomesResponse(
                outcomes=[convert.outcome_pb(d.outcome, d.cursor) for d in batch]
            )

    @rpc(CONSOLE)
    async def Retry(
        self, caller: domain.Caller, request: pb.RetryRequest, context: Context
    ) -> pb.RetryResponse:
        message = await self.messages.retry(caller, request.message_id)
        return pb.RetryResponse(message=convert.message_pb(message))

    @rpc(CONSOLE)
    async def RetryFailed(
        self, caller: domain.Caller, request: pb.RetryFailedRequest, context: Context
    ) -> pb.RetryFailedResponse:
        retried = await self.messages.retry_failed(
            caller,
            request.webhook_id,
            (
                convert.timestamp(request.start_time, "start_time")
                if request.HasField("start_time")
                else None
            ),
            (
                convert.timestamp(request.end_time, "end_time")
                if request.HasField("end_time")
                else None
            ),
            request.request_id,
        )
        return pb.RetryFailedResponse(retried_messages=retried)

    @rpc(CONSOLE)
    async def GetAlertSettings(
        self, caller: domain.Caller, request: pb.GetAlertSettingsRequest, context: Context
    ) -> pb.GetAlertSettingsResponse:
        settings = await self.alerts.get(caller)
        return pb.GetAlertSettingsResponse(settings=convert.alert_settings_pb(settings))

    @rpc(CONSOLE)
    async def UpdateAlertSettings(
        self, caller: domain.Caller, request: pb.UpdateAlertSettingsRequest, context: Context
    ) -> pb.UpdateAlertSettingsResponse:
        settings = await self.alerts.update(caller, request.settings.url)
        return pb.UpdateAlertSettingsResponse(settings=convert.alert_settings_pb(settings))
