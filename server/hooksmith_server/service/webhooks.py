"""Webhooks: validating specs, versions, data fields and rendering previews."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from hooksmith_server import domain, errors, ids, pagination, rendering
from hooksmith_server.delivery import capture, masking, signing
from hooksmith_server.delivery import credentials as send_credentials
from hooksmith_server.rendering import urls
from hooksmith_server.service import credentials
from hooksmith_server.service.versions import Versions
from hooksmith_server.store.catalog import WebhookStore
from hooksmith_server.store.destinations import DestinationStore

MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 4_000
MAX_TIMEOUT = timedelta(seconds=60)
MAX_RETRIES = 25
MAX_RETRY_DELAY = timedelta(days=7)
MAX_RATE_LIMIT = 10_000.0
MIN_DISABLE_AFTER = timedelta(hours=1)
"""A webhook is disabled only after failing at least this long: a short outage of a
receiver (a deploy, a restart) must not need an operator to enable it again."""
MAX_DISABLE_AFTER = timedelta(days=90)
SECRET_ROTATION_GRACE = timedelta(hours=24)
MAX_VERSION = 2**31 - 1
"""The largest version number a webhook can have (PostgreSQL `integer`)."""

# Update mask paths and the spec attribute each replaces.
_MASK_PATHS = {
    "name": "name",
    "description": "description",
    "method": "method",
    "url": "url",
    "headers": "headers",
    "body_format": "body_format",
    "body": "body",
    "template_language": "template_language",
    "capture": "capture",
    "auth": "auth",
    "policy": "policy",
    "policy.timeout": "policy.timeout",
    "policy.retry_schedule": "policy.retry_schedule",
    "policy.rate_limit": "policy.rate_limit",
    "policy.disable_after": "policy.disable_after",
}


@dataclass(frozen=True)
class Preview:
    """What Render returns."""

    request: domain.HttpRequest
    missing_variables: tuple[str, ...]
    data_fields: tuple[str, ...]
    skip_reason: str | None = None
    """Set when a template ran `{% skip %}` for the recipient; `request` is then empty."""


def validate_spec(spec: domain.WebhookSpec, *, saved: bool = True) -> None:
    """Checks of the fields that are not templates; template fields are the renderer's."""
    bad: list[errors.FieldViolation] = []
    if not spec.name.strip():
        # A live preview of a draft has no name yet; a saved webhook must have one.
        if saved:
            bad.append(errors.FieldViolation("name", "is required"))
    elif len(spec.name) > MAX_NAME_CHARS:
        bad.append(errors.FieldViolation("name", f"must be at most {MAX_NAME_CHARS} characters"))
    if len(spec.description) > MAX_DESCRIPTION_CHARS:
        bad.append(
            errors.FieldViolation(
                "description", f"must be at most {MAX_DESCRIPTION_CHARS} characters"
            )
        )
    timeout = spec.policy.timeout
    if timeout is not None and not (timedelta(0) < timeout <= MAX_TIMEOUT):
        bad.append(
            errors.FieldViolation("policy.timeout", "must be more than 0 s and at most 60 s")
        )
    schedule = spec.policy.retry_schedule
    if len(schedule) > MAX_RETRIES:
        bad.append(
            errors.FieldViolation(
                "policy.retry_schedule", f"at most {MAX_RETRIES} retries, got {len(schedule)}"
            )
        )
    for i, delay in enumerate(schedule):
        if not (timedelta(0) <= delay <= MAX_RETRY_DELAY):
            bad.append(
                errors.FieldViolation(f"policy.retry_schedule[{i}]", "must be between 0 and 7 days")
            )
    rate = spec.policy.rate_limit
    # NaN fails every comparison and is refused too; the bounds keep a slot positive.
    if rate is not None and not (0 < rate <= MAX_RATE_LIMIT):
        bad.append(
            errors.FieldViolation(
                "policy.rate_limit",
                f"must be more than 0 and at most {MAX_RATE_LIMIT:,.0f} requests per second",
            )
        )
    disable_after = spec.policy.disable_after
    if disable_after is not None and not (MIN_DISABLE_AFTER <= disable_after <= MAX_DISABLE_AFTER):
        bad.append(
            errors.FieldViolation(
                "policy.disable_after", "must be at least 1 hour and at most 90 days"
            )
        )
    bad += credentials.problems(spec.auth, spec.headers)
    bad += capture.violations(spec.capture)
    if bad:
        raise errors.InvalidArgument(violations=bad)


