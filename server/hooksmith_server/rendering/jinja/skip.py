"""`{% skip "reason" %}` in Jinja: stops the render and skips the recipient."""

from __future__ import annotations

from typing import Any

from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser

from hooksmith_server.rendering.jinja.values import to_text
from hooksmith_server.rendering.language import SKIP_TAG, SkipRecipient

# A reason is a short sentence kept with the message; longer ones are cut here.
MAX_REASON_CHARS = 1_000


def skip_reason(value: Any) -> str:
    """The reason a template gave, as text, at most `MAX_REASON_CHARS` characters."""
    return to_text(value, MAX_REASON_CHARS).strip()[:MAX_REASON_CHARS]


class SkipExtension(Extension):
    """Adds the `skip` tag; its optional argument is the reason."""

    tags = {SKIP_TAG}  # noqa: RUF012 (Jinja declares it a plain set attribute)

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        if parser.stream.current.test("block_end"):
            reason: nodes.Expr = nodes.Const("")
        else:
            reason = parser.parse_expression()
        call = self.call_method("skip_recipient", [reason], lineno=lineno)
        return nodes.ExprStmt(call, lineno=lineno)

    def skip_recipient(self, reason: Any) -> None:
        """Raise SkipRecipient with `reason` as text."""
        raise SkipRecipient(skip_reason(reason))
