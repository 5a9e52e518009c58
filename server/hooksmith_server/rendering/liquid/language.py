"""Liquid as the pipeline's template language."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from liquid.exceptions import (
    LiquidError,
    LiquidSyntaxError,
    OutputStreamLimitError,
)
from liquid.output import LimitedStringIO
from liquid.template import BoundTemplate

from hooksmith_server import domain, errors
from hooksmith_server.rendering import clock
from hooksmith_server.rendering.jinja.filters import FilterError
from hooksmith_server.rendering.jinja.values import Unrenderable, normalise
from hooksmith_server.rendering.language import (
    Budget,
    FieldTemplate,
    OutputTooLarge,
    PlainText,
    RenderContext,
    SkipRecipient,
)
from hooksmith_server.rendering.liquid.environment import (
    LiquidEnvironment,
    recipient_values,
)

_TEMPLATE_MARKERS = ("{{", "{%")
# Names python-liquid gives a template itself, never supplied by the caller.
_NOT_READ_FROM_CONTEXT = frozenset({"forloop", "tablerowloop"})
_URL_REFUSED_MESSAGE = "URLs may use {{ }}, if, unless, case and for, but not capture"


def _line(source: str, error: LiquidError) -> int | None:
    token = error.token
    if token is None or token.start_index < 0 or token.source != source:
        return None
    return source.count("\n", 0, token.start_index) + 1


def _message(error: BaseException) -> str:
    if isinstance(error, LiquidError):
        return str(error.message)
    return str(error)


@dataclass(frozen=True, slots=True)
class LiquidTemplate:
    """A compiled Liquid template field; see `language.FieldTemplate`."""

    field: str
    source: str
    names: frozenset[str]
    template: BoundTemplate
    first_line: int = 1

    @property
    def plain(self) -> bool:
        return False

    def render(self, context: RenderContext, budget: Budget) -> str:
        environment = self.template.env
        assert isinstance(environment, LiquidEnvironment)
        liquid_context = self.template.context_class(self.template, globals=context)
        buffer = LimitedStringIO(limit=environment.output_stream_limit or 0)
        try:
            self.template.render_with_context(liquid_context, buffer)
        except SkipRecipient:
            raise
        except OutputStreamLimitError:
            raise OutputTooLarge from None
        except (LiquidError, FilterError, Unrenderable, clock.RenderTooSlow) as exc:
            raise errors.InvalidArgument.field(self.field, self._describe(exc)) from exc
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            raise errors.InvalidArgument.field(self.field, f"rendering failed: {message}") from exc
        output = buffer.getvalue()
        budget.remaining -= len(output)
        if budget.remaining < 0:
            raise OutputTooLarge
        return output

    def _describe(self, exc: Exception) -> str:
        cause: BaseException = exc
        # python-liquid wraps what a filter raises; name the filter's own complaint.
        if isinstance(exc, LiquidError) and exc.__cause__ is not None:
            cause = exc.__cause__
        line = _line(self.source, exc) if isinstance(exc, LiquidError) else None
        where = "" if line is None else f" at line {self.first_line + line - 1}"
        return f"rendering failed{where}: {_message(cause)}"


class LiquidLanguage:
    """python-liquid with the pipeline's filters and limits; implements `TemplateLanguage`."""

    def __init__(self, *, max_output: int) -> None:
        self._max_output = max_output
        self._environment = LiquidEnvironment(max_output=max_output)
        self._url_environments: dict[Callable[[str], str], LiquidEnvironment] = {}

    def compile_field(
        self,
        field: str,
        source: str,
        *,
        first_line: int = 1,
        url_encode: Callable[[str], str] | None = None,
    ) -> FieldTemplate:
        if not ("{" in source and any(marker in source for marker in _TEMPLATE_MARKERS)):
            return PlainText(field, source)
        environment = self._environment if url_encode is None else self._url_environment(url_encode)
        try:
            template = environment.from_string(source)
            self._check(environment, field, template, first_line, url=url_encode is not None)
            names = frozenset(template.global_variables(include_partials=False))
        except LiquidError as exc:
            line = _line(source, exc)
            where = "" if line is None else f" at line {first_line + line - 1}"
            raise errors.InvalidArgument.field(
                field, f"template syntax error{where}: {_message(exc)}"
            ) from exc
        except RecursionError as exc:
            raise errors.InvalidArgument.field(field, "template is nested too deeply") from exc
        return LiquidTemplate(field, source, names - _NOT_READ_FROM_CONTEXT, template, first_line)

    def _check(
        self,
        environment: LiquidEnvironment,
        field: str,
        template: BoundTemplate,
        first_line: int,
        *,
        url: bool,
    ) -> None:
        # python-liquid looks filters up when they run; refuse an unknown one when saved.
        for name in template.filter_names(include_partials=False):
            if name not in environment.filters:
                raise LiquidSyntaxError(f"no filter named {name!r}", token=None)
        tags = set(template.tag_names(include_partials=False))
        for refused in ("include", "render"):
            if refused in tags:
                raise LiquidSyntaxError(
                    "templates cannot include or render other templates", token=None
                )
        if url and "capture" in tags:
            raise LiquidSyntaxError(_URL_REFUSED_MESSAGE, token=None)

    def context(
        self, recipient: domain.Recipient, data: Mapping[str, Any], missing: set[str]
    ) -> RenderContext:
        context: RenderContext = {name: normalise(value) for name, value in data.items()}
        context["userId"] = recipient.user_id
        context["tags"] = recipient_values("tags", recipient.tags, missing)
        context["entry_event"] = recipient_values("entry_event", recipient.entry_event, missing)
        return context

    def time_limit(self, seconds: float) -> AbstractContextManager[None]:
        return clock.budget(seconds)

    def _url_environment(self, url_encode: Callable[[str], str]) -> LiquidEnvironment:
        environment = self._url_environments.get(url_encode)
        if environment is None:
            environment = LiquidEnvironment(max_output=self._max_output, encode=url_encode)
            environment = self._url_environments.setdefault(url_encode, environment)
        return environment
