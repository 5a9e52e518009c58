"""Protobuf messages <-> domain values. No I/O, no policy: shapes only."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import duration_pb2, struct_pb2, timestamp_pb2

from hooksmith.v1 import webhooks_pb2 as pb
from hooksmith_server import domain, errors
from hooksmith_server.api import storable
from hooksmith_server.rendering.limits import DataLimits

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
_LANGUAGES = {
    pb.TEMPLATE_LANGUAGE_UNSPECIFIED: domain.TemplateLanguage.JINJA,
    pb.TEMPLATE_LANGUAGE_JINJA: domain.TemplateLanguage.JINJA,
    pb.TEMPLATE_LANGUAGE_LIQUID: domain.TemplateLanguage.LIQUID,
}
_LANGUAGES_PB = {v: k for k, v in _LANGUAGES.items() if k != pb.TEMPLATE_LANGUAGE_UNSPECIFIED}

STATES_PB = {
    domain.WebhookState.ACTIVE: pb.WEBHOOK_STATE_ACTIVE,
    domain.WebhookState.ARCHIVED: pb.WEBHOOK_STATE_ARCHIVED,
    domain.WebhookState.DISABLED: pb.WEBHOOK_STATE_DISABLED,
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
    domain.MessageStatus.SKIPPED: pb.MESSAGE_STATUS_SKIPPED,
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


DATA_LIMITS = DataLimits()
_OTHER_VALUE_BYTES = 8
"""What a number, boolean, null, list or object counts towards a size (see `DataLimits`)."""


def struct(s: struct_pb2.Struct, field: str, limits: DataLimits = DATA_LIMITS) -> dict[str, Any]:
    """A Struct as JSON values (numbers are floats), as `json_format.MessageToDict` gives.

    Read as `data` is, within `limits` (at most `max_data_bytes`); see `_Reader`.
    """
    return _data(s, field, limits).values


def recipient(
    message: pb.Recipient, field: str, limits: DataLimits = DATA_LIMITS
) -> domain.Recipient:
    return _recipient(message, field, limits)[0]


def caller_data(
    recipients: Sequence[pb.Recipient], data: struct_pb2.Struct, limits: DataLimits = DATA_LIMITS
) -> tuple[list[domain.Recipient], dict[str, Any]]:
    """A call's recipients (`recipients[i]`) and `data`, each within `limits`.

    Every message keeps its own copy of `data`, so a call stores it once per recipient;
    that and every recipient's size count against `max_call_bytes`, checked as each
    recipient is read, so an oversized call stops early.
    """
    data_read = _data(data, "data", limits)
    count = len(recipients)
    stored = data_read.size * count
    if stored > limits.max_call_bytes:
        raise errors.InvalidArgument.field(
            "data",
            f"is stored with each of the {count:,} recipients: {_size(stored)} in all, more "
            f"than the {_size(limits.max_call_bytes)} one call may store; send less data or "
            "fewer recipients per call",
        )
    out = []
    for i, message in enumerate(recipients):
        value, size = _recipient(message, f"recipients[{i}]", limits)
        stored += size
        if stored > limits.max_call_bytes:
            raise errors.InvalidArgument.field(
                "recipients",
                f"hold more than {_size(limits.max_call_bytes)} by recipients[{i}], counting "
                "`data` once per recipient (each message keeps its own copy); send fewer "
                "recipients per call",
            )
        out.append(value)
    return out, data_read.values


def _data(s: struct_pb2.Struct, field: str, limits: DataLimits) -> _Reader:
    reader = _Reader(limits, limits.max_data_bytes, shared=False)
    reader.values = reader.read(s, field)
    return reader


def _recipient(
    message: pb.Recipient, field: str, limits: DataLimits
) -> tuple[domain.Recipient, int]:
    # One reader for both: tags and entry_event share the recipient's size budget.
    reader = _Reader(limits, limits.max_recipient_bytes, shared=True)
    tags = reader.read(message.tags, f"{field}.tags")
    entry_event = reader.read(message.entry_event, f"{field}.entry_event")
    value = domain.Recipient(user_id=message.user_id, tags=tags, entry_event=entry_event)
    return value, reader.size


class _Reader:
    """Reads Structs (`data`, or a recipient's `tags` then `entry_event`) into JSON values.

    Every value is checked as it is read, in one walk, so a Send of a thousand
    recipients is walked once. A NUL character or a non-finite number, which the store
    cannot hold, is InvalidArgument naming its path below the field
    (`recipients[3].tags.name`). Nesting deeper than `max_depth`, more than `max_items`
    keys and list items in one field, or more than `max_bytes` in all the fields read is
    InvalidArgument naming the field (`recipients[3].tags`). The count of a list or
    object is checked before its items are read, the size once they are (one check per
    list or object, not per value).
    """

    __slots__ = (
        "_field",
        "_items_left",
        "_limits",
        "_max_bytes",
        "_shared",
        "size",
        "values",
    )

    def __init__(self, limits: DataLimits, max_bytes: int, *, shared: bool) -> None:
        self._limits = limits
        self._max_bytes = max_bytes
        self._shared = shared
        self._field = ""
        self._items_left = 0
        self.size = 0
        self.values: dict[str, Any] = {}

    def read(self, s: struct_pb2.Struct, field: str) -> dict[str, Any]:
        """`s` as `field`; its size adds to what this reader read before."""
        self._field = field
        self._items_left = self._limits.max_items
        return self._struct(s, field, 1)

    def _struct(self, s: struct_pb2.Struct, path: str, depth: int) -> dict[str, Any]:
        fields = s.fields
        self._count(len(fields))
        out = {}
        for key, value in fields.items():
            if "\x00" in key:
                raise errors.InvalidArgument.field(path, storable.NUL)
            self.size += len(key) if key.isascii() else len(key.encode())
            out[key] = self._value(value, path, key, depth)
        if self.size > self._max_bytes:
            raise self._too_large()
        return out

    def _value(self, value: struct_pb2.Value, path: str, key: str | int, depth: int) -> Any:
        kind = value.WhichOneof("kind")
        if kind == "string_value":
            text = value.string_value
            if "\x00" in text:
                raise errors.InvalidArgument.field(_at(path, key), storable.NUL)
            self.size += len(text) if text.isascii() else len(text.encode())
            return text
        self.size += _OTHER_VALUE_BYTES
        if kind == "number_value":
            number = value.number_value
            if not math.isfinite(number):
                raise errors.InvalidArgument.field(_at(path, key), storable.NOT_FINITE)
            return number
        if kind == "bool_value":
            return value.bool_value
        if kind == "struct_value":
            self._nest(depth)
            return self._struct(value.struct_value, _at(path, key), depth + 1)
        if kind == "list_value":
            self._nest(depth)
            items = value.list_value.values
            self._count(len(items))
            inner = _at(path, key)
            out = [self._value(item, inner, i, depth + 1) for i, item in enumerate(items)]
            if self.size > self._max_bytes:
                raise self._too_large()
            return out
        return None

    def _nest(self, depth: int) -> None:
        if depth >= self._limits.max_depth:
            raise errors.InvalidArgument.field(
                self._field, f"nested deeper than {self._limits.max_depth} levels"
            )

    def _count(self, items: int) -> None:
        self._items_left -= items
        if self._items_left < 0:
            raise errors.InvalidArgument.field(
                self._field,
                f"holds more than {self._limits.max_items:,} object keys and list items in all",
            )

    def _too_large(self) -> errors.InvalidArgument:
        limit = _size(self._max_bytes)
        problem = f"holds more than {limit}"
        if self._shared:
            beside = " with the tags beside it" if self._field.endswith(".entry_event") else ""
            problem += f"{beside} (a recipient's tags and entry_event may hold {limit} together)"
        return errors.InvalidArgument.field(self._field, problem)


def _size(n: int) -> str:
    if n >= 1024 * 1024 and n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MiB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n:,} bytes"


def _at(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


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
        template_language=enum_value(
            _LANGUAGES, message.template_language, f"{field}.template_language"
        ),
        auth=auth(message.auth) if message.HasField("auth") else None,
        capture=tuple(domain.Capture(c.name, c.pointer) for c in message.capture),
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
            disable_after=(
                duration(policy.disable_after, f"{field}.policy.disable_after")
                if policy.HasField("disable_after")
                else None
            ),
        ),
    )


def auth(message: pb.Auth) -> domain.Auth | None:
    """The method set in `message`; None when it sets none."""
    method = message.WhichOneof("method")
    if method == "basic":
        return domain.BasicAuth(username=message.basic.username, password=message.basic.password)
    if method == "bearer":
        return domain.BearerAuth(token=message.bearer.token)
    if method == "oauth2_client_credentials":
        oauth = message.oauth2_client_credentials
        return domain.OAuth2ClientCredentials(
            token_url=oauth.token_url,
            client_id=oauth.client_id,
            client_secret=oauth.client_secret,
            scopes=tuple(oauth.scopes),
            audience=oauth.audience,
        )
    return None


def auth_pb(value: domain.Auth) -> pb.Auth:
    if isinstance(value, domain.BasicAuth):
        return pb.Auth(basic=pb.BasicAuth(username=value.username, password=value.password))
    if isinstance(value, domain.BearerAuth):
        return pb.Auth(bearer=pb.BearerAuth(token=value.token))
    return pb.Auth(
        oauth2_client_credentials=pb.OAuth2ClientCredentials(
            token_url=value.token_url,
            client_id=value.client_id,
            client_secret=value.client_secret,
            scopes=list(value.scopes),
            audience=value.audience,
        )
    )


def spec_pb(value: domain.WebhookSpec) -> pb.WebhookSpec:
    policy = pb.DeliveryPolicy(
        retry_schedule=[duration_pb(d) for d in value.policy.retry_schedule],
        rate_limit=value.policy.rate_limit or 0.0,
    )
    if value.policy.timeout is not None:
        policy.timeout.CopyFrom(duration_pb(value.policy.timeout))
    if value.policy.disable_after is not None:
        policy.disable_after.CopyFrom(duration_pb(value.policy.disable_after))
    return pb.WebhookSpec(
        name=value.name,
        description=value.description,
        method=_METHODS_PB[value.method],
        url=value.url,
        headers=headers_pb(value.headers),
        body_format=_FORMATS_PB[value.body_format],
        body=value.body,
        template_language=_LANGUAGES_PB[value.template_language],
        policy=policy,
        auth=auth_pb(value.auth) if value.auth is not None else None,
        capture=[pb.Capture(name=c.name, pointer=c.pointer) for c in value.capture],
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
        state_reason=value.state_reason,
    )


def alert_settings_pb(value: domain.AlertSettings) -> pb.AlertSettings:
    return pb.AlertSettings(url=value.url, signing_secret=value.signing_secret)


def health_pb(value: domain.DestinationHealth) -> pb.DestinationHealth:
    paused = value.paused_until is not None
    return pb.DestinationHealth(
        destination=value.destination,
        state=pb.DESTINATION_STATE_PAUSED if paused else pb.DESTINATION_STATE_HEALTHY,
        paused_until=timestamp_pb(value.paused_until) if value.paused_until else None,
        consecutive_failures=min(value.consecutive_failures, 2**31 - 1),
        last_error=value.last_error or "",
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
    out.captured.update(value.captured)
    return out


def outcome_pb(value: domain.MessageOutcome, cursor: str) -> pb.Outcome:
    return pb.Outcome(
        message_id=str(value.message_id),
        webhook_id=str(value.webhook_id),
        user_id=value.user_id,
        labels=dict(value.labels),
        status=STATUSES_PB[value.status],
        status_code=value.status_code,
        captured=dict(value.captured),
        error=value.error or "",
        finish_time=timestamp_pb(value.finish_time),
        cursor=cursor,
        kind=KINDS_PB[value.kind],
    )
