"""TEXT and FORM bodies, and the Content-Type each adds."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from hooksmith_server import domain, errors

from .support import compile_spec, header, render, violations

TEXT = domain.BodyFormat.TEXT
FORM = domain.BodyFormat.FORM


def test_text_body_renders_as_is_including_trailing_newline() -> None:
    webhook = compile_spec(body='Hello "{{ tags.name }}",\n{"raw": {{ n }}}\n', body_format=TEXT)

    rendered = render(webhook, tags={"name": "Ana"}, data={"n": 2.0})

    assert rendered.request.body == 'Hello "Ana",\n{"raw": 2}\n'
    assert header(rendered, "Content-Type") == "text/plain; charset=utf-8"


def test_text_body_without_template_syntax_is_sent_verbatim() -> None:
    source = "  plain text with } and { braces \n\n"

    assert render(compile_spec(body=source, body_format=TEXT)).request.body == source


def test_empty_text_body_sends_no_body_and_no_content_type() -> None:
    rendered = render(compile_spec(body="", body_format=TEXT))

    assert rendered.request.body == ""
    assert header(rendered, "Content-Type") is None


def test_form_body_is_urlencoded_in_key_order() -> None:
    webhook = compile_spec(
        body='{"to": "{{ tags.phone }}", "msg": "a&b=c {{ text }}", "n": 3, "ok": true, '
        '"ratio": 0.5, "none": null, "to": "second"}',
        body_format=FORM,
    )

    rendered = render(webhook, tags={"phone": "+1 555"}, data={"text": "100%"})

    assert rendered.request.body == (
        "to=%2B1+555&msg=a%26b%3Dc+100%25&n=3&ok=true&ratio=0.5&none=&to=second"
    )
    assert parse_qsl(rendered.request.body, keep_blank_values=True)[:2] == [
        ("to", "+1 555"),
        ("msg", "a&b=c 100%"),
    ]
    assert header(rendered, "Content-Type") == "application/x-www-form-urlencoded"
    assert webhook.data_fields == ("text",)


def test_form_body_refuses_nested_values() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(body='{"a": {"b": "c"}}', body_format=FORM)

    assert violations(error) == {"body": "form field 'a' must be a string, number, boolean or null"}


def test_form_body_must_be_a_json_object() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(body='["a", "b"]', body_format=FORM)

    assert violations(error) == {
        "body": "a FORM body must be a JSON object of field names to values"
    }


def test_form_body_reports_invalid_json_and_leaf_syntax_errors() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(body='{"a": 1,}', body_format=FORM)
    assert violations(error)["body"].startswith("invalid JSON at line 1, column 9:")

    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(body='{"a": "x",\n"b": "{{ y }"}', body_format=FORM)
    assert violations(error) == {"body": "template syntax error at line 2: unexpected '}'"}


def test_content_type_from_the_spec_is_kept_and_not_added_again() -> None:
    webhook = compile_spec(body='{"a": 1}', headers={"content-TYPE": "application/vnd.x+json"})

    rendered = render(webhook)

    assert [(h.name, h.value) for h in rendered.request.headers] == [
        ("content-TYPE", "application/vnd.x+json")
    ]


def test_content_type_is_appended_after_the_spec_headers() -> None:
    webhook = compile_spec(body='{"a": 1}', headers={"X-One": "1", "X-Two": "2"})

    names = [h.name for h in render(webhook).request.headers]

    assert names == ["X-One", "X-Two", "Content-Type"]


@pytest.mark.parametrize("method", [domain.HttpMethod.GET, domain.HttpMethod.DELETE])
def test_get_and_delete_without_body_send_no_body_and_no_content_type(
    method: domain.HttpMethod,
) -> None:
    rendered = render(compile_spec(method=method, headers={"Accept": "application/json"}))

    assert rendered.request.method == method.value
    assert rendered.request.body == ""
    assert [h.name for h in rendered.request.headers] == ["Accept"]
