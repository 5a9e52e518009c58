"""Rendering stops at its time budget instead of holding the event loop."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from hooksmith_server import domain, errors
from hooksmith_server.rendering import Limits, Renderer


def text_spec(body: str) -> domain.WebhookSpec:
    return domain.WebhookSpec(
        name="slow", url="https://x.example.com", body_format=domain.BodyFormat.TEXT, body=body
    )


def render(body: str, data: dict[str, object] | None = None, seconds: float = 0.05) -> str:
    renderer = Renderer(replace(Limits(), max_render_seconds=seconds))
    compiled = renderer.compile(text_spec(body))
    return compiled.render(domain.Recipient("u1"), data or {}, require_data=False).request.body


@pytest.mark.parametrize(
    "body",
    [
        # Empty nested loops: no output, no calls, only iteration.
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        # Nested loops over a list the caller supplies.
        "{% for a in items %}{% for b in items %}{% for c in items %}{% endfor %}"
        "{% endfor %}{% endfor %}",
        # A macro that calls itself twice per level.
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
        "{{ f(40) }}",
    ],
)
def test_slow_templates_stop_at_the_budget_with_an_error(body: str) -> None:
    started = time.monotonic()
    with pytest.raises(errors.InvalidArgument) as caught:
        render(body, {"items": list(range(3000))})
    assert time.monotonic() - started < 1.0
    (violation,) = caught.value.violations
    assert violation.field == "body"
    assert "took longer than 50 ms" in violation.description


def test_a_usual_template_is_far_inside_the_budget() -> None:
    body = "{% for x in items %}{{ x }},{% endfor %}"
    assert render(body, {"items": [1, 2, 3]}) == "1,2,3,"


def test_loop_features_still_work_through_the_guard() -> None:
    body = (
        "{% for x in items if x > 1 %}{{ loop.index }}/{{ loop.length }}"
        "{% if loop.last %}.{% endif %} {% else %}none{% endfor %}"
    )
    assert render(body, {"items": [1, 2, 3]}) == "1/2 2/2. "
    assert render("{% for x in [] %}{% else %}none{% endfor %}") == "none"
