"""Only data prints: a function or a Python object is an error, never its repr.

A repr such as `<built-in method get of dict object at 0x7f…>` tells a receiver
nothing and leaks a memory address. Views and iterators of data print as lists.
"""

from __future__ import annotations

import pytest

from hooksmith_server import errors

from .support import compile_spec, render, render_error, render_text, violations

DATA = {"d": {"k": 1.0}, "items": ["a", "b"]}
TAGS = {"a": 1.0, "b": "x"}
FAILED = "rendering failed at line 1:"


@pytest.mark.parametrize(
    ("template", "kind"),
    [
        ("{{ d.get }}", "function"),
        ("{{ tags.get }}", "function"),
        ("{{ 'abc'.upper }}", "function"),
        ("{{ dict }}", "function"),
        ("{{ joiner() }}", "function"),
        ("{{ namespace(a=1) }}", "namespace"),
        ("{{ cycler(1, 2) }}", "cycler"),
        ("{% for i in items %}{{ loop }}{% endfor %}", "loop"),
        ("{% macro m() %}{% endmacro %}{{ m }}", "macro"),
        ("{{ 'x'.encode() }}", "bytes"),
    ],
)
def test_printing_something_that_is_not_data_is_an_error(template: str, kind: str) -> None:
    description = render_error(template, tags=TAGS, data=DATA)

    assert description == f"{FAILED} cannot render a {kind}"


@pytest.mark.parametrize(
    "template",
    [
        "{{ [d.get] }}",
        "{{ {'f': d.get} | tojson }}",
        "{{ d.get ~ '' }}",
        "{{ d.get | string }}",
        "{{ d.get | upper }}",
        "{{ d.get | upcase }}",
        "{{ d.get | pprint }}",
        "{{ [d.get] | join(',') }}",
        "{{ '%s' % d.get }}",
        "{{ '%s' | format(d.get) }}",
        "{{ '{}'.format(d.get) }}",
        "{{ '{!r}'.format(d.get) }}",
    ],
)
def test_no_way_of_turning_a_function_into_text_shows_its_repr(template: str) -> None:
    assert render_error(template, data=DATA) == f"{FAILED} cannot render a function"


def test_the_error_names_the_field_that_printed_it() -> None:
    webhook = compile_spec(
        url="https://example.com/{{ d.get }}", headers={"X-A": "ok", "X-B": "{{ d.keys }}"}
    )

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, data=DATA)

    assert violations(error) == {
        "url": f"{FAILED} cannot render a function",
        "headers[1].value": f"{FAILED} cannot render a function",
    }


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ tags.keys() }}", '["a","b"]'),
        ("{{ tags.values() }}", '[1,"x"]'),
        ("{{ tags.items() }}", '[["a",1],["b","x"]]'),
        ("{{ d.keys() }}", '["k"]'),
        ("{{ tags.keys() - ['a'] }}", '["b"]'),
        ("{{ items | reverse }}", '["b","a"]'),
        ("{{ items | map('upper') }}", '["A","B"]'),
        ("{{ range(3) }}", "[0,1,2]"),
        ("{{ [tags.keys(), items | reverse] }}", '[["a","b"],["b","a"]]'),
        ("{{ tags.keys() | tojson }}", '["a", "b"]'),
    ],
)
def test_views_and_iterators_of_data_print_as_json_lists(template: str, expected: str) -> None:
    assert render_text(template, tags=TAGS, data=DATA) == expected


def test_text_made_with_tilde_or_join_reads_as_the_values_print() -> None:
    body = render_text(
        "{{ 'a' ~ true ~ none ~ [1, 2.5] }}|{{ [true, none, 'x', 2.0] | join(',') }}"
        "|{{ tags | string }}",
        tags=TAGS,
    )

    assert body == 'atrue[1,2.5]|true,,x,2|{"a":1,"b":"x"}'


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ tags.keys() | pprint }}", 'KeysView({"a":1,"b":"x"})'),
        ("{{ '%s' % [tags] }}", '[{"a":1,"b":"x"}]'),
        ("{{ '{}'.format([entry_event]) }}", '[{"n":2}]'),
    ],
)
def test_python_reprs_of_recipient_values_show_their_data(template: str, expected: str) -> None:
    assert render_text(template, tags=TAGS, entry_event={"n": 2.0}) == expected
