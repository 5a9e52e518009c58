"""Domain values <-> the JSON kept in `jsonb` columns."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hooksmith_server import domain


def text(value: str) -> str:
    """`value` as PostgreSQL can store it: NUL, which no text or JSON column holds, becomes U+FFFD.

    Requests and responses come from templates and receivers, so they may hold anything.
    """
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def spec_to_json(spec: domain.WebhookSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "description": spec.description,
        "method": spec.method.value,
        "url": spec.url,
        "headers": headers_to_json(spec.headers),
        "body_format": spec.body_format.value,
        "body": spec.body,
        "template_language": spec.template_language.value,
        "policy": {
            "timeout": spec.policy.timeout.total_seconds() if spec.policy.timeout else None,
            "retry_schedule": [d.total_seconds() for d in spec.policy.retry_schedule],
            "rate_limit": spec.policy.rate_limit,
        },
    }


def spec_from_json(data: dict[str, Any]) -> domain.WebhookSpec:
    policy = data.get("policy") or {}
    timeout = policy.get("timeout")
    return domain.WebhookSpec(
        name=data["name"],
        description=data.get("description", ""),
        method=domain.HttpMethod(data["method"]),
        url=data["url"],
        headers=headers_from_json(data.get("headers", [])),
        body_format=domain.BodyFormat(data["body_format"]),
        body=data.get("body", ""),
        # Versions saved before Liquid existed are Jinja.
        template_language=domain.TemplateLanguage(data.get("template_language", "JINJA")),
        policy=domain.DeliveryPolicy(
            timeout=timedelta(seconds=timeout) if timeout is not None else None,
            retry_schedule=tuple(timedelta(seconds=s) for s in policy.get("retry_schedule", [])),
            rate_limit=policy.get("rate_limit"),
        ),
    )


def headers_to_json(headers: tuple[domain.Header, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for h in headers:
        item: dict[str, Any] = {"name": h.name, "value": h.value}
        if h.secret:
            item["secret"] = True
        out.append(item)
    return out


def headers_from_json(data: list[dict[str, Any]]) -> tuple[domain.Header, ...]:
    return tuple(domain.Header(h["name"], h["value"], bool(h.get("secret"))) for h in data)


def _clean_headers(headers: tuple[domain.Header, ...]) -> list[dict[str, Any]]:
    return headers_to_json(
        tuple(domain.Header(text(h.name), text(h.value), h.secret) for h in headers)
    )


def request_to_json(request: domain.HttpRequest) -> dict[str, Any]:
    return {
        "method": request.method,
        "url": text(request.url),
        "headers": _clean_headers(request.headers),
        "body": text(request.body),
    }


def request_from_json(data: dict[str, Any]) -> domain.HttpRequest:
    return domain.HttpRequest(
        method=data["method"],
        url=data["url"],
        headers=headers_from_json(data["headers"]),
        body=data["body"],
    )


def response_to_json(response: domain.HttpResponse) -> dict[str, Any]:
    return {
        "status_code": response.status_code,
        "headers": _clean_headers(response.headers),
        "body": text(response.body),
        "body_truncated": response.body_truncated,
    }


def response_from_json(data: dict[str, Any]) -> domain.HttpResponse:
    return domain.HttpResponse(
        status_code=data["status_code"],
        headers=headers_from_json(data["headers"]),
        body=data["body"],
        body_truncated=data.get("body_truncated", False),
    )
