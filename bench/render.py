"""render: a compiled webhook rendered per recipient, against bare Jinja2.

Hooksmith renders each field in the immutable sandbox, JSON-encodes each string leaf,
tracks missing values and checks headers and size. The ceiling renders the same
template text as one plain `jinja2.Environment` template: no sandbox, no checks.
"""

from __future__ import annotations

import jinja2

from bench import webhook
from bench.harness import Bound, Context, best_rates
from bench.report import Row, Table
from hooksmith_server import domain, rendering

NAME = "render"

# The same placeholders as the webhook's URL, header and body, in one template.
_BARE_SOURCE = "\n".join(
    (webhook.URL.format(base="https://api.sms.example"), webhook.AUTHORIZATION, webhook.BODY)
)


def _bare_context(recipient: domain.Recipient) -> dict[str, object]:
    return {
        **webhook.DATA,
        "userId": recipient.user_id,
        "tags": dict(recipient.tags),
        "entry_event": dict(recipient.entry_event),
    }


async def run(ctx: Context) -> list[Table]:
    renderer = rendering.Renderer()
    spec = webhook.spec()
    compiled = renderer.compile(spec)
    recipient = webhook.recipient(1)
    expected = compiled.render(recipient, webhook.DATA, require_data=True).request
    if expected.body.count("Ada") != 1:
        raise RuntimeError(f"the webhook rendered unexpectedly: {expected.body}")

    environment = jinja2.Environment()
    bare = environment.from_string(_BARE_SOURCE)
    bare_context = _bare_context(recipient)

    rounds = ctx.pick(3, 5)
    render_rate, bare_render_rate = best_rates(
        (
            lambda: compiled.render(recipient, webhook.DATA, require_data=True),
            lambda: bare.render(bare_context),
        ),
        Bound(count=1_000_000, seconds=ctx.pick(0.4, 1.0)),
        rounds=rounds,
    )
    compile_rate, bare_compile_rate = best_rates(
        (lambda: renderer.compile(spec), lambda: environment.from_string(_BARE_SOURCE)),
        Bound(count=100_000, seconds=ctx.pick(0.3, 0.8)),
        rounds=rounds,
    )

    fields = 1 + len(spec.headers) + 2  # URL, headers, and the body's two string leaves
    table = Table("render: SMS webhook, JSON body, templated URL and header (one core)")
    table.rows.append(Row("render", render_rate, bare_render_rate, "bare jinja2 render"))
    table.rows.append(
        Row(
            "compile",
            compile_rate,
            bare_compile_rate,
            "bare jinja2 from_string",
            unit=" specs/s",
            note=f"{1000 / compile_rate:.2f} ms per spec ({fields} fields)",
        )
    )
    table.notes.append(
        f"per render: {1e6 / render_rate:.1f} µs ours, {1e6 / bare_render_rate:.1f} µs bare"
    )
    return [table]
