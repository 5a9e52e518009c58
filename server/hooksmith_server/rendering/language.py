"""What the rendering pipeline needs from a template language, and nothing more.

The pipeline (URL, header and body rules) compiles each template field through a
`TemplateLanguage` and renders the `FieldTemplate` it gets back; it never sees the
language's own types. A second language implements the same two protocols.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

from hooksmith_server import domain

RECIPIENT_NAMES = frozenset({"userId", "tags", "entry_event"})
"""Root names filled from the recipient; every other name a template reads is data."""

RenderContext: TypeAlias = dict[str, Any]
"""The names one render sees; built by the language for that render, never mutated."""


class Budget:
    """Characters one render may still produce; created per render, never shared."""

    __slots__ = ("remaining",)

    def __init__(self, remaining: int) -> None:
        self.remaining = remaining


class OutputTooLarge(Exception):
    """A render went past its budget; stopped early so it cannot exhaust memory."""


SKIP_TAG = "skip"
"""`{% skip "reason" %}`: the tag, in every language, that skips the recipient."""

DEFAULT_SKIP_REASON = "skipped by the template"
"""The reason given when a template skips a recipient without saying why."""


class SkipRecipient(Exception):
    """A template ran `{% skip %}`: no request is made for this recipient."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason or DEFAULT_SKIP_REASON


class FieldTemplate(Protocol):
    """One compiled template field, rendered many times, possibly concurrently."""

    @property
    def field(self) -> str:
        """The field path errors name, such as `headers[2].value`."""

    @property
    def source(self) -> str: ...

    @property
    def names(self) -> frozenset[str]:
        """Root names the template reads from the context: recipient names and data."""

    @property
    def plain(self) -> bool:
        """Whether the source is plain text, rendered as written."""

    def render(self, context: RenderContext, budget: Budget) -> str:
        """The output, charged to `budget`.

        Raises OutputTooLarge past the budget, InvalidArgument naming `field` when the
        template fails, SkipRecipient when it runs `{% skip %}`.
        """


@dataclass(frozen=True, slots=True)
class PlainText:
    """A field with no template syntax: its source is its output."""

    field: str
    source: str
    names: frozenset[str] = frozenset()

    @property
    def plain(self) -> bool:
        return True

    def render(self, context: RenderContext, budget: Budget) -> str:
        budget.remaining -= len(self.source)
        if budget.remaining < 0:
            raise OutputTooLarge
        return self.source


class TemplateLanguage(Protocol):
    """Compiles template fields and sets up their renders."""

    def compile_field(
        self,
        field: str,
        source: str,
        *,
        first_line: int = 1,
        url_encode: Callable[[str], str] | None = None,
    ) -> FieldTemplate:
        """Compile `source`, or raise InvalidArgument naming `field` and the line.

        `first_line` is where the source starts within its field (a JSON string leaf
        sits inside a body). With `url_encode` the field is a URL: every value the
        template outputs is turned into text and passed through `url_encode`, and
        constructs whose output would be encoded twice (captured, then output) are
        refused.
        """

    def context(
        self, recipient: domain.Recipient, data: Mapping[str, Any], missing: set[str]
    ) -> RenderContext:
        """The context for one render: `RECIPIENT_NAMES` from `recipient`, plus `data`.

        Each recipient tag or entry-event value a template asks for and the recipient
        lacks is added to `missing` as `tags.<name>` or `entry_event.<name>`.
        """

    def time_limit(self, seconds: float) -> AbstractContextManager[None]:
        """Give the renders inside this block `seconds` in all; past it they fail."""
