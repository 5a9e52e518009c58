"""Request bodies: JSON with only its string leaves rendered, plain text, and form fields.

A JSON body is parsed when compiled. Object keys, numbers, booleans and null are kept
as written; each string leaf is its own template whose output is encoded back into a
JSON string, so no value can add a key or break the document.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlencode

from hooksmith_server import domain, errors
from hooksmith_server.rendering import checks
from hooksmith_server.rendering.language import (
    Budget,
    FieldTemplate,
    PlainText,
    RenderContext,
    TemplateLanguage,
)

_FIELD = "body"
_MAX_DEPTH = 100
# Every string literal of a valid JSON document, and whether it is followed by ':' (a key).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"([ \t\n\r]*:)?')
# Stateless, and the same serialisation as json.dumps(..., ensure_ascii=False, separators=...).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class _Object(list[tuple[str, Any]]):
    """A parsed JSON object as its key-value pairs in source order, duplicates kept."""


@dataclass(frozen=True, slots=True)
class _Leaf:
    """A string value and the offset of its literal in the body source."""

    text: str
    offset: int


@dataclass(frozen=True, slots=True)
class JsonBody:
    """A JSON document as static text interleaved with templated string leaves."""

    parts: tuple[str | FieldTemplate, ...]
    content_type: ClassVar[str] = "application/json"

    @property
    def templates(self) -> tuple[FieldTemplate, ...]:
        return tuple(part for part in self.parts if not isinstance(part, str))

    def render(self, context: RenderContext, budget: Budget) -> str:
        return "".join(
            part if isinstance(part, str) else _ENCODER.encode(part.render(context, budget))
            for part in self.parts
        )


@dataclass(frozen=True, slots=True)
class TextBody:
    """A body that is one template, sent as rendered."""

    template: FieldTemplate
    content_type: ClassVar[str] = "text/plain; charset=utf-8"

    @property
    def templates(self) -> tuple[FieldTemplate, ...]:
        return (self.template,)

    def render(self, context: RenderContext, budget: Budget) -> str:
        return self.template.render(context, budget)


@dataclass(frozen=True, slots=True)
class FormBody:
    """Form fields in order; each value a template, sent URL-encoded."""

    fields: tuple[tuple[str, FieldTemplate], ...]
    content_type: ClassVar[str] = "application/x-www-form-urlencoded"

    @property
    def templates(self) -> tuple[FieldTemplate, ...]:
        return tuple(value for _, value in self.fields)

    def render(self, context: RenderContext, budget: Budget) -> str:
        fields = [(name, value.render(context, budget)) for name, value in self.fields]
        # urlencode would fail on a lone surrogate, so it is reported here, by field.
        for name, value in fields:
            problem = checks.unicode_problem(name) or checks.unicode_problem(value)
            if problem is not None:
                raise errors.InvalidArgument.field(_FIELD, f"form field {name!r}: {problem}")
        return urlencode(fields)


Body = JsonBody | TextBody | FormBody


def compile_body(
    language: TemplateLanguage, body_format: domain.BodyFormat, source: str, max_chars: int
) -> Body | None:
    """Compile a body source; None when there is no body to send."""
    problem = checks.source_size_problem(source, max_chars, "body")
    if problem is not None:
        raise errors.InvalidArgument.field(_FIELD, problem)
    if body_format is domain.BodyFormat.TEXT:
        return TextBody(language.compile_field(_FIELD, source)) if source else None
    if not source.strip():
        return None
    document = _parse(source)
    compiler = _Compiler(language, source)
    if body_format is domain.BodyFormat.FORM:
        body: Body = compiler.form(document)
    else:
        body = compiler.json(document)
    if compiler.violations:
        raise errors.InvalidArgument(violations=compiler.violations)
    return body


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    # `1e400` parses as infinity, which would be written back as `Infinity`: not JSON.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large for a JSON number")
    return value


def _parse(source: str) -> Any:
    try:
        document = json.loads(
            source,
            object_pairs_hook=_Object,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
        )
    except json.JSONDecodeError as exc:
        raise errors.InvalidArgument.field(
            _FIELD, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    except RecursionError as exc:
        raise errors.InvalidArgument.field(_FIELD, "invalid JSON: nested too deeply") from exc
    except ValueError as exc:
        raise errors.InvalidArgument.field(_FIELD, f"invalid JSON: {exc}") from exc
    # In valid JSON every '"' outside a string opens one, so the value literals found in
    # source order are exactly the string leaves in document order.
    offsets = (m.start() for m in _JSON_STRING.finditer(source) if m.group(1) is None)
    return _with_leaves(document, iter(offsets), 0)


def _with_leaves(node: Any, offsets: Iterator[int], depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise errors.InvalidArgument.field(
            _FIELD, f"the body is nested more than {_MAX_DEPTH} levels deep"
        )
    if isinstance(node, str):
        return _Leaf(node, next(offsets))
    if isinstance(node, _Object):
        return _Object((key, _with_leaves(value, offsets, depth + 1)) for key, value in node)
    if isinstance(node, list):
        return [_with_leaves(item, offsets, depth + 1) for item in node]
    return node


class _Compiler:
    """Turns a parsed body into templates, collecting every problem before raising."""

    def __init__(self, language: TemplateLanguage, source: str) -> None:
        self._language = language
        self._source = source
        self.violations: list[errors.FieldViolation] = []
        # Where the last line count ended: leaves come in source order, so counting
        # on from there reads the source once in all.
        self._counted = (0, 1)

    def json(self, document: Any) -> JsonBody:
        parts: list[str | FieldTemplate] = []
        text: list[str] = []
        self._write(document, parts, text)
        if text:
            parts.append("".join(text))
        return JsonBody(tuple(parts))

    def form(self, document: Any) -> FormBody:
        if not isinstance(document, _Object):
            self._problem("a FORM body must be a JSON object of field names to values")
            return FormBody(())
        fields: list[tuple[str, FieldTemplate]] = []
        for name, value in document:
            if isinstance(value, _Leaf):
                fields.append((name, self._leaf(value)))
            elif value is None:
                fields.append((name, _literal("")))
            elif isinstance(value, bool | int | float):
                fields.append((name, _literal(_ENCODER.encode(value))))
            else:
                self._problem(f"form field {name!r} must be a string, number, boolean or null")
        return FormBody(tuple(fields))

    def _write(self, node: Any, parts: list[str | FieldTemplate], text: list[str]) -> None:
        if isinstance(node, _Leaf):
            leaf = self._leaf(node)
            if leaf.plain:
                text.append(_ENCODER.encode(leaf.source))
                return
            if text:
                parts.append("".join(text))
                text.clear()
            parts.append(leaf)
        elif isinstance(node, _Object):
            seen: set[str] = set()
            text.append("{")
            for index, (key, value) in enumerate(node):
                if key in seen:
                    self._problem(f"duplicate key {key!r} in a JSON object")
                seen.add(key)
                text.append(("," if index else "") + _ENCODER.encode(key) + ":")
                self._write(value, parts, text)
            text.append("}")
        elif isinstance(node, list):
            text.append("[")
            for index, item in enumerate(node):
                if index:
                    text.append(",")
                self._write(item, parts, text)
            text.append("]")
        else:
            text.append(_ENCODER.encode(node))

    def _leaf(self, leaf: _Leaf) -> FieldTemplate:
        try:
            return self._language.compile_field(
                _FIELD, leaf.text, first_line=self._line(leaf.offset)
            )
        except errors.InvalidArgument as exc:
            self.violations.extend(exc.violations)
            return _literal(leaf.text)

    def _line(self, offset: int) -> int:
        counted, line = self._counted
        if offset < counted:
            counted, line = 0, 1
        line += self._source.count("\n", counted, offset)
        self._counted = (offset, line)
        return line

    def _problem(self, description: str) -> None:
        self.violations.append(errors.FieldViolation(_FIELD, description))


def _literal(text: str) -> FieldTemplate:
    return PlainText(_FIELD, text)
