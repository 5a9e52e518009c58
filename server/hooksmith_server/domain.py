"""Domain types shared by every layer: plain frozen dataclasses, no I/O.

The API layer converts protobuf messages to and from these; the store keeps
them as JSON; rendering and delivery work on them alone.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

# Values decoded from `google.protobuf.Struct`: JSON-like, numbers are floats.
JsonValue = Any
JsonObject = Mapping[str, JsonValue]


class HttpMethod(enum.StrEnum):
    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"


class BodyFormat(enum.StrEnum):
    JSON = "JSON"
    TEXT = "TEXT"
    FORM = "FORM"


class TemplateLanguage(enum.StrEnum):
    """The syntax a webhook's URL, header values and body are written in."""

    JINJA = "JINJA"
    LIQUID = "LIQUID"


class WebhookState(enum.StrEnum):
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"
    DISABLED = "DISABLED"
    """Every attempt failed for the policy's `disable_after`; Update enables it again."""


class MessageKind(enum.StrEnum):
    TEST = "TEST"
    LIVE = "LIVE"


class MessageStatus(enum.StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    """The template ran `{% skip %}`: no request was made; the reason is the error."""


class AttemptTrigger(enum.StrEnum):
    SCHEDULED = "SCHEDULED"
    MANUAL = "MANUAL"


class Scope(enum.StrEnum):
    """What an API key may do: `console` everything, `journey` Send, Get, List, Render
    and WatchOutcomes."""

    CONSOLE = "console"
    JOURNEY = "journey"


@dataclass(frozen=True)
class Header:
    """One HTTP header; `secret` values are masked in history."""

    name: str
    value: str
    secret: bool = False


@dataclass(frozen=True)
class DeliveryPolicy:
    """How a webhook's messages are delivered."""

    timeout: timedelta | None = None
    """Per-attempt timeout; None means the default."""
    retry_schedule: tuple[timedelta, ...] = ()
    """Delays before each retry; empty means the default schedule."""
    rate_limit: float | None = None
    """Requests per second at most, across every process; None means no limit."""
    disable_after: timedelta | None = None
    """Disable the webhook once every attempt has failed for this long; None never does."""


@dataclass(frozen=True)
class BasicAuth:
    """`Authorization: Basic base64(username:password)`."""

    username: str
    # Secrets stay out of reprs, so no log line or traceback can carry one.
    password: str = field(repr=False)
    """Secret."""


@dataclass(frozen=True)
class BearerAuth:
    """`Authorization: Bearer <token>`."""

    token: str = field(repr=False)
    """Secret."""


@dataclass(frozen=True)
class OAuth2ClientCredentials:
    """A token fetched with the client credentials grant, sent as a bearer token."""

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    """Secret."""
    scopes: tuple[str, ...] = ()
    audience: str = ""
    """Sent as `audience` when set."""


Auth = BasicAuth | BearerAuth | OAuth2ClientCredentials
"""How a webhook's requests authenticate to the receiver."""


@dataclass(frozen=True)
class Capture:
    """A value of a 2xx JSON response to keep on the message, under `name`."""

    name: str
    pointer: str
    """An RFC 6901 JSON pointer into the response body, e.g. `/data/code`."""


@dataclass(frozen=True)
class WebhookSpec:
    """What a console user edits: the template of one HTTP request."""

    name: str
    url: str
    method: HttpMethod = HttpMethod.POST
    description: str = ""
    headers: tuple[Header, ...] = ()
    body_format: BodyFormat = BodyFormat.JSON
    body: str = ""
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    template_language: TemplateLanguage = TemplateLanguage.JINJA
    auth: Auth | None = None
    """The Authorization header made at send time; None sends none of its own."""
    capture: tuple[Capture, ...] = ()
    """Values kept from each 2xx JSON response (`MessageRecord.captured`)."""


@dataclass(frozen=True)
class DestinationHealth:
    """The circuit breaker's view of the destination a webhook sends to."""

    destination: str
    consecutive_failures: int = 0
    paused_until: datetime | None = None
    """Set while paused (and after, until a probe succeeds)."""
    last_error: str | None = None


@dataclass(frozen=True)
class Webhook:
    """One version of a saved webhook."""

    id: str
    version: int
    spec: WebhookSpec
    data_fields: tuple[str, ...]
    state: WebhookState
    signing_secret: str = field(repr=False)
    create_time: datetime
    update_time: datetime
    health: DestinationHealth | None = None
    """Filled where callers see it (Get, List); None where it is not needed."""
    created_by_key: str = ""
    """The prefix of the API key that saved this version; empty if not recorded."""
    state_reason: str = ""
    """Why the webhook is DISABLED; empty otherwise."""


@dataclass(frozen=True)
class Recipient:
    """The user a message is for, with the values personalization reads."""

    user_id: str = ""
    tags: JsonObject = field(default_factory=dict)
    entry_event: JsonObject = field(default_factory=dict)


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request exactly as it is (or would be) sent."""

    method: str
    url: str
    headers: tuple[Header, ...]
    body: str


@dataclass(frozen=True)
class HttpResponse:
    """An HTTP response as received; `body` holds at most the first 64 KiB."""

    status_code: int
    headers: tuple[Header, ...]
    body: str
    body_truncated: bool = False


@dataclass(frozen=True)
class Caller:
    """Who is calling: decided by the API key, never by the request body."""

    workspace_id: uuid.UUID
    workspace: str
    scope: Scope
    key_id: uuid.UUID | None = None
    """The API key's id: recorded on what the caller saves."""


@dataclass(frozen=True)
class NewMessage:
    """A message about to be stored: its id and the user it is for."""

    id: uuid.UUID
    recipient: Recipient


@dataclass(frozen=True)
class Claim:
    """A message taken for one attempt, under a lease."""

    workspace_id: uuid.UUID
    id: uuid.UUID
    webhook_id: uuid.UUID
    webhook_version: int
    kind: MessageKind
    recipient: Recipient
    data: Mapping[str, Any]
    destination: str
    """The receiver's host (or `webhook:<id>` for a templated host): its lane's name."""
    attempt_number: int
    """Which attempt of the message this is, counting from 1."""
    failures: int
    """Scheduled attempts that failed before this one: the index into the retry schedule."""
    manual: bool
    send_at: datetime | None = None
    """A rate-limited message's turn: the request waits until then."""
    traceparent: str | None = None
    """The W3C trace context of the Send that made the message: its attempts' spans
    continue that trace."""

    @property
    def final(self) -> bool:
        """Test sends and manual retries are attempted once, never retried."""
        return self.manual or self.kind == MessageKind.TEST

    @property
    def lane(self) -> Lane:
        return Lane(self.workspace_id, self.destination)


@dataclass(frozen=True, slots=True)
class Lane:
    """Where deliveries queue and are shared fairly: one destination of one workspace."""

    workspace_id: uuid.UUID
    destination: str


@dataclass(frozen=True)
class Outcome:
    """An attempt's result and the message's next state, ready to be written."""

    claim: Claim
    start_time: datetime
    duration: timedelta
    request: HttpRequest | None
    response: HttpResponse | None
    error: str | None
    status: MessageStatus
    failures: int
    next_attempt_time: datetime | None
    receiver_ok: bool | None = None
    """What the attempt says of the receiver: it answered 2xx (True); it failed as a
    down or overloaded receiver does (False: connection error, timeout, 408, 429, 5xx);
    or neither (None: another 4xx, a redirect, or no request made)."""
    captured: Mapping[str, str] | None = None
    """The values the webhook's `capture` named, from a 2xx JSON response; None when
    nothing was captured."""


@dataclass(frozen=True)
class AttemptRecord:
    """One attempt as history shows it."""

    number: int
    trigger: AttemptTrigger
    start_time: datetime
    duration: timedelta | None
    request: HttpRequest | None
    response: HttpResponse | None
    error: str | None


@dataclass(frozen=True)
class MessageRecord:
    """One message as history shows it, with its attempts when asked for one message."""

    id: uuid.UUID
    webhook_id: uuid.UUID
    webhook_version: int
    user_id: str
    kind: MessageKind
    status: MessageStatus
    attempt_count: int
    request: HttpRequest | None
    response: HttpResponse | None
    error: str | None
    labels: Mapping[str, str]
    create_time: datetime
    update_time: datetime
    next_attempt_time: datetime | None
    attempts: tuple[AttemptRecord, ...] = ()
    purge_time: datetime | None = None
    """When PurgeUser erased its request, response, recipient and data; None if never."""
    captured: Mapping[str, str] = field(default_factory=dict)
    """The values its webhook's `capture` named, from its last attempt's 2xx response."""


@dataclass(frozen=True)
class HistoryFilter:
    """Which messages a history listing shows; unset fields match everything."""

    webhook_id: uuid.UUID | None = None
    statuses: tuple[MessageStatus, ...] = ()
    kind: MessageKind | None = None
    user_id: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HourlyCount:
    """How many messages of one webhook, created in one hour, have one status."""

    webhook_id: uuid.UUID
    hours_ago: int
    """0 for the hour up to now, 1 for the one before, and so on."""
    status: MessageStatus
    count: int


@dataclass(frozen=True)
class AlertSettings:
    """Where a workspace's operator alerts go, and the secret they are signed with."""

    url: str = ""
    """Empty: the workspace records no alerts."""
    signing_secret: str = field(default="", repr=False)


@dataclass(frozen=True)
class AlertDelivery:
    """An alert event taken from the outbox for one attempt, under a lease."""

    id: uuid.UUID
    """The event's id: its `webhook-id` header, the same on every attempt."""
    workspace_id: uuid.UUID
    type: str
    payload: JsonObject
    """The JSON body: `type`, `timestamp` and `data`."""
    url: str
    signing_secret: str = field(repr=False)
    attempts: int
    """This attempt's number, counting from 1."""
    create_time: datetime


@dataclass(frozen=True)
class MessageOutcome:
    """One time a message finished, as WatchOutcomes streams it."""

    xid: int
    """The id of the transaction that finished it: the stream is ordered by (xid, seq)."""
    seq: int
    message_id: uuid.UUID
    webhook_id: uuid.UUID
    user_id: str
    labels: Mapping[str, str]
    kind: MessageKind
    status: MessageStatus
    status_code: int
    """The last response's status code; 0 when none arrived."""
    error: str | None
    captured: Mapping[str, str]
    finish_time: datetime


@dataclass(frozen=True)
class OutcomeFilter:
    """Which outcomes a stream shows; every set field must match."""

    webhook_ids: tuple[uuid.UUID, ...] = ()
    """Empty: every webhook."""
    labels: Mapping[str, str] = field(default_factory=dict)
    include_test: bool = False
    """Test messages too; otherwise only live ones."""
