"""Requests built from plain Python values, shared by the asyncio and the blocking client."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeAlias

from google.protobuf import field_mask_pb2, json_format, struct_pb2, timestamp_pb2

from hooksmith.v1 import webhooks_pb2 as pb

Spec: TypeAlias = pb.WebhookSpec | Mapping[str, Any]
"""A `WebhookSpec`, or a dict in its JSON form (`{"name": ..., "url": ..., "headers": [...],
"policy": {"timeout": "5s"}}`; proto field names and camelCase both work). Its `"auth"` may
be an `Auth` message (`hooksmith.auth`)."""

RecipientLike: TypeAlias = pb.Recipient | Mapping[str, Any]
"""A `Recipient`, or a dict: `{"user_id": "u1", "tags": {...}, "entry_event": {...}}`."""

Values: TypeAlias = struct_pb2.Struct | Mapping[str, Any]
"""Template values: a `Struct` or a dict of JSON values."""

Time: TypeAlias = datetime | timestamp_pb2.Timestamp

MessageStatus: TypeAlias = pb.MessageStatus.ValueType
MessageKind: TypeAlias = pb.MessageKind.ValueType


def spec(value: Spec) -> pb.WebhookSpec:
    if isinstance(value, pb.WebhookSpec):
        return value
    fields = dict(value)
    auth = fields.get("auth")
    if isinstance(auth, pb.Auth):
        # As `hooksmith.auth` makes it.
        fields["auth"] = json_format.MessageToDict(auth, preserving_proto_field_name=True)
    return json_format.ParseDict(fields, pb.WebhookSpec())


def recipient(value: RecipientLike) -> pb.Recipient:
    if isinstance(value, pb.Recipient):
        return value
    return json_format.ParseDict(dict(value), pb.Recipient())


def struct(value: Values | None) -> struct_pb2.Struct | None:
    if value is None or isinstance(value, struct_pb2.Struct):
        return value
    result = struct_pb2.Struct()
    result.update(value)
    return result


def timestamp(value: Time | None) -> timestamp_pb2.Timestamp | None:
    if value is None or isinstance(value, timestamp_pb2.Timestamp):
        return value
    result = timestamp_pb2.Timestamp()
    # Naive datetimes are taken as UTC, as protobuf does; pass aware ones to be exact.
    result.FromDatetime(value)
    return result


def mask(paths: field_mask_pb2.FieldMask | Iterable[str] | None) -> field_mask_pb2.FieldMask | None:
    if paths is None or isinstance(paths, field_mask_pb2.FieldMask):
        return paths
    if isinstance(paths, str):
        raise TypeError("update_mask takes a list of paths, not one string")
    return field_mask_pb2.FieldMask(paths=list(paths))


def create(value: Spec) -> pb.CreateRequest:
    return pb.CreateRequest(spec=spec(value))


def get(webhook_id: str, version: int) -> pb.GetRequest:
    return pb.GetRequest(id=webhook_id, version=version)


def list_webhooks(page_size: int, page_token: str, show_archived: bool) -> pb.ListRequest:
    return pb.ListRequest(page_size=page_size, page_token=page_token, show_archived=show_archived)


def update(
    webhook_id: str,
    value: Spec,
    update_mask: field_mask_pb2.FieldMask | Iterable[str] | None,
    expected_version: int,
) -> pb.UpdateRequest:
    return pb.UpdateRequest(
        id=webhook_id,
        spec=spec(value),
        update_mask=mask(update_mask),
        expected_version=expected_version,
    )


def render(
    webhook_id: str | None,
    draft: Spec | None,
    version: int,
    to: RecipientLike | None,
    data: Values | None,
) -> pb.RenderRequest:
    if (webhook_id is None) == (draft is None):
        raise ValueError("render takes either a webhook_id or a draft=, not both or neither")
    request = pb.RenderRequest(
        version=version,
        recipient=None if to is None else recipient(to),
        data=struct(data),
    )
    if draft is not None:
        request.draft.CopyFrom(spec(draft))
    else:
        request.webhook_id = webhook_id or ""
    return request


def send_test(
    webhook_id: str, recipients: Sequence[RecipientLike], data: Values | None
) -> pb.SendTestRequest:
    return pb.SendTestRequest(
        webhook_id=webhook_id,
        recipients=[recipient(r) for r in _many(recipients)],
        data=struct(data),
    )


def send(
    webhook_id: str,
    recipients: Sequence[RecipientLike],
    data: Values | None,
    idempotency_key: str,
    labels: Mapping[str, str] | None,
) -> pb.SendRequest:
    return pb.SendRequest(
        webhook_id=webhook_id,
        recipients=[recipient(r) for r in _many(recipients)],
        data=struct(data),
        idempotency_key=idempotency_key,
        labels=dict(labels or {}),
    )


def list_history(
    *,
    webhook_id: str,
    statuses: Iterable[MessageStatus],
    kind: MessageKind,
    user_id: str,
    start_time: Time | None,
    end_time: Time | None,
    labels: Mapping[str, str] | None,
    page_size: int,
    page_token: str,
) -> pb.ListHistoryRequest:
    return pb.ListHistoryRequest(
        webhook_id=webhook_id,
        statuses=list(statuses),
        kind=kind,
        user_id=user_id,
        start_time=timestamp(start_time),
        end_time=timestamp(end_time),
        labels=dict(labels or {}),
        page_size=page_size,
        page_token=page_token,
    )


def retry_failed(webhook_id: str, start: Time, end: Time, request_id: str) -> pb.RetryFailedRequest:
    return pb.RetryFailedRequest(
        webhook_id=webhook_id,
        start_time=timestamp(start),
        end_time=timestamp(end),
        request_id=request_id,
    )


def watch_outcomes(
    webhook_ids: Iterable[str],
    labels: Mapping[str, str] | None,
    after_cursor: str,
    include_test: bool,
) -> pb.WatchOutcomesRequest:
    if isinstance(webhook_ids, str):
        raise TypeError("webhook_ids takes a list of webhook ids, not one string")
    return pb.WatchOutcomesRequest(
        webhook_ids=list(webhook_ids),
        labels=dict(labels or {}),
        after_cursor=after_cursor,
        include_test=include_test,
    )


def _many(recipients: Sequence[RecipientLike]) -> Sequence[RecipientLike]:
    # One dict is a Mapping, and iterating it would yield its keys as "recipients".
    if isinstance(recipients, Mapping | pb.Recipient):
        raise TypeError("recipients takes a list of recipients")
    return recipients
