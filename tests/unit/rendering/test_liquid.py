"""Liquid templates: the same request as the Jinja template a marketer would write for it.

Each case is a pair, Liquid as FlareLane and Braze users write it and its Jinja
equivalent, rendered through the whole pipeline (JSON leaves, URL encoding, headers)
for the same recipient; the two requests must be equal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from hooksmith_server import domain, errors
from hooksmith_server.rendering import Limits, Rendered, Renderer
from hooksmith_server.rendering.jinja.filters import FILTERS
from hooksmith_server.rendering.liquid.environment import LOOP_ITERATIONS
from tests.unit.rendering.support import violations
from tests.unit.rendering.test_templates_doc import CELL, CODE, DOC
from tests.unit.rendering.test_templates_doc import values as doc_values

LIQUID = domain.TemplateLanguage.LIQUID
JINJA = domain.TemplateLanguage.JINJA

RENDERER = Renderer()


def spec(
    language: domain.TemplateLanguage,
    *,
    url: str = "https://example.com/hook",
    body: str = "",
    body_format: domain.BodyFormat = domain.BodyFormat.JSON,
    headers: Mapping[str, str] | None = None,
) -> domain.WebhookSpec:
    return domain.WebhookSpec(
        name="pair",
        url=url,
        headers=tuple(domain.Header(n, v) for n, v in (headers or {}).items()),
        body_format=body_format,
        body=body,
        template_language=language,
    )


def render(
    webhook: domain.WebhookSpec,
    *,
    user_id: str = "u-42",
    tags: Mapping[str, Any] | None = None,
    entry_event: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
) -> Rendered:
    recipient = domain.Recipient(user_id, dict(tags or {}), dict(entry_event or {}))
    return RENDERER.compile(webhook).render(recipient, data or {}, require_data=False)


def text(template: str, language: domain.TemplateLanguage = LIQUID, **values: Any) -> str:
    webhook = spec(language, body=template, body_format=domain.BodyFormat.TEXT)
    return render(webhook, **values).request.body


@dataclass(frozen=True)
class Pair:
    name: str
    liquid: str
    jinja: str
    expected: str
    values: dict[str, Any] = field(default_factory=dict)


VIP = {"name": "Mina", "vip": True, "points": 1234567.0, "phone_number": "+821012345678"}

# Snippets as marketers paste them, each with the Jinja a marketer would write instead.
PAIRS = [
    Pair(
        "default with a greeting",
        'Hi {{ tags.name | default: "friend" }}!',
        "Hi {{ tags.name | default('friend') }}!",
        "Hi friend!",
    ),
    Pair(
        "if with else",
        "{% if tags.vip %}VIP {{ tags.name }}{% else %}Member{% endif %}",
        "{% if tags.vip %}VIP {{ tags.name }}{% else %}Member{% endif %}",
        "VIP Mina",
        {"tags": VIP},
    ),
    Pair(
        "unless",
        "{% unless tags.vip %}Join VIP{% endunless %}done",
        "{% if not tags.vip %}Join VIP{% endif %}done",
        "Join VIPdone",
        {"tags": {"vip": False}},
    ),
    Pair(
        "case on a tier",
        "{% case tags.tier %}{% when 'gold' %}20%{% when 'silver' %}10%{% else %}5%{% endcase %}",
        "{% if tags.tier == 'gold' %}20%{% elif tags.tier == 'silver' %}10%{% else %}5%{% endif %}",
        "10%",
        {"tags": {"tier": "silver"}},
    ),
    Pair(
        "for over a tag list",
        "{% for item in tags.cart %}{{ forloop.index }}. {{ item | capitalize }}"
        "{% unless forloop.last %}, {% endunless %}{% endfor %}",
        "{% for item in tags.cart %}{{ loop.index }}. {{ item | capitalize }}"
        "{% if not loop.last %}, {% endif %}{% endfor %}",
        "1. Shoes, 2. Socks, 3. Hat",
        {"tags": {"cart": ["shoes", "SOCKS", "hat"]}},
    ),
    Pair(
        "assign and upcase",
        "{% assign first = tags.name | upcase %}Hello {{ first }}",
        "{% set first = tags.name | upcase %}Hello {{ first }}",
        "Hello MINA",
        {"tags": VIP},
    ),
    Pair(
        "capture",
        "{% capture greeting %}Dear {{ tags.name | downcase }}{% endcapture %}{{ greeting }}.",
        "{% set greeting %}Dear {{ tags.name | downcase }}{% endset %}{{ greeting }}.",
        "Dear mina.",
        {"tags": VIP},
    ),
    Pair(
        "truncate with an ellipsis",
        '{{ text | truncate: 12, "…" }}',
        "{{ text | truncate(12, '…') }}",
        "Your order …",
        {"data": {"text": "Your order has shipped"}},
    ),
    Pair(
        "truncatewords",
        "{{ text | truncatewords: 3 }}",
        "{{ text | truncatewords(3) }}",
        "Your order has...",
        {"data": {"text": "Your order has shipped today"}},
    ),
    Pair(
        "replace and replace_first",
        '{{ tags.phone_number | replace: "+82", "0" | replace_first: "10", "10-" }}',
        "{{ tags.phone_number | replace('+82', '0') | replace_first('10', '10-') }}",
        "010-12345678",
        {"tags": VIP},
    ),
    Pair(
        "date in an IANA zone",
        '{{ entry_event.paid_at | date: "%Y-%m-%d %H:%M", "Asia/Seoul" }}',
        "{{ entry_event.paid_at | date('%Y-%m-%d %H:%M', 'Asia/Seoul') }}",
        "2026-03-01 09:30",
        {"entry_event": {"paid_at": "2026-03-01T00:30:00Z"}},
    ),
    Pair(
        "number_with_delimiter on a tag number",
        "{{ tags.points | number_with_delimiter }} points",
        "{{ tags.points | number_with_delimiter }} points",
        "1,234,567 points",
        {"tags": VIP},
    ),
    Pair(
        "nested if with and/or",
        "{% if tags.vip and tags.points > 1000 or tags.staff %}big spender{% endif %}",
        "{% if tags.vip and tags.points > 1000 or tags.staff %}big spender{% endif %}",
        "big spender",
        {"tags": VIP},
    ),
    Pair(
        "default with allow_false",
        "{{ tags.opt_in | default: true, allow_false: true }}",
        "{{ tags.opt_in | default(true, allow_false=true) }}",
        "false",
        {"tags": {"opt_in": False}},
    ),
]


@pytest.mark.parametrize("pair", PAIRS, ids=[pair.name for pair in PAIRS])
def test_each_snippet_gives_the_same_request_in_both_languages(pair: Pair) -> None:
    # The snippet as a JSON string leaf, a header and a TEXT body.
    def webhook(language: domain.TemplateLanguage, template: str) -> domain.WebhookSpec:
        return spec(
            language,
            headers={"X-Note": template},
            body=json.dumps({"text": template, "amount": 10}),
        )

    liquid = render(webhook(LIQUID, pair.liquid), **pair.values).request
    jinja = render(webhook(JINJA, pair.jinja), **pair.values).request
    assert liquid == jinja
    assert json.loads(liquid.body) == {"text": pair.expected, "amount": 10}
    assert ("X-Note", pair.expected) in [(h.name, h.value) for h in liquid.headers]
    assert text(pair.liquid, **pair.values) == text(pair.jinja, JINJA, **pair.values)


URL_PAIRS = [
    (
        "https://example.com/u/{{ userId }}?name={{ tags.name | default: 'a b' }}",
        "https://example.com/u/{{ userId }}?name={{ tags.name | default('a b') }}",
        "https://example.com/u/u%2F1?name=a%20b",
    ),
    (
        "https://example.com/{% if tags.vip %}vip{% else %}{{ tags.tier }}{% endif %}",
        "https://example.com/{% if tags.vip %}vip{% else %}{{ tags.tier }}{% endif %}",
        "https://example.com/gold%2F..",
    ),
    (
        "https://example.com/c?{% for c in tags.cart %}i={{ c }}&{% endfor %}",
        "https://example.com/c?{% for c in tags.cart %}i={{ c }}&{% endfor %}",
        "https://example.com/c?i=a%26b&i=%3F&",
    ),
]


@pytest.mark.parametrize(("liquid", "jinja", "expected"), URL_PAIRS)
def test_url_values_are_percent_encoded_in_both_languages(
    liquid: str, jinja: str, expected: str
) -> None:
    values: dict[str, Any] = {
        "user_id": "u/1",
        "tags": {"vip": False, "tier": "gold/..", "cart": ["a&b", "?"]},
    }
    rendered = render(spec(LIQUID, url=liquid), **values).request.url
    assert rendered == render(spec(JINJA, url=jinja), **values).request.url == expected


SMS_LIQUID = spec(
    LIQUID,
    url="https://sms.example.com/v1/messages",
    headers={"Authorization": "Bearer sk_live_1234"},
    body='{"to": "{{ tags.phone_number }}", "text": "{{ text }}"}',
)
SMS_JINJA = spec(
    JINJA,
    url=SMS_LIQUID.url,
    headers={"Authorization": "Bearer sk_live_1234"},
    body=SMS_LIQUID.body,
)
COUPON_LIQUID = spec(
    LIQUID,
    url="https://api.example.com/users/{{ userId }}/coupons",
    body='{"user": "{{ userId }}", "text": "{{ text }}", "amount": 10}',
)
COUPON_JINJA = spec(JINJA, url=COUPON_LIQUID.url, body=COUPON_LIQUID.body)


def test_the_seed_sms_example_is_the_same_in_both_languages() -> None:
    values: dict[str, Any] = {
        "tags": {"phone_number": "+821012345678"},
        "data": {"text": "Your code is 1234"},
    }
    liquid = render(SMS_LIQUID, **values)
    assert liquid.request == render(SMS_JINJA, **values).request
    assert liquid.request.body == '{"to":"+821012345678","text":"Your code is 1234"}'
    assert RENDERER.compile(SMS_LIQUID).data_fields == ("text",)


def test_the_seed_coupon_example_is_the_same_in_both_languages() -> None:
    values: dict[str, Any] = {"user_id": "a/b?c", "data": {"text": "10% off"}}
    liquid = render(COUPON_LIQUID, **values)
    assert liquid.request == render(COUPON_JINJA, **values).request
    assert liquid.request.url == "https://api.example.com/users/a%2Fb%3Fc/coupons"
    assert json.loads(liquid.request.body) == {"user": "a/b?c", "text": "10% off", "amount": 10}


def test_data_fields_of_a_liquid_template_leave_out_recipient_and_local_names() -> None:
    webhook = spec(
        LIQUID,
        url="https://example.com/{{ path }}",
        headers={"X-Campaign": "{{ campaign | default: 'none' }}"},
        body='{"a": "{% assign n = tags.name %}{{ n }}{% for x in items %}{{ x }}{% endfor %}",'
        ' "b": "{% capture c %}{{ coupon }}{% endcapture %}{{ c }} {{ entry_event.id }}"}',
    )
    assert RENDERER.compile(webhook).data_fields == ("campaign", "coupon", "items", "path")


def test_missing_recipient_values_are_listed_and_render_empty() -> None:
    rendered = render(SMS_LIQUID, user_id="u1")
    assert rendered.missing_variables == ("tags.phone_number", "text")
    assert json.loads(rendered.request.body) == {"to": "", "text": ""}


def test_json_leaves_stay_strings_whatever_a_value_holds() -> None:
    body = render(SMS_LIQUID, tags={"phone_number": '", "admin": true, "x": "'}).request.body
    assert json.loads(body)["to"] == '", "admin": true, "x": "'
    assert set(json.loads(body)) == {"to", "text"}


def test_values_print_as_in_jinja_lists_as_json_and_whole_numbers_without_a_point() -> None:
    values: dict[str, Any] = {"tags": {"cart": ["a", 2.0], "age": 30.0, "ratio": 0.5}}
    template = "{{ tags.cart }} {{ tags.age }} {{ tags.ratio }} {{ tags.vip }} {{ tags }}"
    assert text(template, **values) == text(template, JINJA, **values)
    assert text("{{ tags.cart }} {{ tags.age }}", **values) == '["a",2] 30'


def test_header_values_are_checked_after_rendering() -> None:
    webhook = spec(LIQUID, headers={"X-Name": "{{ tags.name }}"})
    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, tags={"name": "a\r\nX-Admin: 1"})
    assert "headers[0].value" in violations(error)


def test_form_bodies_are_url_encoded() -> None:
    webhook = spec(
        LIQUID,
        body='{"to": "{{ tags.phone_number }}", "msg": "{{ text | upcase }}"}',
        body_format=domain.BodyFormat.FORM,
    )
    rendered = render(webhook, tags={"phone_number": "+8210"}, data={"text": "a&b"})
    assert rendered.request.body == "to=%2B8210&msg=A%26B"


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("{{ name | no_such_filter }}", "no filter named 'no_such_filter'"),
        ("{% if tags.vip %}never closed", "template syntax error"),
        ('{% include "other" %}', "cannot include or render other templates"),
        ('{% render "other" %}', "cannot include or render other templates"),
    ],
)
def test_bad_templates_are_refused_when_compiled_naming_the_field(
    source: str, problem: str
) -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        RENDERER.compile(spec(LIQUID, body=source, body_format=domain.BodyFormat.TEXT))
    assert problem in violations(error)["body"]


def test_syntax_errors_name_the_line_within_the_body() -> None:
    body = '{\n  "a": "x",\n  "b": "{% if %}yes{% endif %}"\n}'
    with pytest.raises(errors.InvalidArgument) as error:
        RENDERER.compile(spec(LIQUID, body=body))
    assert "at line 3" in violations(error)["body"]


def test_urls_refuse_capture_whose_output_would_be_encoded_twice() -> None:
    url = "https://example.com/{% capture p %}{{ userId }}{% endcapture %}{{ p }}"
    with pytest.raises(errors.InvalidArgument) as error:
        RENDERER.compile(spec(LIQUID, url=url))
    assert "not capture" in violations(error)["url"]


def test_loops_stop_at_python_liquids_iteration_limit() -> None:
    template = "{% for a in (1..1000) %}{% for b in (1..1000) %}x{% endfor %}{% endfor %}"
    with pytest.raises(errors.InvalidArgument) as error:
        text(template)
    assert "loop iteration limit reached" in violations(error)["body"]
    assert LOOP_ITERATIONS < 1000 * 1000


def test_output_past_the_request_limit_is_refused() -> None:
    renderer = Renderer(Limits(max_rendered_chars=1000))
    webhook = renderer.compile(
        spec(
            LIQUID,
            body="{% for a in (1..200) %}0123456789{% endfor %}",
            body_format=domain.BodyFormat.TEXT,
        )
    )
    with pytest.raises(errors.InvalidArgument) as error:
        webhook.render(domain.Recipient("u"), {}, require_data=False)
    assert "the limit is 1,000" in violations(error)["request"]


def test_a_filter_given_bad_arguments_fails_naming_the_field() -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        text('{{ "2026-01-01" | date: "%Y", "Mars/Olympus" }}')
    assert "unknown time zone 'Mars/Olympus'" in violations(error)["body"]


def test_a_slow_render_stops_at_its_time_budget() -> None:
    renderer = Renderer(Limits(max_render_seconds=0.0))
    webhook = renderer.compile(
        spec(
            LIQUID,
            body="{% for a in (1..50) %}{{ a }}{% endfor %}",
            body_format=domain.BodyFormat.TEXT,
        )
    )
    with pytest.raises(errors.InvalidArgument) as error:
        webhook.render(domain.Recipient("u"), {}, require_data=False)
    assert "rendering took longer than" in violations(error)["body"]


def test_plain_liquid_is_the_default_jinja_spec_unchanged() -> None:
    # Specs that name no language are Jinja: a Jinja-only construct still works there.
    webhook = domain.WebhookSpec(
        name="j",
        url="https://example.com",
        body="{{ 'a' ~ 'b' }}",
        body_format=domain.BodyFormat.TEXT,
    )
    assert webhook.template_language is JINJA
    assert render(webhook).request.body == "ab"


def liquid_doc_rows() -> list[tuple[str, str, str]]:
    """(Liquid, Jinja, rendered) from the table of the Liquid section of the templates doc."""
    section = DOC.read_text().split("## Liquid\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip().replace("\\|", "|") for c in CELL.split(line)[1:-1]]
        codes = [CODE.match(cell) for cell in cells]
        if len(codes) == 3 and all(codes):
            rows.append(tuple(code.group(1) for code in codes if code))
    return rows  # type: ignore[return-value]


def test_the_doc_has_a_liquid_example_of_every_filter() -> None:
    used = {
        name for liquid, _, _ in liquid_doc_rows() for name in re.findall(r"\|\s*(\w+)", liquid)
    }
    assert set(FILTERS) <= used, set(FILTERS) - used


@pytest.mark.parametrize(("liquid", "jinja", "rendered"), liquid_doc_rows())
def test_the_docs_liquid_examples_render_as_documented(
    liquid: str, jinja: str, rendered: str
) -> None:
    given = doc_values()
    values: dict[str, Any] = {
        "user_id": given["userId"],
        "tags": given["tags"],
        "entry_event": given["entry_event"],
        "data": given["data"],
    }
    assert text(liquid, **values) == rendered
    assert text(jinja, JINJA, **values) == rendered


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ('{{ (1..30000000) | join: "," }}', "join would work on 30,000,000 characters or items"),
        (
            "{% assign x = 2 %}{% for i in (1..23) %}{% assign x = x | times: x %}{% endfor %}",
            "times: number too large",
        ),
        (
            '{% assign s = "ab" %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}',
            "append would work on 2,097,152 characters or items",
        ),
    ],
)
def test_python_liquids_own_filters_are_bounded_too(template: str, problem: str) -> None:
    with pytest.raises(errors.InvalidArgument) as error:
        text(template)
    assert problem in violations(error)["body"]
