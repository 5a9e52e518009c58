"""Headers: names are HTTP tokens, values are templates checked after rendering."""

from __future__ import annotations

import pytest

from hooksmith_server import domain, errors
from hooksmith_server.rendering import Limits

from .support import compile_spec, header, render, violations


def test_header_values_are_rendered_and_trimmed() -> None:
    webhook = compile_spec(headers={"X-User": "  {{ userId }}\t", "X-Tier": "tier-{{ tags.tier }}"})

    rendered = render(webhook, user_id="u-7", tags={"tier": 2.0})

    assert header(rendered, "X-User") == "u-7"
    assert header(rendered, "X-Tier") == "tier-2"


def test_header_values_are_not_url_encoded() -> None:
    webhook = compile_spec(headers={"X-Path": "{{ path }}"})

    assert header(render(webhook, data={"path": "a/b c?d"}), "X-Path") == "a/b c?d"


def test_secret_flag_is_kept_on_rendered_headers() -> None:
    webhook = compile_spec(
        headers=(domain.Header("Authorization", "Bearer {{ token }}", secret=True),)
    )

    rendered = render(webhook, data={"token": "t0k"})

    assert rendered.request.headers[0] == domain.Header("Authorization", "Bearer t0k", True)


def test_rendered_crlf_in_a_header_value_is_refused() -> None:
    webhook = compile_spec(headers={"X-A": "fine", "X-Name": "{{ tags.name }}"})

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, tags={"name": "Alice\r\nX-Admin: true"})

    assert violations(error) == {
        "headers[1].value": "rendered value contains a control character (\\r at position 5)"
    }


@pytest.mark.parametrize(
    ("value", "shown", "position"),
    [
        ("a\nb", "\\n", 1),
        ("nul\x00", "\\x00", 3),
        ("\x1b[31m", "\\x1b", 0),
        ("del\x7f", "\\x7f", 3),
    ],
)
def test_control_characters_in_rendered_header_values_are_refused(
    value: str, shown: str, position: int
) -> None:
    webhook = compile_spec(headers={"X-V": "{{ v }}"})

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, data={"v": value})

    assert violations(error) == {
        "headers[0].value": (
            f"rendered value contains a control character ({shown} at position {position})"
        )
    }


def test_surrounding_whitespace_including_newlines_is_trimmed() -> None:
    webhook = compile_spec(headers={"X-V": "{{ v }}"})

    assert header(render(webhook, data={"v": "\r\n  token\n"}), "X-V") == "token"


def test_horizontal_tab_inside_a_header_value_is_allowed() -> None:
    webhook = compile_spec(headers={"X-V": "{{ v }}"})

    assert header(render(webhook, data={"v": "a\tb"}), "X-V") == "a\tb"


def test_literal_header_value_with_a_control_character_is_refused_when_compiled() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(headers={"X-V": "a\nb"})

    assert violations(error) == {
        "headers[0].value": "value contains a control character (\\n at position 1)"
    }


@pytest.mark.parametrize("name", ["X Custom", "X-{{ a }}", "Bad:Name", "Ünïcode", "X\r\nY"])
def test_header_names_must_be_http_tokens(name: str) -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(headers={"Accept": "*/*", name: "v"})

    assert violations(error) == {
        "headers[1].name": f"header name {name!r} is not a valid HTTP token"
    }


def test_header_name_is_required() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(headers={"": "v"})

    assert violations(error) == {"headers[0].name": "a header name is required"}


def test_header_names_with_every_token_character_are_accepted() -> None:
    name = "!#$%&'*+-.^_`|~09azAZ"

    assert header(render(compile_spec(headers={name: "v"})), name) == "v"


def test_header_value_syntax_error_names_the_header_and_line() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(headers={"A": "1", "B": "2", "C": "{{ x }"})

    assert violations(error) == {
        "headers[2].value": "template syntax error at line 1: unexpected '}'"
    }


def test_too_many_headers_are_refused() -> None:
    headers = {f"X-{i}": "v" for i in range(4)}

    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(Limits(max_headers=3), headers=headers)

    assert violations(error) == {"headers": "a webhook may have at most 3 headers; this one has 4"}


def test_header_longer_than_the_limit_is_refused_when_compiled() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(Limits(max_header_chars=10), headers={"X-Abc": "123456"})

    assert violations(error) == {
        "headers[0].value": "header is 11 characters (name and value); the limit is 10"
    }


def test_rendered_header_longer_than_the_limit_is_refused() -> None:
    webhook = compile_spec(Limits(max_header_chars=12), headers={"X-Abc": "{{ v }}"})

    assert header(render(webhook, data={"v": "1234567"}), "X-Abc") == "1234567"
    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, data={"v": "12345678"})

    assert violations(error) == {
        "headers[0].value": "rendered header is 13 characters (name and value); the limit is 12"
    }


def test_every_bad_header_is_reported_at_once() -> None:
    webhook = compile_spec(headers={"X-A": "{{ a }}", "X-B": "{{ b }}"})

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, data={"a": "1\r2", "b": "2\n3"})

    assert set(violations(error)) == {"headers[0].value", "headers[1].value"}
