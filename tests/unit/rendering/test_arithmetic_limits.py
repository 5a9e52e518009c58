"""Integer arithmetic is refused before it builds a number past 4,096 bits.

Rendering runs on the event loop; `ns.v * ns.v` in a loop doubles the digits each
time, and one multiplication of two megabit numbers stalls every other request.
"""

from __future__ import annotations

import pytest

from hooksmith_server import domain, errors

from .support import compile_spec, render_error, render_text, violations

TOO_LARGE = "rendering failed at line 1: number too large"


def test_repeated_squaring_is_refused_once_the_product_would_pass_the_limit() -> None:
    # The fuzzer's template ran 26 rounds (37 s); 14 rounds already pass 4,096 bits.
    template = (
        "{% set ns = namespace(v=3) %}{% for i in range(14) %}"
        "{% set ns.v = ns.v * ns.v %}{% endfor %}{{ ns.v > 1 }}"
    )

    assert render_error(template) == (
        f"{TOO_LARGE}: the result of * would have about 6,494 bits; the limit is 4,096"
    )


def test_a_few_squarings_stay_within_the_limit() -> None:
    template = (
        "{% set ns = namespace(v=3) %}{% for i in range(5) %}"
        "{% set ns.v = ns.v * ns.v %}{% endfor %}{{ ns.v }}"
    )

    assert render_text(template) == str(3**32)


@pytest.mark.parametrize(
    ("template", "shown"),
    [("{{ 2 ** 4095 > 1 }}", "true"), ("{{ (2 ** 2000) * (2 ** 2000) > 1 }}", "true")],
)
def test_numbers_up_to_4096_bits_are_computed(template: str, shown: str) -> None:
    assert render_text(template) == shown


def test_a_power_one_bit_past_the_limit_is_refused() -> None:
    assert render_error("{{ 2 ** 4096 > 1 }}") == (
        f"{TOO_LARGE}: the result of ** would have about 4,097 bits; the limit is 4,096"
    )


@pytest.mark.parametrize("operator", ["+", "-", "*", "//", "%", "**"])
def test_every_operator_refuses_an_operand_past_the_limit(operator: str) -> None:
    # `int(base=16)` turns 2,000 hex digits into an 8,000-bit number in linear time.
    template = "{% set big = ('f' * 2000) | int(base=16) %}{{ big " + operator + " 3 }}"

    assert render_error(template) == (
        f"{TOO_LARGE}: an operand of {operator} has 8,000 bits; the limit is 4,096"
    )


def test_sums_that_carry_past_the_limit_are_refused() -> None:
    template = "{% set n = 2 ** 4095 %}{{ n + n > 0 }}"

    assert render_error(template).startswith(f"{TOO_LARGE}: the result of + ")


def test_float_arithmetic_is_not_limited_by_bits() -> None:
    assert render_text("{{ 2.0 ** 1000 > 1 }} {{ 10 / 4 }} {{ 7 // 2 }}") == "true 2.5 3"


def test_round_with_a_huge_precision_is_refused_before_computing_ten_to_its_power() -> None:
    # round(x, p, 'ceil') computes 10 ** p: p = 10 ** 8 takes minutes.
    assert render_error("{{ 1.5 | round(100000, 'ceil') }}") == (
        f"{TOO_LARGE}: round precision 100,000 is beyond ±1,233 digits"
    )
    assert render_text("{{ 42.55 | round(1, 'floor') }} {{ 1234 | round(-2) }}") == "42.5 1200"


@pytest.mark.parametrize(
    ("literal", "description"),
    [
        # A hex literal is read at any size, then compiled into Python source as decimal.
        (
            "0x" + "f" * 5000,
            "template syntax error at line 1: number too large (20,000 bits; the limit is 4,096)",
        ),
        # The lexer's int() refuses decimal literals past 4,300 digits.
        ("1" + "0" * 5000, "template syntax error: number too large"),
    ],
)
def test_a_huge_number_literal_is_refused_when_compiled(literal: str, description: str) -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        compile_spec(body="{{ " + literal + " > 1 }}", body_format=domain.BodyFormat.TEXT)

    assert violations(error) == {"body": description}
