"""Properties that must hold for any recipient value, checked with generated inputs."""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hooksmith_server import domain, errors
from hooksmith_server.rendering import Renderer

from .support import make_spec, render

RENDERER = Renderer()
JSON_WEBHOOK = RENDERER.compile(
    make_spec(body='{"to": "{{ tags.phone }}", "text": "Hi {{ tags.name }}!", "n": 1, "x": null}')
)
URL_WEBHOOK = RENDERER.compile(
    make_spec(url="https://api.example.com/users/{{ userId }}/coupons?src=journey&u={{ userId }}")
)
HEADER_WEBHOOK = RENDERER.compile(make_spec(headers={"X-Name": "{{ tags.name }}"}))

# st.text() leaves out lone surrogates, as protobuf (valid UTF-8 only) does.
texts = st.text()


@given(phone=texts, name=texts)
def test_any_tag_text_stays_inside_its_json_string(phone: str, name: str) -> None:
    body = render(JSON_WEBHOOK, tags={"phone": phone, "name": name}).request.body

    document = json.loads(body)
    assert set(document) == {"to", "text", "n", "x"}
    assert document["to"] == phone
    assert document["text"] == f"Hi {name}!"
    assert document["n"] == 1
    assert document["x"] is None


@given(user_id=texts)
def test_any_user_id_keeps_the_url_path_and_query_shape(user_id: str) -> None:
    url = render(URL_WEBHOOK, user_id=user_id).request.url

    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.fragment) == ("https", "api.example.com", "")
    segments = parts.path.split("/")
    assert len(segments) == 4
    assert (segments[0], segments[1], segments[3]) == ("", "users", "coupons")
    assert unquote(segments[2]) == user_id
    query = parts.query.split("&")
    assert len(query) == 2
    assert query[0] == "src=journey"
    assert query[1].startswith("u=")
    assert unquote(query[1].removeprefix("u=")) == user_id


def _is_control(character: str) -> bool:
    code = ord(character)
    return (code < 32 and character != "\t") or 0x7F <= code <= 0x9F


@given(name=texts)
def test_any_tag_text_gives_a_clean_header_or_an_error_on_that_header(name: str) -> None:
    stripped = name.strip()
    if any(_is_control(character) for character in stripped):
        with pytest.raises(errors.InvalidArgument) as error:
            render(HEADER_WEBHOOK, tags={"name": name})
        assert [violation.field for violation in error.value.violations] == ["headers[0].value"]
    else:
        assert render(HEADER_WEBHOOK, tags={"name": name}).request.headers[0].value == stripped


_FRAGMENTS = st.sampled_from(
    [
        "{{",
        "}}",
        "{%",
        "%}",
        "{#",
        "#}",
        " ",
        "x",
        "tags",
        ".",
        "a",
        "|",
        "upcase",
        "default(",
        ")",
        "(",
        "'",
        '"',
        "if",
        "endif",
        "for",
        "in",
        "endfor",
        "set",
        "=",
        "range(3)",
        "date('%Y', tz='Asia/Seoul')",
        "truncate(",
        "2",
        ",",
        "[",
        "]",
        "include",
        "macro",
        "endmacro",
        "userId",
        "loop.index",
        "~",
        "+",
        "*",
        "-",
        "\n",
    ]
)


@settings(max_examples=300)
@given(parts=st.lists(_FRAGMENTS, max_size=25), tags=st.dictionaries(texts, texts, max_size=3))
def test_any_template_either_renders_or_raises_invalid_argument(
    parts: list[str], tags: dict[str, str]
) -> None:
    spec = make_spec(body="".join(parts), body_format=domain.BodyFormat.TEXT)
    problems: tuple[errors.FieldViolation, ...] = ()
    try:
        webhook = RENDERER.compile(spec)
        render(webhook, tags=tags, data=dict.fromkeys(webhook.data_fields, "v"))
    except errors.InvalidArgument as error:
        problems = error.violations or (errors.FieldViolation("?", "no violations"),)
    assert all(problem.field in ("body", "request") for problem in problems)
