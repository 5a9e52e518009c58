"""Which names are data fields, and how missing recipient values and data are reported."""

from __future__ import annotations

import json

import pytest

from hooksmith_server import domain, errors

from .support import compile_spec, render, render_text, violations


def test_data_fields_are_sorted_unique_and_gathered_from_url_headers_and_body() -> None:
    webhook = compile_spec(
        url="https://example.com/{{ path_part }}?q={{ query }}",
        headers={"X-Campaign": "{{ campaign }}", "X-Again": "{{ query }}"},
        body='{"a": "{{ zeta }}", "b": ["{{ alpha }}", "{{ zeta }}"]}',
    )

    assert webhook.data_fields == ("alpha", "campaign", "path_part", "query", "zeta")


def test_names_used_only_in_url_or_headers_are_data_fields() -> None:
    webhook = compile_spec(
        url="https://example.com/{{ tenant }}",
        headers={"X-Token": "{{ token }}"},
        body='{"fixed": true}',
    )

    assert webhook.data_fields == ("tenant", "token")


def test_recipient_names_are_never_data_fields() -> None:
    webhook = compile_spec(
        url="https://example.com/{{ userId }}",
        body='{"a": "{{ tags }}{{ tags.x }}{{ entry_event.kind }}{{ entry_event }}"}',
    )

    assert webhook.data_fields == ()


def test_names_bound_inside_templates_and_jinja_globals_are_not_data_fields() -> None:
    template = (
        "{% set greeting = 'hi' %}{{ greeting }}"
        "{% for item in items %}{{ loop.index }}{{ item }}{% endfor %}"
        "{% macro shout(word) %}{{ word | upcase }}{% endmacro %}{{ shout(name) }}"
        "{% for i in range(2) %}{{ i }}{% endfor %}{{ loop }}"
        "{% set ns = namespace(total=0) %}{{ dict(a=1) }}{{ ns.total }}"
    )
    webhook = compile_spec(body=template, body_format=domain.BodyFormat.TEXT)

    assert webhook.data_fields == ("items", "name")


def test_missing_tags_render_empty_and_are_listed_by_name() -> None:
    webhook = compile_spec(body='{"phone": "{{ tags.phone_number }}", "name": "{{ tags.name }}"}')

    rendered = render(webhook, tags={"name": "Ana"})

    assert json.loads(rendered.request.body) == {"phone": "", "name": "Ana"}
    assert rendered.missing_variables == ("tags.phone_number",)


def test_missing_entry_event_values_are_listed_with_their_prefix() -> None:
    webhook = compile_spec(body='{"order": "{{ entry_event.order_id }}"}')

    rendered = render(webhook, entry_event={"other": 1.0})

    assert rendered.missing_variables == ("entry_event.order_id",)


def test_nested_missing_tag_is_listed_by_its_first_level() -> None:
    assert render_text("[{{ tags.address.city }}]") == "[]"

    webhook = compile_spec(body="{{ tags.address.city }}", body_format=domain.BodyFormat.TEXT)
    assert render(webhook).missing_variables == ("tags.address",)


def test_subscripted_tag_with_constant_key_is_listed_with_that_key() -> None:
    webhook = compile_spec(
        body='{{ tags["favourite colour"] }}', body_format=domain.BodyFormat.TEXT
    )

    rendered = render(webhook)

    assert rendered.missing_variables == ("tags.favourite colour",)


def test_tags_looked_up_with_computed_keys_are_listed_when_missing() -> None:
    webhook = compile_spec(
        body='{% for key in ["a", "b"] %}{{ tags[key] }}{% endfor %}',
        body_format=domain.BodyFormat.TEXT,
    )

    rendered = render(webhook, tags={"a": "A"})

    assert rendered.request.body == "A"
    assert rendered.missing_variables == ("tags.b",)


def test_present_tags_including_falsy_values_are_not_missing() -> None:
    webhook = compile_spec(
        body="{{ tags.empty }}|{{ tags.zero }}|{{ tags.off }}|{{ tags.none }}",
        body_format=domain.BodyFormat.TEXT,
    )

    rendered = render(webhook, tags={"empty": "", "zero": 0.0, "off": False, "none": None})

    assert rendered.request.body == "|0|false|"
    assert rendered.missing_variables == ()


def test_empty_user_id_is_missing_when_the_template_uses_it() -> None:
    used = compile_spec(body='{"u": "{{ userId }}"}')
    unused = compile_spec(body='{"u": "fixed"}')

    assert render(used, user_id="").missing_variables == ("userId",)
    assert render(unused, user_id="").missing_variables == ()
    assert render(used, user_id="u-1").missing_variables == ()


def test_required_data_raises_one_violation_per_missing_field() -> None:
    webhook = compile_spec(body='{"a": "{{ text }}", "b": "{{ amount }}", "c": "{{ given }}"}')

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, data={"given": "yes"}, require_data=True)

    assert violations(error) == {
        "data.amount": "data field 'amount' is required by this webhook",
        "data.text": "data field 'text' is required by this webhook",
    }


def test_preview_renders_missing_data_empty_and_lists_it() -> None:
    webhook = compile_spec(body='{"text": "[{{ text }}]", "to": "{{ tags.phone }}"}')

    rendered = render(webhook, require_data=False)

    assert json.loads(rendered.request.body) == {"text": "[]", "to": ""}
    assert rendered.missing_variables == ("tags.phone", "text")


def test_data_present_as_none_counts_as_present_and_renders_empty() -> None:
    webhook = compile_spec(body='{"text": "[{{ text }}]"}')

    rendered = render(webhook, data={"text": None}, require_data=True)

    assert json.loads(rendered.request.body) == {"text": "[]"}
    assert rendered.missing_variables == ()


def test_missing_data_can_fall_back_to_default_in_preview() -> None:
    webhook = compile_spec(body='{"text": "{{ text | default(\'hello\') }}"}')

    rendered = render(webhook, require_data=False)

    assert json.loads(rendered.request.body) == {"text": "hello"}
    assert rendered.missing_variables == ("text",)


def test_data_cannot_override_recipient_values() -> None:
    webhook = compile_spec(body='{"u": "{{ userId }}", "p": "{{ tags.plan }}"}')

    rendered = render(
        webhook, user_id="real", tags={"plan": "gold"}, data={"userId": "fake", "tags": {}}
    )

    assert json.loads(rendered.request.body) == {"u": "real", "p": "gold"}


def test_dict_keys_win_over_dict_methods() -> None:
    body = render_text(
        "{{ tags.items }}/{{ order.values }}/{{ tags.keys() | list | length }}",
        tags={"items": "3 items"},
        data={"order": {"values": "v"}},
    )

    assert body == "3 items/v/1"


def test_one_render_does_not_leak_missing_variables_into_the_next() -> None:
    webhook = compile_spec(body='{"p": "{{ tags.phone }}"}')

    first = render(webhook, tags={})
    second = render(webhook, tags={"phone": "1"})

    assert first.missing_variables == ("tags.phone",)
    assert second.missing_variables == ()
