"""Jinja2, sandboxed and size-guarded, as a template language for the pipeline.

Only `JinjaLanguage` is meant for use outside this package; the modules are its parts:
the environment and its size guards, the filters, and compiled field templates.
"""

from hooksmith_server.rendering.jinja.language import JinjaLanguage

__all__ = ["JinjaLanguage"]
