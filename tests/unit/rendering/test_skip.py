"""`{% skip "reason" %}`: in either language, anywhere a template runs, no request is made."""

from __future__ import annotations

import json

import pytest

from hooksmith_server import domain
from hooksmith_server.rendering import Renderer, SkipRecipient
from hooksmith_server.rendering.language import DEFAULT_SKIP_REASON

RENDERER = Renderer()
SKIP_UNLESS_PHONE = {
    domain.TemplateLanguage.LIQUID: (
        '{% unless tags.phone_number %}{% skip "no phone number" %}{% endunless %}'
        "{{ tags.phone_number }}"
    ),
    domain.TemplateLanguage.JINJA: (
        '{% if not tags.phone_number %}{% skip "no phone number" %}{% endif %}'
        "{{ tags.phone_number }}"
    ),
}
LANGUAGES = list(SKIP_UNLESS_PHONE)


def where(language: domain.TemplateLanguage, place: str) -> domain.WebhookSpec:
    template = SKIP_UNLESS_PHONE[language]
    url = "https://sms.example.com/v1/messages"
    headers: tuple[domain.Header, ...] = ()
    body, body_format = '{"text": "hi"}', domain.BodyFormat.JSON
    if place == "url":
        url = f"https://sms.example.com/v1/{template}"
    elif place == "header":
        headers = (domain.Header("X-To", template),)
    elif place == "json":
        body = json.dumps({"to": template, "text": "hi"})
    elif place == "text":
        body, body_format = template, domain.BodyFormat.TEXT
    else:
        body, body_format = json.dumps({"to": template}), domain.BodyFormat.FORM
    return domain.WebhookSpec(
        name="sms",
        url=url,
        headers=headers,
        body=body,
        body_format=body_format,
        template_language=language,
    )


PLACES = ["url", "header", "json", "text", "form"]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("place", PLACES)
def test_skip_stops_the_render_wherever_it_runs(
    language: domain.TemplateLanguage, place: str
) -> None:
    compiled = RENDERER.compile(where(language, place))
    with pytest.raises(SkipRecipient) as skipped:
        compiled.render(domain.Recipient("u1"), {}, require_data=True)
    assert skipped.value.reason == "no phone number"

    rendered = compiled.render(
        domain.Recipient("u2", {"phone_number": "+8210"}), {}, require_data=True
    )
    request = rendered.request
    found = [request.url, request.body, *(h.value for h in request.headers)]
    assert any("8210" in part for part in found)


@pytest.mark.parametrize(
    ("language", "template"),
    [
        (domain.TemplateLanguage.LIQUID, "{% skip %}"),
        (domain.TemplateLanguage.JINJA, "{% skip %}"),
        (domain.TemplateLanguage.LIQUID, '{% skip "  " %}'),
    ],
)
def test_a_skip_without_a_reason_gets_the_default_one(
    language: domain.TemplateLanguage, template: str
) -> None:
    spec = domain.WebhookSpec(
        name="s",
        url="https://example.com",
        body=template,
        body_format=domain.BodyFormat.TEXT,
        template_language=language,
    )
    with pytest.raises(SkipRecipient) as skipped:
        RENDERER.compile(spec).render(domain.Recipient("u"), {}, require_data=False)
    assert skipped.value.reason == DEFAULT_SKIP_REASON


@pytest.mark.parametrize(
    ("language", "template"),
    [
        (domain.TemplateLanguage.LIQUID, '{% skip "no phone for " | append: userId %}'),
        (domain.TemplateLanguage.JINJA, '{% skip "no phone for " ~ userId %}'),
    ],
)
def test_the_reason_may_be_an_expression(language: domain.TemplateLanguage, template: str) -> None:
    spec = domain.WebhookSpec(
        name="s",
        url="https://example.com",
        body=template,
        body_format=domain.BodyFormat.TEXT,
        template_language=language,
    )
    with pytest.raises(SkipRecipient) as skipped:
        RENDERER.compile(spec).render(domain.Recipient("u-7"), {}, require_data=False)
    assert skipped.value.reason == "no phone for u-7"
