"""Rendering webhook templates: sandboxed Jinja2 with Liquid-style filters by default.

    renderer = Renderer()                      # once, at start-up
    webhook = renderer.compile(spec)           # when a spec is saved or loaded
    rendered = webhook.render(recipient, data, require_data=True)   # per message

A JSON body is parsed when compiled and only its string leaves are rendered; URL
output is percent-encoded; header values are checked for control characters after
rendering. Every problem is an `errors.InvalidArgument` naming the field.

These rules live in `compiled` and `body` and reach templates only through
`language.TemplateLanguage`; `jinja` is the one implementation, used by default.
"""

from hooksmith_server.rendering.compiled import CompiledWebhook, Rendered, Renderer
from hooksmith_server.rendering.limits import Limits

__all__ = ["CompiledWebhook", "Limits", "Rendered", "Renderer"]
