"""Operations that would build a huge string or list are refused before they run.

The render budget sees only finished output; a width, count or repeat asked of one
filter or method would allocate hundreds of megabytes before that. Most tests use a
1,000-character limit, where the same guards refuse small inputs quickly.
"""

from __future__ import annotations

import tracemalloc

import pytest

from hooksmith_server import domain, errors
from hooksmith_server.rendering import Limits

from .support import compile_spec, render, render_error, render_text

SMALL = Limits(max_rendered_chars=1000)
FAILED = "rendering failed at line 1:"


def _produce(what: str, size: int, unit: str = "characters") -> str:
    return f"{FAILED} {what} would produce {size:,} {unit}; the limit is 1,000"


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'a' | center(300000000) }}",
        "{{ '%300000000d' % 1 }}",
        "{{ '{:>300000000}'.format(1) }}",
        "{{ 'a'.ljust(300000000) }}",
        "{{ 'a' | indent(300000000, true) }}",
        "{{ [1] | batch(300000000, 0) | list | length }}",
        "{{ (1).to_bytes(300000000, 'big') | length }}",
    ],
)
def test_the_fuzzers_huge_widths_are_refused_without_allocating(template: str) -> None:
    webhook = compile_spec(body=template, body_format=domain.BodyFormat.TEXT)

    tracemalloc.start()
    try:
        with pytest.raises(errors.InvalidArgument) as error:
            render(webhook)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 5_000_000
    assert "would produce" in error.value.violations[0].description


@pytest.mark.parametrize(
    ("template", "description"),
    [
        ("{{ 'a' | center(100000) }}", _produce("center", 100_000)),
        ("{{ 'a\\nb' | indent(100000, true) }}", _produce("indent", 300_003)),
        ("{{ 'ab' | wordwrap(1, wrapstring='x' * 600) }}", _produce("wordwrap", 3_602)),
        (
            "{{ '%100000d' | format(1) }}",
            f"{FAILED} format would produce more than 1,000 characters",
        ),
        ("{{ range(1000) | join('xx') }}", _produce("join", 1_003)),
        (
            "{{ [1] | batch(100000, 0) | list | length }}",
            _produce("batch", 100_000, "items in a batch"),
        ),
        ("{{ [] | slice(100000) | list | length }}", _produce("slice", 100_000, "lists")),
        ("{{ ([[1] * 20] * 100) | sum(start=[]) | length }}", _produce("sum", 2_000, "items")),
        (
            "{{ [1, 2] | tojson(indent=100000) }}",
            f"{FAILED} value is more than 1,000 characters as text",
        ),
        ("{{ 'now' | date('%100000Y') }}", _produce("date", 100_008)),
        # Escaping grows text by a small factor; checked after, a chain cannot compound.
        ("{{ ('&' * 300) | escape | escape | escape }}", _produce("escape", 1_500)),
    ],
)
def test_filters_refuse_to_build_past_the_limit(template: str, description: str) -> None:
    assert render_error(template, SMALL) == description


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 'x' | center(5) }}|", "  x  |"),
        ("{{ 'a\\nb' | indent(2, true) }}", "  a\n  b"),
        ("{{ 'hello world' | wordwrap(5) }}", "hello\nworld"),
        ("{{ '%s-%03d' | format('a', 7) }}", "a-007"),
        ("{{ [1, 2, 3] | batch(2, 0) | list }}", "[[1,2],[3,0]]"),
        ("{{ [1, 2, 3] | slice(2) | list }}", "[[1,2],[3]]"),
        ("{{ [[1], [2]] | sum(start=[]) }}|{{ [1, 2, 3] | sum }}", "[1,2]|6"),
        ("{{ {'b': 1, 'a': [2]} | tojson(1) }}", '{\n "a": [\n  2\n ],\n "b": 1\n}'),
        ("{{ '2024-01-02T03:04:05Z' | date('%Y-%m-%d %H:%M') }}", "2024-01-02 03:04"),
    ],
)
def test_filters_within_the_limit_work_as_in_jinja(template: str, expected: str) -> None:
    assert render_text(template) == expected


def test_sum_of_lists_keeps_pythons_type_error() -> None:
    description = render_error("{{ [[1], (2,)] | sum(start=[]) }}")

    assert description == (f'{FAILED} TypeError: can only concatenate list (not "tuple") to list')


def test_wordwrap_refuses_words_it_would_take_quadratic_time_to_break() -> None:
    # textwrap re-slices the rest of a long word for every line it breaks off.
    assert render_error("{{ ('a' * 40000) | wordwrap(1) }}") == (
        f"{FAILED} wordwrap: breaking words this long at width 1 takes too long; use a larger width"
    )
    assert render_text("{{ ('a' * 1000) | wordwrap(100) | length }}") == "1009"


@pytest.mark.parametrize(
    "template",
    [
        "{{ '%100000d' % 1 }}",
        "{{ '%*d' % (100000, 1) }}",
        "{{ '%.100000f' % 1.0 }}",
        "{{ '%(n)100000s' % {'n': 'x'} }}",
        # Many small conversions add up: 300 copies of a 10-character value.
        "{{ ('%s' * 300) % (('x' * 10,) * 300) }}",
    ],
)
def test_printf_formatting_is_measured_before_it_runs(template: str) -> None:
    assert render_error(template, SMALL) == (
        f"{FAILED} formatting would produce more than 1,000 characters"
    )