def apply_mask(
    current: domain.WebhookSpec, new: domain.WebhookSpec, paths: Sequence[str]
) -> domain.WebhookSpec:
    """`current` with the fields named by `paths` taken from `new` (all when empty)."""
    if not paths:
        return new
    spec = current
    for path in paths:
        target = _MASK_PATHS.get(path)
        if target is None:
            raise errors.InvalidArgument.field(
                "update_mask", f"unknown field {path!r}; known: {', '.join(_MASK_PATHS)}"
            )
        if target.startswith("policy."):
            attr = target.removeprefix("policy.")
            policy = replace(spec.policy, **{attr: getattr(new.policy, attr)})
            spec = replace(spec, policy=policy)
        else:
            spec = replace(spec, **{target: getattr(new, target)})
    return spec


class Webhooks:
    """The webhook use cases behind Create, Get, List, Update, Delete and Render."""

    def __init__(
        self,
        store: WebhookStore,
        renderer: rendering.Renderer,
        versions: Versions,
        secrets: signing.SigningSecrets,
        destinations: DestinationStore,
    ) -> None:
        self._store = store
        self._destinations = destinations
        self._renderer = renderer
        self._versions = versions
        self._secrets = secrets

    def validated(
        self, spec: domain.WebhookSpec, field: str, *, saved: bool = True
    ) -> rendering.CompiledWebhook:
        """Validate and compile `spec`; violations are reported below `field`."""
        try:
            validate_spec(spec, saved=saved)
            return self._renderer.compile(spec)
        except errors.InvalidArgument as e:
            raise e.under(field) from None

    async def create(self, caller: domain.Caller, spec: domain.WebhookSpec) -> domain.Webhook:
        compiled = self.validated(spec, "spec")
        webhook = await self._store.create(
            caller.workspace_id,
            spec,
            compiled.data_fields,
            signing.new_secret(),
            created_by=caller.key_id,
        )
        return await self._with_health(caller, webhook)

    async def get(self, caller: domain.Caller, webhook_id: str, version: int = 0) -> domain.Webhook:
        """One version (the latest for 0), as `caller` may see it, with its destination's health."""
        webhook = as_seen_by(caller, await self._load(caller, webhook_id, version))
        return await self._with_health(caller, webhook)

    async def _with_health(self, caller: domain.Caller, webhook: domain.Webhook) -> domain.Webhook:
        return (await self._all_with_health(caller, [webhook]))[0]

    async def _all_with_health(
        self, caller: domain.Caller, webhooks: list[domain.Webhook]
    ) -> list[domain.Webhook]:
        names = [destination(webhook) for webhook in webhooks]
        health = await self._destinations.health(caller.workspace_id, names)
        return [replace(w, health=health[name]) for w, name in zip(webhooks, names, strict=True)]

    async def _load(self, caller: domain.Caller, webhook_id: str, version: int) -> domain.Webhook:
        _check_version("version", version)
        return await self._store.get(caller.workspace_id, _id(webhook_id), version)

    async def list(
        self, caller: domain.Caller, *, page_size: int, page_token: str, show_archived: bool
    ) -> tuple[list[domain.Webhook], str]:
        """A page of latest versions, as `caller` may see them, and the next page's token."""
        limit = pagination.page_size(page_size)
        after = pagination.decode(page_token)
        page, next_position = await self._store.list(
            caller.workspace_id, limit=limit, after=after, show_archived=show_archived
        )
        seen = [as_seen_by(caller, webhook) for webhook in page]
        return await self._all_with_health(caller, seen), pagination.encode(next_position)

    async def update(
        self,
        caller: domain.Caller,
        webhook_id: str,
        spec: domain.WebhookSpec,
        mask: Sequence[str],
        expected_version: int,
    ) -> domain.Webhook:
        _check_version("expected_version", expected_version)
        # An unknown mask path is reported before any lookup.
        apply_mask(spec, spec, mask)

        def edit(current: domain.WebhookSpec) -> tuple[domain.WebhookSpec, tuple[str, ...]]:
            merged = apply_mask(current, spec, mask)
            return merged, self.validated(merged, "spec").data_fields

        webhook = await self._store.update(
            caller.workspace_id, _id(webhook_id), expected_version, edit, created_by=caller.key_id
        )
        self._versions.forget(caller.workspace_id, uuid.UUID(webhook.id))
        return await self._with_health(caller, webhook)

    async def delete(self, caller: domain.Caller, webhook_id: str) -> domain.Webhook:
        webhook = await self._store.archive(caller.workspace_id, _id(webhook_id))
        self._versions.forget(caller.workspace_id, uuid.UUID(webhook.id))
        return await self._with_health(caller, webhook)

    async def rotate_secret(self, caller: domain.Caller, webhook_id: str) -> domain.Webhook:
        """A new current secret; the previous ones keep signing for the grace period."""
        webhook_uuid = _id(webhook_id)
        webhook = await self._store.rotate_secret(
            caller.workspace_id, webhook_uuid, signing.new_secret(), SECRET_ROTATION_GRACE
        )
        # Sign with the new secret from now on in this process; others see it within the TTL.
        self._secrets.forget(caller.workspace_id, webhook_uuid)
        return await self._with_health(caller, webhook)

    async def preview(
        self,
        caller: domain.Caller,
        *,
        webhook_id: str | None,
        draft: domain.WebhookSpec | None,
        version: int,
        recipient: domain.Recipient,
        data: Mapping[str, Any],
        mask_secrets: bool = False,
    ) -> Preview:
        """Render without sending; missing data fields are listed, not refused. Secret
        header values are masked for a journey key, or when `mask_secrets` asks."""
        if draft is not None:
            compiled = self.validated(draft, "draft", saved=False)
        elif webhook_id:
            webhook = await self._load(caller, webhook_id, version)
            compiled = self._versions.compiled(caller.workspace_id, webhook)
        else:
            raise errors.InvalidArgument.field("source", "set webhook_id or draft")
        try:
            rendered = compiled.render(recipient, data, require_data=False)
        except rendering.SkipRecipient as skip:
            empty = domain.HttpRequest(compiled.spec.method.value, "", (), "")
            return Preview(empty, (), compiled.data_fields, skip.reason)
        request = rendered.request
        if compiled.spec.auth is not None:
            # Made at send time; a preview shows it masked, whoever asks.
            shown = send_credentials.preview_header(compiled.spec.auth)
            request = replace(request, headers=(*request.headers, shown))
        if mask_secrets or caller.scope is not domain.Scope.CONSOLE:
            # Otherwise a preview would hand out the values Get masks.
            request = replace(request, headers=masking.mask_headers(request.headers))
        return Preview(request, rendered.missing_variables, compiled.data_fields)


