"""JSON bodies: parsed when compiled, only string leaves rendered, serialised by json."""

from __future__ import annotations

import json

import pytest

from hooksmith_server import errors

from .support import compile_spec, header, render, violations


def test_tag_value_with_quotes_stays_one_json_string() -> None:
    webhook = compile_spec(body='{"name": "{{ tags.name }}", "admin": false}')
    hostile = 'a","admin":true,"x":"'

    body = render(webhook, tags={"name": hostile}).request.body

    assert json.loads(body) == {"name": hostile, "admin": False}
    assert body == '{"name":"a\\",\\"admin\\":true,\\"x\\":\\"","admin":false}'


def test_tag_value_with_backslashes_and_newlines_round_trips() -> None:
    webhook = compile_spec(body='{"note": "{{ tags.note }}"}')
    value = 'line1\nline2\\"\t\u0000end'

    body = render(webhook, tags={"note": value}).request.body

    assert json.loads(body) == {"note": value}


def test_object_keys_are_kept_literally_even_with_template_syntax() -> None:
    webhook = compile_spec(body='{"{{ key }}": "{{ value }}"}')

    body = render(webhook, data={"key": "k", "value": "v"}).request.body

    assert json.loads(body) == {"{{ key }}": "v"}
    assert webhook.data_fields == ("value",)


def test_numbers_booleans_and_null_stay_as_written() -> None:
    webhook = compile_spec(
        body='{"n": 1.5, "i": 30, "big": 12345678901234567890, "t": true, '
        '"f": false, "z": null, "s": "{{ x }}"}'
    )

    body = render(webhook, data={"x": "y"}).request.body

    assert body == '{"n":1.5,"i":30,"big":12345678901234567890,"t":true,"f":false,"z":null,"s":"y"}'


def test_rendered_numbers_stay_json_strings() -> None:
    webhook = compile_spec(body='{"age": "{{ tags.age }}"}')

    body = render(webhook, tags={"age": 30.0}).request.body

    assert json.loads(body) == {"age": "30"}


def test_nested_arrays_and_objects_render_every_string_leaf_in_place() -> None:
    webhook = compile_spec(
        body='{"a": [{"b": "{{ x }}"}, "{{ y }}", 3, ["lit", "{{ x }}{{ y }}"]], "c": {}, "d": []}'
    )

    body = render(webhook, data={"x": "X", "y": "Y"}).request.body

    assert json.loads(body) == {"a": [{"b": "X"}, "Y", 3, ["lit", "XY"]], "c": {}, "d": []}


def test_body_is_compact_and_keeps_unicode() -> None:
    webhook = compile_spec(body='{\n  "greeting": "안녕하세요 {{ tags.name }} 👋",\n  "k": "é"\n}')

    body = render(webhook, tags={"name": "지민"}).request.body

    assert body == '{"greeting":"안녕하세요 지민 👋","k":"é"}'


def test_escaped_characters_in_literal_leaves_survive() -> None:
    webhook = compile_spec(body='{"a": "quote \\" slash \\\\ tab \\t {{ x }}", "b": "\\u00e9"}')

    body = render(webhook, data={"x": "!"}).request.body

    assert json.loads(body) == {"a": 'quote " slash \\ tab \t !', "b": "é"}


def test_a_top_level_string_body_is_one_template() -> None:
    webhook = compile_spec(body='"hello {{ tags.name }}"')

    assert render(webhook, tags={"name": 'a"b'}).request.body == '"hello a\\"b"'


def test_template_set_in_one_leaf_does_not_need_data() -> None:
    webhook = compile_spec(body='{"a": "{% set g = \'hi\' %}{{ g }}", "b": "{{ g }}"}')

    assert webhook.data_fields == ("g",)
    assert json.loads(render(webhook, data={"g": "data"}).request.body) == {"a": "hi", "b": "data"}


def test_invalid_json_reports_line_and_column() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(body='{\n  "a": 1,\n  "b": 2\n  "c": 3\n}')

    assert violations(error) == {
        "body": "invalid JSON at line 4, column 3: Expecting ',' delimiter"
    }


def test_syntax_error_inside_a_leaf_reports_the_leaf_line_in_the_body() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(body='{\n  "a": "fine {{ x }}",\n  "b": "broken {{ x }",\n  "c": 1\n}')

    assert violations(error) == {"body": "template syntax error at line 3: unexpected '}'"}


def test_syntax_errors_in_several_leaves_are_all_reported() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(body='{"a": "{{ x }",\n"b": "{% if %}",\n"c": "{{ y | nosuch }}"}')

    descriptions = [violation.description for violation in error.value.violations]
    assert [violation.field for violation in error.value.violations] == ["body"] * 3
    assert descriptions[0] == "template syntax error at line 1: unexpected '}'"
    assert descriptions[1].startswith("template syntax error at line 2: ")
    assert descriptions[2] == "template syntax error at line 3: no filter named 'nosuch'"


def test_leaf_line_counts_strings_before_it_including_keys_with_quotes() -> None:
    source = '{"k\\"ey": "v",\n "list": ["a", "b\\\\"],\n "bad": "{{ }}"}'

    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(body=source)

    assert violations(error)["body"].startswith("template syntax error at line 3:")


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(body='{"a": "1", "a": "2"}')

    assert violations(error) == {"body": "duplicate key 'a' in a JSON object"}


def test_nan_and_infinity_are_refused() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(body='{"a": NaN}')

    assert violations(error) == {"body": "invalid JSON: NaN is not a JSON value"}


def test_deeply_nested_json_is_refused() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(body="[" * 5000 + "]" * 5000)

    assert list(violations(error)) == ["body"]


def test_empty_json_body_sends_no_body_and_no_content_type() -> None:
    for source in ("", "  \n"):
        rendered = render(compile_spec(body=source))

        assert rendered.request.body == ""
        assert header(rendered, "Content-Type") is None
