"""The sandbox, refused template features, and errors raised while rendering."""

from __future__ import annotations

import pytest

from hooksmith_server import domain, errors
from hooksmith_server.rendering import Limits

from .support import compile_spec, render, violations

TEXT = domain.BodyFormat.TEXT
REFUSED = "templates cannot include, import or extend other templates"


@pytest.mark.parametrize(
    "template",
    [
        "{% include 'other.txt' %}",
        "{% import 'macros.txt' as m %}",
        "{% from 'macros.txt' import shout %}",
        "{% extends 'base.txt' %}",
        "{% if x %}{% include x %}{% endif %}",
    ],
)
def test_include_import_and_extend_are_refused(template: str) -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(body=template, body_format=TEXT)

    assert violations(error) == {"body": REFUSED}


def test_include_in_a_header_value_names_that_header() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(headers={"X-A": "ok", "X-B": "{% include 'x' %}"})

    assert violations(error) == {"headers[1].value": REFUSED}


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(
            url="https://example.com/{{ a }",
            headers={"Bad Name": "v", "X-B": "{% if %}"},
            body='{"a": }',
        )

    assert set(violations(error)) == {"url", "headers[0].name", "headers[1].value", "body"}


def test_syntax_error_reports_the_line_within_the_field() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(body="line one\n{% if x %}\nline three\n{{ y }", body_format=TEXT)

    assert violations(error) == {"body": "template syntax error at line 4: unexpected '}'"}


def test_deeply_nested_template_is_refused_not_crashed() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(body="{% for a in b %}" * 30 + "x" + "{% endfor %}" * 30, body_format=TEXT)

    assert violations(error) == {"body": "template is nested too deeply"}


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ tags.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
    ],
)
def test_sandbox_blocks_access_to_python_internals(template: str) -> None:
    webhook = compile_spec(body=template, body_format=TEXT)

    # Either refused while rendering or rendered as nothing; never the internals.
    body = ""
    fields: list[str] = ["body"]
    try:
        body = render(webhook).request.body
    except errors.InvalidArgument as error:
        fields = [violation.field for violation in error.violations]
    assert body == ""
    assert fields == ["body"]


def test_sandbox_is_immutable() -> None:
    webhook = compile_spec(body="{{ items.append(4) }}{{ items }}", body_format=TEXT)
    items = [1, 2, 3]

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, data={"items": items})

    assert violations(error) == {
        "body": "rendering failed at line 1: "
        "access to attribute 'append' of 'list' object is unsafe."
    }
    assert items == [1, 2, 3]


def test_recipient_values_cannot_be_modified() -> None:
    webhook = compile_spec(body="{{ tags.clear() }}", body_format=TEXT)
    tags = {"a": "b"}

    with pytest.raises(errors.InvalidArgument):
        render(webhook, tags=tags)

    assert tags == {"a": "b"}


def test_type_error_while_rendering_names_field_and_line() -> None:
    webhook = compile_spec(body='{"a": "ok",\n "b": "{{ tags.age + \'x\' }}"}')

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, tags={"age": 3.0})

    assert violations(error) == {
        "body": "rendering failed at line 2: TypeError: unsupported operand type(s) for +: "
        "'int' and 'str'"
    }


def test_calling_a_missing_value_is_an_invalid_argument() -> None:
    webhook = compile_spec(url="https://example.com/{{ tags.slug() }}")

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook)

    assert violations(error) == {"url": "rendering failed at line 1: 'tags.slug' is undefined"}


def test_runaway_recursion_is_an_invalid_argument() -> None:
    webhook = compile_spec(body="{% macro r() %}{{ r() }}{% endmacro %}{{ r() }}", body_format=TEXT)

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook)

    assert "RecursionError" in violations(error)["body"]


def test_string_repetition_past_the_output_limit_is_refused_before_allocating() -> None:
    webhook = compile_spec(body="{{ 'x' * 10 ** 12 }}", body_format=TEXT)

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook)

    assert violations(error) == {
        "body": "rendering failed at line 1: repeating would produce 1,000,000,000,000 items; "
        "the limit is 1,048,576"
    }


def test_huge_powers_are_refused() -> None:
    webhook = compile_spec(body="{{ 10 ** n }}", body_format=TEXT)

    assert render(webhook, data={"n": 3.0}).request.body == "1000"
    with pytest.raises(errors.InvalidArgument):
        render(webhook, data={"n": 10.0**8})


def test_output_past_the_budget_stops_rendering() -> None:
    webhook = compile_spec(
        Limits(max_rendered_chars=1000),
        body="{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        body_format=TEXT,
    )

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook)

    assert violations(error) == {
        "request": "rendered request is more than 1,000 characters; the limit is 1,000"
    }


def test_rendered_request_over_the_limit_reports_its_size() -> None:
    url = "https://example.com/"
    body = '{"' + "k" * 60 + '": "{{ x }}"}'
    webhook = compile_spec(Limits(max_rendered_chars=120), url=url, body=body)

    fitting = render(webhook, data={"x": ""})
    size = len(url) + len("Content-Type") + len("application/json") + len(fitting.request.body)
    assert size <= 120
    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, data={"x": "v" * (121 - size)})

    assert violations(error) == {"request": "rendered request is 121 characters; the limit is 120"}


def test_lipsum_is_not_available() -> None:
    webhook = compile_spec(body="{{ lipsum(n=100000) }}", body_format=TEXT)

    assert webhook.data_fields == ("lipsum",)
    with pytest.raises(errors.InvalidArgument):
        render(webhook)
