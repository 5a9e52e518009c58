"""`SyncClient`: the blocking client, on `grpc`."""

from __future__ import annotations

import time
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Self, TypeVar

import grpc
from google.protobuf import field_mask_pb2

from hooksmith import _requests as build
from hooksmith import errors
from hooksmith._channel import (
    DEFAULT_DEADLINE,
    START_CURSOR_METADATA,
    WATCH_RECONNECTS,
    channel_options,
    check_deadline,
    resolve,
    send_backoffs,
    watch_backoffs,
)
from hooksmith._requests import MessageKind, MessageStatus, RecipientLike, Spec, Time, Values
from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith.v1 import webhooks_pb2_grpc as pb_grpc

_Request = TypeVar("_Request")
_Response = TypeVar("_Response")


class SyncClient:
    """A blocking client of `hooksmith.v1.WebhookService`.

    `target` ("host:port") and `api_key` default to `HOOKSMITH_TARGET` and
    `HOOKSMITH_API_KEY`. The channel is plaintext unless `secure=True` (TLS with the
    system's root certificates) or `root_certificates=` (TLS trusting those PEM roots);
    `client_certificate=` and `client_key=` (PEM) add a client certificate for servers
    that require one (mutual TLS).
    Alternatively pass `channel=` (a `grpc.Channel` you built, e.g. with
    `hooksmith.channel_options()`); the client then neither takes a target nor closes it.

    Every call has a deadline of `deadline` seconds (10 by default; None for none), which
    each method's own `deadline=` overrides. Failures raise `hooksmith.errors` classes.

        with SyncClient("127.0.0.1:50051", key) as client:
            webhook = client.create({"name": "SMS", "url": "https://sms.example.com"})
    """

    def __init__(
        self,
        target: str | None = None,
        api_key: str | None = None,
        *,
        secure: bool = False,
        root_certificates: bytes | None = None,
        client_certificate: bytes | None = None,
        client_key: bytes | None = None,
        channel: grpc.Channel | None = None,
        deadline: float | None = DEFAULT_DEADLINE,
    ) -> None:
        connection = resolve(
            target,
            api_key,
            secure=secure,
            root_certificates=root_certificates,
            client_certificate=client_certificate,
            client_key=client_key,
            has_channel=channel is not None,
        )
        self._deadline = check_deadline(deadline)
        self._metadata = connection.metadata
        self._owns_channel = channel is None
        if channel is not None:
            self._channel = channel
        elif connection.credentials is not None:
            self._channel = grpc.secure_channel(
                connection.target, connection.credentials, options=channel_options()
            )
        else:
            self._channel = grpc.insecure_channel(connection.target, options=channel_options())
        self._stub = pb_grpc.WebhookServiceStub(self._channel)

    @property
    def deadline(self) -> float | None:
        """The default deadline of each call, in seconds."""
        return self._deadline

    def close(self) -> None:
        """Close the channel, unless it was passed in as `channel=`."""
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # Webhooks

    def create(self, spec: Spec, *, deadline: float | None = None) -> pb.Webhook:
        """Save a new webhook as version 1; returns it with its signing secret."""
        response = self._call(self._stub.Create, build.create(spec), deadline)
        return response.webhook

    def get(
        self, webhook_id: str, *, version: int = 0, deadline: float | None = None
    ) -> pb.Webhook:
        """One version of a webhook; the latest when `version` is 0."""
        response = self._call(self._stub.Get, build.get(webhook_id, version), deadline)
        return response.webhook

    def list(
        self,
        *,
        page_size: int = 0,
        page_token: str = "",
        show_archived: bool = False,
        deadline: float | None = None,
    ) -> pb.ListResponse:
        """One page of webhooks, newest first; `iter_webhooks` walks them all."""
        request = build.list_webhooks(page_size, page_token, show_archived)
        return self._call(self._stub.List, request, deadline)

    def iter_webhooks(
        self, *, page_size: int = 0, show_archived: bool = False, deadline: float | None = None
    ) -> Iterator[pb.Webhook]:
        """Every webhook, newest first, fetched a page at a time (`deadline` is per page)."""
        token = ""
        while True:
            page = self.list(
                page_size=page_size,
                page_token=token,
                show_archived=show_archived,
                deadline=deadline,
            )
            yield from page.webhooks
            token = page.next_page_token
            if not token:
                return

    def update(
        self,
        webhook_id: str,
        spec: Spec,
        *,
        update_mask: field_mask_pb2.FieldMask | Iterable[str] | None = None,
        expected_version: int = 0,
        deadline: float | None = None,
    ) -> pb.Webhook:
        """Save a new version. `update_mask` lists the spec fields to replace (all when
        None); a non-zero `expected_version` makes a stale update `errors.Aborted`."""
        request = build.update(webhook_id, spec, update_mask, expected_version)
        response = self._call(self._stub.Update, request, deadline)
        return response.webhook

    def delete(self, webhook_id: str, *, deadline: float | None = None) -> pb.Webhook:
        """Archive a webhook; returns it as archived."""
        response = self._call(self._stub.Delete, pb.DeleteRequest(id=webhook_id), deadline)
        return response.webhook

    def rotate_secret(self, webhook_id: str, *, deadline: float | None = None) -> pb.Webhook:
        """Add a new signing secret; returns the webhook carrying it."""
        request = pb.RotateSecretRequest(id=webhook_id)
        response = self._call(self._stub.RotateSecret, request, deadline)
        return response.webhook

    def render(
        self,
        webhook_id: str | None = None,
        *,
        draft: Spec | None = None,
        version: int = 0,
        recipient: RecipientLike | None = None,
        data: Values | None = None,
        deadline: float | None = None,
    ) -> pb.RenderResponse:
        """The request a saved webhook (or an unsaved `draft=`) would send; nothing is sent."""
        request = build.render(webhook_id, draft, version, recipient, data)
        return self._call(self._stub.Render, request, deadline)

    # Messages

    def send_test(
        self,
        webhook_id: str,
        recipients: Sequence[RecipientLike],
        *,
        data: Values | None = None,
        deadline: float | None = None,
    ) -> pb.SendTestResponse:
        """Send now, once, to up to 20 recipients; returns each message with its attempt."""
        request = build.send_test(webhook_id, recipients, data)
        return self._call(self._stub.SendTest, request, deadline)

    def send(
        self,
        webhook_id: str,
        recipients: Sequence[RecipientLike],
        *,
        data: Values | None = None,
        idempotency_key: str = "",
        labels: Mapping[str, str] | None = None,
        deadline: float | None = None,
    ) -> pb.SendResponse:
        """Queue one message per recipient; returns their ids once stored.

        With an `idempotency_key`, a call that fails UNAVAILABLE is made again (within the
        deadline): the server answers a repeated key and user with the existing message.
        Without one, a retry could queue every message twice, so it is not retried."""
        request = build.send(webhook_id, recipients, data, idempotency_key, labels)
        timeout = self._timeout(deadline)
        if not idempotency_key:
            return self._invoke(self._stub.Send, request, timeout)
        end = None if timeout is None else time.monotonic() + timeout
        delays = send_backoffs()
        while True:
            remaining = None if end is None else end - time.monotonic()
            try:
                return self._invoke(self._stub.Send, request, remaining)
            except errors.Unavailable:
                delay = next(delays, None)
                if delay is None or (end is not None and time.monotonic() + delay >= end):
                    raise
                time.sleep(delay)

    def list_history(
        self,
        *,
        webhook_id: str = "",
        statuses: Iterable[MessageStatus] = (),
        kind: MessageKind = pb.MESSAGE_KIND_UNSPECIFIED,
        user_id: str = "",
        start_time: Time | None = None,
        end_time: Time | None = None,
        labels: Mapping[str, str] | None = None,
        page_size: int = 0,
        page_token: str = "",
        deadline: float | None = None,
    ) -> pb.ListHistoryResponse:
        """One page of messages matching every given filter, newest first."""
        request = build.list_history(
            webhook_id=webhook_id,
            statuses=statuses,
            kind=kind,
            user_id=user_id,
            start_time=start_time,
            end_time=end_time,
            labels=labels,
            page_size=page_size,
            page_token=page_token,
        )
        return self._call(self._stub.ListHistory, request, deadline)

    def iter_history(
        self,
        *,
        webhook_id: str = "",
        statuses: Iterable[MessageStatus] = (),
        kind: MessageKind = pb.MESSAGE_KIND_UNSPECIFIED,
        user_id: str = "",
        start_time: Time | None = None,
        end_time: Time | None = None,
        labels: Mapping[str, str] | None = None,
        page_size: int = 0,
        deadline: float | None = None,
    ) -> Iterator[pb.Message]:
        """Every matching message, newest first, a page at a time (`deadline` is per page)."""
        statuses = tuple(statuses)
        token = ""
        while True:
            page = self.list_history(
                webhook_id=webhook_id,
                statuses=statuses,
                kind=kind,
                user_id=user_id,
                start_time=start_time,
                end_time=end_time,
                labels=labels,
                page_size=page_size,
                page_token=token,
                deadline=deadline,
            )
            yield from page.messages
            token = page.next_page_token
            if not token:
                return

    def get_message(self, message_id: str, *, deadline: float | None = None) -> pb.Message:
        """One message with every attempt."""
        request = pb.GetMessageRequest(id=message_id)
        response = self._call(self._stub.GetMessage, request, deadline)
        return response.message

    def retry(self, message_id: str, *, deadline: float | None = None) -> pb.Message:
        """Queue a manual attempt of a finished message; returns the message."""
        request = pb.RetryRequest(message_id=message_id)
        response = self._call(self._stub.Retry, request, deadline)
        return response.message

    def purge_user(self, user_id: str, *, deadline: float | None = None) -> int:
        """Erase a user's requests, responses, recipient and data from history (an erasure
        request); the messages stay, marked purged. Returns how many this call purged."""
        request = pb.PurgeUserRequest(user_id=user_id)
        response = self._call(self._stub.PurgeUser, request, deadline)
        return response.purged_messages

    def watch_outcomes(
        self,
        *,
        webhook_ids: Iterable[str] = (),
        labels: Mapping[str, str] | None = None,
        after_cursor: str = "",
        include_test: bool = False,
        reconnects: int = WATCH_RECONNECTS,
    ) -> Generator[pb.Outcome, None, None]:
        """Every message of the workspace as it finishes, as `Client.watch_outcomes` (the
        same filters, resume and reconnects), blocking between outcomes. Close the
        iterator (or leave the loop) to end the stream."""
        request = build.watch_outcomes(webhook_ids, labels, after_cursor, include_test)
        delays = watch_backoffs(reconnects)
        while True:
            call = self._stub.WatchOutcomes(request, metadata=self._metadata)
            try:
                for key, value in call.initial_metadata() or ():
                    if key != START_CURSOR_METADATA:
                        continue
                    delays = watch_backoffs(reconnects)
                    if not request.after_cursor:
                        request.after_cursor = str(value)
                for response in call:
                    for outcome in response.outcomes:
                        yield outcome
                        request.after_cursor = outcome.cursor
                return
            except grpc.RpcError as error:
                failure = errors.from_rpc_error(error)
                delay = next(delays, None) if isinstance(failure, errors.Unavailable) else None
                if delay is None:
                    raise failure from error
            finally:
                call.cancel()
            time.sleep(delay)

    def retry_failed(
        self,
        webhook_id: str,
        start: Time,
        end: Time,
        *,
        request_id: str = "",
        deadline: float | None = None,
    ) -> int:
        """Queue a manual attempt of every FAILED live message of the webhook created in
        [start, end) (at most 31 days); returns how many. With `request_id`, a repeat
        within 24 h returns the first call's count and queues nothing."""
        request = build.retry_failed(webhook_id, start, end, request_id)
        response = self._call(self._stub.RetryFailed, request, deadline)
        return response.retried_messages

    def get_alert_settings(self, *, deadline: float | None = None) -> pb.AlertSettings:
        """Where the workspace's operator alerts go, and their signing secret."""
        request = pb.GetAlertSettingsRequest()
        response = self._call(self._stub.GetAlertSettings, request, deadline)
        return response.settings

    def update_alert_settings(self, url: str, *, deadline: float | None = None) -> pb.AlertSettings:
        """Send the workspace's operator alerts to `url` (an empty one stops them); the
        signing secret is made on the first set and kept after."""
        request = pb.UpdateAlertSettingsRequest(settings=pb.AlertSettings(url=url))
        response = self._call(self._stub.UpdateAlertSettings, request, deadline)
        return response.settings

    # Plumbing

    def _timeout(self, deadline: float | None) -> float | None:
        return self._deadline if deadline is None else check_deadline(deadline)

    def _call(
        self,
        method: grpc.UnaryUnaryMultiCallable[_Request, _Response],
        request: _Request,
        deadline: float | None,
    ) -> _Response:
        return self._invoke(method, request, self._timeout(deadline))

    def _invoke(
        self,
        method: grpc.UnaryUnaryMultiCallable[_Request, _Response],
        request: _Request,
        seconds: float | None,
    ) -> _Response:
        try:
            return method(request, timeout=seconds, metadata=self._metadata)
        except grpc.RpcError as error:
            raise errors.from_rpc_error(error) from error
