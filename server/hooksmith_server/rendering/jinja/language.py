"""Jinja2 as the pipeline's template language."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from types import MappingProxyType
from typing import Any

from jinja2 import nodes

from hooksmith_server import domain
from hooksmith_server.rendering import clock
from hooksmith_server.rendering.jinja.environment import TemplateEnvironment
from hooksmith_server.rendering.jinja.recipient import RecipientValues
from hooksmith_server.rendering.jinja.templates import build_template
from hooksmith_server.rendering.jinja.values import normalise, to_text
from hooksmith_server.rendering.language import FieldTemplate, RenderContext

# Each `{{ }}` in a URL is encoded as it is output. A block that captures output (a
# macro, `{% set %}...{% endset %}`, a call or filter block) would be encoded once
# inside and again when printed, so URLs refuse them.
_URL_REFUSED = (nodes.Macro, nodes.AssignBlock, nodes.CallBlock, nodes.FilterBlock)
_URL_REFUSED_MESSAGE = (
    "URLs may use {{ }}, if and for, but not macros or blocks that capture output"
)


class JinjaLanguage:
    """Sandboxed Jinja2 with Liquid-style filters; implements `TemplateLanguage`.

    One per process: compiled templates keep a reference to its environments, and
    renders share nothing mutable.
    """

    def __init__(self, *, max_output: int) -> None:
        self._max_output = max_output
        self._environment = TemplateEnvironment(max_output=max_output)
        # One environment per URL encoder: its finalize step is what encodes output.
        self._url_environments: dict[Callable[[str], str], TemplateEnvironment] = {}
        self._globals = MappingProxyType(dict(self._environment.globals))

    def compile_field(
        self,
        field: str,
        source: str,
        *,
        first_line: int = 1,
        url_encode: Callable[[str], str] | None = None,
    ) -> FieldTemplate:
        if url_encode is None:
            return build_template(self._environment, field, source, first_line=first_line)
        return build_template(
            self._url_environment(url_encode),
            field,
            source,
            first_line=first_line,
            refuse=_URL_REFUSED,
            refuse_message=_URL_REFUSED_MESSAGE,
        )

    def context(
        self, recipient: domain.Recipient, data: Mapping[str, Any], missing: set[str]
    ) -> RenderContext:
        context = dict(self._globals)
        for name, value in data.items():
            context[name] = normalise(value)
        context["userId"] = recipient.user_id
        context["tags"] = RecipientValues("tags", recipient.tags, missing)
        context["entry_event"] = RecipientValues("entry_event", recipient.entry_event, missing)
        return context

    def time_limit(self, seconds: float) -> AbstractContextManager[None]:
        return clock.budget(seconds)

    def _url_environment(self, url_encode: Callable[[str], str]) -> TemplateEnvironment:
        environment = self._url_environments.get(url_encode)
        if environment is None:

            def finalize(value: Any, limit: int) -> str:
                return url_encode(to_text(value, limit))

            environment = TemplateEnvironment(max_output=self._max_output, finalize=finalize)
            environment = self._url_environments.setdefault(url_encode, environment)
        return environment
