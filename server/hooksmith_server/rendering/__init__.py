"""Rendering webhook templates: sandboxed Jinja2 with Liquid-style filters, or Liquid.

    renderer = Renderer()                      # once, at start-up
    webhook = renderer.compile(spec)           # when a spec is saved or loaded
    rendered = webhook.render(recipient, data, require_data=True)   # per message

A JSON body is parsed when compiled and only its string leaves are rendered; URL
output is percent-encoded; header values are checked for control characters after
rendering. Every problem is an `errors.InvalidArgument` naming the field.

These rules live in `compiled` and `body` and reach templates only through
`language.TemplateLanguage`; `jinja` (the default) and `liquid` implement it, chosen
by each spec's `template_language`. `{% skip "reason" %}` in either raises
`SkipRecipient`: no request is made for that recipient.
"""

from hooksmith_server.rendering.compiled import CompiledWebhook, Rendered, Renderer
from hooksmith_server.rendering.language import SkipRecipient
from hooksmith_server.rendering.limits import Limits

__all__ = ["CompiledWebhook", "Limits", "Rendered", "Renderer", "SkipRecipient"]
