"""Rendered text must encode as UTF-8: a lone surrogate is refused, naming the field."""

from __future__ import annotations

import json

import pytest

from hooksmith_server import domain, errors

from .support import compile_spec, header, render, violations

# Jinja reads `'\ud800'` in a string literal as one half of a UTF-16 pair.
LONE = "{{ '\\ud800' }}"
SMILE = "{{ '\\U0001F600' }}"


def test_lone_surrogate_in_the_url_is_refused_with_its_position() -> None:
    webhook = compile_spec(url="https://example.com/" + LONE)

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook)

    assert violations(error) == {
        "url": "rendered text is not valid Unicode (lone surrogate at position 20)"
    }


def test_lone_surrogate_in_a_header_value_is_refused_with_its_position() -> None:
    webhook = compile_spec(headers={"X-Ok": "fine", "X-Name": "a" + LONE})

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook)

    assert violations(error) == {
        "headers[1].value": "rendered text is not valid Unicode (lone surrogate at position 1)"
    }


@pytest.mark.parametrize(
    ("body", "position"),
    [
        # The JSON escape `\\` leaves `\ud800` for Jinja to read.
        ('{"a": "{{ \'\\\\ud800\' }}"}', 6),
        # The JSON escape `\ud800` itself, in a string with no template syntax.
        ('{"a": "x\\ud800"}', 7),
        # ... and in an object key.
        ('{"\\ud800": "{{ userId }}"}', 2),
    ],
)
def test_lone_surrogate_in_a_json_body_is_refused_with_its_position(
    body: str, position: int
) -> None:
    webhook = compile_spec(body=body)

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook)

    assert violations(error) == {
        "body": f"rendered text is not valid Unicode (lone surrogate at position {position})"
    }


def test_lone_surrogate_in_a_text_body_is_refused_with_its_position() -> None:
    webhook = compile_spec(body="ab" + LONE, body_format=domain.BodyFormat.TEXT)

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook)

    assert violations(error) == {
        "body": "rendered text is not valid Unicode (lone surrogate at position 2)"
    }


def test_lone_surrogate_in_a_form_field_is_refused_naming_the_form_field() -> None:
    webhook = compile_spec(
        body='{"ok": "1", "name": "{{ \'\\\\ud800\' }}"}', body_format=domain.BodyFormat.FORM
    )

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook)

    assert violations(error) == {
        "body": "form field 'name': rendered text is not valid Unicode "
        "(lone surrogate at position 0)"
    }


def test_every_problem_is_reported_at_once() -> None:
    webhook = compile_spec(
        url="https://example.com/" + LONE,
        headers={"X-Name": LONE},
        body=LONE,
        body_format=domain.BodyFormat.TEXT,
    )

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook)

    assert set(violations(error)) == {"url", "headers[0].value", "body"}


def test_characters_outside_the_basic_plane_render_everywhere() -> None:
    webhook = compile_spec(
        url="https://example.com/" + SMILE,
        headers={"X-Name": SMILE},
        body='{"a": "{{ \'\\\\U0001F600\' }}", "b": "\\ud83d\\ude00"}',
    )

    rendered = render(webhook)

    assert rendered.request.url == "https://example.com/%F0%9F%98%80"
    assert header(rendered, "X-Name") == "😀"
    assert json.loads(rendered.request.body) == {"a": "😀", "b": "😀"}
    rendered.request.body.encode()
