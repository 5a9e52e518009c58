"""Source size limits, each naming the field and the limit."""

from __future__ import annotations

import pytest

from hooksmith_server import domain, errors
from hooksmith_server.rendering import Limits, Renderer

from .support import compile_spec, make_spec, violations


def test_default_limits() -> None:
    assert Limits() == Limits(
        max_source_chars=65_536,
        max_rendered_chars=1_048_576,
        max_headers=50,
        max_header_chars=8_192,
        max_url_chars=8_192,
    )
    assert Renderer().limits == Limits()


def test_body_source_over_the_limit_is_refused() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(Limits(max_source_chars=10), body='{"a": "123"}')

    # The URL is over this tiny limit too; each field is reported on its own.
    assert violations(error)["body"] == "body is 12 characters; the limit is 10"


def test_text_body_source_over_the_limit_is_refused() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(Limits(max_source_chars=3), body="abcd", body_format=domain.BodyFormat.TEXT)

    assert violations(error)["body"] == "body is 4 characters; the limit is 3"


def test_header_value_source_over_the_limit_is_refused() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(Limits(max_source_chars=5), headers={"X": "123456"})

    assert violations(error)["headers[0].value"] == "header value is 6 characters; the limit is 5"


def test_url_source_over_the_source_limit_is_refused() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(Limits(max_source_chars=20), url="https://example.com/ab")

    assert violations(error) == {"url": "URL is 22 characters; the limit is 20"}


def test_sources_at_the_limit_are_accepted() -> None:
    limits = Limits(max_source_chars=22, max_url_chars=22, max_header_chars=8, max_headers=1)

    webhook = Renderer(limits).compile(
        make_spec(url="https://example.com/ab", headers={"X-A": "12345"}, body='{"a": "b"}')
    )

    assert webhook.spec.url == "https://example.com/ab"