def destination(webhook: domain.Webhook) -> str:
    """The lane a webhook's messages queue in: its receiver's host, shared by every
    webhook of the workspace that sends there; or the webhook alone when a template
    chooses the host, or when it has a rate limit (claims pace the lane)."""
    if webhook.spec.policy.rate_limit is None:
        host = urls.static_host(webhook.spec.url)
        if host is not None:
            return host
    return f"webhook:{webhook.id}"


def as_seen_by(caller: domain.Caller, webhook: domain.Webhook) -> domain.Webhook:
    """`webhook` for `caller`: a journey key sends and previews, so it gets no credentials.

    Its signing secret is left out and the values of secret (and always-sensitive)
    headers and the secrets of its auth are masked as history masks them; a console
    key sees everything.
    """
    if caller.scope is domain.Scope.CONSOLE:
        return webhook
    spec = replace(
        webhook.spec,
        headers=masking.mask_headers(webhook.spec.headers),
        auth=masking.mask_auth(webhook.spec.auth),
    )
    return replace(webhook, spec=spec, signing_secret="")


def _check_version(field: str, version: int) -> None:
    # Versions are PostgreSQL `integer`s; a larger number could never match.
    if not (0 <= version <= MAX_VERSION):
        raise errors.InvalidArgument.field(field, f"must be between 0 and {MAX_VERSION:,}")


def _id(text: str) -> uuid.UUID:
    return ids.parse(text, "id")
