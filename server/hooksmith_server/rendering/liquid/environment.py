"""The Liquid environment templates run in: python-liquid's limits, our output and tags.

Output statements print values the way the Jinja language does (`values.to_text`:
numbers without a trailing `.0`, lists and objects as JSON) so a template gives the
same request in either language, and in a URL each output is percent-encoded.
`{% skip "reason" %}` stops the render and skips the recipient.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, TextIO

from liquid import Environment, Mode
from liquid.ast import Node
from liquid.builtin.expressions import FilteredExpression, Nil, tokenize
from liquid.builtin.output import Output, OutputNode
from liquid.builtin.tags.echo_tag import EchoNode, EchoTag
from liquid.context import RenderContext
from liquid.expression import Expression
from liquid.stream import TokenStream
from liquid.template import BoundTemplate
from liquid.token import TOKEN_EOF, TOKEN_EXPRESSION, TOKEN_OUTPUT, TOKEN_TAG
from liquid.undefined import UNDEFINED, Undefined

from hooksmith_server.rendering import clock
from hooksmith_server.rendering.jinja.environment import TemplateEnvironment
from hooksmith_server.rendering.jinja.skip import skip_reason
from hooksmith_server.rendering.jinja.values import normalise, to_text
from hooksmith_server.rendering.language import SKIP_TAG, SkipRecipient
from hooksmith_server.rendering.liquid.filters import bounded, liquid_filters

LOOP_ITERATIONS = 100_000
"""Loop iterations one render may run, nested loops multiplied (python-liquid's limit)."""

CONTEXT_DEPTH = 30
"""How deeply one render's context may be extended (python-liquid's limit)."""

# python-liquid counts output in UTF-8 bytes; a character is at most 4 of them. The
# pipeline's own budget counts characters once the render is done.
_BYTES_PER_CHAR = 4


def _text(value: Any, limit: int) -> str:
    return to_text(None if isinstance(value, Undefined) else value, limit)


class _Context(RenderContext):
    """A render context that looks at the render's clock whenever a name is read."""

    __slots__ = ()

    def get(self, path: list[object], *, token: Any, default: object = UNDEFINED) -> object:
        clock.check()
        return super().get(path, token=token, default=default)


class _Template(BoundTemplate):
    context_class = _Context


class _Printed(OutputNode):
    """`{{ value }}`, printed as `to_text` prints it and encoded by the environment."""

    __slots__ = ()

    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        environment = context.env
        assert isinstance(environment, LiquidEnvironment)
        return buffer.write(environment.finalize(self.expression.evaluate(context)))


class _PrintedEcho(EchoNode):
    __slots__ = ()

    render_to_output = _Printed.render_to_output


class _Output(Output):
    node_class = _Printed

    def parse(self, stream: TokenStream) -> OutputNode:
        token = stream.eat(TOKEN_OUTPUT)
        expr_token = stream.expect(TOKEN_EXPRESSION)
        expression = FilteredExpression.parse(
            self.env, TokenStream(tokenize(expr_token.value, expr_token))
        )
        return _Printed(token, expression)


class _Echo(EchoTag):
    node_class = _PrintedEcho


class SkipNode(Node):
    """`{% skip "reason" %}`: raises SkipRecipient with the reason as text."""

    __slots__ = ("expression",)

    def __init__(self, token: Any, expression: Expression) -> None:
        super().__init__(token)
        self.expression = expression
        self.blank = False

    def __str__(self) -> str:
        return f"{{% {SKIP_TAG} {self.expression} %}}"

    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        environment = context.env
        assert isinstance(environment, LiquidEnvironment)
        value = self.expression.evaluate(context)
        raise SkipRecipient(skip_reason(None if isinstance(value, Undefined) else value))

    def expressions(self) -> Iterator[Expression]:
        yield self.expression


class _Skip(EchoTag):
    name = SKIP_TAG
    block = False

    def parse(self, stream: TokenStream) -> Node:
        token = stream.eat(TOKEN_TAG)
        if stream.current.kind == TOKEN_EOF:
            expression: Expression = Nil(stream.current)
        else:
            expression = FilteredExpression.parse(self.env, stream.into_inner(tag=token, eat=False))
        return SkipNode(token, expression)


class LiquidEnvironment(Environment):
    """python-liquid, strict about syntax and filters, with the pipeline's limits and filters.

    No loader: `include` and `render` find no template. Missing values render empty.
    """

    context_depth_limit: ClassVar[int] = CONTEXT_DEPTH
    loop_iteration_limit: ClassVar[int | None] = LOOP_ITERATIONS
    template_class = _Template

    def __init__(self, *, max_output: int, encode: Callable[[str], str] | None = None) -> None:
        super().__init__(tolerance=Mode.STRICT, strict_filters=True)
        self.max_output = max_output
        self._encode = encode
        # Instance attributes override python-liquid's class-level limits.
        self.output_stream_limit = max_output * _BYTES_PER_CHAR  # type: ignore[misc]
        self.local_namespace_limit = max_output * _BYTES_PER_CHAR  # type: ignore[misc]
        self.add_tag(_Output)
        self.add_tag(_Echo)
        self.add_tag(_Skip)
        self.filters = {
            name: bounded(name, function, max_output) for name, function in self.filters.items()
        }
        self.filters.update(liquid_filters(TemplateEnvironment(max_output=max_output)))

    def finalize(self, value: Any) -> str:
        """The text one output statement writes."""
        clock.check()
        text = _text(normalise(value) if isinstance(value, float) else value, self.max_output)
        return text if self._encode is None else self._encode(text)


def recipient_values(
    prefix: str, values: Mapping[str, Any], missing: set[str]
) -> Mapping[str, Any]:
    """A recipient's tags or entry event; each absent name read is added to `missing`."""
    return _RecipientValues(prefix, values, missing)


class _RecipientValues(Mapping[str, Any]):
    __slots__ = ("_missing", "_prefix", "_values")

    def __init__(self, prefix: str, values: Mapping[str, Any], missing: set[str]) -> None:
        self._prefix = prefix
        self._values = values
        self._missing = missing

    def __getitem__(self, key: str) -> Any:
        try:
            return normalise(self._values[key])
        except KeyError:
            self._missing.add(f"{self._prefix}.{key}")
            raise

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __str__(self) -> str:
        return to_text(dict(self._values), 2**62)