def test_printf_formatting_within_the_limit_works() -> None:
    assert render_text("{{ '%05.1f|%-4s|%x|%c%%' % (3.14159, 'ab', 255, 65) }}") == (
        "003.1|ab  |ff|A%"
    )


@pytest.mark.parametrize(
    "template",
    [
        "{{ '{:>100000}'.format(1) }}",
        "{{ '{:>{w}}'.format(1, w=100000) }}",
        "{{ '{a:.100000f}'.format_map({'a': 1.5}) }}",
        "{{ ('{0}' * 200).format('x' * 10) }}",
    ],
)
def test_str_format_fields_are_measured_before_they_are_formatted(template: str) -> None:
    assert render_error(template, SMALL) == (
        f"{FAILED} format would produce more than 1,000 characters"
    )


def test_str_format_within_the_limit_works_and_markup_still_escapes() -> None:
    body = render_text(
        "{{ '{:>5}|{:.2f}|{:,}'.format('a', 3.14159, 1234567) }}"
        "|{{ ('<b>{}</b>' | safe).format('<i>') }}"
    )

    assert body == "    a|3.14|1,234,567|<b>&lt;i&gt;</b>"


@pytest.mark.parametrize(
    ("template", "description"),
    [
        ("{{ 'a'.ljust(100000) }}", _produce("ljust", 100_000)),
        ("{{ 'a'.rjust(100000) }}", _produce("rjust", 100_000)),
        ("{{ 'a'.center(100000) }}", _produce("center", 100_000)),
        ("{{ 'a'.zfill(100000) }}", _produce("zfill", 100_000)),
        ("{{ ('\t' * 10).expandtabs(1000) }}", _produce("expandtabs", 10_010)),
        ("{{ ('a' * 100).replace('a', 'b' * 100) }}", _produce("replace", 10_000)),
        ("{{ ('x' * 500).join(['a', 'b', 'c']) }}", _produce("join", 1_003)),
        ("{{ ('a' * 100).translate({97: 'b' * 100}) }}", _produce("translate", 10_000)),
        ("{{ (1).to_bytes(100000, 'big') | length }}", _produce("to_bytes", 100_000, "bytes")),
        # hex() doubles its input; checked after, a chain of them cannot compound.
        ("{{ ('x' * 600).encode().hex() }}", _produce("hex", 1_200)),
    ],
)
def test_string_methods_refuse_to_build_past_the_limit(template: str, description: str) -> None:
    assert render_error(template, SMALL) == description


def test_string_methods_within_the_limit_work() -> None:
    body = render_text("{{ 'a'.ljust(3, '.') }}|{{ '-'.join(['a', 'b']) }}|{{ 'ab'.zfill(4) }}")

    assert body == "a..|a-b|00ab"


@pytest.mark.parametrize(
    ("template", "description"),
    [
        ("{{ ('x' * 600) + ('y' * 600) }}", _produce("concatenating", 1_200)),
        ("{{ (([1] * 600) + ([2] * 600)) | length }}", _produce("concatenating", 1_200, "items")),
        ("{{ ('x' * 600) ~ ('y' * 600) }}", _produce("~", 1_200)),
        ("{{ ('x'.encode() * 2000) | length }}", _produce("repeating", 2_000, "items")),
        (
            "{{ ('x' * 600).encode() + ('y' * 600).encode() }}",
            _produce("concatenating", 1_200, "bytes"),
        ),
    ],
)
def test_operators_refuse_to_build_past_the_limit(template: str, description: str) -> None:
    assert render_error(template, SMALL) == description


def test_doubling_a_string_in_a_loop_stops_at_the_limit() -> None:
    template = (
        "{% set ns = namespace(s='x') %}{% for i in range(12) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}"
    )

    assert render_error(template, SMALL) == _produce("~", 1_024)


@pytest.mark.parametrize(
    "template",
    [
        # A macro's output is collected before it is returned; nesting doubles it.
        "{% macro twice(x) %}{{ x }}{{ x }}{% endmacro %}"
        "{{ twice(twice(twice('x' * 200))) | length }}",
        "{% set b %}{% for i in range(100) %}{{ 'x' * 20 }}{% endfor %}{% endset %}"
        "{{ b | length }}",
    ],
)
def test_block_output_is_limited_like_the_template_output(template: str) -> None:
    assert render_error(template, SMALL) == (
        f"{FAILED} a block's output is more than 1,000 characters"
    )


def test_a_list_nested_in_itself_is_refused_before_printing_every_copy() -> None:
    # Each round doubles what the list prints as, not what it holds: 60 rounds would
    # take a few microseconds to build and forever to print.
    template = (
        "{% set ns = namespace(l=[1]) %}{% for i in range(12) %}"
        "{% set ns.l = [ns.l, ns.l] %}{% endfor %}{{ ns.l | length }} {{ ns.l }}"
    )

    assert render_error(template, SMALL) == (
        f"{FAILED} value is more than 1,000 characters as text"
    )


def test_ranges_stay_limited_by_the_sandbox() -> None:
    assert render_error("{{ range(200000) | length }}") == (
        f"{FAILED} OverflowError: Range too big. The sandbox blocks ranges larger than "
        "MAX_RANGE (100000)."
    )
