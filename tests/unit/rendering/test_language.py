"""The pipeline works through `TemplateLanguage` alone: URL, header and body rules hold
for any language, and only the Jinja package knows Jinja."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hooksmith_server import domain, errors, rendering
from hooksmith_server.rendering import Renderer
from hooksmith_server.rendering.language import (
    Budget,
    FieldTemplate,
    OutputTooLarge,
    PlainText,
    RenderContext,
)

from .support import make_spec, render, violations

_NAME = re.compile(r"\$(\w+)")


@dataclass(frozen=True)
class _DollarTemplate:
    """`$name` replaced by the name's value: just enough of a language to test with."""

    field: str
    source: str
    names: frozenset[str]
    url_encode: Callable[[str], str] | None

    @property
    def plain(self) -> bool:
        return False

    def render(self, context: RenderContext, budget: Budget) -> str:
        def value(found: re.Match[str]) -> str:
            text = str(context.get(found[1], ""))
            return text if self.url_encode is None else self.url_encode(text)

        output = _NAME.sub(value, self.source)
        budget.remaining -= len(output)
        if budget.remaining < 0:
            raise OutputTooLarge
        return output


class _DollarLanguage:
    def __init__(self) -> None:
        self.compiled: list[tuple[str, bool]] = []
        self.time_limits: list[float] = []

    def compile_field(
        self,
        field: str,
        source: str,
        *,
        first_line: int = 1,
        url_encode: Callable[[str], str] | None = None,
    ) -> FieldTemplate:
        self.compiled.append((field, url_encode is not None))
        if "$" not in source:
            return PlainText(field, source)
        if "$$" in source:
            raise errors.InvalidArgument.field(field, f"empty name at line {first_line}")
        names = frozenset(_NAME.findall(source))
        return _DollarTemplate(field, source, names, url_encode)

    def context(
        self, recipient: domain.Recipient, data: Mapping[str, Any], missing: set[str]
    ) -> RenderContext:
        return {**data, "userId": recipient.user_id}

    def time_limit(self, seconds: float) -> AbstractContextManager[None]:
        self.time_limits.append(seconds)
        return nullcontext()


@pytest.fixture
def language() -> _DollarLanguage:
    return _DollarLanguage()


def test_the_pipeline_renders_with_another_language(language: _DollarLanguage) -> None:
    spec = make_spec(
        "https://example.com/users/$userId?path=$path",
        headers={"X-Name": "$name", "X-Fixed": "fixed"},
        body='{"name": "$name", "count": 2, "plain": "text"}',
    )
    webhook = Renderer(language=language).compile(spec)

    rendered = render(webhook, user_id="a/b", data={"path": "..", "name": 'Ann "A"'})

    assert webhook.data_fields == ("name", "path")
    assert rendered.request.url == "https://example.com/users/a%2Fb?path=%2E%2E"
    assert rendered.request.headers == (
        domain.Header("X-Name", 'Ann "A"'),
        domain.Header("X-Fixed", "fixed"),
        domain.Header("Content-Type", "application/json"),
    )
    assert rendered.request.body == '{"name":"Ann \\"A\\"","count":2,"plain":"text"}'
    assert ("url", True) in language.compiled
    assert [url for field, url in language.compiled if field != "url"] == [False] * 4
    assert language.time_limits == [rendering.Limits().max_render_seconds]


def test_header_and_url_rules_apply_to_another_languages_output(
    language: _DollarLanguage,
) -> None:
    spec = make_spec("https://$host/hook", headers={"X-Name": "$name"})
    webhook = Renderer(language=language).compile(spec)

    with pytest.raises(errors.InvalidArgument) as error:
        render(webhook, data={"host": "", "name": "a\nb"})

    assert violations(error) == {
        "url": "the URL has no host",
        "headers[0].value": "rendered value contains a control character (\\n at position 1)",
    }


def test_compile_errors_of_another_language_name_the_line_in_the_body(
    language: _DollarLanguage,
) -> None:
    spec = make_spec(body='{\n  "a": "x",\n  "b": "$$"\n}')

    with pytest.raises(errors.InvalidArgument) as error:
        Renderer(language=language).compile(spec)

    assert violations(error) == {"body": "empty name at line 3"}


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            yield node.module


def test_only_the_jinja_package_imports_jinja() -> None:
    package = Path(rendering.__file__).parent
    outside = [
        path.name
        for path in package.glob("*.py")
        if any(name.split(".")[0] in ("jinja2", "markupsafe") for name in _imports(path))
    ]

    assert outside == []
