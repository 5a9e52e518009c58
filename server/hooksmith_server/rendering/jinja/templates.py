"""One template field: compiled once in the sandbox, rendered many times."""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Template, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.runtime import new_context

from hooksmith_server import errors
from hooksmith_server.rendering import clock
from hooksmith_server.rendering.jinja import loops, sizes, values
from hooksmith_server.rendering.jinja.environment import TemplateEnvironment
from hooksmith_server.rendering.jinja.filters import FilterError
from hooksmith_server.rendering.language import (
    Budget,
    FieldTemplate,
    OutputTooLarge,
    PlainText,
    RenderContext,
    SkipRecipient,
)

_TEMPLATE_MARKERS = ("{{", "{%", "{#")
_REFUSED_NODES = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)
REFUSED_MESSAGE = "templates cannot include, import or extend other templates"
# Jinja's own: `loop` read outside a for loop is never a value the caller supplies.
_NOT_READ_FROM_CONTEXT = frozenset({"loop"})


def has_template_syntax(source: str) -> bool:
    """Whether `source` holds any Jinja syntax; plain text skips Jinja entirely."""
    return "{" in source and any(marker in source for marker in _TEMPLATE_MARKERS)


@dataclass(frozen=True, slots=True)
class JinjaTemplate:
    """A compiled Jinja template field; see `language.FieldTemplate`."""

    field: str
    source: str
    names: frozenset[str]
    template: Template
    first_line: int = 1
    """Line of the source within its field: JSON string leaves sit inside a body."""

    @property
    def plain(self) -> bool:
        return False

    def render(self, context: RenderContext, budget: Budget) -> str:
        """Render against `context` (globals and variables, never mutated)."""
        template = self.template
        # A shared context skips copying `context`; `{% set %}` writes to the context's
        # own `vars`, so nothing leaks between fields or renders. Template globals are
        # already in `context` (imports, the one other use of them, are refused).
        jinja_context = new_context(
            template.environment, template.name, template.blocks, context, True
        )
        remaining = budget.remaining
        parts: list[str] = []
        try:
            for chunk in template.root_render_func(jinja_context):
                clock.check()
                remaining -= len(chunk)
                if remaining < 0:
                    break
                parts.append(chunk)
        except SkipRecipient:
            raise
        except Exception as exc:
            raise errors.InvalidArgument.field(self.field, self._describe(exc)) from exc
        budget.remaining = remaining
        if remaining < 0:
            raise OutputTooLarge
        return "".join(parts)

    def _describe(self, exc: Exception) -> str:
        line = self._line_of(exc)
        where = "" if line is None else f" at line {line}"
        if isinstance(exc, TemplateError):
            message = exc.message or type(exc).__name__
        elif isinstance(exc, FilterError | values.Unrenderable | clock.RenderTooSlow):
            message = str(exc)
        else:
            message = f"{type(exc).__name__}: {exc}"
        return f"rendering failed{where}: {message}"

    def _line_of(self, exc: Exception) -> int | None:
        line = None
        traceback = exc.__traceback__
        while traceback is not None:
            if traceback.tb_frame.f_globals.get("__jinja_template__") is self.template:
                line = self.template.get_corresponding_lineno(traceback.tb_lineno)
            traceback = traceback.tb_next
        return None if line is None else self.first_line + line - 1


def build_template(
    environment: TemplateEnvironment,
    field: str,
    source: str,
    *,
    first_line: int = 1,
    refuse: tuple[type[nodes.Node], ...] = (),
    refuse_message: str = "",
) -> FieldTemplate:
    """Compile `source`, or raise InvalidArgument naming `field` and the line.

    Nodes of the `refuse` types are refused with `refuse_message`.
    """
    if not has_template_syntax(source):
        return PlainText(field, source)
    try:
        tree = environment.parse(source)
        _check_tree(environment, field, tree, first_line)
        for node in tree.find_all(refuse) if refuse else ():
            line = first_line + node.lineno - 1
            raise errors.InvalidArgument.field(field, f"{refuse_message} (line {line})")
        names = frozenset(meta.find_undeclared_variables(tree)) - _NOT_READ_FROM_CONTEXT
        loops.guard_loops(tree)
        template = environment.from_string(tree)
    except TemplateSyntaxError as exc:
        line = first_line + (exc.lineno or 1) - 1
        raise errors.InvalidArgument.field(
            field, f"template syntax error at line {line}: {exc.message}"
        ) from exc
    except (RecursionError, SyntaxError) as exc:
        # Deep nesting overflows Jinja's parser or Python's own compiler.
        raise errors.InvalidArgument.field(field, "template is nested too deeply") from exc
    except ValueError as exc:
        # The lexer's int() refuses a number of more than 4,300 digits (CVE-2020-10735).
        message = "template syntax error: number too large"
        raise errors.InvalidArgument.field(field, message) from exc
    return JinjaTemplate(field, source, names, template, first_line)


def _check_tree(
    environment: TemplateEnvironment, field: str, tree: nodes.Template, first_line: int
) -> None:
    for _ in tree.find_all(_REFUSED_NODES):
        raise errors.InvalidArgument.field(field, REFUSED_MESSAGE)
    # Jinja defers unknown filters inside `{% if %}` to render time; refuse them all now.
    for node in tree.find_all((nodes.Filter, nodes.Test)):
        known = environment.filters if isinstance(node, nodes.Filter) else environment.tests
        if node.name not in known:
            kind = "filter" if isinstance(node, nodes.Filter) else "test"
            line = first_line + node.lineno - 1
            raise errors.InvalidArgument.field(
                field, f"template syntax error at line {line}: no {kind} named {node.name!r}"
            )
    # Compiling writes each number into Python source, in decimal: a hex literal of
    # 20,000 bits fails there, and past the arithmetic limit it is of no use anyway.
    for const in tree.find_all(nodes.Const):
        if isinstance(const.value, int) and const.value.bit_length() > sizes.MAX_INT_BITS:
            line = first_line + const.lineno - 1
            raise errors.InvalidArgument.field(
                field,
                f"template syntax error at line {line}: number too large "
                f"({const.value.bit_length():,} bits; the limit is {sizes.MAX_INT_BITS:,})",
            )
