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
        **({"auth": auth_to_json(spec.auth)} if spec.auth is not None else {}),
        **(
            {"capture": [{"name": c.name, "pointer": c.pointer} for c in spec.capture]}
            if spec.capture
            else {}
        ),
        "policy": {
            "timeout": spec.policy.timeout.total_seconds() if spec.policy.timeout else None,
            "retry_schedule": [d.total_seconds() for d in spec.policy.retry_schedule],
            "rate_limit": spec.policy.rate_limit,
            "disable_after": (
                spec.policy.disable_after.total_seconds() if spec.policy.disable_after else None
            ),
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
        auth=auth_from_json(data["auth"]) if data.get("auth") else None,
        capture=tuple(domain.Capture(c["name"], c["pointer"]) for c in data.get("capture", ())),
        policy=domain.DeliveryPolicy(
            timeout=timedelta(seconds=timeout) if timeout is not None else None,
            retry_schedule=tuple(timedelta(seconds=s) for s in policy.get("retry_schedule", [])),
            rate_limit=policy.get("rate_limit"),
            disable_after=(
                timedelta(seconds=policy["disable_after"])
                if policy.get("disable_after") is not None
                else None
            ),
        ),
    )


AUTH_SECRET_FIELDS = {
    "basic": "password",
    "bearer": "token",
    "oauth2_client_credentials": "client_secret",
}
"""Each auth method's one secret field: `store/sealing.py` seals it in place."""


def auth_to_json(auth: domain.Auth) -> dict[str, Any]:
    """`{"method": ..., <its fields>}`; the secret field is named in `AUTH_SECRET_FIELDS`."""
    if isinstance(auth, domain.BasicAuth):
        return {"method": "basic", "username": auth.username, "password": auth.password}
    if isinstance(auth, domain.BearerAuth):
        return {"method": "bearer", "token": auth.token}
    return {
        "method": "oauth2_client_credentials",
        "token_url": auth.token_url,
        "client_id": auth.client_id,
        "client_secret": auth.client_secret,
        "scopes": list(auth.scopes),
        "audience": auth.audience,
    }


def auth_from_json(data: dict[str, Any]) -> domain.Auth:
    method = data["method"]
    if method == "basic":
        return domain.BasicAuth(username=data["username"], password=data["password"])
    if method == "bearer":
        return domain.BearerAuth(token=data["token"])
    if method == "oauth2_client_credentials":
        return domain.OAuth2ClientCredentials(
            token_url=data["token_url"],
            client_id=data["client_id"],
            client_secret=data["client_secret"],
            scopes=tuple(data.get("scopes", ())),
            audience=data.get("audience", ""),
        )
    raise ValueError(f"unknown auth method {method!r}")


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
    """`headers_to_json` of headers as PostgreSQL can store them (once per attempt, twice:
    written straight to dicts, without a Header made for each)."""
    out: list[dict[str, Any]] = []
    for h in headers:
        item: dict[str, Any] = {"name": text(h.name), "value": text(h.value)}
        if h.secret:
            item["secret"] = True
        out.append(item)
    return out


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
