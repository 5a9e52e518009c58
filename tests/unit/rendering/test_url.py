"""URLs: rendered values are percent-encoded; scheme and host are checked."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from hooksmith_server import errors
from hooksmith_server.rendering import Limits

from .support import compile_spec, render, violations


def test_user_id_cannot_change_the_path_or_query() -> None:
    webhook = compile_spec(url="https://api.example.com/users/{{ userId }}/coupons?src=journey")

    url = render(webhook, user_id="a/b?c=d#e").request.url

    assert url == "https://api.example.com/users/a%2Fb%3Fc%3Dd%23e/coupons?src=journey"
    parts = urlsplit(url)
    assert parts.path.split("/") == ["", "users", "a%2Fb%3Fc%3Dd%23e", "coupons"]
    assert parts.query == "src=journey"
    assert parts.fragment == ""


def test_literal_parts_of_the_url_are_kept() -> None:
    webhook = compile_spec(url="https://example.com/a%20b/x?y=1&z={{ tags.z }}&w=2")

    url = render(webhook, tags={"z": "1&2 3"}).request.url

    assert url == "https://example.com/a%20b/x?y=1&z=1%262%203&w=2"


def test_whole_numbers_render_without_fraction_in_the_url() -> None:
    webhook = compile_spec(url="https://example.com/page/{{ page }}?ratio={{ ratio }}")

    url = render(webhook, data={"page": 2.0, "ratio": 0.25}).request.url

    assert url == "https://example.com/page/2?ratio=0.25"


def test_scheme_check_ignores_case() -> None:
    webhook = compile_spec(url="HTTPS://Example.com/{{ x }}")

    assert render(webhook, data={"x": "y"}).request.url == "HTTPS://Example.com/y"


@pytest.mark.parametrize(
    "url",
    ["{{ base }}/hook", "ftp://example.com/x", "example.com/x", "", " https://example.com"],
)
def test_url_must_start_with_http_or_https(url: str) -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(url=url)

    assert violations(error) == {"url": "the URL must start with http:// or https://"}


def test_rendered_url_without_a_host_is_refused() -> None:
    webhook = compile_spec(url="https://{{ host }}/hook")

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, data={"host": ""})

    assert violations(error) == {"url": "the URL has no host"}


def test_host_can_come_from_data_when_it_needs_no_encoding() -> None:
    webhook = compile_spec(url="https://{{ host }}/hook")

    assert render(webhook, data={"host": "api.example.com"}).request.url == (
        "https://api.example.com/hook"
    )


def test_literal_url_with_a_space_is_refused_when_compiled() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(url="https://example.com/a b")

    assert violations(error) == {
        "url": "the URL contains a space or control character (space at position 21)"
    }


def test_url_that_cannot_be_parsed_is_refused() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(url="https://[::1/x")

    assert violations(error)["url"].startswith("the URL cannot be parsed:")


def test_url_syntax_error_names_url_and_line() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(url="https://example.com/{{ x }")

    assert violations(error) == {"url": "template syntax error at line 1: unexpected '}'"}


def test_url_source_longer_than_the_limit_is_refused() -> None:
    limits = Limits(max_url_chars=40)

    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(limits, url="https://example.com/" + "a" * 21)

    assert violations(error) == {"url": "URL is 41 characters; the limit is 40"}


def test_rendered_url_longer_than_the_limit_is_refused() -> None:
    webhook = compile_spec(Limits(max_url_chars=40), url="https://example.com/{{ x }}")

    assert render(webhook, data={"x": "a" * 20}).request.url.endswith("a" * 20)
    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, data={"x": "/" * 7})

    assert violations(error) == {"url": "rendered URL is 41 characters; the limit is 40"}
