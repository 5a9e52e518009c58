"""Helpers for rendering tests: build specs, render them, read violations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from hooksmith_server import domain, errors
from hooksmith_server.rendering import CompiledWebhook, Limits, Rendered, Renderer

URL = "https://example.com/hook"


def make_spec(
    url: str = URL,
    *,
    body: str = "",
    body_format: domain.BodyFormat = domain.BodyFormat.JSON,
    headers: Mapping[str, str] | tuple[domain.Header, ...] = (),
    method: domain.HttpMethod = domain.HttpMethod.POST,
) -> domain.WebhookSpec:
    if isinstance(headers, Mapping):
        headers = tuple(domain.Header(name, value) for name, value in headers.items())
    return domain.WebhookSpec(
        name="test", url=url, method=method, headers=headers, body_format=body_format, body=body
    )


def compile_spec(limits: Limits | None = None, **spec: Any) -> CompiledWebhook:
    renderer = Renderer() if limits is None else Renderer(limits)
    return renderer.compile(make_spec(**spec))


def render(
    webhook: CompiledWebhook,
    *,
    user_id: str = "user-1",
    tags: Mapping[str, Any] | None = None,
    entry_event: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    require_data: bool = False,
) -> Rendered:
    recipient = domain.Recipient(user_id=user_id, tags=tags or {}, entry_event=entry_event or {})
    return webhook.render(recipient, data or {}, require_data=require_data)


def render_text(template: str, **values: Any) -> str:
    """The body a TEXT template renders to."""
    webhook = compile_spec(body=template, body_format=domain.BodyFormat.TEXT)
    return render(webhook, **values).request.body


def render_error(template: str, limits: Limits | None = None, **values: Any) -> str:
    """Why a TEXT template fails to render: the description of its one violation."""
    webhook = compile_spec(limits, body=template, body_format=domain.BodyFormat.TEXT)
    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, **values)
    (field, description), *others = violations(error).items()
    assert (field, others) == ("body", [])
    return description


def violations(error: pytest.ExceptionInfo[errors.InvalidArgument]) -> dict[str, str]:
    """Field path to description; each test's error names distinct fields."""
    found = {violation.field: violation.description for violation in error.value.violations}
    assert len(found) == len(error.value.violations)
    return found


def header(rendered: Rendered, name: str) -> str | None:
    values = [h.value for h in rendered.request.headers if h.name.lower() == name.lower()]
    assert len(values) <= 1
    return values[0] if values else None
