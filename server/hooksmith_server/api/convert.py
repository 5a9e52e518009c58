"""Protobuf messages <-> domain values. No I/O, no policy: shapes only."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server import domain, errors
from hooksmith_server.api import storable

_METHODS = {
    pb.HTTP_METHOD_UNSPECIFIED: domain.HttpMethod.POST,
    pb.HTTP_METHOD_GET: domain.HttpMethod.GET,
    pb.HTTP_METHOD_POST: domain.HttpMethod.POST,
    pb.HTTP_METHOD_PUT: domain.HttpMethod.PUT,
    pb.HTTP_METHOD_PATCH: domain.HttpMethod.PATCH,
    pb.HTTP_METHOD_DELETE: domain.HttpMethod.DELETE,
}
_METHODS_PB = {v: k for k, v in _METHODS.items() if k != pb.HTTP_METHOD_UNSPECIFIED}

_FORMATS = {
    pb.BODY_FORMAT_UNSPECIFIED: domain.BodyFormat.JSON,
    pb.BODY_FORMAT_JSON: domain.BodyFormat.JSON,
    pb.BODY_FORMAT_TEXT: domain.BodyFormat.TEXT,
    pb.BODY_FORMAT_FORM: domain.BodyFormat.FORM,
}
_FORMATS_PB = {v: k for k, v in _FORMATS.items() if k != pb.BODY_FORMAT_UNSPECIFIED}

STATES_PB = {
    domain.WebhookState.ACTIVE: pb.WEBHOOK_STATE_ACTIVE,
    domain.WebhookState.ARCHIVED: pb.WEBHOOK_STATE_ARCHIVED,
}
KINDS_PB = {
    domain.MessageKind.TEST: pb.MESSAGE_KIND_TEST,
    domain.MessageKind.LIVE: pb.MESSAGE_KIND_LIVE,
}
KINDS = {v: k for k, v in KINDS_PB.items()}
STATUSES_PB = {
    domain.MessageStatus.PENDING: pb.MESSAGE_STATUS_PENDING,
    domain.MessageStatus.SUCCEEDED: pb.MESSAGE_STATUS_SUCCEEDED,
    domain.MessageStatus.FAILED: pb.MESSAGE_STATUS_FAILED,
}
STATUSES = {v: k for k, v in STATUSES_PB.items()}
TRIGGERS_PB = {
    domain.AttemptTrigger.SCHEDULED: pb.ATTEMPT_TRIGGER_SCHEDULED,
    domain.AttemptTrigger.MANUAL: pb.ATTEMPT_TRIGGER_MANUAL,
}


def enum_value(table: dict[Any, Any], value: int, field: str) -> Any:
    try:
        return table[value]
    except KeyError:
        raise errors.InvalidArgument.field(field, f"unknown value {value}") from None


# google.protobuf.Duration's own range, ±10,000 years; timedelta overflows further out.
_MAX_DURATION_SECONDS = 315_576_000_000
_MAX_DURATION_NANOS = 999_999_999


def duration(d: duration_pb2.Duration, field: str) -> timedelta:
    if not (
        -_MAX_DURATION_SECONDS <= d.seconds <= _MAX_DURATION_SECONDS
        and -_MAX_DURATION_NANOS <= d.nanos <= _MAX_DURATION_NANOS
    ):
        raise errors.InvalidArgument.field(
            field, "is not a valid duration: it must be within ±10,000 years"
        )
    return timedelta(seconds=d.seconds, microseconds=d.nanos // 1000)


def duration_pb(d: timedelta) -> duration_pb2.Duration:
    out = duration_pb2.Duration()
    out.FromTimedelta(d)
    return out


# What Python's datetime can hold: 0001-01-01 to 9999-12-31.
_MIN_SECONDS = -62_135_596_800
_MAX_SECONDS = 253_402_300_799


def timestamp(t: timestamp_pb2.Timestamp, field: str) -> datetime:
    if not (_MIN_SECONDS <= t.seconds <= _MAX_SECONDS) or not (0 <= t.nanos < 1_000_000_000):
        raise errors.InvalidArgument.field(field, "must be between years 1 and 9999")
    return t.ToDatetime(UTC)


def timestamp_pb(t: Any) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(t)
    return out


def struct(s: struct_pb2.Struct, field: str) -> dict[str, Any]:
    """A Struct as JSON values (numbers are floats), as `json_format.MessageToDict` gives.

    A NUL character or a non-finite number, which the store cannot hold, is
    InvalidArgument naming its path below `field` (`recipients[3].tags.name`). One
    plain loop: a Send carries thousands of values.
    """
    out = {}
    for key, value in s.fields.items():
        if "\x00" in key:
            raise errors.InvalidArgument.field(field, storable.NUL)
        out[key] = _plain(value, field, key)
    return out


def _plain(value: struct_pb2.Value, path: str, key: str | int) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        text = value.string_value
        if "\x00" in text:
            raise errors.InvalidArgument.field(_at(path, key), storable.NUL)
        return text
    if kind == "number_value":
        number = value.number_value
        if not math.isfinite(number):
            raise errors.InvalidArgument.field(_at(path, key), storable.NOT_FINITE)
        return number
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return struct(value.struct_value, _at(path, key))
    if kind == "list_value":
        inner = _at(path, key)
        return [_plain(item, inner, i) for i, item in enumerate(value.list_value.values)]
    return None


def _at(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def struct_pb(value: Any) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


def spec(message: pb.WebhookSpec, field: str = "spec") -> domain.WebhookSpec:
    policy = message.policy
    return domain.WebhookSpec(
        name=message.name,
        description=message.description,
        method=enum_value(_METHODS, message.method, f"{field}.method"),
        url=message.url,
        headers=tuple(domain.Header(h.name, h.value, h.secret) for h in message.headers),
        body_format=enum_value(_FORMATS, message.body_format, f"{field}.body_format"),
        body=message.body,
        policy=domain.DeliveryPolicy(
            timeout=(
                duration(policy.timeout, f"{field}.policy.timeout")
                if policy.HasField("timeout")
                else None
            ),
            retry_schedule=tuple(
                duration(d, f"{field}.policy.retry_schedule[{i}]")
                for i, d in enumerate(policy.retry_schedule)
            ),
            rate_limit=policy.rate_limit or None,
        ),
    )


def spec_pb(value: domain.WebhookSpec) -> pb.WebhookSpec:
    policy = pb.DeliveryPolicy(
        retry_schedule=[duration_pb(d) for d in value.policy.retry_schedule],
        rate_limit=value.policy.rate_limit or 0.0,
    )
    if value.policy.timeout is not None:
        policy.timeout.CopyFrom(duration_pb(value.policy.timeout))
    return pb.WebhookSpec(
        name=value.name,
        description=value.description,
        method=_METHODS_PB[value.method],
        url=value.url,
        headers=headers_pb(value.headers),
        body_format=_FORMATS_PB[value.body_format],
        body=value.body,
        policy=policy,
    )


def headers_pb(headers: tuple[domain.Header, ...]) -> list[pb.Header]:
    return [pb.Header(name=h.name, value=h.value, secret=h.secret) for h in headers]


def webhook_pb(value: domain.Webhook) -> pb.Webhook:
    return pb.Webhook(
        id=value.id,
        version=value.version,
        spec=spec_pb(value.spec),
        data_fields=list(value.data_fields),
        state=STATES_PB[value.state],
        signing_secret=value.signing_secret,
        create_time=timestamp_pb(value.create_time),
        update_time=timestamp_pb(value.update_time),
        destination_health=health_pb(value.health) if value.health is not None else None,
        created_by_key=value.created_by_key,
    )


def health_pb(value: domain.DestinationHealth) -> pb.DestinationHealth:
    paused = value.paused_until is not None
    return pb.DestinationHealth(
        destination=value.destination,
        state=pb.DESTINATION_STATE_PAUSED if paused else pb.DESTINATION_STATE_HEALTHY,
        paused_until=timestamp_pb(value.paused_until) if value.paused_until else None,
        consecutive_failures=min(value.consecutive_failures, 2**31 - 1),
        last_error=value.last_error or "",
    )


def recipient(message: pb.Recipient, field: str) -> domain.Recipient:
    return domain.Recipient(
        user_id=message.user_id,
        tags=struct(message.tags, f"{field}.tags"),
        entry_event=struct(message.entry_event, f"{field}.entry_event"),
    )


def request_pb(value: domain.HttpRequest) -> pb.HttpRequest:
    return pb.HttpRequest(
        method=value.method, url=value.url, headers=headers_pb(value.headers), body=value.body
    )


def response_pb(value: domain.HttpResponse) -> pb.HttpResponse:
    return pb.HttpResponse(
        status_code=value.status_code,
        headers=headers_pb(value.headers),
        body=value.body,
        body_truncated=value.body_truncated,
    )


def attempt_pb(value: domain.AttemptRecord) -> pb.Attempt:
    out = pb.Attempt(
        number=value.number,
        trigger=TRIGGERS_PB[value.trigger],
        start_time=timestamp_pb(value.start_time),
        error=value.error or "",
    )
    if value.duration is not None:
        out.duration.CopyFrom(duration_pb(value.duration))
    if value.request is not None:
        out.request.CopyFrom(request_pb(value.request))
    if value.response is not None:
        out.response.CopyFrom(response_pb(value.response))
    return out


def message_pb(value: domain.MessageRecord) -> pb.Message:
    out = pb.Message(
        id=str(value.id),
        webhook_id=str(value.webhook_id),
        webhook_version=value.webhook_version,
        user_id=value.user_id,
        kind=KINDS_PB[value.kind],
        status=STATUSES_PB[value.status],
        attempt_count=value.attempt_count,
        error=value.error or "",
        labels=dict(value.labels),
        attempts=[attempt_pb(a) for a in value.attempts],
        create_time=timestamp_pb(value.create_time),
        update_time=timestamp_pb(value.update_time),
    )
    if value.request is not None:
        out.request.CopyFrom(request_pb(value.request))
    if value.response is not None:
        out.response.CopyFrom(response_pb(value.response))
    if value.status == domain.MessageStatus.PENDING and value.next_attempt_time is not None:
        out.next_attempt_time.CopyFrom(timestamp_pb(value.next_attempt_time))
    if value.purge_time is not None:
        out.purge_time.CopyFrom(timestamp_pb(value.purge_time))
    return out
