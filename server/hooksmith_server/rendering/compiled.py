"""A webhook spec compiled once and rendered for each recipient.

The URL, header and size rules are the pipeline's own, whatever the template language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hooksmith_server import domain, errors
from hooksmith_server.rendering import checks
from hooksmith_server.rendering.body import Body, compile_body
from hooksmith_server.rendering.jinja import JinjaLanguage
from hooksmith_server.rendering.language import (
    RECIPIENT_NAMES,
    Budget,
    FieldTemplate,
    OutputTooLarge,
    PlainText,
    RenderContext,
    TemplateLanguage,
)
from hooksmith_server.rendering.limits import Limits
from hooksmith_server.rendering.liquid import LiquidLanguage

_DEFAULT_LIMITS = Limits()


def _missing_data(names: list[str]) -> errors.InvalidArgument:
    return errors.InvalidArgument(
        violations=[
            errors.FieldViolation(
                f"data.{name}", f"data field {name!r} is required by this webhook"
            )
            for name in names
        ]
    )


def _encode_url_value(text: str) -> str:
    """URL output is percent-encoded, so no value can change the path or the query."""
    # quote() leaves dots alone, and a segment that is `.` or `..` would move the path.
    if text in (".", ".."):
        return "%2E" * len(text)
    if checks.unicode_problem(text) is not None:
        # UTF-8 cannot percent-encode a lone surrogate; left as is, the rendered URL
        # check refuses it and names its position in the URL.
        return text
    return quote(text, safe="")


@dataclass(frozen=True)
class Rendered:
    """A rendered request, and the recipient values and data fields it went without."""

    request: domain.HttpRequest
    missing_variables: tuple[str, ...]
    """Sorted: `userId`, `tags.<name>`, `entry_event.<name>`, and data field names."""


@dataclass(frozen=True, slots=True)
class _Header:
    name: str
    value: FieldTemplate
    secret: bool


class CompiledWebhook:
    """A webhook spec compiled once; `render` is cheap and safe to call concurrently.

    Nothing here changes after construction: each render builds its own context.
    """

    def __init__(
        self,
        spec: domain.WebhookSpec,
        *,
        url: FieldTemplate,
        headers: tuple[_Header, ...],
        body: Body | None,
        language: TemplateLanguage,
        limits: Limits,
    ) -> None:
        self.spec = spec
        templates = [url, *(header.value for header in headers)]
        if body is not None:
            templates.extend(body.templates)
        names = frozenset[str]().union(*(template.names for template in templates))
        self.data_fields: tuple[str, ...] = tuple(sorted(names - RECIPIENT_NAMES))
        """Root names the caller must supply in `data`, sorted."""
        self._uses_user_id = "userId" in names
        self._url = url
        self._headers = headers
        self._body = body
        has_content_type = any(header.name.lower() == "content-type" for header in spec.headers)
        self._content_type = None if body is None or has_content_type else body.content_type
        self._language = language
        self._limits = limits

    def check_data(self, data: Mapping[str, Any]) -> None:
        """Raise InvalidArgument on `data.<name>` for each data field `data` lacks."""
        missing = [name for name in self.data_fields if name not in data]
        if missing:
            raise _missing_data(missing)

    def render(
        self, recipient: domain.Recipient, data: Mapping[str, Any], *, require_data: bool
    ) -> Rendered:
        """Render the request for `recipient` with `data` supplying the data fields.

        With `require_data`, a missing data field is an InvalidArgument on `data.<name>`;
        without (previews), it renders empty and is listed as missing. Raises
        SkipRecipient when a template runs `{% skip %}`: no request is made for them.
        """
        missing_data = [name for name in self.data_fields if name not in data]
        if missing_data and require_data:
            raise _missing_data(missing_data)
        missing = set(missing_data)
        if self._uses_user_id and not recipient.user_id:
            missing.add("userId")
        fields = {name: data[name] for name in self.data_fields if name in data}
        context = self._language.context(recipient, fields, missing)

        limit = self._limits.max_rendered_chars
        try:
            with self._language.time_limit(self._limits.max_render_seconds):
                request = self._render(context, Budget(limit))
        except OutputTooLarge:
            raise errors.InvalidArgument.field(
                "request",
                f"rendered request is more than {checks.chars(limit)} characters; "
                f"the limit is {checks.chars(limit)}",
            ) from None
        size = (
            len(request.url)
            + sum(len(header.name) + len(header.value) for header in request.headers)
            + len(request.body)
        )
        if size > limit:
            raise errors.InvalidArgument.field(
                "request",
                f"rendered request is {checks.chars(size)} characters; "
                f"the limit is {checks.chars(limit)}",
            )
        return Rendered(request, tuple(sorted(missing)))

    def _render(self, context: RenderContext, budget: Budget) -> domain.HttpRequest:
        violations: list[errors.FieldViolation] = []
        url = ""
        try:
            url = self._url.render(context, budget)
        except errors.InvalidArgument as exc:
            violations.extend(exc.violations)
        else:
            # A plain URL was checked when compiled.
            problem = checks.unicode_problem(url) or (
                checks.rendered_url_problem(url, self._limits) if not self._url.plain else None
            )
            if problem is not None:
                violations.append(errors.FieldViolation("url", problem))

        headers: list[domain.Header] = []
        for header in self._headers:
            try:
                value = header.value.render(context, budget).strip()
            except errors.InvalidArgument as exc:
                violations.extend(exc.violations)
                continue
            problem = (
                checks.control_character_problem(value, rendered=True)
                or checks.unicode_problem(value)
                or checks.header_size_problem(header.name, value, self._limits, rendered=True)
            )
            if problem is not None:
                violations.append(errors.FieldViolation(header.value.field, problem))
            headers.append(domain.Header(header.name, value, header.secret))

        body = ""
        if self._body is not None:
            try:
                body = self._body.render(context, budget)
            except errors.InvalidArgument as exc:
                violations.extend(exc.violations)
            else:
                problem = checks.unicode_problem(body)
                if problem is not None:
                    violations.append(errors.FieldViolation("body", problem))

        if violations:
            raise errors.InvalidArgument(violations=violations)
        if self._content_type is not None:
            headers.append(domain.Header("Content-Type", self._content_type))
        return domain.HttpRequest(self.spec.method.value, url, tuple(headers), body)


class Renderer:
    """Validates and compiles webhook specs; one per process, shared by every task."""

    def __init__(
        self, limits: Limits = _DEFAULT_LIMITS, language: TemplateLanguage | None = None
    ) -> None:
        """`language` replaces Jinja, the language of specs that name no other."""
        self.limits = limits
        jinja: TemplateLanguage = (
            JinjaLanguage(max_output=limits.max_rendered_chars) if language is None else language
        )
        self._languages: dict[domain.TemplateLanguage, TemplateLanguage] = {
            domain.TemplateLanguage.JINJA: jinja,
            domain.TemplateLanguage.LIQUID: LiquidLanguage(max_output=limits.max_rendered_chars),
        }

    def compile(self, spec: domain.WebhookSpec) -> CompiledWebhook:
        """Check and compile every template field of `spec`.

        Raises InvalidArgument listing every problem, with field paths relative to the
        spec: `url`, `headers`, `headers[2].name`, `headers[2].value`, `body`.
        """
        violations: list[errors.FieldViolation] = []
        language = self._languages[spec.template_language]
        url = self._compile_url(language, spec.url, violations)
        headers = self._compile_headers(language, spec.headers, violations)
        body = None
        try:
            body = compile_body(language, spec.body_format, spec.body, self.limits.max_source_chars)
        except errors.InvalidArgument as exc:
            violations.extend(exc.violations)
        if violations:
            raise errors.InvalidArgument(violations=violations)
        return CompiledWebhook(
            spec,
            url=url,
            headers=headers,
            body=body,
            language=language,
            limits=self.limits,
        )

    def _compile_url(
        self, language: TemplateLanguage, source: str, violations: list[errors.FieldViolation]
    ) -> FieldTemplate:
        placeholder = PlainText("url", source)
        limit = min(self.limits.max_source_chars, self.limits.max_url_chars)
        problem = checks.source_size_problem(source, limit, "URL") or checks.url_source_problem(
            source
        )
        if problem is not None:
            violations.append(errors.FieldViolation("url", problem))
            return placeholder
        try:
            url = language.compile_field("url", source, url_encode=_encode_url_value)
        except errors.InvalidArgument as exc:
            violations.extend(exc.violations)
            return placeholder
        if url.plain:
            problem = checks.rendered_url_problem(source, self.limits)
            if problem is not None:
                violations.append(errors.FieldViolation("url", problem))
        return url

    def _compile_headers(
        self,
        language: TemplateLanguage,
        headers: tuple[domain.Header, ...],
        violations: list[errors.FieldViolation],
    ) -> tuple[_Header, ...]:
        if len(headers) > self.limits.max_headers:
            violations.append(
                errors.FieldViolation(
                    "headers",
                    f"a webhook may have at most {self.limits.max_headers} headers; "
                    f"this one has {len(headers)}",
                )
            )
        compiled: list[_Header] = []
        for index, header in enumerate(headers):
            field = f"headers[{index}]"
            problem = checks.header_name_problem(header.name)
            if problem is not None:
                violations.append(errors.FieldViolation(f"{field}.name", problem))
            problem = checks.source_size_problem(
                header.value, self.limits.max_source_chars, "header value"
            ) or checks.header_size_problem(header.name, header.value, self.limits, rendered=False)
            if problem is not None:
                violations.append(errors.FieldViolation(f"{field}.value", problem))
                continue
            try:
                value = language.compile_field(f"{field}.value", header.value)
            except errors.InvalidArgument as exc:
                violations.extend(exc.violations)
                continue
            if value.plain:
                # Plain values are known now; refuse a bad one when saved, not when sent.
                problem = checks.control_character_problem(header.value.strip(), rendered=False)
                if problem is not None:
                    violations.append(errors.FieldViolation(f"{field}.value", problem))
            compiled.append(_Header(header.name, value, header.secret))
        return tuple(compiled)
