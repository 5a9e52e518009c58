"""Numbers arrive as floats from protobuf Struct; whole ones render without a fraction."""

from __future__ import annotations

import json

from .support import compile_spec, header, render, render_text


def test_whole_floats_render_as_integers_in_plain_output() -> None:
    body = render_text(
        "{{ tags.age }} {{ entry_event.count }} {{ amount }}",
        tags={"age": 30.0},
        entry_event={"count": 0.0},
        data={"amount": -12.0},
    )

    assert body == "30 0 -12"


def test_fractions_and_huge_floats_keep_their_float_form() -> None:
    body = render_text(
        "{{ tags.ratio }} {{ tags.huge }} {{ tags.edge }}",
        tags={"ratio": 2.5, "huge": 2.0**60, "edge": 2.0**53},
    )

    assert body == f"2.5 {2.0**60} {2**53}"


def test_whole_floats_render_as_integers_everywhere_in_the_request() -> None:
    webhook = compile_spec(
        url="https://example.com/{{ tags.id }}",
        headers={"X-Count": "{{ tags.count }}"},
        body='{"count": "{{ tags.count }}", "pretty": "{{ tags.big | number_with_delimiter }}"}',
    )

    rendered = render(webhook, tags={"id": 7.0, "count": 3.0, "big": 1234567.0})

    assert rendered.request.url == "https://example.com/7"
    assert header(rendered, "X-Count") == "3"
    assert json.loads(rendered.request.body) == {"count": "3", "pretty": "1,234,567"}


def test_nested_values_are_normalised_and_printed_as_json() -> None:
    body = render_text(
        "{{ tags.scores }}|{{ tags.profile }}|{{ tags.scores[0] + 1 }}",
        tags={"scores": [1.0, 2.5], "profile": {"level": 3.0, "name": "Ана"}},
    )

    assert body == '[1,2.5]|{"level":3,"name":"Ана"}|2'


def test_whole_arithmetic_results_render_without_fraction() -> None:
    assert render_text("{{ tags.age / 2 }} {{ tags.age / 4 }}", tags={"age": 30.0}) == "15 7.5"


def test_booleans_and_none_render_like_json() -> None:
    body = render_text(
        "[{{ tags.yes }}|{{ tags.no }}|{{ tags.nothing }}]",
        tags={"yes": True, "no": False, "nothing": None},
    )

    assert body == "[true|false|]"


def test_whole_floats_can_be_compared_and_looped_over_as_integers() -> None:
    body = render_text(
        "{% for i in range(tags.n) %}{{ i }}{% endfor %}{% if tags.n == 3 %}!{% endif %}",
        tags={"n": 3.0},
    )

    assert body == "012!"


def test_tojson_sees_recipient_values_as_plain_json() -> None:
    body = render_text("{{ tags | tojson }}", tags={"b": [1.0, 2.5], "a": "x"})

    assert body == '{"a": "x", "b": [1, 2.5]}'
