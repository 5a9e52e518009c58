"""Rendering webhook templates: sandboxed Jinja2 with Liquid-style filters.

    renderer = Renderer()                      # once, at start-up
    webhook = renderer.compile(spec)           # when a spec is saved or loaded
    rendered = webhook.render(recipient, data, require_data=True)   # per message

A JSON body is parsed when compiled and only its string leaves are rendered; URL
output is percent-encoded; header values are checked for control characters after
rendering. Every problem is an `errors.InvalidArgument` naming the field.
"""

from hooksmith_server.rendering.limits import Limits
from hooksmith_server.rendering.webhook import CompiledWebhook, Rendered, Renderer

__all__ = ["CompiledWebhook", "Limits", "Rendered", "Renderer"]
